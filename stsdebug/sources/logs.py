"""Log inputs: a file, a directory of rotated files (gzip too), or ``-`` for stdin.

Everything is read in binary and streamed in large chunks; decoding, colour
codes, CRLF and over-long lines are the scanner's business
(``stsdebug.logs.receiver_scan``). Bad input is a ``UsageError`` with one line: a missing
file, a directory without logs, a file that cannot be read, a corrupt gzip file,
stdin that is a terminal or empty.

A directory is read oldest first, so line numbers and "first/last seen" follow
time: dated files (``x.2024-01-15.0.log``, ``x.log-20240115.gz``) by date and
index, numbered files (``x.log.2.gz``, ``x.log.1``, ``x.1.log``) from the highest
number down, then the live file (``x.log``). Files named for the receiver are
preferred when the directory holds other logs too.

Every input is scanned in this process, in one pass: a second process was measured
slower on the 2-CPU machines stsdebug runs on (its start-up costs more than it saves).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any

from stsdebug import inputs
from stsdebug.errors import SourceError, UsageError
from stsdebug.logs.receiver_result import ScanResult
from stsdebug.logs.receiver_scan import CHUNK, Scanner
from stsdebug.logs.text import LINE_TEXT_CAP, clean

GZIP_MAGIC = b"\x1f\x8b"
STDIN = "-"

_LOG_NAME = re.compile(
    r"""^(?P<base>.+?)
        (?:
            \.(?P<date>\d{4}-\d\d-\d\d)(?:\.(?P<didx>\d+))?\.log          # logback: x.2024-01-15.0.log
          | \.log-(?P<date8>\d{8})(?:\.(?P<d8idx>\d+))?                   # logrotate dateext: x.log-20240115
          | \.(?P<fidx>\d+)\.log                                          # logback fixed window: x.1.log
          | \.log\.(?P<num>\d+)                                           # logrotate: x.log.1
          | \.(?P<live>log|txt|out)                                       # the live file
        )(?:\.gz)?$""",
    re.X,
)


@dataclass(frozen=True)
class LogInput:
    """One input as given or found in a directory."""

    name: str  # what outputs call it: the path as given, or "stdin"
    path: Path | None  # None for stdin
    gzip: bool = False
    size: int | None = None
    mtime: float | None = None
    rotated: bool = False  # an older, rotated file (not the live one)
    stream: bool = False  # a named pipe or character device: read once, as stdin is


# --- finding the inputs -----------------------------------------------------------


def expand(specs: list[str], what: str = "--receiver-log") -> list[LogInput]:
    """Turn paths as given into the inputs to read, in order. Raises UsageError."""
    out: list[LogInput] = []
    if sum(1 for s in specs if s == STDIN) > 1:
        raise UsageError(f"{what} -: stdin can be given only once")
    for spec in specs:
        if spec == STDIN:
            out.append(LogInput("stdin", None))
            continue
        path = Path(spec).expanduser()
        found, st = inputs.kind(path, f"{what} {spec}")  # a socket or block device is refused
        if found == inputs.STREAM:
            # `--receiver-log <(kubectl logs ...)`, a named pipe: streamed under the stage's deadline.
            out.append(LogInput(spec, path, stream=True))
            continue
        if found == inputs.DIRECTORY:
            files = rotated_files(path)
            if not files:
                raise UsageError(
                    f"{what} {spec}: no log files in this directory "
                    "(looked for *.log, *.log.N, *.N.log, *.DATE.N.log and their .gz)"
                )
            out.extend(_describe(f, name=str(Path(spec) / f.name), rotated=not _is_live(f)) for f in files)
        else:
            out.append(_describe(path, name=spec, rotated=False, stat=st))
    return out


def _describe(path: Path, name: str, rotated: bool, stat: os.stat_result | None = None) -> LogInput:
    try:
        st = stat or path.stat()
        with path.open("rb") as f:
            magic = f.read(2)
    except IsADirectoryError:
        raise UsageError(f"{name}: is a directory inside a directory; give it directly") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read ({exc.strerror})") from None
    is_gz = magic == GZIP_MAGIC
    if path.suffix == ".gz" and not is_gz and st.st_size > 0:
        raise UsageError(f"{name}: not a gzip file, although its name ends in .gz")
    if is_gz:
        _check_gzip(path, name)
    return LogInput(name, path, gzip=is_gz, size=st.st_size, mtime=st.st_mtime, rotated=rotated)


def _check_gzip(path: Path, name: str) -> None:
    """Fail early (one line) on a gzip file whose start cannot be decompressed."""
    try:
        with gzip.open(path, "rb") as g:
            g.read(4096)
    except (OSError, EOFError, zlib.error) as exc:
        raise UsageError(f"{name}: unreadable or corrupt gzip file ({_gzip_reason(exc)})") from None


def _gzip_reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.rstrip(".")


def _is_live(path: Path) -> bool:
    m = _LOG_NAME.match(path.name)
    return bool(m and m.group("live") and not path.name.endswith(".gz"))


def rotated_files(directory: Path, prefer: Callable[[str], bool] | None = None) -> list[Path]:
    """The log files in ``directory``, oldest first (see the module docstring).

    ``prefer`` picks, by file name, the files to read when the directory holds other logs
    too (default: names with "receiver" in them).
    """
    try:
        entries = [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
    except OSError as exc:
        raise UsageError(f"{directory}: cannot list ({exc.strerror})") from None
    logs = [p for p in entries if _LOG_NAME.match(p.name)]
    wanted = prefer or (lambda name: "receiver" in name.lower())
    chosen = [p for p in logs if wanted(p.name)] or logs
    return sorted(chosen, key=_age_key)


def _age_key(path: Path) -> tuple[Any, ...]:
    m = _LOG_NAME.match(path.name)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    assert m is not None
    if m.group("date"):
        return (0, m.group("date").replace("-", ""), int(m.group("didx") or 0), mtime, path.name)
    if m.group("date8"):
        return (0, m.group("date8"), int(m.group("d8idx") or 0), mtime, path.name)
    number = m.group("num") or m.group("fidx")
    if number is not None:
        return (1, -int(number), 0, mtime, path.name)
    if path.name.endswith(".gz"):
        return (1, 0, 0, mtime, path.name)
    return (2, 0, 0, mtime, path.name)


# --- reading ----------------------------------------------------------------------


class _GzipReader:
    """readinto over a gzip stream; corruption becomes one UsageError line."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._g = gzip.GzipFile(fileobj=raw, mode="rb")
        self._name = name

    def readinto(self, buf: memoryview) -> int:
        try:
            return self._g.readinto(buf)
        except (OSError, EOFError, zlib.error) as exc:
            raise UsageError(f"{self._name}: unreadable or corrupt gzip file ({_gzip_reason(exc)})") from None


