"""I/O of the agent stage (stsdebug.sources.agent): files, gzip, stdin and --agent-cmd.

The command tests start real subprocesses (the Python running the tests, `sh`, `sleep`);
nothing is mocked.
"""

from __future__ import annotations

import gzip
import io
import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from stsdebug import source_factory
from stsdebug.errors import SourceError, UsageError
from stsdebug.logs import agent_chunks
from stsdebug.settings import Settings
from stsdebug.sources.agent import AgentInput, AgentSource

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent"
PY = shlex.quote(sys.executable)


def read(source: AgentSource, inp: AgentInput) -> list[tuple[int, str]]:
    return list(source.lines(inp))


def log_input(path: Path | str) -> AgentInput:
    return AgentInput("log", str(path), Path(str(path)).name)


def test_inputs_follow_the_settings():
    s = source_factory.build("agent", source_factory.configs_from(Settings(agent_output="out.txt", agent_log="-", agent_cmd="stackstate-agent status", timeout=4)))
    kinds = [(i.kind, i.label, i.windowed) for i in s.inputs()]
    assert kinds == [("cmd", "stackstate-agent status", False), ("output", "out.txt", False), ("log", "stdin", True)]
    assert s.cmd_timeout == 12.0


def test_crlf_endings_are_stripped():
    path = FIXTURES / "agent_windows_crlf.log"
    assert b"\r\n" in path.read_bytes()
    lines = read(AgentSource(log=str(path)), log_input(path))
    assert len(lines) == 6 and lines[0][0] == 1
    assert all(not text.endswith("\r") for _, text in lines)


def test_gzip_rotated_logs_are_read_by_their_magic_bytes(tmp_path: Path):
    path = FIXTURES / "agent.log.1.gz"
    plain = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert [t for _, t in read(AgentSource(), log_input(path))] == plain
    # The name does not matter: a gzip file called agent.log is still unpacked.
    renamed = tmp_path / "agent.log"
    renamed.write_bytes(path.read_bytes())
    assert [t for _, t in read(AgentSource(), log_input(renamed))] == plain


def test_a_truncated_gzip_keeps_what_was_read_and_says_so(tmp_path: Path):
    data = gzip.compress(("2024-05-14 10:00:00 UTC | CORE | INFO | (a.go:1 in f) | line\n" * 2000).encode())
    path = tmp_path / "agent.log.2.gz"
    path.write_bytes(data[: len(data) // 2])
    source = AgentSource()
    lines = read(source, log_input(path))
    assert 0 < len(lines) < 2000
    assert "ends in the middle of its gzip stream" in source.notes["agent.log.2.gz"][0]


def test_a_file_that_is_not_gzip_after_all_is_an_error(tmp_path: Path):
    path = tmp_path / "agent.log"
    path.write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(UsageError, match="not a readable gzip file"):
        read(AgentSource(), log_input(path))


def test_ansi_codes_and_bad_bytes_are_cleaned(tmp_path: Path):
    path = tmp_path / "out.txt"
    path.write_bytes(b"=== \x1b[34mSeries\x1b[0m ===\nbad \xff\xfe bytes\n\x1b[33mCheck has run only once\x1b[0m")
    texts = [t for _, t in read(AgentSource(), AgentInput("output", str(path), "out.txt"))]
    assert texts == ["=== Series ===", "bad \ufffd\ufffd bytes", "Check has run only once"]


def test_huge_lines_are_cut_and_the_next_line_survives(tmp_path: Path):
    path = tmp_path / "agent.log"
    with path.open("wb") as f:
        f.write(b"first\n")
        f.write(b"x" * (3 * agent_chunks.MAX_LINE_BYTES + 17) + b"\n")
        f.write(b"after\n")
    lines = read(AgentSource(), log_input(path))
    assert [n for n, _ in lines] == [1, 2, 3]
    assert lines[1][1].endswith(agent_chunks.CUT_MARK) and len(lines[1][1]) == agent_chunks.MAX_LINE_BYTES + len(agent_chunks.CUT_MARK)
    assert lines[2][1] == "after"


def test_stdin_is_read_for_a_dash():
    stream = io.BytesIO(b"one\r\ntwo\n")
    source = AgentSource(log="-", stdin=stream)
    assert read(source, source.inputs()[0]) == [(1, "one"), (2, "two")]


def test_stdin_that_is_a_terminal_is_refused_instead_of_waiting(monkeypatch: pytest.MonkeyPatch):
    class Tty(io.BytesIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())  # a stand-in: tests cannot own a real terminal
    source = AgentSource(output="-")
    with pytest.raises(UsageError, match="stdin is a terminal"):
        read(source, source.inputs()[0])


def test_stdin_cannot_be_read_twice():
    with pytest.raises(UsageError, match="cannot both be -"):
        AgentSource(output="-", log="-").inputs()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.log", "no such file"),
        (lambda p: p, "is a directory"),
    ],
)
def test_unreadable_files_are_one_line_usage_errors(tmp_path: Path, make, message: str):
    path = make(tmp_path)
    with pytest.raises(UsageError) as exc:
        read(AgentSource(), log_input(path))
    assert str(exc.value).startswith(f"--agent-log {path}: {message}") and "\n" not in str(exc.value)


