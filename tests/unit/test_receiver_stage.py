"""Stage `receiver` on receiver logs, and its bad inputs through the command line."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.model import Figures, LogSample, Status, Table
from stsdebug.settings import Settings
from stsdebug.stages.base import load_stage
from stsdebug.trace import Trace

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "receiver"
T10 = 1795255200.0  # 2026-11-21 10:00:00 UTC
NOW = T10 + 300
runner = CliRunner()


def run_stage(now: float = NOW, **kw):
    kw.setdefault("window", "15m")
    kw.setdefault("receiver_log_tz", "UTC")
    trace = Trace(Settings(timeout=2.0, **kw), stages=[load_stage("receiver")], now=now).run()
    return trace.stage("receiver")


def figures(result, title="Receiver log") -> dict:
    fig = next(e for e in result.evidence if isinstance(e, Figures) and e.title == title)
    return {i.label: i.value for i in fig.items}


def test_no_input_is_a_skip_with_a_hint():
    r = run_stage()
    assert r.status is Status.SKIP and "No receiver input" in r.summary
    assert "--receiver-log" in r.hints[0].text


def test_linux_log_with_deserialization_errors_is_a_warning_with_evidence():
    r = run_stage(receiver_log=[str(FIX / "linux.log")])
    assert r.status is Status.WARN
    assert r.summary.startswith("The receiver refused 5 intake payloads with JSON deserialization errors in the window")
    f = figures(r)
    assert f["Lines in the window"] == 22 and f["JSON deserialization errors in the window"] == 5
    assert f["Time zone"] == "timestamps carry no zone; read as UTC (receiver_log_tz)"
    table = next(e for e in r.evidence if isinstance(e, Table) and e.title.startswith("JSON deserialization"))
    assert table.columns == ["reason", "count", "first seen", "last seen"]
    assert table.rows[0] == ["Object is missing required member 'internalHostname'", 2,
                             "2026-11-21 10:00:12+00:00", "2026-11-21 10:01:12+00:00"]
    sample = next(e for e in r.evidence if isinstance(e, LogSample) and e.title.startswith("JSON"))
    assert sample.total_matches == 5 and [ln.n for ln in sample.lines] == [4, 6, 7, 8, 15, 17, 18]
    assert all(h.runbook for h in r.hints)


def test_kubernetes_log_with_kafka_failures_is_a_fail():
    r = run_stage(receiver_log=[str(FIX / "kubernetes.log")])
    assert r.status is Status.FAIL
    assert r.summary.startswith("The receiver cannot put messages on Kafka: 4 Kafka producer failures in the window")
    assert "also 1 JSON deserialization error, 1 Kafka producer warning, 1 API key rejection, 1 oversized payload" in r.summary
    other = next(e for e in r.evidence if isinstance(e, Table) and e.title == "Other receiver problems")
    kinds = [row[0] for row in other.rows]
    assert kinds.count("Kafka producer problems") == 5 and "API key and authorization rejections" in kinds
    assert any(h.runbook == "Kafka" for h in r.hints)


def test_only_kafka_warnings_are_a_warning(tmp_path):
    log = tmp_path / "r.log"
    log.write_text("2026-11-21 10:01:00,000 WARN  org.apache.kafka.clients.producer.internals.Sender - "
                   "due to org.apache.kafka.common.errors.NotLeaderOrFollowerException: not the leader\n")
    r = run_stage(receiver_log=[str(log)])
    assert r.status is Status.WARN and "Kafka producer warning" in r.summary


def test_entries_outside_the_window_do_not_count():
    # 10:05 minus 3 minutes: 10:02 .. 10:05; linux.log has deserialization errors at 10:00:12, 10:01:12,
    # 10:01:44 (before) and 10:02:12, 10:03:05 (in).
    r = run_stage(receiver_log=[str(FIX / "linux.log")], window="3m")
    f = figures(r)
    assert f["JSON deserialization errors in the window"] == 2
    assert f["Lines before the window (not counted)"] == 14 and f["Lines in the window"] == 8
    assert "JSON deserialization errors before the window" not in f  # not classified, only counted
    assert "2 intake payloads" in r.summary


def test_nothing_in_the_window_is_a_skip_that_says_why_and_suggests_the_zone():
    r = run_stage(receiver_log=[str(FIX / "linux.log")], now=T10 + 3 * 86400, receiver_log_tz=None)
    assert r.status is Status.SKIP
    assert "none of its 22 lines falls in the last 15m" in r.summary and "days old" in r.summary
    texts = " ".join(h.text for h in r.hints)
    assert "--window" in texts and "STSDEBUG_RECEIVER_LOG_TZ" in texts


def test_timestamps_in_the_future_are_reported_after_the_window():
    # The log's entries are about one hour ahead of now: a whole-hour offset is a zone mix-up, said
    # as such (warn) rather than a silent skip.
    r = run_stage(receiver_log=[str(FIX / "linux.log")], now=T10 - 3600)
    assert r.status is Status.WARN and "dated after the window end" in r.summary
    assert "about 1 h in the future" in r.summary and "whole-hour offset" in r.summary
    assert figures(r)["Lines after the window end (not counted)"] == 22
    assert any("STSDEBUG_RECEIVER_LOG_TZ" in h.text for h in r.hints)


def test_timestamps_far_in_the_future_without_an_hour_offset_are_a_skip():
    r = run_stage(receiver_log=[str(FIX / "linux.log")], now=T10 - 3600 - 1800)
    assert r.status is Status.SKIP and "dated after the window end" in r.summary


def test_steady_deserialization_errors_are_a_fail(tmp_path):
    lines = []
    for s in range(0, 14 * 60, 20):  # every 20 s from 09:51 to 10:05
        t = datetime.fromtimestamp(T10 - 9 * 60 + s, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{t},000 [d] WARN  com.stackstate.api.ReceiverRoutes - Failed to deserialize JSON on fields: "
                     f", with message: Object is missing required member 'internalHostname'\n")
    log = tmp_path / "steady.log"
    log.write_text("".join(lines))
    r = run_stage(receiver_log=[str(log)])
    assert r.status is Status.FAIL
    assert "in every minute of the window it logged" in r.summary
    # with one quiet minute it is only a warning
    gap = [ln for ln in lines if " 09:58:" not in ln]
    log.write_text("".join(gap))
    assert run_stage(receiver_log=[str(log)]).status is Status.WARN


def test_steady_drops_of_single_items_are_only_a_warning(tmp_path):
    lines = []
    for s in range(0, 14 * 60, 20):
        t = datetime.fromtimestamp(T10 - 9 * 60 + s, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{t},000 [d] WARN  c.s.r.i.MetricsConverter - Dropped metric from host h1: Failed to "
                     "deserialize JSON on fields: metrics, with message: metric name \"host.x\" is reserved\n")
    log = tmp_path / "drops.log"
    log.write_text("".join(lines))
    r = run_stage(receiver_log=[str(log)])
    assert r.status is Status.WARN
    assert r.summary.startswith("The receiver dropped 42 items from accepted payloads with JSON deserialization errors")


def test_clean_log_is_a_pass_with_its_scope(tmp_path):
    log = tmp_path / "ok.log"
    log.write_text("2026-11-21 10:01:00,000 [main] INFO  com.stackstate.receiver.Main - ready\n"
                   "2026-11-21 10:02:00,000 [main] WARN  akka.actor.ActorSystemImpl - Illegal request header\n")
    r = run_stage(receiver_log=[str(log)])
    assert r.status is Status.PASS
    assert r.summary == ("The receiver log shows no deserialization errors, Kafka problems or rejections "
                         "(2 lines in the window; 1 other warning listed).")


def test_other_errors_alone_are_a_warning(tmp_path):
    log = tmp_path / "e.log"
    log.write_text("2026-11-21 10:01:00,000 [main] ERROR com.stackstate.receiver.Foo - disk 91 full\n")
    r = run_stage(receiver_log=[str(log)])
    assert r.status is Status.WARN and '"Foo: disk N full"' in r.summary


def test_binary_garbage_is_an_error_not_a_pass():
    r = run_stage(receiver_log=[str(FIX / "garbage.bin")])
    assert r.status is Status.ERROR
    assert "does not look like a StackState receiver log" in r.summary


def test_empty_file_is_a_skip(tmp_path):
    empty = tmp_path / "stackstate-receiver.log"
    empty.write_bytes(b"")
    r = run_stage(receiver_log=[str(empty)])
    assert r.status is Status.SKIP and "is empty" in r.summary


def test_log_without_timestamps_is_judged_whole_and_says_so(tmp_path):
    log = tmp_path / "msgs.txt"
    log.write_text("ERROR Failed to deserialize JSON on fields: , with message: no time here\n")
    r = run_stage(receiver_log=[str(log)])
    assert r.status is Status.WARN and "no timestamps, so the window was not applied" in r.summary
    assert figures(r)["Timestamps"].startswith("none found")


def test_secrets_in_log_lines_are_redacted_and_the_match_stays_on_target(tmp_path):
    log = tmp_path / "r.log"
    log.write_text("2026-11-21 10:01:00,000 [t] WARN  com.stackstate.api.ReceiverRoutes - POST "
                   "/stsAgent/intake?api_key=TOPSECRETKEY123 Failed to deserialize JSON on fields: , with message: m\n")
    r = run_stage(receiver_log=[str(log)], api_key="TOPSECRETKEY123")
    sample = next(e for e in r.evidence if isinstance(e, LogSample))
    ln = sample.lines[0]
    assert "TOPSECRETKEY123" not in ln.text and "<redacted>" in ln.text
    assert ln.text[ln.match[0] :].startswith("Failed to deserialize JSON")
    assert "TOPSECRETKEY123" not in json.dumps([str(e) for e in r.evidence])


def test_bad_time_zone_setting_is_a_usage_error():
    from stsdebug.errors import UsageError

    with pytest.raises(UsageError) as err:
        run_stage(receiver_log=[str(FIX / "linux.log")], receiver_log_tz="Mars/Base")
    assert "receiver_log_tz" in str(err.value) and "\n" not in str(err.value)


# --- the command line ---------------------------------------------------------------------


def now_log(tmp_path: Path, name: str = "stackstate-receiver.log") -> Path:
    """A receiver log dated a few seconds ago, in local time as logback writes it."""
    t = datetime.fromtimestamp(time.time() - 5).strftime("%Y-%m-%d %H:%M:%S")
    p = tmp_path / name
    p.write_text(
        f"{t},000 [d] WARN  com.stackstate.api.ReceiverRoutes - Failed to deserialize JSON on fields: , "
        "with message: Object is missing required member 'internalHostname'\n"
        f"{t},500 [p] ERROR com.stackstate.receiver.kafka.MultiMetricsProducer - Failed to send\n"
        "org.apache.kafka.common.errors.TimeoutException: Failed to update metadata after 60000 ms.\n"
    )
    return p


def check(*args: str, input: bytes | str | None = None):
    return runner.invoke(app, ["check", "-i", "custom", *args, "-f", "json"], input=input)


def receiver_of(output: str) -> dict:
    trace = json.loads(output)
    return next(s for s in trace["stages"] if s["id"] == "receiver")


def test_cli_reads_a_log_and_fails_on_kafka(tmp_path):
    r = check("--receiver-log", str(now_log(tmp_path)))
    assert r.exit_code == 1, r.output
    stage = receiver_of(r.stdout)
    assert stage["status"] == "fail" and "cannot put messages on Kafka" in stage["summary"]


def test_cli_reads_stdin(tmp_path):
    data = now_log(tmp_path).read_bytes()
    r = check("--receiver-log", "-", input=data)
    assert r.exit_code == 1, r.output
    stage = receiver_of(r.stdout)
    log = next(e for e in stage["evidence"] if e["kind"] == "log")
    assert log["source"] == "stdin"


def test_cli_reads_gzip_on_stdin(tmp_path):
    r = check("--receiver-log", "-", input=gzip.compress(now_log(tmp_path).read_bytes()))
    assert r.exit_code == 1 and receiver_of(r.stdout)["status"] == "fail"


@pytest.mark.parametrize("case", ["missing", "empty-dir", "corrupt-gz", "not-gz", "empty-stdin", "bad-tz"])
def test_cli_bad_input_is_exit_2_with_one_line(tmp_path, case, monkeypatch):
    args: list[str]
    stdin = None
    if case == "missing":
        args, expect = ["--receiver-log", str(tmp_path / "gone.log")], "no such file or directory"
    elif case == "empty-dir":
        (tmp_path / "d").mkdir()
        args, expect = ["--receiver-log", str(tmp_path / "d")], "no log files in this directory"
    elif case == "corrupt-gz":
        good = gzip.compress(b"2026-11-21 10:00:00,000 [t] INFO  a.B - x\n" * 50)
        (tmp_path / "r.log.1.gz").write_bytes(good[:12] + b"\xff" * 64)
        args, expect = ["--receiver-log", str(tmp_path / "r.log.1.gz")], "corrupt gzip"
    elif case == "not-gz":
        (tmp_path / "r.log.1.gz").write_text("hello\n")
        args, expect = ["--receiver-log", str(tmp_path / "r.log.1.gz")], "not a gzip file"
    elif case == "empty-stdin":
        args, expect, stdin = ["--receiver-log", "-"], "stdin is empty", b""
    else:
        monkeypatch.setenv("STSDEBUG_RECEIVER_LOG_TZ", "Mars/Base")
        args, expect = ["--receiver-log", str(now_log(tmp_path))], "time zone 'Mars/Base' is not known"
    r = runner.invoke(app, ["check", "-i", "custom", *args], input=stdin)
    assert r.exit_code == 2, r.output
    err = r.stderr.strip()
    assert expect in err and len(err.splitlines()) == 1 and err.startswith("stsdebug: error: ")
    assert "Traceback" not in r.output


def test_installed_executable_bad_input_and_stdin(tmp_path):
    exe = shutil.which("stsdebug")
    cmd = [exe] if exe else [sys.executable, "-m", "stsdebug"]
    # PYTHONPATH: run this tree's code, whichever checkout the entry point was installed from.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    bad = subprocess.run([*cmd, "check", "-i", "custom", "--receiver-log", str(tmp_path / "gone.log")],
                         capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [f"stsdebug: error: --receiver-log {tmp_path / 'gone.log'}: no such file or directory"]
    t0 = time.monotonic()
    ok = subprocess.run([*cmd, "check", "-i", "custom", "--receiver-log", "-", "-f", "json"], input=now_log(tmp_path).read_bytes(),
                        capture_output=True, timeout=60, env=env)
    assert ok.returncode == 1, ok.stderr
    assert receiver_of(ok.stdout.decode())["status"] == "fail"
    assert time.monotonic() - t0 < 30
