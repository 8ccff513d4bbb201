"""Writing output files (reports, traces) without ever harming what the user gave."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from stsdebug.errors import UsageError


def write_atomic(
    path: str | Path, text: str | bytes, protected: Iterable[Path] = (), *, protected_is: str = "one of the inputs"
) -> Path:
    """Write ``text`` (or bytes: a zip) to ``path`` through a temporary file, never over one of ``protected``."""
    target = Path(path).expanduser()
    if not str(path).strip():
        raise UsageError("no file name given")
    if target.resolve() in {Path(p).resolve() for p in protected}:
        raise UsageError(f"{path}: is {protected_is}; refusing to overwrite it")
    if target.is_dir():
        raise UsageError(f"{path}: is a directory")
    tmp = target.with_name(f".{target.name}.stsdebug-tmp")
    try:
        if isinstance(text, bytes):
            tmp.write_bytes(text)
        else:
            tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return target
