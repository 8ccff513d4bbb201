"""`stsdebug tui` on the command line: bad input fails before the UI starts, in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "traces"


def stsdebug(*args: str) -> subprocess.CompletedProcess[str]:
    # stdin is not a terminal here, as in a script or a pipe.
    return subprocess.run(
        [sys.executable, "-m", "stsdebug", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""
    return lines[0]


def test_load_of_a_file_that_is_not_a_trace(tmp_path: Path) -> None:
    bogus = tmp_path / "run.json"
    bogus.write_text('{"hello": "world"}')
    line = one_line_error(stsdebug("tui", "--load", str(bogus)))
    assert line.startswith("stsdebug: error: ") and "not a stsdebug trace" in line


def test_load_of_a_newer_schema(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "all_pass.json").read_text())
    data["schema"] = "stsdebug.trace/9"
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(data))
    line = one_line_error(stsdebug("tui", "--load", str(newer)))
    assert "'stsdebug.trace/9' is not supported" in line and "upgrade stsdebug" in line


@pytest.mark.parametrize("content", ["", "not json at all", "[1, 2]"])
def test_load_of_garbage(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert "not a stsdebug trace" in one_line_error(stsdebug("tui", "--load", str(bad)))


def test_load_of_a_missing_file(tmp_path: Path) -> None:
    line = one_line_error(stsdebug("tui", "--load", str(tmp_path / "nope.json")))
    assert "no such file" in line


def test_load_cannot_be_combined_with_check_options() -> None:
    line = one_line_error(stsdebug("tui", "--load", str(FIXTURES / "all_pass.json"), "--es", "http://127.0.0.1:9"))
    assert "cannot be combined with --es" in line


def test_a_valid_trace_without_a_terminal_is_refused_cleanly() -> None:
    line = one_line_error(stsdebug("tui", "--load", str(FIXTURES / "kafka_fail.json")))
    assert "needs an interactive terminal" in line


def test_no_input_at_all_explains_what_to_give(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stsdebug", "tui"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        # No profile, no STSDEBUG_* settings from the environment of the test run.
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("stsdebug tui needs something to look at")
    assert "Traceback" not in result.stderr


def test_help_lists_load_and_the_check_options() -> None:
    result = stsdebug("tui", "--help")
    assert result.returncode == 0
    assert "--load" in result.stdout and "--integration" in result.stdout and "--es" in result.stdout
