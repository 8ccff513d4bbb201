"""/metrics pages: the parser on pages captured from the real binaries (fixtures/v6,
see its README), the source on the live binaries, and counter deltas with resets."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from stsdebug import promtext
from stsdebug.errors import SourceError
from stsdebug.sandbox import timeseries
from stsdebug.sandbox.servers import ServerProcess, free_port
from stsdebug.sources import remote_write as rw
from stsdebug.sources.prom_metrics import MetricsPageError, PromMetricsConfig, PromMetricsSource

FIXTURES = Path(__file__).parents[2] / "fixtures" / "v6"


def page(*parts: str) -> promtext.Page:
    return promtext.parse(FIXTURES.joinpath(*parts).read_text())


def test_vmagent_healthy_page() -> None:
    p = page("vmagent", "healthy.prom")
    assert not p.bad_lines and len(p.samples) > 300
    assert p.total("vmagent_remotewrite_pending_data_bytes") == 0
    assert p.total("vmagent_remotewrite_packets_dropped_total") == 0
    assert (p.total("vmagent_remotewrite_requests_total", status_code="2XX") or 0) >= 1
    assert p.total("vmagent_rows_inserted_total", type="promremotewrite") == 1200
    assert p.types == {}  # 1.79.5 writes no # HELP / # TYPE lines
    (pending,) = p.series("vmagent_remotewrite_pending_data_bytes")
    assert pending.labels["url"] == "1:secret-url" and "persistent-queue" in pending.labels["path"]


def test_vmagent_buffer_grows_while_victoria_metrics_is_down() -> None:
    first, second = page("vmagent", "vm-unreachable-1.prom"), page("vmagent", "vm-unreachable-2.prom")
    assert first.total("vmagent_remotewrite_pending_data_bytes") == 3001
    assert second.total("vmagent_remotewrite_pending_data_bytes") == 36112
    retries = promtext.total_increase(first, second, "vmagent_remotewrite_retries_count_total")
    assert retries is not None and retries > 0
    assert promtext.total_increase(first, second, "vmagent_remotewrite_blocks_sent_total") == 0


def test_vmagent_drops_packets_the_remote_refuses_with_400() -> None:
    p = page("vmagent", "remote-400.prom")
    assert p.total("vmagent_remotewrite_packets_dropped_total") == 1
    assert p.by_label("vmagent_remotewrite_requests_total", "status_code") == {"2XX": 0, "400": 1}


def test_victoria_metrics_rows_ignored_by_reason() -> None:
    healthy = page("victoria-metrics", "healthy.prom")
    assert healthy.by_label("vm_rows_ignored_total", "reason") == {
        "big_timestamp": 0, "small_timestamp": 0}
    old = page("victoria-metrics", "small-timestamp.prom")
    assert old.total("vm_rows_ignored_total", reason="small_timestamp") == 10
    # The rows still count as inserted and added: only vm_rows_ignored_total tells.
    assert old.total("vm_rows_inserted_total", type="promremotewrite") == 10
    assert old.total("vm_rows_added_to_storage_total") == 10
    assert old.total("vm_new_timeseries_created_total") == 0
    future = page("victoria-metrics", "big-timestamp.prom")
    assert future.total("vm_rows_ignored_total", reason="big_timestamp") == 10


def test_parser_edge_cases() -> None:
    text = "\n".join([
        "# HELP m_total A counter with \\\"quotes\\\".",
        "# TYPE m_total counter",
        'm_total{path="/a\\"b\\\\c\\nd", le="+Inf"} 1.5e3 1700000000000',
        'm_total{path="x",} 2',
        "gauge_nan NaN",
        "gauge_inf +Inf",
        "gauge_neg -Inf",
        'broken{path="x" 3',
        "not a sample line",
        "",
        "# EOF",
    ])
    p = promtext.parse(text)
    assert p.types == {"m_total": "counter"}
    first = p.series("m_total")[0]
    assert first.labels == {"path": '/a"b\\c\nd', "le": "+Inf"}
    assert (first.value, first.timestamp_ms) == (1500.0, 1700000000000)
    assert p.total("m_total") == 1502.0
    assert math.isnan(p.total("gauge_nan") or 0.0) and p.total("gauge_inf") == math.inf
    assert p.total("gauge_neg") == -math.inf
    assert [n for n, _ in p.bad_lines] == [8, 9]
    assert p.total("absent") is None


def test_counter_deltas_with_reset_and_new_series() -> None:
    before = promtext.parse('c{a="1"} 10\nc{a="2"} 5\nc{a="gone"} 7\n')
    after = promtext.parse('c{a="1"} 16\nc{a="2"} 2\nc{a="new"} 4\n')
    before.taken_at, after.taken_at = 100.0, 110.0
    got = {d.labels["a"]: (d.increase, d.reset, d.rate) for d in promtext.deltas(before, after, "c")}
    assert got == {"1": (6.0, False, 0.6), "2": (2.0, True, 0.2), "new": (4.0, False, 0.4)}
    assert promtext.total_increase(before, after, "c") == 12.0
    assert promtext.total_increase(before, after, "c", a="1") == 6.0
    assert promtext.total_increase(before, after, "absent") is None
    assert promtext.counter_increase(None, 3) == (3, False)
    no_time = promtext.deltas(promtext.parse("c 1"), promtext.parse("c 2"), "c")
    assert no_time[0].rate is None


def test_scrape_twice_on_live_vmagent_sees_the_rows_written_between(
        vmagent: ServerProcess, metric_name: str) -> None:
    src = PromMetricsSource(PromMetricsConfig(f"{timeseries.base_url(vmagent)}/metrics"))
    writer = rw.RemoteWriter(rw.RemoteWriteConfig(timeseries.write_url(vmagent)))

    def write_between(seconds: float) -> None:
        writer.send([rw.series(metric_name, {"i": str(i)}, samples=[(time.time(), i)])
                     for i in range(25)])
        time.sleep(seconds)

    # The page lags its counters by up to a second or so, hence the wide gap.
    first, second = src.scrape_twice(2.5, sleep=write_between)
    writer.close()
    assert src.requests_sent == 2
    assert first.taken_at is not None and second.taken_at is not None
    assert second.taken_at - first.taken_at >= 2.5
    rows = promtext.total_increase(first, second, "vmagent_rows_inserted_total", type="promremotewrite")
    assert rows == 25


def test_scrape_victoria_metrics_page(victoria_metrics: ServerProcess) -> None:
    with PromMetricsSource(PromMetricsConfig(f"{timeseries.base_url(victoria_metrics)}/metrics")) as src:
        p = src.scrape()
    assert set(p.by_label("vm_rows_ignored_total", "reason")) == {"big_timestamp", "small_timestamp"}


def test_a_page_that_is_not_metrics(victoria_metrics: ServerProcess) -> None:
    src = PromMetricsSource(PromMetricsConfig(f"{timeseries.base_url(victoria_metrics)}/api/v1/labels"))
    with pytest.raises(MetricsPageError) as err:
        src.scrape()
    assert err.value.cause == "malformed" and "not a Prometheus metrics page" in str(err.value)


def test_unreachable_page_and_size_cap(victoria_metrics: ServerProcess) -> None:
    with pytest.raises(SourceError) as err:
        PromMetricsSource(PromMetricsConfig(f"http://127.0.0.1:{free_port()}/metrics",
                                            timeout=2)).scrape()
    assert err.value.cause == "refused"
    small = PromMetricsSource(PromMetricsConfig(f"{timeseries.base_url(victoria_metrics)}/metrics",
                                                max_body=1000))
    with pytest.raises(SourceError, match="larger than"):
        small.scrape()
