"""Live runs of the TUI: a trace on a worker thread, its events, and watch mode (W).

The trace runs on a thread worker; its events come back to the app with
``call_from_thread`` so the UI never blocks. Every run has an id and a cancel
``threading.Event``; events of a run that was replaced are dropped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from textual.app import App
from textual.css.query import NoMatches
from textual.timer import Timer

from stsdebug.errors import StsdebugError
from stsdebug.model import TraceResult
from stsdebug.tui.run_state import RunView
from stsdebug.tui.runner import RunnerFailed

if TYPE_CHECKING:
    from stsdebug.events import Event
    from stsdebug.settings import Settings
    from stsdebug.tui.runner import Runner


class LiveRuns(App[int]):
    """The part of the app that runs traces; the app itself sets these up and draws them."""

    settings: Settings | None
    runner: Runner | None
    clock: Callable[[], float]
    view: RunView
    run_id: int
    cancel_event: threading.Event | None
    run_settings: Settings | None
    last_trace: TraceResult | None
    watch_s: float | None
    _user_moved: bool
    _closed: bool
    _watch_timer: Timer | None
    _watch_clock: Timer | None
    _watch_next: float | None
    _watch_prev: TraceResult | None
    _run_started: float

    # The app draws: these are its own.
    def refresh_view(self) -> None:
        raise NotImplementedError

    def action_integration(self) -> None:
        raise NotImplementedError

    def _select_verdict_stage(self) -> None:
        raise NotImplementedError

    # --- running ----------------------------------------------------------
    def start_run(self, settings: Settings | None = None) -> None:
        """Start a run with ``settings`` (default: the app's), replacing any run in progress."""
        run_settings = settings or self.settings
        assert run_settings is not None
        if not run_settings.integration:
            # No integration named: ask for one rather than trace a default silently.
            self.action_integration()
            return
        if self.cancel_event is not None:
            self.cancel_event.set()
        self.run_id += 1
        self.run_settings = run_settings
        self._run_started = self.clock()
        self.cancel_event = threading.Event()
        self._user_moved = False
        try:
            from stsdebug.integrations import find

            integration = find(run_settings.integration).name
        except StsdebugError as exc:
            self.view.runner_failed(str(exc))
            self.refresh_view()
            return
        assert self.runner is not None  # a live app always has one (see __init__)
        from stsdebug.tui.runner import plan_of

        self.view.start(plan_of(self.runner, run_settings), integration)
        self.refresh_bindings()
        self.refresh_view()
        self.run_worker(
            partial(self._work, self.run_id, run_settings, self.cancel_event),
            name=f"trace-{self.run_id}",
            group="trace",
            thread=True,
            exit_on_error=False,
        )

    def _work(self, run_id: int, settings: Settings, cancel: threading.Event) -> None:
        """On the worker thread: run the trace, passing every event back to the app."""
        from stsdebug.events import TraceFinished

        assert self.runner is not None
        try:
            trace = self.runner(settings, partial(self._post, run_id), cancel)
        except StsdebugError as exc:
            self._post(run_id, RunnerFailed(str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown in the banner, never a crashed UI
            self._post(run_id, RunnerFailed(f"{type(exc).__name__}: {exc}"))
        else:
            # A runner need not send TraceFinished itself; the returned trace is final.
            self._post(run_id, TraceFinished(trace))

    def _post(self, run_id: int, event: Event | RunnerFailed) -> None:
        if self._closed:
            return
        # RuntimeError: the app stopped between the check and the call.
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self._apply, run_id, event)

    def _apply(self, run_id: int, event: Event | RunnerFailed) -> None:
        if run_id != self.run_id or self._closed:
            return  # a replaced run, or the app is closing
        with contextlib.suppress(NoMatches):  # the app is closing: its widgets are gone
            self._apply_event(event)

    def _apply_event(self, event: Event | RunnerFailed) -> None:
        # Here, not at the top: a saved trace shows no events, and its first frame waits for imports.
        from stsdebug.events import (
            PlanDecided,
            ProbeProgress,
            StageFinished,
            StageStarted,
            TraceFinished,
        )

        view = self.view
        if isinstance(event, PlanDecided):
            view.replan(list(event.stages))
        elif isinstance(event, StageStarted):
            view.stage_started(event.index, event.id, event.title, self.clock())
        elif isinstance(event, StageFinished):
            view.stage_finished(event.index, event.result)
        elif isinstance(event, ProbeProgress):
            deadline = self.clock() + event.deadline_s if event.deadline_s is not None else None
            view.probe_progress(event.probe_id, event.name, event.hop, deadline)
        elif isinstance(event, TraceFinished):
            if view.trace is event.result:
                return
            was_running = view.running
            view.trace_finished(event.result)
            self.last_trace = event.result
            if was_running and not self._user_moved:
                self._select_verdict_stage()
            if self.watch_s is not None and was_running:
                self._watched(event.result)
            self.refresh_bindings()
        elif isinstance(event, RunnerFailed):
            view.runner_failed(event.message)
            self.refresh_bindings()
        self.refresh_view()

    # --- watch (W) ----------------------------------------------------------
    def _watch_run(self) -> None:
        self._watch_timer = None
        self._watch_next = None
        if self.watch_s is None or self.settings is None:
            return
        try:
            closing = not self.is_running or not self.screen_stack
        except KeyError:  # no screen mode any more
            closing = True
        if closing:  # the timer fired as the app closed
            return
        if self.view.running:  # never two runs at once: this one reschedules when it ends
            return
        # Watch mode is read-only: the probe, which writes, never runs unasked.
        self.start_run(replace(self.settings, probe=False))

    def _watched(self, trace: TraceResult) -> None:
        """A watched run finished: mark what changed since the one before, plan the next."""
        from stsdebug.tracediff import compare

        if self._watch_prev is not None and self._watch_prev.integration == trace.integration:
            d = compare(self._watch_prev, trace)
            self.view.changes = {c.id: c for c in d.changed}
            if d.changed:
                moved = ", ".join(
                    f"{c.id} {c.before.word if c.before else '—'} → {c.after.word if c.after else '—'}"
                    for c in d.changed
                )
                self.notify(f"Changed since the last run: {moved}", markup=False,
                            severity="warning" if d.worse else "information")
        self._watch_prev = trace
        assert self.watch_s is not None
        wait = max(0.0, self.watch_s - (self.clock() - self._run_started))
        self._watch_next = self.clock() + wait
        self._watch_timer = self.set_timer(max(0.05, wait), self._watch_run)  # textual: no 0 s timer

    def _stop_watch(self) -> None:
        self.watch_s = None
        self._watch_next = None
        for timer in (self._watch_timer, self._watch_clock):
            if timer is not None:
                timer.stop()
        self._watch_timer = self._watch_clock = None

    def _watch_text(self) -> str:
        every = f"watching every {self.watch_s:.0f} s"
        if self._watch_next is None:
            return every
        return f"{every}, next in {max(0.0, self._watch_next - self.clock()):.0f} s"

    def _refresh_header(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(NoMatches):
            self.refresh_view()
