"""The TUI's next step, watch mode (W) and the probe's countdown, driven without any network:
runners replay fixture traces as the real trace's events (see fakes.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

import stsdebug.tui.app as app_module
from stsdebug.model import Hop, Status, TraceResult
from stsdebug.settings import Settings
from stsdebug.trace import Event, ProbeProgress, StageFinished, StageStarted, TraceFinished
from stsdebug.tui.app import StsdebugApp
from stsdebug.tui.widgets.stage_list import StageList
from stsdebug.tui.widgets.verdict import NextStep, VerdictBanner
from tests import factories
from tests.tui.fakes import WAIT, drive, settings, wait_for


class SequenceRunner:
    """Replays one trace per call, in order (the last one again when they run out)."""

    def __init__(self, *traces: TraceResult) -> None:
        self.traces = list(traces)
        self.calls: list[Settings] = []
        self.running = 0
        self.overlapped = False

    def plan(self, s: Settings) -> list[tuple[str, str]]:
        return [(st.id, st.title) for st in self.traces[0].stages]

    def __call__(self, s: Settings, on_event: Callable[[Event], None], cancel: threading.Event) -> TraceResult:
        self.running += 1
        self.overlapped = self.overlapped or self.running > 1
        try:
            self.calls.append(s)
            trace = self.traces[min(len(self.calls), len(self.traces)) - 1]
            for i, st in enumerate(trace.stages):
                on_event(StageStarted(i, st.id, st.title))
                time.sleep(0.01)
                on_event(StageFinished(i, st))
            on_event(TraceFinished(trace))
            return trace
        finally:
            self.running -= 1


def banner(app: StsdebugApp) -> str:
    return app.query_one(VerdictBanner).content.plain


def test_the_verdicts_next_step_shows_under_the_banner_and_in_the_stage_detail() -> None:
    trace = factories.kafka_fail()
    app = StsdebugApp(None, trace, animate=False)

    async def scenario(pilot: Any) -> None:
        step = app.query_one(NextStep)
        assert step.display and trace.verdict.next_step in step.content.plain
        assert step.content.plain.startswith("Next step ")
        detail = " ".join(w.content.plain for w in app.query(".next"))
        assert trace.verdict.next_step in detail

    drive(app, scenario)


def test_no_next_step_hides_the_line() -> None:
    trace = factories.all_pass()
    trace.verdict = replace(trace.verdict, next_step=None)
    app = StsdebugApp(None, trace, animate=False)

    async def scenario(pilot: Any) -> None:
        assert not app.query_one(NextStep).display

    drive(app, scenario)


def test_w_watches_marks_what_changed_and_never_overlaps_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "WATCH_S", 0.3)
    healthy = factories.with_error()
    healthy.stages = [replace(s, status=Status.PASS) if s.id == "kafka" else s for s in healthy.stages]
    healthy.verdict = replace(healthy.verdict, status=Status.PASS, stage=None, sentence="All seen.")
    broken = factories.with_error()  # kafka turns ERROR in the second run
    runner = SequenceRunner(healthy, broken)
    app = StsdebugApp(settings(probe=True, receiver="https://r:7077"), runner=runner, animate=False)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: app.view.trace is not None and len(runner.calls) == 1)
        await pilot.press("W")
        await wait_for(pilot, lambda: len(runner.calls) >= 3 and app.view.trace is not None, timeout=WAIT)
        rows = {r.stage_id: r for r in app.query_one(StageList)._rows}
        # The second run turned kafka from pass to ERROR: marked, and said in a notice.
        assert any("kafka pass → ERROR" in n.message for n in app._notifications)
        assert "watching every" in app.query_one("#header").content.plain
        await pilot.press("W")  # stops
        calls = len(runner.calls)
        await pilot.pause(0.8)
        assert len(runner.calls) == calls
        assert app.watch_s is None
        assert "kafka" in rows

    drive(app, scenario)
    assert not runner.overlapped
    # Read-only: a watched run never sends the probe, even when the app was started with it.
    assert all(not s.probe for s in runner.calls[1:])


def test_a_change_since_the_last_run_marks_the_row() -> None:
    before = factories.kafka_fail()
    after = factories.with_error()
    runner = SequenceRunner(after)
    app = StsdebugApp(settings(), runner=runner, animate=False)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: app.view.trace is not None)
        app.watch_s = 60.0
        app._watch_prev = before
        app._watched(after)
        app.refresh_view()
        rows = {r.stage_id: r for r in app.query_one(StageList)._rows}
        assert rows["kafka"].has_class("-changed-better")  # fail -> error: could not look is better
        changed = [sid for sid, r in rows.items() if any(c.startswith("-changed-") for c in r.classes)]
        assert "kafka" in changed and "agent" in changed
        assert rows["agent"].elapsed.content.plain == "was FAIL"
        app._stop_watch()

    drive(app, scenario)


def test_w_on_a_loaded_trace_says_it_is_read_only() -> None:
    app = StsdebugApp(None, factories.kafka_fail(), animate=False)

    async def scenario(pilot: Any) -> None:
        await pilot.press("W")
        await pilot.pause()
        assert app.watch_s is None
        assert any("read-only" in n.message for n in app._notifications)

    drive(app, scenario)


class ProbingRunner:
    """Sends the probe's events: receiver reached, then waits at Kafka until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.waiting = threading.Event()

    def plan(self, s: Settings) -> list[tuple[str, str]]:
        return [(st.id, st.title) for st in factories.kafka_fail().stages]

    def __call__(self, s: Settings, on_event: Callable[[Event], None], cancel: threading.Event) -> TraceResult:
        on_event(ProbeProgress("p1", "receiver", 10.0, time.monotonic()))
        on_event(ProbeProgress("p1", "receiver", hop=Hop("receiver", Status.PASS, 124.0, "HTTP 200 OK")))
        on_event(ProbeProgress("p1", "kafka", 30.0, time.monotonic()))
        self.waiting.set()
        self.release.wait(WAIT)
        on_event(ProbeProgress("p1", "kafka", hop=Hop("kafka", Status.PASS, 900.0, "on topic")))
        trace = factories.kafka_fail()
        for i, st in enumerate(trace.stages):
            on_event(StageStarted(i, st.id, st.title))
            on_event(StageFinished(i, st))
        return trace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_probe_counts_down_each_hops_deadline_in_the_banner() -> None:
    runner = ProbingRunner()
    clock = Clock()
    app = StsdebugApp(settings(probe=True, receiver="https://r:7077"), runner=runner, animate=False,
                      clock=clock, ascii_only=False)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: runner.waiting.is_set() and "waiting at kafka" in banner(app))
        assert "Probe p1: ✔ receiver 124 ms → waiting at kafka, 30 s left" in banner(app)
        assert banner(app).startswith("⠋ PROBING") or "PROBING" in banner(app)
        clock.now += 12
        app.refresh_view()
        assert "waiting at kafka, 18 s left" in banner(app)
        clock.now += 40
        app.refresh_view()
        assert "waiting at kafka, 0 s left" in banner(app)
        runner.release.set()
        await wait_for(pilot, lambda: app.view.trace is not None)
        assert "PROBING" not in banner(app)

    drive(app, scenario)
