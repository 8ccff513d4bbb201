"""Outputs are checked before anything runs, and written all or none (outfiles, wired into
check, report, bundle and demo through render/output.py).

"Before anything runs" is observed, not assumed: the endpoint a refused check names is a
loopback server that records every request, and it must have received none.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.http_support import serve

TRACE = Path(__file__).resolve().parents[2] / "fixtures" / "traces" / "all_pass.json"


def stsdebug(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stsdebug", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd, stdin=subprocess.DEVNULL)


def refused(r: subprocess.CompletedProcess[str], says: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout[-300:], r.stderr[-300:])
    assert r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("outputs", "says"),
    [
        (lambda d, log: ["-o", str(log)], "is one of the inputs"),
        (lambda d, log: ["--html", str(d / "." / "in.log")], "is one of the inputs"),
        (lambda d, log: ["-o", str(d / "a.json"), "--html", str(d / "." / "a.json")], "is also given to"),
        (lambda d, log: ["-o", str(d)], "is a directory"),
        (lambda d, log: ["--html", str(d / "missing" / "r.html")], "does not exist"),
    ],
    ids=["output is an input", "html is an input", "same file twice", "a directory", "no such directory"],
)
def test_check_refuses_a_bad_output_before_it_contacts_anything(outputs, says: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "in.log"
    log.write_text("2024-01-15 10:23:45,123 [main] INFO  x - hello\n")
    before = log.read_bytes()
    with serve(lambda h: (200, {"Content-Type": "application/json"}, b"{}")) as es:
        r = stsdebug("check", "--es", es.url, "--receiver-log", str(log), "--timeout", "2", *outputs(tmp_path, log))
        assert es.requests == []
    refused(r, says)
    assert log.read_bytes() == before


def test_bundle_refuses_a_zip_inside_an_input_directory_before_running(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "stackstate-receiver.log").write_text("2024-01-15 10:23:45,123 [main] INFO  x - hello\n")
    with serve(lambda h: (200, {"Content-Type": "application/json"}, b"{}")) as es:
        explicit = stsdebug("bundle", "--es", es.url, "--receiver-log", str(logs), "-o", str(logs / "b.zip"))
        default = stsdebug("bundle", "--es", es.url, "--receiver-log", ".", cwd=logs)
        assert es.requests == []
    refused(explicit, "is inside the input directory")
    refused(default, "is inside the input directory")
    assert sorted(p.name for p in logs.iterdir()) == ["stackstate-receiver.log"]


def test_report_refuses_to_write_over_the_trace_it_reads(tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    saved.write_bytes(TRACE.read_bytes())
    refused(stsdebug("report", str(saved), "--html", str(saved)), "is the trace being read")
    assert saved.read_bytes() == TRACE.read_bytes()


def test_demo_refuses_an_unwritable_report_path_before_starting_the_sandbox(tmp_path: Path) -> None:
    state = tmp_path / "sandbox"
    started = time.monotonic()
    r = stsdebug("demo", "--no-tui", "--html", str(tmp_path / "missing" / "demo.html"),
                 env={"STSDEBUG_SANDBOX_DIR": str(state)})
    refused(r, "does not exist")
    assert not state.exists() or not any(state.iterdir())  # nothing was started
    assert time.monotonic() - started < 30


def test_a_failing_output_leaves_no_other_output(tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    r = stsdebug("report", str(TRACE), "-f", "json", "-o", str(out), "--html", "/dev/full")
    assert r.returncode == 2 and "/dev/full: cannot write" in r.stderr, r.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left either
    ok = stsdebug("report", str(TRACE), "-f", "json", "-o", str(out), "--html", str(tmp_path / "r.html"))
    assert ok.returncode == 0 and out.exists() and (tmp_path / "r.html").exists()