class _StdinReader:
    """readinto over stdin (or a named pipe, a character device) that gives up at a deadline
    instead of blocking for ever."""

    def __init__(self, stream: IO[bytes], deadline: float | None, label: str = "--receiver-log -") -> None:
        self._stream = stream
        self._deadline = deadline
        self._label = label
        self.timed_out = False
        try:
            self._fd: int | None = stream.fileno()
        except (OSError, AttributeError, ValueError):
            self._fd = None  # not a real file (tests): read it directly
        self._first: bytes | None = None
        self._inflate: Any = None

    def _raw(self, n: int) -> bytes:
        if self._fd is None:
            return self._stream.read(n)
        if self._deadline is not None and sys.platform != "win32":
            import select

            remaining = self._deadline - time.time()
            ready = select.select([self._fd], [], [], max(0.0, remaining))[0] if remaining > 0 else []
            if not ready:
                self.timed_out = True
                return b""
        return os.read(self._fd, n)

    def peek_start(self) -> bytes:
        """Read the first piece (to tell empty and gzip-compressed input apart)."""
        self._first = self._raw(CHUNK)
        if self._first.startswith(GZIP_MAGIC):
            self._inflate = zlib.decompressobj(wbits=31)
        return self._first

    def readinto(self, buf: memoryview) -> int:
        if self._inflate is None:
            if self._first is not None:
                data, self._first = self._first, None
            else:
                data = self._raw(len(buf))
            buf[: len(data)] = data
            return len(data)
        while True:  # gzip on stdin: inflate at most len(buf) bytes at a time
            if self._first is not None:
                comp, self._first = self._first, None
            elif self._inflate.unconsumed_tail:
                comp = self._inflate.unconsumed_tail
            else:
                comp = self._raw(CHUNK)
            if not comp:
                if self._inflate.eof or self.timed_out:
                    return 0
                raise UsageError(f"{self._label}: the gzip stream ends early (truncated)")
            try:
                out = self._inflate.decompress(comp, len(buf))
            except zlib.error as exc:
                raise UsageError(f"{self._label}: unreadable or corrupt gzip ({exc})") from None
            if self._inflate.eof and self._inflate.unused_data:
                rest = self._inflate.unused_data  # another gzip member follows
                self._inflate = zlib.decompressobj(wbits=31)
                self._first = rest
            if out:
                buf[: len(out)] = out
                return len(out)


