"""Agent inputs: saved ``check``/``status`` output, the agent log, or a command to run.

All I/O of the ``agent`` stage lives here. Lines are streamed, so memory stays flat for
logs of any size; gzip-rotated files are read transparently (detected by their magic
bytes, not their name); CRLF endings and ANSI colour codes are stripped; bytes that
are not UTF-8 become U+FFFD; lines longer than MAX_LINE_BYTES are cut.

``--agent-cmd`` runs without a shell (``shlex.split``), with stdin closed, stdout and
stderr merged into a temporary file (not memory), and a timeout after which the
command's whole process group is killed. A missing binary, a non-zero exit or a
timeout becomes a SourceError with one sentence (the stage reports `error`); an input
file that cannot be read, or a command line that cannot be parsed, is a UsageError
(one line, exit code 2), as for every other input file.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, cast

from stsdebug import inputs
from stsdebug.errors import SourceError, UsageError
from stsdebug.logs.agent_chunks import MAX_LINE_BYTES, LogFeeder, clean_line
from stsdebug.logs.agent_result import ScanResult
from stsdebug.logs.agent_scan import AgentScan
from stsdebug.sources.config import CMD_TIMEOUT_FACTOR, READ_TIMEOUT_FACTOR  # noqa: F401 - named here too
from stsdebug.sources.logs import rotated_files

_GZIP_MAGIC = b"\x1f\x8b"
_CANCEL_EVERY = 5000  # lines between looks at the cancel flag
CHUNK = 4 << 20  # bytes of an agent log read at a time


@dataclass(frozen=True)
class AgentInput:
    kind: str  # "output" (saved check/status output), "log" (agent log), "cmd" (a command)
    target: str  # a path, "-" for stdin, or the command line
    label: str  # how evidence names it: the file name, "stdin" or the command
    rotated: bool = False  # an older file of a directory of rotated agent logs

    @property
    def windowed(self) -> bool:
        """Only the agent log is limited to the time window; command output is a snapshot."""
        return self.kind == "log"


@dataclass
class AgentSource:
    output: str | None = None
    log: str | None = None
    cmd: str | None = None
    cmd_timeout: float = 30.0
    # Seconds stdin, a named pipe or a device is read for (silent or not); None: no limit.
    read_timeout: float | None = None
    stdin: BinaryIO | None = None  # for "-"; defaults to sys.stdin.buffer
    # Things worth telling about an input that was still read (a truncated gzip...).
    notes: dict[str, list[str]] = field(default_factory=dict)

    def inputs(self) -> list[AgentInput]:
        if self.output == "-" and self.log == "-":
            raise UsageError("--agent-output and --agent-log cannot both be - (stdin can be read once)")
        found = []
        if self.cmd:
            found.append(AgentInput("cmd", self.cmd, self.cmd))
        if self.output:
            found.append(AgentInput("output", self.output, _label(self.output)))
        if self.log:
            found.extend(_log_inputs(self.log))
        return found

    def lines(self, inp: AgentInput) -> Iterator[tuple[int, str]]:
        """(1-based line number, cleaned text) for every line of the input, streamed.

        A file that cannot be read is the user's to fix: UsageError (one line, exit 2),
        as for every other input file. A command that cannot run is a SourceError.
        """
        if inp.kind == "cmd":
            yield from self._run(inp)
            return
        with self._open(inp) as (raw, where):
            yield from self._read(raw, inp, where)

    def scan(self, inp: AgentInput, scanner: AgentScan, cancel: Callable[[], bool] | None = None) -> ScanResult:
        """Read ``inp`` into ``scanner`` and return what it found.

        An agent log is read in chunks of bytes (stsdebug.logs.agent_chunks: only the lines
        that can matter are parsed); check and status output line by line. ``cancel`` is
        asked between chunks (every few thousand lines); when it returns True reading stops
        and the notes say where.
        """
        if inp.kind != "log":
            for i, (n, text) in enumerate(self.lines(inp)):
                if cancel is not None and i % _CANCEL_EVERY == 0 and cancel():
                    self._note(inp, f"Reading {inp.label} was cancelled after {i} lines.")
                    break
                scanner.feed(n, text)
            return scanner.finish()
        feeder = LogFeeder(scanner, cancel=cancel)
        with self._open(inp) as (raw, where):
            self._read_chunks(raw, inp, where, feeder)
        feeder.close()
        if feeder.cancelled_at is not None:
            self._note(inp, f"Reading {inp.label} was cancelled after {feeder.cancelled_at} lines.")
        return scanner.finish()

    def close(self) -> None:
        pass

    # -- reading ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _open(self, inp: AgentInput) -> Iterator[tuple[BinaryIO, str]]:
        """The input's raw stream and how errors name it (UsageError when it cannot be read)."""
        flag = "--agent-log" if inp.kind == "log" else "--agent-output"
        if inp.target == "-":
            if self.stdin is None:
                if sys.stdin is None or sys.stdin.isatty():
                    raise UsageError(f"{flag} -: stdin is a terminal; pipe the agent's output or log in")
                stream: BinaryIO = (
                    inputs.open_stream(None, f"{flag} -", self.read_timeout)
                    if self.read_timeout else sys.stdin.buffer
                )
            else:
                stream = self.stdin
            yield stream, f"{flag} -"
            return
        path = Path(inp.target).expanduser()
        where = f"{flag} {inp.target}"
        if path.exists() and inputs.kind(path, where)[0] == inputs.STREAM:  # a socket is refused there
            # A named pipe or a device: streamed, under the deadline (/dev/zero never ends).
            with inputs.open_stream(path, where, self.read_timeout or self.cmd_timeout) as fifo:
                yield fifo, where
            return
        try:
            raw = path.open("rb")
        except FileNotFoundError:
            raise UsageError(f"{where}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{where}: is a directory; give the file (e.g. {path / 'agent.log'})") from None
        except PermissionError:
            raise UsageError(f"{where}: permission denied (run with sudo, or copy the file)") from None
        except OSError as exc:
            raise UsageError(f"{where}: cannot read ({exc.strerror or exc})") from None
        with raw:
            yield raw, where

    def _note(self, inp: AgentInput, text: str) -> None:
        self.notes.setdefault(inp.label, []).append(text)

    def _read_chunks(self, raw: BinaryIO, inp: AgentInput, where: str, feeder: LogFeeder) -> None:
        stream: IO[bytes] = raw
        if _peek(raw).startswith(_GZIP_MAGIC):
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        got = 0
        try:
            while True:
                data = stream.read(CHUNK)
                if not data:
                    return
                got += len(data)
                feeder.feed(data)
                if feeder.cancelled_at is not None:
                    return
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            if got == 0:
                raise UsageError(f"{where}: not a readable gzip file ({exc})") from None
            self._note(inp, f"{inp.label} ends in the middle of its gzip stream; read what came before.")
        except OSError as exc:
            raise UsageError(f"{where}: cannot read after {got} bytes ({exc.strerror or exc})") from None

    def _read(self, raw: BinaryIO, inp: AgentInput, where: str) -> Iterator[tuple[int, str]]:
        stream: IO[bytes] = raw
        if _peek(raw).startswith(_GZIP_MAGIC):
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        n = 0
        try:
            for line in _lines(stream):
                n += 1
                yield n, line
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            if n == 0:
                raise UsageError(f"{where}: not a readable gzip file ({exc})") from None
            # A rotated file copied while it was written: keep what was read, and say so.
            self.notes.setdefault(inp.label, []).append(
                f"{inp.label} ends in the middle of its gzip stream; read {n} lines."
            )
        except OSError as exc:
            raise UsageError(f"{where}: cannot read after line {n} ({exc.strerror or exc})") from None

    # -- running a command ---------------------------------------------------------------

    def _run(self, inp: AgentInput) -> Iterator[tuple[int, str]]:
        try:
            argv = shlex.split(inp.target)
        except ValueError as exc:
            raise UsageError(f"--agent-cmd is not a valid command line: {exc}") from None
        if not argv:
            raise UsageError("--agent-cmd is empty")
        shown = shlex.join(argv[:4]) + (" …" if len(argv) > 4 else "")
        with tempfile.TemporaryFile() as out:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: a timeout kills sudo's children too
                    close_fds=True,
                )
            except FileNotFoundError:
                raise SourceError(
                    f"Cannot run `{shown}`: {argv[0]} was not found (is the StackState Agent installed here, "
                    "and on PATH?)",
                    system="agent", cause="missing",
                ) from None
            except PermissionError:
                raise SourceError(f"Cannot run `{shown}`: {argv[0]} is not executable", system="agent", cause="auth") from None
            except OSError as exc:
                raise SourceError(f"Cannot run `{shown}`: {exc.strerror or exc}", system="agent") from None
            started = time.monotonic()
            try:
                code = proc.wait(timeout=self.cmd_timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                raise SourceError(
                    f"`{shown}` did not finish within {self.cmd_timeout:g} s and was stopped",
                    system="agent", cause="timeout",
                ) from None
            except BaseException:
                _kill_group(proc)
                raise
            out.seek(0)
            if code != 0:
                last = _last_error_line(out)
                reason = f": {last}" if last else ""
                how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
                raise SourceError(f"`{shown}` {how}{reason}", system="agent", cause="exit")
            self.notes.setdefault(inp.label, []).append(
                f"`{shown}` ran in {time.monotonic() - started:.1f} s."
            )
            out.seek(0)
            yield from self._read(out, inp, f"the output of `{shown}`")



# --- helpers ---------------------------------------------------------------------------


def _log_inputs(target: str) -> list[AgentInput]:
    """One input for a file or stdin; for a directory its agent logs, oldest first
    (``agent.log.2``, ``agent.log.1``, ``agent.log``; other agents' logs only when it has none)."""
    path = Path(target).expanduser()
    if target == "-" or not path.is_dir():
        return [AgentInput("log", target, _label(target))]
    files = rotated_files(path, prefer=lambda name: name.lower().startswith("agent."))
    if not files:
        raise UsageError(f"--agent-log {target}: no log files in this directory (looked for agent.log, "
                         "agent.log.N and their .gz)")
    return [AgentInput("log", str(f), f.name, rotated=i < len(files) - 1) for i, f in enumerate(files)]


def _label(target: str) -> str:
    return "stdin" if target == "-" else Path(target).name or target


def _peek(raw: BinaryIO) -> bytes:
    peek = getattr(raw, "peek", None)
    if callable(peek):
        try:
            return bytes(peek(2)[:2])
        except (OSError, ValueError):
            return b""
    try:
        pos = raw.tell()
        head = raw.read(2)
        raw.seek(pos)
        return head
    except (OSError, ValueError):
        return b""


def _lines(stream: IO[bytes]) -> Iterator[str]:
    """Cleaned lines (stsdebug.logs.agent_chunks.clean_line), at most MAX_LINE_BYTES each."""
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            # Skip the rest of the line without holding it in memory (small pieces: an
            # endless line from a device is skipped at the pace it arrives).
            while True:
                rest = stream.readline(1 << 16)
                if not rest or rest.endswith(b"\n"):
                    break
        yield clean_line(raw[:-1] if raw.endswith(b"\n") else raw)


def _last_error_line(out: IO[bytes]) -> str:
    """The last 'Error...' line of a failed command's output, else its last non-empty line."""
    last = last_error = ""
    for line in _lines(out):
        s = line.strip()
        if not s:
            continue
        last = s
        low = s.lower()
        if low.startswith(("error", "sudo:")) or " error" in low[:40]:
            last_error = s
    chosen = last_error or last
    return chosen[:200] + ("…" if len(chosen) > 200 else "")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group created for this command (its id is the child's pid), then reap it."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.wait(timeout=2)
