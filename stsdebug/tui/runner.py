"""What the TUI needs from the trace machinery, and nothing more.

The app talks to a *runner*: a callable that takes the settings, an ``on_event`` callback and
a cancel ``threading.Event`` and returns the ``TraceResult``. It is called on a worker
thread. A runner may also offer ``plan(settings)`` so the stage list and pipeline strip can
show every planned stage before it starts; without it the app adds rows as
``StageStarted`` events arrive.

The command line gives the app ``stsdebug.commands.tui.TraceRunner`` (the real trace);
tests pass their own runner, so the UI can be driven without any network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # for the types only: the TUI imports this module before its first frame
    from stsdebug.events import Event
    from stsdebug.model import TraceResult
    from stsdebug.settings import Settings

OnEvent = Callable[["Event"], None]


class Runner(Protocol):
    def __call__(
        self, settings: Settings, on_event: OnEvent, cancel: threading.Event
    ) -> TraceResult: ...


class RunnerFailed:
    """The runner itself raised (not a stage: stages already become `error`)."""

    def __init__(self, message: str) -> None:
        self.message = message


def plan_of(runner: Runner, settings: Settings) -> list[tuple[str, str]]:
    """The runner's plan, or [] when it has none or cannot make one (rows then come from events)."""
    plan = getattr(runner, "plan", None)
    if plan is None:
        return []
    try:
        return list(plan(settings))
    except Exception:  # noqa: BLE001 - a bad plan must not stop the UI; the run reports the cause
        return []
