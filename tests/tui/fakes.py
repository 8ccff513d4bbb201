"""Runners and stages for driving the TUI without any network.

Two kinds, both real code paths for the app:
- ``trace_runner(...)``: the real ``Trace`` with fake stage functions (events,
  budgets, cancellation and error handling are the real ones);
- ``ScriptedRunner``: replays a fixture trace as events, so screenshots are
  byte-for-byte stable (fixed durations and timestamps).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from stsdebug.commands.tui import TraceRunner
from stsdebug.integrations import find
from stsdebug.model import StageResult, Status, TraceResult
from stsdebug.settings import Settings
from stsdebug.stages.base import Context, Stage
from stsdebug.trace import Event, StageFinished, StageStarted, Trace, TraceFinished, planned_titles
from stsdebug.tui.app import StsdebugApp

WAIT = 10.0  # seconds any fake waits at most, so a broken app can never hang a test


def settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {"integration": "kubernetes", "es": "http://127.0.0.1:9", "timeout": 1.0}
    base.update(kw)
    return Settings(**base)


def passing(summary: str = "Seen.") -> Callable[[Context], StageResult]:
    return lambda ctx: ctx.result(Status.PASS, summary)


def gated(gate: threading.Event, status: Status = Status.PASS) -> Callable[[Context], StageResult]:
    """A stage that runs until the test opens ``gate`` (or the trace is cancelled)."""

    def run(ctx: Context) -> StageResult:
        deadline = time.monotonic() + WAIT
        while not gate.wait(0.01):
            if ctx.cancel.is_set() or time.monotonic() > deadline:
                break
        return ctx.result(status, "Finished after the gate opened.")

    return run


def trace_runner(*stages: tuple[str, str, Callable[[Context], StageResult]], budget: float = 4.0) -> TraceRunner:
    return TraceRunner(stages=[Stage(sid, title, fn, budget_calls=budget) for sid, title, fn in stages])


class PlanRunner:
    """The real Trace over the integration's real plan, with every stage passing at once.

    Records the settings of each run (integration, window, probe).
    """

    def __init__(self) -> None:
        self.calls: list[Settings] = []

    def plan(self, s: Settings) -> list[tuple[str, str]]:
        return planned_titles(find(s.integration or "custom"))

    def __call__(self, s: Settings, on_event: Callable[[Event], None], cancel: threading.Event) -> TraceResult:
        self.calls.append(s)
        stages = [Stage(sid, title, passing(f"{sid} ok")) for sid, title in self.plan(s)]
        return Trace(s, stages=stages, on_event=on_event, cancel=cancel).run()


class ScriptedRunner:
    """Replays ``trace`` stage by stage; holds at stage ``hold`` until released or cancelled."""

    def __init__(self, trace: TraceResult, hold: int | None = None) -> None:
        self.trace = trace
        self.hold = hold
        self.release = threading.Event()
        self.holding = threading.Event()
        self.calls: list[Settings] = []
        self.cancel_seen = threading.Event()

    def plan(self, s: Settings) -> list[tuple[str, str]]:
        return [(st.id, st.title) for st in self.trace.stages]

    def __call__(self, s: Settings, on_event: Callable[[Event], None], cancel: threading.Event) -> TraceResult:
        self.calls.append(s)
        results: list[StageResult] = []
        for i, st in enumerate(self.trace.stages):
            on_event(StageStarted(i, st.id, st.title))
            result = st
            if cancel.is_set():
                result = replace(st, status=Status.SKIP, summary="Cancelled before this stage ran.", evidence=[], hints=[])
            elif i == self.hold:
                self.holding.set()
                deadline = time.monotonic() + WAIT
                while not self.release.wait(0.01):
                    if cancel.is_set() or time.monotonic() > deadline:
                        break
                if cancel.is_set():
                    self.cancel_seen.set()
                    result = replace(st, status=Status.ERROR, summary="Cancelled while running.", evidence=[], hints=[])
            results.append(result)
            on_event(StageFinished(i, result))
        final = replace(self.trace, stages=results)
        on_event(TraceFinished(final))
        return final


async def wait_for(pilot: Any, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


def drive(
    app: StsdebugApp,
    scenario: Callable[[Any], Awaitable[None]],
    size: tuple[int, int] = (100, 30),
) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())
