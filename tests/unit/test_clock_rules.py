"""The clock rules of the agent and receiver stages, and the receiver's recovery confirmed downstream.

Formats: `stackstate-agent status` Clocks block (StackVista/stackstate-agent 2.19.1
pkg/status/templates/header.tmpl); the receiver's Linux logback layout (%date [%thread]
%-5level %logger{60} - %msg%n), its wording for ignored old points inferred.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from stsdebug.census import Census
from stsdebug.model import StageResult, Status
from stsdebug.settings import Settings
from stsdebug.stages import clocks
from stsdebug.stages.base import load_stage
from stsdebug.trace import Trace

NOW = datetime(2024, 5, 14, 10, 5, tzinfo=timezone.utc).timestamp()


def test_too_old_lines_name_the_host_and_the_lag() -> None:
    t = clocks.too_old([
        (NOW - 60, "Ignored 57 metric points from host db-02 older than the accepted age; newest point "
                   "2024-05-14T08:03:00Z"),
        (NOW - 30, "Ignored 4 metric point(s) from host db-02 older than 1 hour (newest point 2024-05-14T08:03:30Z, "
                   "121 minutes old)"),
    ])
    assert t.hosts == ("db-02",)
    assert t.behind_s is not None and 7200 <= t.behind_s <= 7300
    assert "clock of host db-02 runs about 2.0 h behind" in clocks.too_old_clause(t)
    assert "sending host" in clocks.too_old_clause(clocks.too_old([(None, "points older than 1 hour")]))


def _receiver_log(tmp_path: Path, lines: list[tuple[float, str, str]]) -> str:
    out = []
    for t, level, msg in lines:
        stamp = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S,000")
        out.append(f"{stamp} [sts-receiver-akka.actor.default-dispatcher-5] {level:<5} "
                   f"com.stackstate.receiver.kafka.MultiMetricsProducer - {msg}")
    p = tmp_path / "stackstate-receiver.log"
    p.write_text("\n".join(out) + "\n", encoding="utf-8")
    return str(p)


class Downstream:
    """The census service, substituted: what Kafka holds (its newest record, at `age` s)."""

    def __init__(self, age: float | None) -> None:
        self.age = age

    def kafka(self) -> Census | None:
        if self.age is None:
            return None
        c = Census("kafka", NOW - 900, NOW, total=10)
        c.newest = NOW - self.age
        return c

    def elasticsearch(self) -> Census | None:
        return None


def _receiver(tmp_path: Path, downstream: Downstream) -> StageResult:
    failures = [(NOW - 300 + i, "ERROR", "org.apache.kafka.common.errors.TimeoutException: Expiring 3 record(s) "
                                         "for sts_multi_metrics-0:120000 ms has passed since batch creation")
                for i in range(0, 30, 10)]
    s = Settings(integration="system", receiver_log=[_receiver_log(tmp_path, failures)], receiver_log_tz="UTC",
                 kafka="k:1")
    return Trace(s, stages=[load_stage("receiver")], census=downstream, now=NOW).run().stages[0]


def test_a_quiet_receiver_recovered_only_when_data_downstream_is_fresh(tmp_path: Path) -> None:
    fresh = _receiver(tmp_path, Downstream(age=5))
    assert fresh.status is Status.WARN and "recovered" in fresh.summary
    stale = _receiver(tmp_path, Downstream(age=600))
    assert stale.status is Status.FAIL
    unknown = _receiver(tmp_path, Downstream(age=None))
    assert unknown.status is Status.WARN and "unconfirmed" in unknown.summary


def test_ntp_offset_high_in_status_fails_the_agent_and_names_the_clock(tmp_path: Path) -> None:
    status = tmp_path / "status.txt"
    status.write_text(
        "===============\nAgent (v2.19.1)\n===============\n\n  Clocks\n  ======\n    NTP offset: 2h1m4s\n"
        "    NTP offset is high. Datadog may ignore metrics sent by this Agent.\n"
        "    System time: 2024-05-14 10:04:12.345 UTC (1715681052345)\n",
        encoding="utf-8",
    )
    s = Settings(integration="system", agent_output=str(status))
    r = Trace(s, stages=[load_stage("agent")], now=NOW).run().stages[0]
    assert r.status is Status.FAIL
    assert "The clock of this agent's host is off by about 2h1m4s" in r.summary