@contextlib.contextmanager
def open_input(inp: LogInput, deadline: float | None = None, stdin: IO[bytes] | None = None) -> Iterator[Any]:
    """A reader with ``readinto`` for one input."""
    if inp.path is None:
        stream = stdin if stdin is not None else sys.stdin.buffer
        if stdin is None and sys.stdin.isatty():
            raise UsageError(
                "--receiver-log -: stdin is a terminal; pipe the log in, e.g. "
                "kubectl logs <receiver-pod> | stsdebug check --receiver-log -"
            )
        yield _StdinReader(stream, deadline)
        return
    if inp.stream:
        with os.fdopen(inputs.stream_fd(inp.path, inp.name), "rb", buffering=0) as fifo:
            yield _StdinReader(fifo, deadline, inp.name)
        return
    try:
        raw = inp.path.open("rb", buffering=0)
    except OSError as exc:
        raise UsageError(f"{inp.name}: cannot read ({exc.strerror})") from None
    with raw:
        yield _GzipReader(raw, inp.name) if inp.gzip else raw


def iter_lines(inp: LogInput, deadline: float | None = None, stdin: IO[bytes] | None = None) -> Iterator[tuple[int, str]]:
    """(1-based number, text) for each line: decoded with replacement, colour codes and CR
    dropped, at most LINE_TEXT_CAP characters kept of each. For small logs (agent logs)."""
    buf = bytearray(CHUNK)
    carry = b""
    n = 0
    skipping = False
    with open_input(inp, deadline, stdin) as reader:
        if isinstance(reader, _StdinReader):
            reader.peek_start()
        while True:
            with memoryview(buf) as mv:
                got = reader.readinto(mv)
            if not got:
                break
            data = carry + bytes(buf[:got])
            parts = data.split(b"\n")
            carry = parts.pop()
            for raw in parts:
                if skipping:
                    skipping = False
                    continue
                n += 1
                yield n, clean(raw[: LINE_TEXT_CAP * 4].decode("utf-8", "replace"))
            if len(carry) > LINE_TEXT_CAP * 4:
                n += 1
                yield n, clean(carry[: LINE_TEXT_CAP * 4].decode("utf-8", "replace"))
                carry = b""
                skipping = True
    if carry and not skipping:
        n += 1
        yield n, clean(carry.decode("utf-8", "replace"))


# --- scanning receiver logs -------------------------------------------------------


@dataclass
class ScanReport:
    result: ScanResult
    skipped: list[str]  # rotated files not read: last written before the window


