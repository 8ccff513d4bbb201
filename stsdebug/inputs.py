"""Reading a file the user named (a saved trace, a streams file, a payload), with one line
saying what is wrong when it cannot be read. Never alters the file."""

from __future__ import annotations

from pathlib import Path

from stsdebug.errors import UsageError


def read_bytes(path: Path, label: str, *, expected: str = "") -> bytes:
    """The file's bytes, or UsageError: "<label>: no such file" / "is a directory" / "cannot read"."""
    try:
        return path.expanduser().read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{label}: is a directory" + (f", expected {expected}" if expected else "")) from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot read ({exc.strerror or exc})") from None


def read_text(path: Path, label: str, *, expected: str = "") -> str:
    """As ``read_bytes``, decoded as UTF-8 (UsageError "not UTF-8 text" otherwise)."""
    try:
        return read_bytes(path, label, expected=expected).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{label}: not UTF-8 text") from None
