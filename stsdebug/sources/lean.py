"""Client libraries imported without the parts stsdebug never uses.

Importing is most of a quick check's CPU time. Two libraries pull in large optional parts:
the Elasticsearch 7.17 client imports ``requests`` for its ``RequestsHttpConnection``
(stsdebug sends through its own httpx connection, ``sources.es_transport``); httpx imports
its command line (``httpx._main``: rich.syntax, pygments), and httpcore the async
libraries it finds (``trio`` alone costs 70 ms where it is installed, ``anyio``), though
stsdebug only sends synchronously. All are guarded by ``try/except ImportError`` there, so hiding the module for the
duration of the import makes them skip it; afterwards the name is free again, and any
later ``import requests`` works as usual.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Modules that no other import stsdebug makes needs, so hiding them during the import of
# the library cannot break another thread's import.
UNUSED_BY_ES = ("requests",)
UNUSED_BY_HTTPX = ("httpx._main", "trio", "anyio")


@contextmanager
def without(*names: str) -> Iterator[None]:
    """Within the block, ``import NAME`` raises ImportError for each name not yet imported."""
    hidden = [n for n in names if n not in sys.modules]
    for n in hidden:
        sys.modules[n] = None  # type: ignore[assignment]  # the documented way to block an import
    try:
        yield
    finally:
        for n in hidden:
            if n in sys.modules and sys.modules[n] is None:
                del sys.modules[n]


__all__ = ["UNUSED_BY_ES", "UNUSED_BY_HTTPX", "without"]