# --- --agent-cmd ---------------------------------------------------------------------------


def cmd_input(cmd: str) -> AgentInput:
    return AgentInput("cmd", cmd, cmd)


def test_a_command_is_run_without_a_shell_and_its_output_streamed():
    fixture = FIXTURES / "check_mysql.txt"
    cmd = f"{PY} -c \"import sys; sys.stdout.write(open(sys.argv[1]).read())\" {shlex.quote(str(fixture))}"
    source = AgentSource(cmd=cmd, cmd_timeout=20)
    lines = read(source, cmd_input(cmd))
    expected = fixture.read_text().splitlines()
    assert len(lines) == len(expected)
    assert lines[3] == (4, "=== Series ===")  # ANSI colours stripped
    assert "ran in" in source.notes[cmd][0]


def test_shell_syntax_is_not_interpreted(tmp_path: Path):
    marker = tmp_path / "pwned"
    cmd = f"{PY} -c \"import sys; print(sys.argv[1:])\" ; touch {shlex.quote(str(marker))}"
    lines = read(AgentSource(cmd_timeout=20), cmd_input(cmd))
    assert "';'" in lines[0][1] and not marker.exists()


def test_stderr_is_merged_into_the_output():
    cmd = f"{PY} -c \"import sys; print('out'); sys.stdout.flush(); print('err', file=sys.stderr)\""
    texts = [t for _, t in read(AgentSource(cmd_timeout=20), cmd_input(cmd))]
    assert texts == ["out", "err"]


def test_a_command_running_past_its_timeout_is_stopped_with_its_children(tmp_path: Path):
    pidfile = tmp_path / "child.pid"
    cmd = f"sh -c 'sleep 30 & echo $! > {pidfile}; wait'"
    started = time.monotonic()
    with pytest.raises(SourceError) as exc:
        read(AgentSource(cmd_timeout=1.0), cmd_input(cmd))
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert "did not finish within 1 s" in str(exc.value) and exc.value.cause == "timeout"
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the command's child {child} outlived the timeout")


def test_a_missing_binary_is_one_sentence():
    with pytest.raises(SourceError) as exc:
        read(AgentSource(cmd_timeout=5), cmd_input("stackstate-agent-that-does-not-exist check mysql -l debug"))
    assert "was not found" in str(exc.value) and exc.value.cause == "missing"


def test_a_failing_command_reports_its_exit_status_and_last_error_line():
    cmd = (f"{PY} -c \"print('Error: could not load mysql:'); print('* python: unable to import module'); "
           "print('Error: no valid check found'); raise SystemExit(1)\"")
    with pytest.raises(SourceError) as exc:
        read(AgentSource(cmd_timeout=20), cmd_input(cmd))
    assert "exited with status 1: Error: no valid check found" in str(exc.value)


@pytest.mark.parametrize(("cmd", "message"), [("'unbalanced", "not a valid command line"), ("   ", "is empty")])
def test_bad_command_lines_are_refused(cmd: str, message: str):
    with pytest.raises(UsageError, match=message):
        read(AgentSource(), cmd_input(cmd))


def test_a_huge_line_in_a_log_read_in_chunks_is_cut_and_counted_once(tmp_path: Path):
    from stsdebug.logs.agent_scan import AgentScan

    path = tmp_path / "agent.log"
    rec = b"2024-05-14 10:00:00 UTC | CORE | ERROR | (pkg/forwarder/worker.go:1 in process) | "
    path.write_bytes(rec + b"Too many errors for endpoint 'https://x:7077/stsAgent': retrying later\n"
                     + rec + b"x" * (3 * agent_chunks.MAX_LINE_BYTES) + b"\n"
                     + rec + b"Too many errors for endpoint 'https://x:7077/stsAgent': retrying later\n")
    source = AgentSource(log=str(path))
    r = source.scan(source.inputs()[0], AgentScan())
    assert r.lines == 3 and r.count("endpoint_blocked") == 2
    assert [h.n for h in r.finding("endpoint_blocked").samples.shown()] == [1, 3]
