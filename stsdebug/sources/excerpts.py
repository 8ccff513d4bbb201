"""The trace's inputs opened again, the way the trace opened them (for the support bundle).

One seam onto the log source: the bundle finds files and reads lines only through here, so
it copies exactly the files the trace's source would read (the same selection and order in
a directory of rotated logs, gzip told by its magic bytes, the same decoding) and nothing
else. If the way logs are found or opened changes, only this module follows.
"""

from __future__ import annotations

from collections.abc import Iterator

from stsdebug.sources.logs import LogInput, expand, iter_lines

__all__ = ["LogInput", "files", "lines", "streamed"]


def streamed(spec: str) -> bool:
    """Was this input read as a stream (stdin, a named pipe, a device)? It cannot be read again."""
    if spec == "-":
        return True
    try:
        found = expand([spec], "input")
    except Exception:  # noqa: BLE001 - not readable now: the caller says so when it reads it
        return False
    return any(inp.stream for inp in found)


def files(spec: str, flag: str) -> list[LogInput]:
    """The files behind one input as given (a file or a directory), oldest first.

    Raises UsageError (one line) for a path that cannot be read.
    """
    return expand([spec], flag)


def lines(inp: LogInput) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of every line, as the trace numbered them."""
    return iter_lines(inp)
