"""Writing output files (reports, traces, bundles) without ever harming what the user gave.

- ``check_outputs`` is the pre-flight, called before anything runs: it refuses a path
  given to two outputs, an output that is one of the inputs (same resolved path, or
  the same file through a hard link or symlink: device and inode are compared), an
  output inside an input directory, a directory, a socket, a block device, a missing
  directory and a symlink another user planted in a shared sticky directory.
- ``write_outputs`` writes several files so that either all are written or none is
  touched: every regular file is first written in full to a temporary file in its
  target's directory (unpredictable name, created with ``O_EXCL`` and ``O_NOFOLLOW``,
  so a planted name or symlink is never followed), then character devices and FIFOs
  are written, and only then are the temporary files renamed over their targets. On
  any failure every temporary file is removed.
- A symlink is written through: the file it points to is replaced, the link stays.
  A character device or FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is opened
  for writing without truncation and never replaced by a regular file; a FIFO with no
  reader, or a reader that stops reading for ``STALL_S`` seconds, is an error, not a hang.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import select
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stsdebug.errors import UsageError

StrPath = str | os.PathLike[str]

STALL_S = 30.0  # a FIFO or device that accepts nothing for this long ends the write
_TMP_SUFFIX = ".stsdebug-tmp"
_TMP_TRIES = 16


# --- pre-flight -----------------------------------------------------------------------------


def check_outputs(
    outputs: Mapping[str, StrPath | None],
    inputs: Iterable[StrPath | None] = (),
    *,
    input_is: str = "one of the inputs",
) -> None:
    """Refuse, with one line, output paths that would hurt: see the module docstring.

    ``outputs`` maps how each output was named (a flag such as ``--html``) to its path;
    ``None`` entries are outputs not asked for. ``inputs`` are the files and directories
    the run reads (``-`` and ``None`` are ignored).
    """
    files: list[tuple[str, frozenset[object]]] = []  # regular files, by every name they have
    dirs: list[Path] = []
    for raw in inputs:
        if raw is None or str(raw) in ("", "-"):
            continue
        p = Path(raw).expanduser()
        try:
            st = os.stat(p)
        except OSError:
            files.append((str(raw), _keys(p, None)))
            continue
        if stat.S_ISDIR(st.st_mode):
            dirs.append(Path(os.path.realpath(p)))
        elif stat.S_ISREG(st.st_mode):
            files.append((str(raw), _keys(p, st)))
    seen: list[tuple[str, frozenset[object]]] = []
    for label, raw in outputs.items():
        if raw is None:
            continue
        plan = _plan(raw, label)
        if not plan.regular:
            continue  # a device or FIFO: writing it alters no file of the user's
        keys = _keys(Path(raw).expanduser(), plan.st)
        name = _named(label, raw)
        for other, other_keys in seen:
            if keys & other_keys:
                raise UsageError(f"{name}: is also given to {other}; give each output its own file")
        for _, in_keys in files:
            if keys & in_keys:
                raise UsageError(f"{name}: is {input_is}; refusing to overwrite it")
        parent = Path(os.path.realpath(plan.target.parent))
        for d in dirs:
            if parent == d:
                raise UsageError(
                    f"{name}: is inside the input directory {d}; write it somewhere else"
                )
        seen.append((label, keys))


def _keys(p: Path, st: os.stat_result | None) -> frozenset[object]:
    """Every way to recognise this file: its resolved path, and its device and inode."""
    keys: set[object] = {os.path.realpath(p)}
    if st is not None:
        keys.add((st.st_dev, st.st_ino))
    return frozenset(keys)


def _named(label: str, raw: StrPath) -> str:
    return str(raw) if label == str(raw) else f"{label} {raw}"


# --- writing --------------------------------------------------------------------------------


@dataclass
class _Plan:
    shown: str  # as the user gave it, for messages
    target: Path  # the file to replace, or the device/FIFO to write through
    regular: bool  # True: staged in a temporary file and renamed over the target
    st: os.stat_result | None  # of the target, if it exists
    truncate: bool = False  # write-through of a regular file (a /proc/self/fd link)


def write_atomic(
    path: StrPath, text: str | bytes, protected: Iterable[StrPath] = (), *, protected_is: str = "one of the inputs"
) -> Path:
    """Write one output file safely (see ``write_outputs``); never over one of ``protected``."""
    return write_outputs([(path, text)], protected, protected_is=protected_is)[0]


def write_outputs(
    files: Sequence[tuple[StrPath, str | bytes]],
    protected: Iterable[StrPath] = (),
    *,
    protected_is: str = "one of the inputs",
) -> list[Path]:
    """Write every ``(path, data)`` or none: on failure nothing is left half-written.

    Text is written as UTF-8. Returns the paths as given (expanded). Raises UsageError
    with one line naming the path and the reason.
    """
    check_outputs({str(p): p for p, _ in files}, protected, input_is=protected_is)
    plans = [(_plan(p, str(p)), data.encode("utf-8") if isinstance(data, str) else data) for p, data in files]
    staged: list[tuple[_Plan, Path]] = []
    try:
        for plan, data in plans:
            if plan.regular:
                staged.append((plan, _stage(plan, data)))
        for plan, data in plans:
            if not plan.regular:
                _write_through(plan, data)
        while staged:
            plan, tmp = staged[0]
            try:
                os.replace(tmp, plan.target)
            except OSError as exc:
                raise _cannot(plan.shown, exc) from None
            staged.pop(0)
    finally:
        for _, tmp in staged:  # only those not renamed: nothing is left half-done
            _unlink(tmp)
    return [Path(p).expanduser() for p, _ in files]


def _plan(raw: StrPath, label: str) -> _Plan:
    name = _named(label, raw)
    if not str(raw).strip():
        raise UsageError(f"{label}: no file name given" if label != str(raw) else "no file name given")
    p = Path(raw).expanduser()
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return _new_file(p, str(raw), name)
    except OSError as exc:
        raise _cannot(name, exc) from None
    if stat.S_ISLNK(st.st_mode):
        _check_link(p, st, name)
        try:
            st = os.stat(p)
        except FileNotFoundError:
            raise UsageError(f"{name}: is a symlink to a file that does not exist; refusing to follow it") from None
        except OSError as exc:
            raise _cannot(name, exc) from None
        if stat.S_ISREG(st.st_mode):
            if _via_proc(p):
                # /dev/stdout, /dev/fd/N: the file the shell opened (`> out.txt`); replacing
                # it would leave the shell's descriptor on a deleted file. Write it in place.
                return _Plan(str(raw), p, False, st, truncate=True)
            return _Plan(str(raw), Path(os.path.realpath(p)), True, st)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise UsageError(f"{name}: is a directory")
    if stat.S_ISSOCK(mode):
        raise UsageError(f"{name}: is a socket; refusing to write to it")
    if stat.S_ISBLK(mode):
        raise UsageError(f"{name}: is a block device; refusing to write a report onto a disk")
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return _Plan(str(raw), p, False, st)
    return _Plan(str(raw), p, True, st)


def _new_file(p: Path, shown: str, name: str) -> _Plan:
    parent = p.parent
    if not parent.is_dir():
        raise UsageError(f"{name}: cannot write (the directory {parent} does not exist)")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{name}: cannot write (the directory {parent} is read-only)")
    return _Plan(shown, p, True, None)


def _via_proc(p: Path) -> bool:
    """Does following ``p`` go through a /proc magic link (/dev/stdout, /dev/fd/N)?"""
    cur = p
    for _ in range(40):
        if os.path.realpath(cur.parent).startswith("/proc/"):
            return True
        if not cur.is_symlink():
            return False
        cur = cur.parent / os.readlink(cur)
    return False


def _check_link(p: Path, st: os.stat_result, name: str) -> None:
    """The kernel's protected_symlinks rule, applied even where the sysctl is off:
    in a sticky world-writable directory (/tmp) follow only our own links or the owner's."""
    try:
        d = os.stat(p.parent)
    except OSError:
        return
    shared = bool(d.st_mode & stat.S_ISVTX) and bool(d.st_mode & stat.S_IWOTH)
    if shared and st.st_uid not in (os.geteuid(), d.st_uid):
        raise UsageError(
            f"{name}: is a symlink another user made in the shared directory {p.parent}; "
            "refusing to follow it"
        )


