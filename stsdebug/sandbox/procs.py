"""Processes the sandbox and the test servers start: marked at spawn, found again via /proc.

Remembered PIDs are not enough: Ctrl-C can arrive between the moment a child is
forked and the moment its PID is written down, and a state file can be lost. So

- every child is spawned with ``held_signals()``: SIGINT/SIGTERM/SIGHUP that arrive
  while ``Popen`` runs and the PID is recorded are delivered right after, never in
  between;
- every child carries markers in its environment (inherited across ``exec``):
  ``STSDEBUG_STARTED_BY=<pid of the starter>`` and, for the sandbox,
  ``STSDEBUG_SANDBOX_RUN=<run dir>``; ``find()`` looks them up in /proc, so cleanup
  finds every process of a sandbox even when nothing remembered its PID;
- ``stop()`` ends a list of PIDs: SIGTERM (to the process group when the process
  leads one), then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import FrameType

RUN_ENV = "STSDEBUG_SANDBOX_RUN"
STARTED_BY_ENV = "STSDEBUG_STARTED_BY"
_POLL_S = 0.02
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def markers(**extra: str) -> dict[str, str]:
    """Environment entries that let ``find`` recognise a child of this process."""
    return {STARTED_BY_ENV: str(os.getpid()), **extra}


# --- /proc ----------------------------------------------------------------------------------


def _pids() -> Iterator[int]:
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if name.isdigit():
            yield int(name)


def cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [os.fsdecode(a) for a in raw.split(b"\0")[:-1]] if raw else []


def environ(pid: int) -> dict[str, str] | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    out: dict[str, str] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[os.fsdecode(key)] = os.fsdecode(value)
    return out


def alive(pid: int) -> bool:
    """A live process; a zombie is dead (it only waits for its parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def names_path(args: Iterable[str], path: str | Path) -> bool:
    """Does an argument (or the value of ``--opt=value``) equal ``path`` or lie under it?"""
    root = os.fspath(path).rstrip("/")
    for arg in args:
        value = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
        if value == root or value.startswith(root + "/"):
            return True
    return False


def find(
    *,
    env: Mapping[str, str] | None = None,
    naming: str | Path | None = None,
    programs: Iterable[str] = (),
) -> list[int]:
    """Live processes other than this one that carry every ``env`` marker, or whose command
    line names ``naming`` (and, if ``programs`` is given, runs one of them)."""
    wanted = set(programs)
    me = os.getpid()
    found: list[int] = []
    for pid in _pids():
        if pid == me or not alive(pid):
            continue
        if env:
            got = environ(pid)
            if got is not None and all(got.get(k) == v for k, v in env.items()):
                found.append(pid)
                continue
        if naming is not None:
            args = cmdline(pid)
            if not args or not names_path(args, naming):
                continue
            if wanted and not ({Path(args[0]).name} | set(args)) & wanted:
                continue
            found.append(pid)
    return sorted(found)


# --- stopping -------------------------------------------------------------------------------


def stop(pids: Iterable[int], grace: float = 5.0) -> list[int]:
    """SIGTERM every PID (its group, if it leads one), SIGKILL what is left after ``grace``
    seconds; returns the PIDs still alive after that."""
    left = [p for p in pids if alive(p)]
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        for pid in left:
            _signal(pid, sig)
        deadline = time.monotonic() + wait
        while left and time.monotonic() < deadline:
            for pid in left:
                _reap(pid)
            left = [p for p in left if alive(p)]
            if left:
                time.sleep(_POLL_S)
        if not left:
            break
    return left


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)  # a server leads its own group: its helpers go too
            return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


# --- signals --------------------------------------------------------------------------------


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP for the duration; deliver the first one afterwards.

    Used around spawning a child and recording its PID, so an interrupt never lands
    between the two. Only the main thread can set signal handlers; elsewhere this
    holds nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {s: signal.signal(s, hold) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            signal.raise_signal(pending[0])


@contextlib.contextmanager
def interrupts_as_keyboard() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt for the duration, like Ctrl-C, so the
    cleanup that Ctrl-C runs also runs when the terminal closes or the process is told to stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