def scan(
    inputs: list[LogInput],
    window: tuple[float, float] | None,
    tz: tzinfo | None,
    *,
    deadline: float | None = None,
    cancel: Callable[[], bool] | None = None,
    stdin: IO[bytes] | None = None,
    skip_old: bool = True,
    k8s_tz: tzinfo | None = None,
) -> ScanReport:
    """Scan the inputs in order into one ScanResult (line numbers restart per input)."""
    result = ScanResult()
    skipped: list[str] = []

    def stop() -> bool:
        if cancel is not None and cancel():
            return True
        return deadline is not None and time.time() > deadline

    for inp in inputs:
        if stop():
            result.stopped = "cancelled" if cancel is not None and cancel() else "deadline"
            break
        # A rotated file last written before the window holds nothing in it: not read.
        if skip_old and window is not None and inp.rotated and inp.mtime is not None and inp.mtime < window[0] - 60:
            skipped.append(inp.name)
            continue
        part = _scan_one(inp, window, tz, stop, deadline, stdin, k8s_tz)
        result.sources.extend(part.sources)
        result.merge(part)
        if part.stopped:
            result.stopped = "cancelled" if cancel is not None and cancel() else "deadline"
            break
    return ScanReport(result, skipped)


def _scan_one(
    inp: LogInput,
    window: tuple[float, float] | None,
    tz: tzinfo | None,
    stop: Callable[[], bool],
    deadline: float | None,
    stdin: IO[bytes] | None,
    k8s_tz: tzinfo | None = None,
) -> ScanResult:
    scanner = Scanner(inp.name, window, tz, k8s_tz=k8s_tz)
    with open_input(inp, deadline, stdin) as reader:
        if isinstance(reader, _StdinReader):
            first = reader.peek_start()
            if not first:
                where = "stdin" if inp.path is None else inp.name
                if reader.timed_out:
                    raise SourceError(f"Nothing arrived on {where} before the time allowed ran out.", system=where)
                if inp.path is not None:
                    raise UsageError(f"--receiver-log {inp.name}: nothing to read (it is empty)")
                raise UsageError(
                    "--receiver-log -: stdin is empty; pipe the receiver log in, e.g. "
                    "kubectl logs <receiver-pod> | stsdebug check --receiver-log -"
                )
        try:
            scanner.read_from(reader, stop=stop)
        except OSError as exc:
            raise SourceError(f"Reading {inp.name} failed: {exc.strerror or exc}.", system="logs") from None
        if isinstance(reader, _StdinReader) and reader.timed_out:
            scanner.result.stopped = "deadline"
    return scanner.close().finish()


def scan_paths(
    specs: list[str],
    window: tuple[float, float] | None,
    tz: tzinfo | None,
    **kwargs: Any,
) -> ScanResult:
    """expand + scan, for scripts and the benchmark."""
    return scan(expand(specs), window, tz, **kwargs).result


# --- the source object stages get ----------------------------------------------------


class LogSource:
    """What ``ctx.logs`` returns."""

    def __init__(self, paths: list[str] | None = None, timeout: float = 10.0, *,
                 receiver_log: list[str] | None = None, server_log: list[str] | tuple[str, ...] = ()) -> None:
        self.receiver_log = list(paths or receiver_log or [])
        self.server_log = list(server_log or [])
        self.timeout = timeout

    def receiver_inputs(self) -> list[LogInput]:
        return expand(self.receiver_log, "--receiver-log")

    def server_inputs(self) -> list[LogInput]:
        """The StackState server log (--server-log): the pull plugins' errors."""
        if STDIN in self.server_log and STDIN in self.receiver_log:
            raise UsageError("--server-log - and --receiver-log -: stdin can be read for one of them only")
        return expand(self.server_log, "--server-log")

    def lines(self, inputs: list[LogInput], deadline: float | None = None) -> Iterator[tuple[str, int, str]]:
        """(input name, line number, text) of every line of the inputs, in order."""
        for inp in inputs:
            for n, text in iter_lines(inp, deadline):
                yield inp.name, n, text

    def scan(self, inputs: list[LogInput], window: tuple[float, float] | None, tz: tzinfo | None,
             **kwargs: Any) -> ScanReport:
        return scan(inputs, window, tz, **kwargs)

    def close(self) -> None:
        pass

