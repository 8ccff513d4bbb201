"""What the TUI needs from the trace machinery, and nothing more.

The app talks to a *runner*: a callable that takes the settings, an ``on_event``
callback and a cancel ``threading.Event`` and returns the ``TraceResult``. It is
called on a worker thread. A runner may also offer ``plan(settings)`` so the
stage list and pipeline strip can show every planned stage before it starts;
without it the app adds rows as ``StageStarted`` events arrive.

Tests pass their own runner (or ``TraceRunner(stages=[...])`` with fake stage
functions) so the UI can be driven without any network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stsdebug.model import TraceResult
from stsdebug.settings import Settings
from stsdebug.trace import Event, Stage

OnEvent = Callable[[Event], None]


class Runner(Protocol):
    def __call__(
        self, settings: Settings, on_event: OnEvent, cancel: threading.Event
    ) -> TraceResult: ...


@dataclass
class TraceRunner:
    """The default runner: ``stsdebug.trace.Trace``, optionally with given stages or sources."""

    stages: Sequence[Stage] | None = None
    sources: Mapping[str, Any] | None = None
    now: float | None = None

    def plan(self, settings: Settings) -> list[tuple[str, str]]:
        if self.stages is not None:
            return [(s.id, s.title) for s in self.stages]
        from stsdebug.integrations import find
        from stsdebug.trace import planned_titles

        return planned_titles(find(settings.integration or "custom"))

    def __call__(
        self, settings: Settings, on_event: OnEvent, cancel: threading.Event
    ) -> TraceResult:
        from stsdebug.trace import Trace

        trace = Trace(
            settings,
            stages=self.stages,
            sources=self.sources,
            on_event=on_event,
            cancel=cancel,
            now=self.now,
        )
        return trace.run()


def plan_of(runner: Runner, settings: Settings) -> list[tuple[str, str]]:
    """The runner's plan, or [] when it has none or cannot make one (rows then come from events)."""
    plan = getattr(runner, "plan", None)
    if plan is None:
        return []
    try:
        return list(plan(settings))
    except Exception:  # noqa: BLE001 - a bad plan must not stop the UI; the run reports the cause
        return []
