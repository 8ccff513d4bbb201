"""No unbounded local reads (issue 15, item 2): every file the user names is a regular file
under a size cap, or is refused in one line; logs and stdin stream with flat memory and end
as the stage's `error` when they stay silent; deep nesting is a one-line error anywhere.

FIFOs are made with mkfifo and a character device is /dev/zero (a device node made with
mknod needs privileges a test may not have; /dev/zero is one, with the same file type).
Every command runs as a subprocess with a wall-clock bound, so a hang fails the test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stsdebug import bindings, nesting
from stsdebug.inputs import MAX_DOCUMENT
from tests import hostile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAVED = FIXTURES / "traces" / "all_pass.json"


def stsdebug(*args: str, stdin: bytes | None = None, timeout: float = 60, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stsdebug", *args], input=stdin.decode() if stdin is not None else None,
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def one_line_error(r: subprocess.CompletedProcess[str], says: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-500:])
    assert r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    yield path
    s.close()


# --- files that must be regular -----------------------------------------------------------------

REGULAR_ONLY = {
    # what: (args with {path}, the word in the refusal)
    "streams file": (["check", "--es", "http://127.0.0.1:9", "--streams-file", "{path}"], "streams file {path}"),
    "secret file": (["check", "--es", "http://127.0.0.1:9", "--api-key-file", "{path}"], "secret file"),
    "config": (["check", "--config", "{path}", "--es", "http://127.0.0.1:9"], "config file"),
    "report": (["report", "{path}"], "{path}"),
    "tui --load": (["tui", "--load", "{path}"], "{path}"),
    "validate": (["validate", "{path}"], "{path}"),
}


@pytest.mark.parametrize("what", list(REGULAR_ONLY))
@pytest.mark.parametrize("kind", ["fifo", "device", "socket"])
def test_a_fifo_device_or_socket_is_refused_in_one_line(
    what: str, kind: str, fifo: Path, unix_socket: Path
) -> None:
    path = {"fifo": fifo, "device": Path("/dev/zero"), "socket": unix_socket}[kind]
    args, word = REGULAR_ONLY[what]
    started = time.monotonic()
    r = stsdebug(*(a.format(path=path) for a in args), timeout=30)
    one_line_error(r, word.format(path=path))
    assert {"fifo": "named pipe", "device": "character device", "socket": "socket"}[kind] in r.stderr
    assert time.monotonic() - started < 20


def test_size_caps_stop_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:  # sparse: no disk used, and stsdebug must not read it
        f.truncate(MAX_DOCUMENT + 1)
    for args in (["validate", str(huge)], ["report", str(huge)]):
        one_line_error(stsdebug(*args), "larger than 256 MB")
    key = tmp_path / "key"
    key.write_bytes(b"k" * (65 << 10))
    one_line_error(stsdebug("check", "-i", "custom", "--es", "http://127.0.0.1:9", "--api-key-file", str(key)), "larger than 64 KB")


def test_validate_stops_reading_stdin_at_its_cap() -> None:
    """Piped from a source that never ends: the cap, not memory, ends it."""
    code = (
        "import subprocess, sys\n"
        "zero = subprocess.Popen(['cat', '/dev/zero'], stdout=subprocess.PIPE)\n"
        "r = subprocess.run([sys.executable, '-m', 'stsdebug', 'validate', '-'], stdin=zero.stdout,"
        " capture_output=True, text=True, timeout=120)\n"
        "zero.kill()\n"
        "print(r.returncode, r.stderr.strip())\n"
    )
    run = hostile.run_python(code, mem_mb=2048, wall_s=180)
    assert not run.timed_out
    assert run.stdout.startswith("2 stsdebug: error: stdin: more than 256 MB"), run.stdout + run.stderr


def test_validate_of_a_silent_pipe_ends_at_its_timeout() -> None:
    """A pipe left open by a writer that never writes: one line and exit 2, not a hang."""
    code = (
        "import subprocess, sys, time\n"
        "hold = subprocess.Popen(['sleep', '60'], stdout=subprocess.PIPE)\n"
        "t = time.monotonic()\n"
        "r = subprocess.run([sys.executable, '-m', 'stsdebug', 'validate', '-', '--timeout', '1'], stdin=hold.stdout,"
        " capture_output=True, text=True, timeout=60)\n"
        "hold.kill()\n"
        "print(round(time.monotonic() - t, 1), r.returncode, r.stderr.strip())\n"
    )
    run = hostile.run_python(code, wall_s=90)
    elapsed, code_, said = run.stdout.split(" ", 2)
    assert code_ == "2" and float(elapsed) < 15, run.stdout
    assert said.strip() == "stsdebug: error: Reading stdin stopped after 1 s: nothing arrived (--timeout 1)"


def test_validate_reads_a_piped_payload() -> None:
    payload = json.dumps({"internalHostname": "web-01", "metrics": [
        ["system.cpu.user", int(time.time()), 1.5, {"hostname": "web-01", "type": "gauge"}]]})
    r = subprocess.run([sys.executable, "-m", "stsdebug", "validate", "-", "-f", "json"], input=payload,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["valid"] is True


# --- logs: streamed, bounded, ending as the stage's error when silent ------------------------------


def _stage(stdout: str, stage: str) -> dict[str, object]:
    return next(s for s in json.loads(stdout)["stages"] if s["id"] == stage)


def test_a_receiver_log_from_a_named_pipe_is_streamed(fifo: Path) -> None:
    log = (FIXTURES / "receiver" / "crlf_ansi.log").read_bytes()

    def feed() -> None:
        with fifo.open("wb") as w:
            w.write(log)

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    r = stsdebug("check", "-i", "custom", "--receiver-log", str(fifo), "--timeout", "2", "-f", "json")
    t.join(10)
    s = _stage(r.stdout, "receiver")
    assert s["status"] != "error", s["summary"]
    assert "lines" in str(s["summary"]) or s["evidence"], s


@pytest.mark.parametrize("flag,stage", [("--receiver-log", "receiver"), ("--agent-log", "agent"),
                                        ("--agent-output", "agent")])
def test_a_silent_pipe_ends_as_the_stage_error_within_its_deadline(fifo: Path, flag: str, stage: str) -> None:
    # A writer end held open that never writes (kubectl logs on a stuck pod).
    w = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        started = time.monotonic()
        r = stsdebug("check", "-i", "custom", flag, str(fifo), "--timeout", "1", "-f", "json", timeout=60)
        elapsed = time.monotonic() - started
    finally:
        os.close(w)
    s = _stage(r.stdout, stage)
    assert s["status"] == "error" and "nothing arrived" in str(s["summary"]).lower(), s["summary"]
    assert elapsed < 1 * 12 + 2 + 10, elapsed  # the receiver stage's budget is 12 timeouts + 2 s


def test_silent_stdin_ends_as_the_stage_error() -> None:
    code = (
        "import subprocess, sys, time\n"
        "hold = subprocess.Popen(['sleep', '60'], stdout=subprocess.PIPE)\n"
        "t = time.monotonic()\n"
        "r = subprocess.run([sys.executable, '-m', 'stsdebug', 'check', '-i', 'custom', '--agent-output', '-', '--timeout', '1',"
        " '-f', 'json'], stdin=hold.stdout, capture_output=True, text=True, timeout=60)\n"
        "hold.kill()\n"
        "print(time.monotonic() - t)\n"
        "print(r.stdout)\n"
    )
    run = hostile.run_python(code, wall_s=90)
    elapsed, _, out = run.stdout.partition("\n")
    s = _stage(out, "agent")
    assert s["status"] == "error" and "nothing arrived" in str(s["summary"]), s["summary"]
    assert float(elapsed) < 15


def test_an_endless_device_as_a_log_ends_at_the_deadline_in_flat_memory() -> None:
    run = hostile.run_cli(["check", "-i", "custom", "--agent-log", "/dev/zero", "--receiver-log", "/dev/zero", "--timeout", "1",
                           "-f", "json"], mem_mb=1024, wall_s=90)
    assert not run.timed_out and "Traceback" not in run.stderr
    # Gigabytes flow through; the bound is the kit's (a normal run peaks near 80 MB, more
    # under load as the reading threads' allocations fragment), far below what was read.
    assert run.peak_rss_mb < 300, run.peak_rss_mb
    assert run.stage("agent")["status"] == "error"
    assert "still sending" in str(run.stage("agent")["summary"])
    assert run.elapsed < 30


def test_hundreds_of_megabytes_on_stdin_keep_the_newest_lines(tmp_path: Path) -> None:
    """kubectl logs ... | stsdebug check --receiver-log -: flat memory, the newest entry seen."""
    now = time.time()
    line = (" [stackstate-receiver-akka.actor.default-dispatcher-7] INFO  com.stackstate.receiver.Receiver"
            " - Received 17 metrics from host-1 for integration aws\n")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S,000", time.gmtime(now - 300)).encode()
    block = (stamp + line.encode()) * 20000
    newest = (time.strftime("%Y-%m-%d %H:%M:%S,000", time.gmtime(now - 5)).encode()
              + b" [kafka-producer-network-thread | producer-1] WARN  org.apache.kafka.clients.NetworkClient"
              b" - [Producer clientId=producer-1] Connection to node 1 (kafka/10.0.0.9:9092) could not be"
              b" established. Broker may not be available. NEWEST-MARK\n")
    path = tmp_path / "big.log"
    with path.open("wb") as f:
        for _ in range((200 << 20) // len(block)):
            f.write(block)
        f.write(newest)
    code = (
        "import subprocess, sys\n"
        f"cat = subprocess.Popen(['cat', {str(path)!r}], stdout=subprocess.PIPE)\n"
        "r = subprocess.run([sys.executable, '-m', 'stsdebug', 'check', '-i', 'custom', '--receiver-log', '-', '-f', 'json'],"
        " stdin=cat.stdout, capture_output=True, text=True, timeout=300, env={**__import__('os').environ,"
        " 'STSDEBUG_RECEIVER_LOG_TZ': 'UTC'})\n"
        "import resource\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
        "print(r.stdout)\n"
    )
    run = hostile.run_python(code, mem_mb=2048, wall_s=400)
    assert not run.timed_out
    peak_mb, _, out = run.stdout.partition("\n")
    assert int(peak_mb) < 200, f"stsdebug peaked at {peak_mb} MB reading 200 MB from stdin"
    s = _stage(out, "receiver")
    assert s["status"] == "fail" and "producer failure" in str(s["summary"]), s["summary"]
    assert "NEWEST-MARK" in out


# --- nesting ------------------------------------------------------------------------------------


def test_deep_nesting_is_one_line_everywhere(tmp_path: Path) -> None:
    deep_json = "[" * 50_000 + "]" * 50_000
    deep_yaml = "- " * 3000 + "x\n"
    cases = {
        "streams.json": (deep_json, ["check", "--es", "http://127.0.0.1:9", "--streams-file"], "nested more than"),
        "streams.yaml": (deep_yaml, ["check", "--es", "http://127.0.0.1:9", "--streams-file"], "nested more than"),
        "trace.json": ('{"schema": "stsdebug.trace/1", "x": ' + deep_json + "}", ["report"], "nested more than"),
        "payload.json": (deep_json, ["validate"], "nested"),
    }
    for name, (text, args, says) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        r = stsdebug(*args, str(path))
        assert "Traceback" not in r.stderr and "RecursionError" not in r.stderr + r.stdout, name
        if name == "payload.json":  # validate reports it as the receiver would: invalid, exit 1
            assert r.returncode == 1 and says in r.stdout, (name, r.stdout)
        else:
            one_line_error(r, says)
    with pytest.raises(bindings.BindingFileError, match="nested more than"):
        bindings.load(deep_yaml, source="b.yaml")
    with pytest.raises(bindings.BindingFileError, match="nested more than"):
        bindings.load(deep_json, source="b.json")
    with pytest.raises(nesting.TooDeep):
        nesting.loads_json(deep_json)
