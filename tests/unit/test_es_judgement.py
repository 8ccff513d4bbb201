"""The Elasticsearch stage's judgement on recorded answers (fixtures/es/).

A stand-in source replays recorded answers through the real parsers. It is used
because a red cluster, a node past the flood-stage watermark, custom watermarks and
clock skew cannot be produced on demand by noida-db; everything else is tested
against noida-db in tests/integration/test_es_stage.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from stsdebug.model import Status
from stsdebug.settings import Settings
from stsdebug.sources import es_answers as src
from stsdebug.stages.base import load_stage
from stsdebug.trace import Trace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "es"
WHERE = "http://127.0.0.1:9200"
NOW = 1795250000.0  # when the fixtures were recorded; today's index is 2026.11.21


def fx(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def unblocked() -> dict[str, Any]:
    data = copy.deepcopy(fx("index_settings"))
    data["sts_multi_metrics-2026.11.21"].pop("settings")
    return data


class RecordedES:
    """ESSource's interface over recorded answers; searches answer with fixed counts."""

    where = WHERE

    def __init__(
        self,
        *,
        health: str = "cluster_health",
        allocation: str = "cat_allocation",
        settings: dict[str, Any] | None = None,
        cluster_settings: dict[str, Any] | None = None,
        newest_age: float = 5.0,
        matched: int = 12,
    ) -> None:
        self._health, self._allocation = health, allocation
        self._settings = unblocked() if settings is None else settings
        self._cluster = cluster_settings or {}
        self.newest_ms = (NOW - newest_age) * 1000
        self.matched = matched
        self.requests = 0

    def version(self) -> str:
        return str(fx("root")["version"]["number"])

    def health(self) -> src.Health:
        return src.parse_health(fx(self._health), WHERE)

    def indices(self, pattern: str) -> list[src.IndexInfo]:
        return src.parse_indices(fx("cat_indices"), WHERE)

    def index_settings(self, pattern: str) -> dict[str, src.IndexSettings]:
        return src.parse_index_settings(self._settings, WHERE)

    def mappings(self, names: list[str]) -> dict[str, dict[str, Any]]:
        return {
            k: v for k, v in src.parse_mappings(fx("mapping_multi"), WHERE).items() if k in names
        }

    def field_names(self, pattern: str, fields: str) -> list[str]:
        return src.parse_field_names(fx("field_caps_values"), WHERE)

    def allocation(self) -> list[src.NodeDisk]:
        return src.parse_allocation(fx(self._allocation), WHERE)

    def watermarks(self) -> src.Watermarks:
        return src.parse_watermarks(self._cluster, WHERE)

    def search(
        self, index: str, query: dict[str, Any], aggs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.requests += 1
        newest = {"value": self.newest_ms if self.matched else None}
        out: dict[str, Any] = {}
        for name, spec in (aggs or {}).items():
            if name == "newest":
                out[name] = newest
            elif name == "matched":
                out[name] = {"doc_count": self.matched, "newest": newest}
            elif name == "prefixes":
                keys = spec["filters"]["filters"]
                out[name] = {"buckets": {k: {"doc_count": 3, "newest": newest} for k in keys}}
        return {"hits": {"total": {"value": 20, "relation": "eq"}}, "aggregations": out}


def run(source: RecordedES, **kw: Any):
    settings = Settings(**{"integration": "aws", "storage": "elasticsearch", "es": WHERE, **kw})
    trace = Trace(settings, stages=[load_stage("elasticsearch")], sources={"es": source}, now=NOW)
    return trace.run().stages[0]


def test_healthy_recording_passes() -> None:
    r = run(RecordedES())
    assert r.status is Status.PASS, r.summary
    assert r.summary.startswith(
        "12 aws documents in the last 15m, the newest 5 s old; cluster yellow"
    )


def test_write_block_on_todays_index_is_a_cause() -> None:
    r = run(RecordedES(settings=fx("index_settings")))
    assert r.status is Status.FAIL and not r.missing_data
    assert "sts_multi_metrics-2026.11.21 has a write block" in r.summary
    assert "flood-stage disk watermark" in r.summary


def test_red_cluster_fails_as_a_cause_and_names_the_step() -> None:
    r = run(RecordedES(health="cluster_health_red"))
    assert r.status is Status.FAIL and not r.missing_data
    assert r.summary.startswith("Cluster health is red")
    assert any("allocation/explain" in h.text for h in r.hints)
    assert all(h.runbook == "Troubleshooting step 2 / Elasticsearch" for h in r.hints)


def test_node_past_flood_stage_fails() -> None:
    r = run(RecordedES(allocation="cat_allocation_flood"))
    assert r.status is Status.FAIL
    assert "Node noida-db disk is 96% full, past the flood-stage watermark (95%)" in r.summary
    disk = next(e for e in r.evidence if e.kind == "table" and e.title == "Disk allocation")
    assert "Elasticsearch defaults" in (disk.note or "")


def test_high_watermark_from_cluster_settings_warns() -> None:
    marks = {"persistent": {"cluster.routing.allocation.disk.watermark.high": "15%"}}
    r = run(RecordedES(cluster_settings=marks))
    assert r.status is Status.WARN
    assert "past the high watermark (15%)" in r.summary


def test_byte_watermarks_bound_free_space() -> None:
    marks = fx("cluster_settings_watermarks")  # flood stage "10gb" of free space
    assert run(RecordedES(cluster_settings=marks)).status is Status.PASS  # 80 GiB free
    r = run(RecordedES(allocation="cat_allocation_flood", cluster_settings=marks))  # 4 GiB free
    assert r.status is Status.FAIL and "flood-stage watermark (10gb)" in r.summary


def test_disabled_disk_thresholds_are_not_judged() -> None:
    marks = {
        "persistent": {
            "cluster": {"routing": {"allocation": {"disk": {"threshold_enabled": "false"}}}}
        }
    }
    assert (
        run(RecordedES(allocation="cat_allocation_flood", cluster_settings=marks)).status
        is Status.PASS
    )


def test_clock_skew_warns() -> None:
    r = run(RecordedES(newest_age=-3600))
    assert r.status is Status.WARN
    assert "60 min in the future" in r.summary


def test_stale_threshold_follows_the_reporting_interval_not_the_window() -> None:
    # 15 minutes without a point: stopped for a check that reports every 15 s (catalog), in
    # any window; a custom integration with nothing to measure is assumed to report every minute.
    for window in ("1h", "6h"):
        r = run(RecordedES(newest_age=900), window=window, integration="mysql", metric_prefix=["aws."])
        assert r.status is Status.FAIL and r.missing_data and "15 min old" in r.summary
        assert "every 15 s (the catalog's default for mysql)" in r.summary
    r = run(RecordedES(newest_age=150), window="1h", metric_prefix=["aws."], integration="custom")
    assert r.status is Status.PASS, r.summary


@pytest.mark.parametrize("layout", ["multi", "single"])
def test_layout_override_is_reported(layout: str) -> None:
    r = run(RecordedES(), es_layout=layout)
    fig = {f.label: f.value for e in r.evidence if e.kind == "figures" for f in e.items}
    assert fig["document layout"] == f"{layout} (--es-layout)"


def test_bad_layout_setting_is_an_error() -> None:
    r = run(RecordedES(), es_layout="columnar")
    assert r.status is Status.ERROR and "--es-layout must be 'multi' or 'single'" in r.summary


def test_no_es_url_skips_with_a_hint() -> None:
    trace = Trace(Settings(integration="aws"), stages=[load_stage("elasticsearch")], now=NOW).run()
    r = trace.stages[0]
    assert r.status is Status.SKIP and "--es" in r.hints[0].text
