"""The StackState 6 stages' judgement on recorded pages and logs: vmagent's /metrics captured
from the real binary (fixtures/v6/vmagent), the sandbox receiver's /metrics and logs
(fixtures/v6/receiver). Each page pair is given its scrape times, as the source would."""

from __future__ import annotations

from pathlib import Path

import pytest

from stsdebug import promtext
from stsdebug.model import Status
from stsdebug.settings import Settings
from stsdebug.stages.base import load_stage
from stsdebug.stages.v6 import receiver, vmagent
from stsdebug.stages.v6.pages import Pair
from stsdebug.trace import Trace

V6 = Path(__file__).parents[2] / "fixtures" / "v6"


def page(rel: str, at: float, edit: tuple[tuple[str, str], ...] = ()) -> promtext.Page:
    text = (V6 / rel).read_text()
    for old, new in edit:
        assert old in text, old
        text = text.replace(old, new)
    p = promtext.parse(text)
    p.taken_at = at
    return p


# --- vmagent ---------------------------------------------------------------------------------


def test_vm_unreachable_is_a_failure_with_the_buffer_and_the_retries() -> None:
    # Captured 5 s and 15 s after VictoriaMetrics stopped (fixtures/v6/README.md).
    f = vmagent.judge(Pair(page("vmagent/vm-unreachable-1.prom", 0.0), page("vmagent/vm-unreachable-2.prom", 10.0)))
    assert f.status is Status.FAIL
    assert "cannot deliver to VictoriaMetrics" in f.summary and "36,112 bytes wait" in f.summary
    assert "retries" in f.summary and "growing" in f.summary
    assert "re-sending" in f.hints[0].text


def test_a_healthy_vmagent_passes_on_rates_not_totals() -> None:
    healthy = page("vmagent/healthy.prom", 0.0)
    later = page("vmagent/healthy.prom", 5.0, (
        ('vmagent_remotewrite_requests_total{url="1:secret-url", status_code="2XX"} 2',
         'vmagent_remotewrite_requests_total{url="1:secret-url", status_code="2XX"} 4'),
        ('vmagent_rows_inserted_total{type="promremotewrite"} 1200',
         'vmagent_rows_inserted_total{type="promremotewrite"} 1600'),
    ))
    f = vmagent.judge(Pair(healthy, later))
    assert f.status is Status.PASS and "2 blocks delivered and 400 samples received" in f.summary


def test_blocks_dropped_by_the_remote_are_lost_data() -> None:
    after = page("vmagent/remote-400.prom", 5.0)
    before = page("vmagent/remote-400.prom", 0.0, (
        ('vmagent_remotewrite_packets_dropped_total{url="1:secret-url"} 1',
         'vmagent_remotewrite_packets_dropped_total{url="1:secret-url"} 0'),
        ('vmagent_remotewrite_requests_total{url="1:secret-url", status_code="400"} 1',
         'vmagent_remotewrite_requests_total{url="1:secret-url", status_code="400"} 0'),
    ))
    f = vmagent.judge(Pair(before, after))
    assert f.status is Status.FAIL and "drops what it sends" in f.summary and "400: 1" in f.summary


def test_a_draining_buffer_is_recovery_not_failure() -> None:
    first = page("vmagent/vm-unreachable-2.prom", 0.0)
    drained = page("vmagent/vm-unreachable-2.prom", 10.0, (
        ('url="1:secret-url"} 36112', 'url="1:secret-url"} 4000'),
        ('vmagent_remotewrite_requests_total{url="1:secret-url", status_code="2XX"} 3',
         'vmagent_remotewrite_requests_total{url="1:secret-url", status_code="2XX"} 12'),
    ))
    f = vmagent.judge(Pair(first, drained))
    assert f.status is Status.WARN and "catching up" in f.summary and "falling" in f.summary


def test_an_idle_vmagent_that_never_delivered_is_not_idle() -> None:
    """No send in a short gap proves nothing; never a delivery since start, with errors, does."""
    quiet = (('url="1:secret-url"} 36112', 'url="1:secret-url"} 0'),)
    never = (*quiet, ('status_code="2XX"} 3', 'status_code="2XX"} 0'))
    f = vmagent.judge(Pair(page("vmagent/vm-unreachable-2.prom", 0.0, never),
                           page("vmagent/vm-unreachable-2.prom", 3.0, never)))
    assert f.status is Status.FAIL and "delivered nothing since it started" in f.summary
    idle = vmagent.judge(Pair(page("vmagent/vm-unreachable-2.prom", 0.0, quiet),
                              page("vmagent/vm-unreachable-2.prom", 3.0, quiet)))
    assert idle.status is Status.PASS and "idle" in idle.summary  # it did deliver before


# --- the receiver's metrics page --------------------------------------------------------------


def test_receiver_page_with_only_failed_remote_writes_fails() -> None:
    part = receiver.judge_metrics(Pair(page("receiver/metrics-vmagent-down-1.prom", 0.0),
                                       page("receiver/metrics-vmagent-down-2.prom", 11.0)))
    assert part.status is Status.FAIL and "remote writes to vmagent fail" in part.sentence


