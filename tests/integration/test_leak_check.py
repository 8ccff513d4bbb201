"""The session's last check (tests/conftest.py) finds a process a test left behind, stops it
and fails the session: run an inner pytest session whose only test leaks one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LEAKY_TEST = '''
import subprocess, sys
from stsdebug.sandbox import procs

def test_leaks_a_child(tmp_path):
    child = subprocess.Popen(["sleep", "300"], env={**procs.markers(), "PATH": "/usr/bin:/bin"},
                             start_new_session=True)
    (tmp_path.parent.parent / "leaked.pid").write_text(str(child.pid))
'''


def test_a_leaked_process_fails_the_session_and_is_stopped(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "conftest.py").write_text("from tests.conftest import _nothing_left_running  # noqa: F401\n")
    (inner / "test_leak.py").write_text(LEAKY_TEST)
    basetemp = tmp_path / "basetemp"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}",
         "--rootdir", str(inner), str(inner)],
        capture_output=True, text=True, timeout=120, cwd=inner,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert r.returncode != 0, r.stdout
    assert "processes left running by the tests" in r.stdout and "sleep 300" in r.stdout
    pid = int((tmp_path / "leaked.pid").read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}").exists() else ""
    assert not stat or stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"), "the leaked process still runs"
