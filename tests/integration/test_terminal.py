"""stsdebug at a real terminal: a pseudo-terminal of a given size, the installed command, the
sandbox behind it. Progress on stderr only at a terminal, colour only at a terminal, and
`check --watch` over two runs with a change injected in the sandbox between them."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stsdebug.sandbox import control
from tests.integration.sandbox_support import env_with, sandbox

pytestmark = pytest.mark.wire

ESC = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CLEAR = "\r\x1b[2K"


@dataclass
class Terminal:
    """A command run with a pseudo-terminal on the streams named in ``tty`` (others are pipes)."""

    proc: subprocess.Popen[bytes]
    master: int
    screen: bytearray = field(default_factory=bytearray)

    def read(self, timeout: float = 0.2) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):  # the other side closed: the command ended
                self.screen += os.read(self.master, 65536)

    def wait_for(self, pattern: str, timeout: float = 60.0, start: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in what the terminal shows (colour codes taken out),
        from ``start`` on; positions are in ``plain``."""
        rx = re.compile(pattern, re.DOTALL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = rx.search(self.plain, start)
            if m:
                return m
            if self.proc.poll() is not None:
                self.read(0.2)
                break
            self.read()
        m = rx.search(self.plain, start)
        assert m, f"{pattern!r} never showed; the terminal shows:\n{self.plain[-3000:]}"
        return m

    def finish(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read()
        self.read(0.2)
        code = self.proc.wait(timeout=5)
        return code

    @property
    def text(self) -> str:
        return self.screen.decode("utf-8", errors="replace")

    @property
    def plain(self) -> str:
        """The text without colour codes (screen-clearing and cursor codes too)."""
        return ESC.sub("", self.text)


def run_in_terminal(base: Path, args: list[str], *, tty: tuple[str, ...] = ("stdout", "stderr"),
                    columns: int = 100, env: dict[str, str] | None = None) -> Iterator[Terminal]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    full_env = env_with(base)
    full_env.update({"TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"})
    for key in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "STSDEBUG_ASCII"):
        full_env.pop(key, None)
    full_env.update(env or {})
    streams = {name: (slave if name in tty else subprocess.PIPE) for name in ("stdout", "stderr")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stsdebug", *args], stdin=slave, stdout=streams["stdout"],
        stderr=streams["stderr"], env=full_env, close_fds=True, start_new_session=True,
    )
    os.close(slave)
    term = Terminal(proc, master)
    try:
        yield term
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        os.close(master)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("terminal")
    with sandbox(base):
        yield base


CHECK = ["check", "--profile", "sandbox", "--integration", "system"]


def test_progress_on_a_terminal_names_each_stage_and_the_probes_hops_then_clears(healthy: Path) -> None:
    gen = run_in_terminal(healthy, [*CHECK, "--probe"], tty=("stderr",), columns=90)
    term = next(gen)
    try:
        code = term.finish()
        stdout = term.proc.stdout.read().decode() if term.proc.stdout else ""
    finally:
        gen.close()
    frames = [f for f in term.text.split(CLEAR) if f.strip()]
    plain = [ESC.sub("", f) for f in frames]
    assert code == 0, stdout
    assert any(re.search(r"probe p[0-9a-f]+: .*waiting at (receiver|kafka|elasticsearch), \d+ s left", f) for f in plain)
    assert any("✔ receiver +" in f for f in plain)  # a hop, as it was reached
    assert any("Scale of impact (1 of 6)" in f for f in plain)
    # Stages run side by side ("+1 more running"): the address may be cut to fit the row.
    assert any(re.search(r"Kafka topic \(4 of 6\).* · reading sts_multi_metrics at 1", f) for f in plain)
    assert all(len(f.rstrip("\r\n")) <= 89 for f in plain)  # one terminal row each, never wrapped
    assert term.text.endswith(CLEAR)  # the live line is gone when the run ends
    # stdout was a pipe: the result is plain text, the same as without a terminal.
    assert "\x1b" not in stdout and "Verdict: ✔ pass" in stdout


def test_nothing_on_stderr_and_no_escape_codes_when_piped(healthy: Path) -> None:
    env = env_with(healthy)
    for key in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        env.pop(key, None)
    r = subprocess.run([sys.executable, "-m", "stsdebug", *CHECK], capture_output=True, text=True,
                       env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert "\x1b" not in r.stdout and "\r" not in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 100


@pytest.mark.parametrize("columns", [80, 120])
def test_on_a_terminal_the_result_fits_its_width_in_colour_unless_no_color(healthy: Path, columns: int) -> None:
    for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        gen = run_in_terminal(healthy, CHECK, tty=("stdout",), columns=columns, env=env)
        term = next(gen)
        try:
            assert term.finish() == 0
        finally:
            gen.close()
        out = term.text.replace("\r\n", "\n")
        assert bool(ESC.search(out)) is coloured
        lines = ESC.sub("", out).splitlines()
        assert max(len(line) for line in lines) <= columns
        assert any(line.startswith("  Verdict: ✔ pass") for line in lines)


def test_watch_shows_two_runs_and_marks_the_change_injected_between_them(tmp_path: Path) -> None:
    base = tmp_path / "state"
    with sandbox(base) as state:
        gen = run_in_terminal(base, [*CHECK, "--watch", "8"], columns=110)
        term = next(gen)
        try:
            first = term.wait_for(r"run 1 · .*?6 stages: 6 pass", timeout=90)
            # The change: Kafka goes down between the two runs (this test started it; stopped by PID).
            term.wait_for(r"next run in \d+ s · Ctrl-C stops", timeout=30, start=first.end())
            kafka_pid = int(state["processes"]["kafka"]["pid"])
            os.kill(kafka_pid, signal.SIGKILL)
            second = term.wait_for(r"run 2 · .*?Since the previous run.*?(Figures that moved|stages? unchanged)",
                                   timeout=90, start=first.end())
            screen = second.group()
            kafka_row = next(line for line in screen.splitlines() if re.match(r"^ \S+ +\S+ +kafka ", line))
            assert "was ✔ pass" in kafka_row and "ERROR" in kafka_row
            assert re.search(r"kafka +✔ pass +→ +\? ERROR +worse", screen)
            assert "\x1b[H\x1b[2J" in term.text  # each run redraws the screen, as watch does
            time.sleep(0.5)
            os.killpg(term.proc.pid, signal.SIGINT)
            code = term.finish(timeout=60)
        finally:
            gen.close()
    said = ESC.sub("", term.text)
    m = re.search(r"watch stopped after (\d+) runs; exit (\d+), the code of the last run", said)
    assert m, said[-2000:]
    assert int(m.group(1)) >= 2
    assert code == int(m.group(2)) and code in (1, 3)
    assert "Traceback" not in said
    assert control.status(base)["running"] is False


def test_ctrl_c_during_a_check_is_one_line_and_leaves_no_progress_behind(tmp_path: Path) -> None:
    # An "Elasticsearch" that accepts connections and never answers: the check waits on it.
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    try:
        # A long timeout: however loaded the machine, the check is still waiting at the Ctrl-C.
        gen = run_in_terminal(tmp_path, ["check", "-i", "system", "--es", f"http://127.0.0.1:{port}",
                                         "--timeout", "60"], columns=100)
        term = next(gen)
        try:
            # The first stage waits on the silent Elasticsearch's census: the check is under way.
            term.wait_for(r"counting metric prefixes in Kafka and Elas", timeout=60)
            time.sleep(0.3)
            os.killpg(term.proc.pid, signal.SIGINT)
            code = term.finish(timeout=30)
        finally:
            gen.close()
    finally:
        silent.close()
    assert code == 130, term.text[-3000:]
    said = term.text
    assert "Traceback" not in said
    assert said.count("stsdebug: interrupted") == 1
    before = said[: said.index("stsdebug: interrupted")]
    assert before.endswith(CLEAR)  # the live line was erased first
