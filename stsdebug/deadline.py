"""Run a callable under a wall-clock deadline: the one way stsdebug bounds a call that may hang.

    value = bounded(lambda: socket.getaddrinfo(host, None), 5.0, "stsdebug-dns")

The callable runs in a daemon thread. ``bounded`` returns its value, re-raises its
exception, or gives up at the deadline (``DeadlineExceeded``), when ``cancel`` is set
(``Cancelled``) or when ``watch`` returns an exception to raise early. A thread that is
given up on is abandoned, not killed: what it waits on belongs to a library; a value it
returns late is handed to ``on_late`` (to close a client it built).

Used by the trace (each stage's budget, the probe's), the Kafka source (every phase) and
the Elasticsearch source (its DNS lookup).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

TICK_S = 0.05  # how often the caller looks at the cancel event and the watch


class DeadlineExceeded(Exception):
    """A bounded call did not return in time (its thread is abandoned)."""


class Cancelled(DeadlineExceeded):
    """The caller's cancel event was set while the bounded call ran."""


def bounded(
    fn: Callable[[], T],
    seconds: float,
    name: str = "stsdebug-io",
    *,
    cancel: threading.Event | None = None,
    watch: Callable[[], BaseException | None] | None = None,
    on_late: Callable[[Any], None] | None = None,
) -> T:
    """``fn()``, or ``DeadlineExceeded`` after ``seconds`` (``Cancelled`` once ``cancel`` is set)."""
    box: dict[str, Any] = {}
    lock = threading.Lock()
    done = threading.Event()

    def target() -> None:
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
        else:
            with lock:
                late = box.get("abandoned", False)
                if not late:
                    box["value"] = value
            if late and on_late is not None:
                with contextlib.suppress(Exception):
                    on_late(value)
        finally:
            done.set()

    def abandon() -> None:
        with lock:
            box["abandoned"] = True
            value = box.pop("value", None)
        if value is not None and on_late is not None:
            with contextlib.suppress(Exception):
                on_late(value)

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    deadline = time.monotonic() + max(0.0, seconds)
    while not done.wait(max(0.0, min(TICK_S, deadline - time.monotonic()))):
        if cancel is not None and cancel.is_set():
            abandon()
            raise Cancelled()
        early = watch() if watch is not None else None
        if early is not None:
            abandon()
            raise early
        if time.monotonic() >= deadline:
            abandon()
            raise DeadlineExceeded()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
