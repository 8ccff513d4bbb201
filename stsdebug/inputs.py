"""Reading a file the user named (a saved trace, a streams file, a config, a secret file, a
payload), with one line saying what is wrong when it cannot be read. Never alters the file.

Every such file is checked before it is read: a regular file is read up to a size cap, and
a FIFO, a device, a socket or a directory is refused in one line (reading ``/dev/zero`` or a
named pipe nobody writes to would never end). Logs are the exception, since streaming is
the point there: ``kind()`` tells a caller that streams (``sources/logs.py``,
``sources/agent.py``) what a path is, and ``stream_fd`` opens a FIFO or character device
without blocking on a missing writer, to be read under a deadline.

    data = read_bytes(path, "--streams-file x.yaml", limit=MAX_SMALL)
    raw = read_stdin("stdin", limit=MAX_PAYLOAD)
"""

from __future__ import annotations

import io
import os
import select
import stat
import sys
import time
from pathlib import Path
from typing import BinaryIO

from stsdebug.errors import SourceError, UsageError

MAX_SECRET = 64 << 10  # a key or a token, with room to spare
MAX_SMALL = 16 << 20  # a config, a streams file, a binding export
MAX_DOCUMENT = 256 << 20  # a saved trace or HTML report, a payload to validate

REGULAR, DIRECTORY, STREAM = "regular", "directory", "stream"


def describe(mode: int) -> str:
    """What a file of this mode is, in a few words, for refusals."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def kind(path: Path, label: str) -> tuple[str, os.stat_result]:
    """REGULAR, DIRECTORY or STREAM (a FIFO or character device), following symlinks;
    UsageError for a missing file, a socket or a block device."""
    try:
        st = os.stat(path.expanduser())
    except FileNotFoundError:
        raise UsageError(f"{label}: no such file or directory") from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot read ({exc.strerror or exc})") from None
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return REGULAR, st
    if stat.S_ISDIR(mode):
        return DIRECTORY, st
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return STREAM, st
    raise UsageError(f"{label}: is {describe(mode)}; give a file")


def read_bytes(path: Path, label: str, *, expected: str = "", limit: int = MAX_SMALL) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or UsageError: "<label>: no
    such file" / "is a directory" / "is a named pipe (FIFO)..." / "larger than ..." / "cannot read"."""
    p = path.expanduser()
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise UsageError(f"{label}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{label}: is a directory" + (f", expected {expected}" if expected else ""))
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{label}: is {describe(st.st_mode)}, not a regular file; refusing to read it")
    if st.st_size > limit:
        raise UsageError(f"{label}: larger than {_size(limit)} ({_size(st.st_size)}); refusing to read it")
    try:
        # O_NONBLOCK: had the file been swapped for a FIFO since the check, open cannot hang.
        fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UsageError(f"{label}: cannot read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise UsageError(f"{label}: is not a regular file; refusing to read it")
        try:
            data = fh.read(limit + 1)  # a file that grew since the check still stops here
        except OSError as exc:
            raise UsageError(f"{label}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise UsageError(f"{label}: larger than {_size(limit)}; refusing to read it")
    return data


def read_text(path: Path, label: str, *, expected: str = "", limit: int = MAX_SMALL) -> str:
    """As ``read_bytes``, decoded as UTF-8 (UsageError "not UTF-8 text" otherwise)."""
    try:
        return read_bytes(path, label, expected=expected, limit=limit).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{label}: not UTF-8 text") from None


def read_stdin(label: str, *, limit: int = MAX_DOCUMENT, stream: BinaryIO | None = None) -> bytes:
    """All of stdin, at most ``limit`` bytes (UsageError past it, before holding more)."""
    source = stream if stream is not None else sys.stdin.buffer
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = source.read(min(1 << 20, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise UsageError(f"{label}: more than {_size(limit)}; refusing to read further")
    return b"".join(chunks)


def stream_fd(path: Path, label: str) -> int:
    """A FIFO or character device opened for reading without waiting for a writer
    (blocking again afterwards: callers wait with select under their deadline)."""
    try:
        fd = os.open(path.expanduser(), os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise UsageError(f"{label}: cannot read ({exc.strerror or exc})") from None
    os.set_blocking(fd, True)
    return fd


def _size(n: int) -> str:
    for unit, shift in (("GB", 30), ("MB", 20), ("KB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.0f} {unit}"
    return f"{n} bytes"


class _DeadlineRaw(io.RawIOBase):
    """An fd read with select until a deadline: a silent pipe ends the read, not the run."""

    def __init__(self, fd: int, label: str, seconds: float, close: bool) -> None:
        self._fd, self._label, self._seconds, self._close = fd, label, seconds, close
        self._deadline = time.monotonic() + seconds
        self._got = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        left = self._deadline - time.monotonic()
        ready = select.select([self._fd], [], [], max(0.0, left))[0] if left > 0 else []
        if not ready:
            said = "nothing arrived" if not self._got else f"it was still sending after {self._got:,} bytes"
            raise SourceError(f"Reading {self._label} stopped after {self._seconds:g} s: {said}.", system="input")
        n = os.readv(self._fd, [buf])
        self._got += n
        return n

    def close(self) -> None:
        if not self.closed and self._close:
            os.close(self._fd)
        super().close()


def open_stream(path: Path | None, label: str, seconds: float) -> io.BufferedReader:
    """stdin (``path`` None), a named pipe or a character device, read under a deadline of
    ``seconds`` from now: the reads raise SourceError once it passes, silent or not."""
    if path is None:
        fd, close = sys.stdin.fileno(), False
    else:
        fd, close = stream_fd(path, label), True
    return io.BufferedReader(_DeadlineRaw(fd, label, seconds, close), buffer_size=1 << 16)