def test_failures_are_found_by_name_and_by_label() -> None:
    p = promtext.parse("# TYPE x_prometheus_write_requests_total counter\n"
                       'x_prometheus_write_requests_total{result="ok"} 5\n'
                       'x_prometheus_write_requests_total{result="failed"} 1\n'
                       "x_remote_write_errors_total 2\n"
                       "x_remote_write_duration_seconds_bucket 3\n")
    assert receiver.remote_write_counters(p) == ["x_prometheus_write_requests_total", "x_remote_write_errors_total"]
    p2 = promtext.parse(p and "# TYPE x_prometheus_write_requests_total counter\n"
                        'x_prometheus_write_requests_total{result="ok"} 9\n'
                        'x_prometheus_write_requests_total{result="failed"} 1\n'
                        "x_remote_write_errors_total 2\n")
    p.taken_at, p2.taken_at = 0.0, 5.0
    assert receiver.judge_metrics(Pair(p, p2)).status is Status.PASS
    p3 = promtext.parse('x_prometheus_write_requests_total{result="ok"} 5\n'
                        'x_prometheus_write_requests_total{result="failed"} 4\n'
                        "x_remote_write_errors_total 2\n")
    p3.taken_at = 5.0
    assert receiver.judge_metrics(Pair(p, p3)).status is Status.FAIL


def test_a_page_without_remote_write_counters_says_so() -> None:
    a = promtext.parse('pekko_http_responses_total{path="/stsAgent/intake",status="200"} 10\n')
    b = promtext.parse('pekko_http_responses_total{path="/stsAgent/intake",status="200"} 30\n')
    a.taken_at, b.taken_at = 0.0, 5.0
    part = receiver.judge_metrics(Pair(a, b))
    assert part.status is Status.PASS and "no remote-write counters" in part.sentence
    c = promtext.parse('pekko_http_responses_total{path="/stsAgent/intake",status="200"} 10\n'
                       'pekko_http_responses_total{path="/stsAgent/intake",status="403"} 50\n')
    c.taken_at = 5.0
    bad = receiver.judge_metrics(Pair(a, c))
    assert bad.status is Status.WARN and "50 of 50 intake requests with errors" in bad.sentence


# --- the receiver's log -------------------------------------------------------------------------


def run_receiver(log: str, now: float, **kw: object):  # noqa: ANN201 - a StageResult
    s = Settings(receiver_log=[str(V6 / "receiver" / log)], receiver_log_tz="UTC", window="15m", timeout=2.0, **kw)
    return Trace(s, stages=[load_stage("receiver", "6")], now=now).run().stages[0]


LOG_END = 1796533270.0  # 2026-12-06 05:01:10 UTC, the failing log's last line


def test_remote_write_failures_to_the_log_end_fail() -> None:
    st = run_receiver("remote-write-failing.log", LOG_END + 5)
    assert st.status is Status.FAIL and "cannot remote-write metrics to vmagent" in st.summary
    assert any(ev.kind == "log" for ev in st.evidence)


def test_remote_write_failures_then_quiet_are_a_warning() -> None:
    st = run_receiver("remote-write-recovered.log", LOG_END + 600 + 5)
    assert st.status is Status.WARN and "quiet about them since" in st.summary


def test_kafka_failures_do_not_stop_metrics_in_6() -> None:
    st = run_receiver("kafka-only.log", 1796533560.0 + 30)
    assert st.status is Status.WARN and "Kafka carries the receiver's topology" in st.summary
    five = Trace(Settings(receiver_log=[str(V6 / "receiver" / "kafka-only.log")], receiver_log_tz="UTC",
                          window="15m"), stages=[load_stage("receiver")], now=1796533560.0 + 30).run().stages[0]
    assert five.status is Status.FAIL  # the same log in StackState 5: metrics go through Kafka


@pytest.mark.parametrize("given, says", [
    ({}, "No receiver input given"),
    ({"prometheus_api": "https://so.example.com/prometheus"}, "cannot be read through it"),
])
def test_receiver_without_input_skips_with_the_reason(given: dict[str, str], says: str) -> None:
    st = Trace(Settings(**given), stages=[load_stage("receiver", "6")]).run().stages[0]
    assert st.status is Status.SKIP and says in st.summary


def test_vmagent_only_through_the_api_path_skips_with_the_reason() -> None:
    st = Trace(Settings(prometheus_api="https://so.example.com/prometheus"),
               stages=[load_stage("vmagent", "6")]).run().stages[0]
    assert st.status is Status.SKIP and "--vmagent" in st.summary


def _two_urls(pending2: int, ok1: int, ok2: int, retries2: int) -> promtext.Page:
    return promtext.parse(
        f'vmagent_remotewrite_pending_data_bytes{{path="/q/1",url="1:secret-url"}} 0\n'
        f'vmagent_remotewrite_pending_data_bytes{{path="/q/2",url="2:secret-url"}} {pending2}\n'
        f'vmagent_remotewrite_requests_total{{url="1:secret-url",status_code="2XX"}} {ok1}\n'
        f'vmagent_remotewrite_requests_total{{url="2:secret-url",status_code="2XX"}} {ok2}\n'
        f'vmagent_remotewrite_retries_count_total{{url="1:secret-url"}} 0\n'
        f'vmagent_remotewrite_retries_count_total{{url="2:secret-url"}} {retries2}\n'
        f'vmagent_rows_inserted_total{{type="promremotewrite"}} {ok1 * 100}\n')


def test_one_of_two_victoria_metrics_instances_unreachable_is_a_warning() -> None:
    """The chart runs two instances, vmagent writes a full copy to each: one stuck loses no
    data yet, but queries through the Service flap."""
    a, b = _two_urls(5000, 10, 3, 4), _two_urls(9000, 14, 3, 6)
    a.taken_at, b.taken_at = 0.0, 5.0
    f = vmagent.judge(Pair(a, b))
    assert f.status is Status.WARN and "cannot deliver to 2:secret-url" in f.summary
    both_stuck = _two_urls(9000, 10, 3, 6)
    both_stuck.taken_at = 5.0
    assert vmagent.judge(Pair(a, both_stuck)).status is Status.FAIL
