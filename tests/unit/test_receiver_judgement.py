"""Receiver judgement on real-format logs: zones, transient vs persistent, components that stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from stsdebug.model import Status, Table
from stsdebug.settings import Settings
from stsdebug.stages.base import load_stage
from stsdebug.stages.recovery import PERSISTENT, RECOVERED, UNCONFIRMED, judge_recovery
from stsdebug.trace import Trace

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "receiver"
T10 = 1795255200.0  # 2026-11-21 10:00:00 UTC


def run_stage(now: float, **kw):
    kw.setdefault("window", "15m")
    trace = Trace(Settings(timeout=2.0, **kw), stages=[load_stage("receiver")], now=now).run()
    return trace.stage("receiver")


# --- the pure recovery rule -------------------------------------------------------------


def test_a_recovery_line_after_the_last_problem_is_a_recovery():
    r = judge_recovery(T10 + 60, T10 + 75, T10 + 120)
    assert r.state == RECOVERED and r.recovered_at == T10 + 75


def test_a_recovery_line_before_the_last_problem_is_not():
    assert judge_recovery(T10 + 60, T10 + 30, T10 + 120).state == PERSISTENT


@pytest.mark.parametrize("fresh,state", [(True, RECOVERED), (None, UNCONFIRMED), (False, PERSISTENT)])
def test_quiet_for_three_intervals_counts_only_with_fresh_data_downstream(fresh, state):
    r = judge_recovery(T10, None, T10 + 3 * 60 + 1, interval_s=60, downstream_fresh=fresh)
    assert r.state == state
    assert judge_recovery(T10, None, T10 + 3 * 60 - 1, interval_s=60, downstream_fresh=fresh).state == PERSISTENT


# --- zones ---------------------------------------------------------------------------------


def test_kubernetes_layout_is_read_as_utc_without_any_setting(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    r = run_stage(T10 + 15 * 60, receiver_log=[str(FIX / "kubernetes_utc.log")])
    # Read in New York time the entries would lie 5 h in the future; as UTC they are in the window.
    assert "Kafka producer failure" in r.summary
    fig = next(e for e in r.evidence if getattr(e, "title", "") == "Receiver log")
    zone = next(i.value for i in fig.items if i.label == "Time zone")
    assert "Kubernetes layout read as UTC" in zone


def test_the_zone_can_still_be_overridden():
    r = run_stage(T10 + 15 * 60 + 2 * 3600, receiver_log=[str(FIX / "kubernetes_utc.log")],
                  receiver_log_tz="-02:00")
    assert "Kafka producer failure" in r.summary


# --- transient vs persistent ---------------------------------------------------------------


def test_kafka_warnings_followed_by_connected_are_a_warning_with_the_recovery_time():
    r = run_stage(T10 + 10 * 60, receiver_log=[str(FIX / "kafka_blip_recovered.log")], receiver_log_tz="UTC")
    assert r.status is Status.WARN
    assert "recovered at 2026-11-21 10:03:21" in r.summary
    timeline = next(e for e in r.evidence if isinstance(e, Table) and e.title == "Timeline in the window")
    assert timeline.rows[0][0] == "Kafka producer problems" and timeline.rows[0][-1].startswith("2026-11-21 10:03:21")


def test_kafka_failures_quiet_for_minutes_without_a_success_line_are_unconfirmed():
    # Kubernetes receivers log at WARN: no success line follows; the last failure is 13 min old.
    r = run_stage(T10 + 15 * 60, receiver_log=[str(FIX / "kubernetes_utc.log")])
    assert r.status is Status.WARN
    assert "quiet since" in r.summary and "recovery is unconfirmed" in r.summary


def test_kafka_failures_until_the_end_of_the_window_are_a_fail():
    r = run_stage(T10 + 2 * 60, receiver_log=[str(FIX / "kubernetes_utc.log")], window="5m")
    assert r.status is Status.FAIL and r.summary.startswith("The receiver cannot put messages on Kafka")


def test_a_receiver_that_stops_for_missing_topics_is_a_fail_and_says_the_wording_is_inferred():
    r = run_stage(T10 + 10 * 60, receiver_log=[str(FIX / "missing_topics.log")])
    assert r.status is Status.FAIL
    assert r.summary.startswith("The receiver is stopping itself")
    assert "Missing Kafka topics: sts_multi_metrics" in r.summary and "inferred wording" in r.summary
    assert any("MissingKafkaTopics" in h.text for h in r.hints)


def test_numbers_in_text_are_not_status_codes():
    r = run_stage(T10 + 10 * 60, receiver_log=[str(FIX / "numbers_not_codes.log")], receiver_log_tz="UTC")
    assert r.status is Status.PASS, r.summary
    assert "too large" not in r.summary and "3 other warnings" in r.summary