def _stage(plan: _Plan, data: bytes) -> Path:
    """Write ``data`` to a new temporary file beside the target; return its path."""
    target = plan.target
    fd, tmp = -1, target
    for _ in range(_TMP_TRIES):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}{_TMP_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            break
        except FileExistsError:
            continue  # someone holds that name (or planted a link there): take another
        except OSError as exc:
            raise _cannot(plan.shown, exc) from None
    else:
        raise UsageError(f"{plan.shown}: cannot create a temporary file in {target.parent}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            _copy_mode(fh.fileno(), plan.st)
    except OSError as exc:
        _unlink(tmp)
        raise _cannot(plan.shown, exc) from None
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _copy_mode(fd: int, old: os.stat_result | None) -> None:
    """The replaced file's mode and owner, or what a new file would get under the umask."""
    if old is None:
        os.fchmod(fd, 0o666 & ~_umask())
        return
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        # Not ours to give away: the file becomes the writer's, as with any editor.
        with contextlib.suppress(PermissionError):
            os.fchown(fd, old.st_uid, old.st_gid)


def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _write_through(plan: _Plan, data: bytes) -> None:
    """Write into a device or FIFO (or a /proc fd link) in place: no truncation, no rename."""
    flags = os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC | os.O_NONBLOCK
    if plan.truncate:
        flags |= os.O_TRUNC
    try:
        fd = os.open(plan.target, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise UsageError(f"{plan.shown}: is a FIFO nothing is reading from") from None
        raise _cannot(plan.shown, exc) from None
    try:
        view = memoryview(data)
        stalled_since = time.monotonic()
        while view:
            try:
                n = os.write(fd, view[: 1 << 16])
            except BlockingIOError:
                n = 0
            except OSError as exc:
                raise _cannot(plan.shown, exc) from None
            if n:
                view = view[n:]
                stalled_since = time.monotonic()
                continue
            left = STALL_S - (time.monotonic() - stalled_since)
            if left <= 0:
                raise UsageError(f"{plan.shown}: nothing was read from it for {STALL_S:g} s; stopped writing")
            select.select([], [fd], [], min(left, 1.0))
    finally:
        os.close(fd)


def _cannot(name: str, exc: OSError) -> UsageError:
    return UsageError(f"{name}: cannot write ({exc.strerror or exc})")


def _unlink(path: Path) -> None:
    # Best effort: the name is random and hidden, and the error at hand matters more.
    with contextlib.suppress(OSError):
        os.unlink(path)
