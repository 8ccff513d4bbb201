"""`stsdebug check` without --integration: the census of every integration, fresh or stale by kind."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from typer.testing import CliRunner

from stsdebug.census import Census, Overview
from stsdebug.cli import app
from stsdebug.errors import SourceError
from stsdebug.settings import Settings
from stsdebug.trace import Trace


class FakeCensus:
    """The census service, substituted: a Census, None (not given) or a SourceError per system."""

    def __init__(self, kafka: object, es: object) -> None:
        self.given = {"kafka": kafka, "elasticsearch": es}

    def _take(self, system: str) -> Census | None:
        value = self.given[system]
        if isinstance(value, Exception):
            raise value
        return value if isinstance(value, Census) else None

    def kafka(self) -> Census | None:
        return self._take("kafka")

    def elasticsearch(self) -> Census | None:
        return self._take("elasticsearch")

NOW = 1_800_000_000.0


def _census(system: str, ages: Mapping[str, float]) -> Census:
    c = Census(system, NOW - 900, NOW)
    for p, a in ages.items():
        c.prefix(p).see(NOW - a, in_window=a <= 900)
    c.total = sum(pc.records for pc in c.prefixes.values())
    return c


def _overview(kafka: object = None, es: object = None) -> Overview:
    s = Settings(kafka="k:1" if kafka is not None else None, es="http://e" if es is not None else None)
    return Trace(s, census=FakeCensus(kafka, es), now=NOW).overview()


def test_every_integration_fresh_or_stale_by_its_own_interval() -> None:
    ages = {"system.": 5, "mysql.": 1500, "kubernetes.": 20, "batch.": 30}
    ov = _overview(_census("kafka", ages), _census("elasticsearch", {**ages, "aws.": 40}))
    state = {r.name: r.state for r in ov.rows}
    assert state["system"] == "fresh" and state["kubernetes"] == "fresh"
    assert state["mysql"] == "stale"  # 25 min for a check that reports every 15 s
    assert state["aws"] == "fresh"  # stored here, so judged
    assert state["azure"] == "on demand" and state["splunk"] == "not recognisable"
    assert state["docker"] == "not seen"
    assert state["batch."] == "fresh"  # a prefix no integration claims is listed too
    assert ov.exit_code() == 1


def test_nothing_readable_exits_3_and_says_why() -> None:
    ov = _overview(SourceError("Cannot connect to Kafka at k:1: connection refused"), None)
    assert ov.read == [] and "connection refused" in ov.problems[0]
    assert ov.exit_code() == 3


def test_cli_without_integration_prints_the_census_by_kind(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["check", "--es", "http://127.0.0.1:1", "--timeout", "1", "--config",
                                 str(_empty(tmp_path))])
    assert r.exit_code == 3, r.output
    assert r.stdout.startswith("Census of every integration, window 15m")
    assert "push:" in r.stdout and "pull:" in r.stdout and "could not read Elasticsearch" in r.stdout
    j = CliRunner().invoke(app, ["check", "--es", "http://127.0.0.1:1", "--timeout", "1", "-f", "json",
                                 "--config", str(_empty(tmp_path))])
    data = json.loads(j.stdout)
    assert data["schema"] == "stsdebug.census/1"
    assert {"aws", "system", "splunk"} <= {row["name"] for row in data["integrations"]}


def test_cli_without_integration_or_census_input_is_a_usage_error(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text("2024-05-14 10:01:02 UTC | CORE | INFO | (a.go:1 in F) | hello\n")
    r = CliRunner().invoke(app, ["check", "--agent-log", str(log), "--config", str(_empty(tmp_path))])
    assert r.exit_code == 2
    assert "name the integration to trace" in r.output and r.output[-1] == "\n" and r.output.count("\n") == 1
    h = CliRunner().invoke(app, ["check", "--es", "http://x", "--html", str(tmp_path / "r.html"),
                                 "--config", str(_empty(tmp_path))])
    assert h.exit_code == 2 and "JUnit or HTML" in h.output


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "none.toml"
    p.write_text("")
    return p
