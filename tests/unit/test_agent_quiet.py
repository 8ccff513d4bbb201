"""A quiet healthy agent log: after a check's first five runs, agent 2.19.1 logs it no more
(pkg/collector/worker/check_logger.go: the first five runs at INFO, then one in
logging_frequency, 500) but still logs every failed run and, with the transactional
forwarder, every post ("Sent transactional payload, size: N bytes.",
pkg/collector/transactional/transactionforwarder/forwarder.go:113). Such a log is judged
healthy from the runs before the window, unless the agent restarted since or the check
failed. Also: the same log read through journalctl's or syslog's prefix."""

from __future__ import annotations

import json
import time
from pathlib import Path

from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.logs.agent_chunks import LogFeeder
from stsdebug.logs.agent_format import strip_syslog_prefix
from stsdebug.logs.agent_scan import AgentScan

runner = CliRunner()


def _line(ts: float, loc: str, msg: str, level: str = "INFO") -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
    return f"{stamp} | CORE | {level} | ({loc}) | {msg}"


def _runs(ts: float, check: str) -> list[str]:
    return [
        _line(ts, "pkg/collector/worker/check_logger.go:37 in CheckStarted", f"check:{check} | Running check..."),
        _line(ts, "pkg/collector/worker/check_logger.go:56 in CheckFinished", f"check:{check} | Done running check"),
    ]


def _posts(start: float, end: float) -> list[str]:
    loc = "pkg/collector/transactional/transactionforwarder/forwarder.go:113 in Start"
    out, t = [], start
    while t < end:
        out.append(_line(t, loc, "Sent transactional payload, size: 2231 bytes."))
        t += 15
    return out


def _quiet_log(now: float, *, restart: bool = False, failed_before: bool = False) -> str:
    t0 = now - 3600
    lines = [_line(t0, "cmd/agent/app/run.go:256 in StartAgent", "Starting Datadog Agent v2.19.1")]
    for k in range(5):
        lines += _runs(t0 + 15 * k + 1, "cpu") + _runs(t0 + 15 * k + 2, "load")
    if failed_before:
        lines.append(_line(t0 + 100, "pkg/collector/worker/check_logger.go:70 in Error",
                           "check:cpu | Error running check: psutil failed", "ERROR"))
    if restart:
        lines.append(_line(t0 + 200, "cmd/agent/app/run.go:256 in StartAgent", "Starting StackState Agent v2.19.1"))
    lines += _posts(t0 + 300, now - 5)
    return "\n".join(lines) + "\n"


def _agent(tmp_path: Path, text: str) -> dict[str, object]:
    log = tmp_path / "agent.log"
    log.write_text(text)
    r = runner.invoke(app, ["check", "-i", "system", "--agent-log", str(log), "--window", "15m", "-f", "json"])
    stages = json.loads(r.stdout)["stages"]
    return dict(next(s for s in stages if s["id"] == "agent"))


def test_a_quiet_healthy_log_passes_from_the_runs_before_the_window(tmp_path: Path) -> None:
    s = _agent(tmp_path, _quiet_log(time.time()))
    assert s["status"] == "pass", s["summary"]
    assert "ran without errors before the window" in str(s["summary"])


def test_runs_before_a_restart_say_nothing_about_the_agent_since(tmp_path: Path) -> None:
    s = _agent(tmp_path, _quiet_log(time.time(), restart=True))
    assert s["status"] == "warn", s["summary"]
    assert "collecting data" in str(s["summary"])


def test_a_check_whose_last_run_before_the_window_failed_is_not_taken_as_collecting() -> None:
    now = time.time()
    scan = AgentScan(window=(now - 900, now))
    feeder = LogFeeder(scan)
    feeder.feed(_quiet_log(now, failed_before=True).encode())
    feeder.close()
    ran = scan.finish().ran_before
    assert "load" in ran and "cpu" not in ran


def test_the_fast_and_the_line_by_line_reading_remember_the_same_runs() -> None:
    now = time.time()
    text = _quiet_log(now)
    fast, slow = AgentScan(window=(now - 900, now)), AgentScan(window=(now - 900, now))
    feeder = LogFeeder(fast)
    feeder.feed(text.encode())
    feeder.close()
    for n, line in enumerate(text.splitlines(), 1):
        slow.feed(n, line)
    assert fast.finish().ran_before == slow.finish().ran_before != {}


def test_journald_and_syslog_prefixes_are_read_through() -> None:
    inner = "2024-05-14 09:40:02 UTC | CORE | INFO | (cmd/agent/app/run.go:256 in StartAgent) | Starting"
    assert strip_syslog_prefix(f"May 14 09:40:02 web-01 stackstate-agent[2211]: {inner}") == inner
    assert strip_syslog_prefix(f"May  4 09:40:02.123456 web-01 agent: {inner}") == inner
    assert strip_syslog_prefix(f"2024-05-14T09:40:02+0000 web-01 stackstate-agent[2211]: {inner}") == inner
    # The agent's own layouts and a Kubernetes prefix are left alone.
    rfc = "2024-05-14T09:40:02Z | CORE | INFO | (run.go:1 in x) | y"
    assert strip_syslog_prefix(rfc) == rfc
    kube = "2024-05-14T09:40:02.1Z stdout F " + inner
    assert strip_syslog_prefix(kube) == kube


def test_a_refused_agent_behind_a_journal_prefix_fails(tmp_path: Path) -> None:
    now = time.time()
    loc = "pkg/collector/transactional/transactionforwarder/forwarder.go:108 in Start"
    lines = []
    for k in range(20):
        t = now - 600 + 15 * k
        prefix = time.strftime("%b %d %H:%M:%S", time.gmtime(t)) + " web-01 stackstate-agent[2211]: "
        lines.append(prefix + _line(t, loc, "Sending transactional payload failed, content: {}. giving up after 1 "
                                    'attempt(s): Post "https://sts.example.com:7077/stsAgent/intake": dial tcp '
                                    "10.0.0.1:7077: connect: connection refused", "ERROR"))
    s = _agent(tmp_path, "\n".join(lines) + "\n")
    assert s["status"] == "fail", s["summary"]
    assert "refused" in str(s["summary"])
