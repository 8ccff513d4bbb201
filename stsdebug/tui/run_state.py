"""The state of one run as the TUI shows it, built from trace events (no widgets here).

A ``RunView`` is fed ``StageStarted``/``StageFinished``/``TraceFinished`` events
(or a loaded ``TraceResult``) and answers what each row, the strip and the
verdict banner should say. Stages that had not finished when the user
cancelled stay ``cancelled`` whatever the trace later reports for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stsdebug.model import Hop, StageResult, Status, TraceResult
from stsdebug.tui.display import CANCELLED, PENDING, RUNNING, elapsed

if TYPE_CHECKING:  # tracediff itself is needed only by watch mode
    from stsdebug.tracediff import StageChange

IDLE = "idle"
DONE = "done"
FAILED = "failed"  # the runner itself raised: no trace at all


@dataclass
class StageView:
    id: str
    title: str
    state: str = PENDING  # pending | running | done | cancelled
    result: StageResult | None = None
    started: float | None = None  # app clock when it started

    @property
    def status(self) -> str:
        """The display status: a result status value, or pending/running/cancelled."""
        if self.state == CANCELLED:
            return CANCELLED
        if self.result is not None:
            return self.result.status.value
        return self.state

    def elapsed_ms(self, now: float) -> float | None:
        if self.result is not None:
            return self.result.duration_ms
        if self.state == RUNNING and self.started is not None:
            return max(0.0, (now - self.started) * 1000)
        return None


@dataclass
class Banner:
    status: str  # a status value or running/cancelled/pending, used for the colour class
    word: str  # PASS, FAIL, RUNNING... shown so the banner never relies on colour
    sentence: str
    next_step: str | None = None  # the verdict's: the one action to take first


@dataclass
class ProbeView:
    """The probe as it goes: the hops reached, and the one it waits at with its deadline."""

    probe_id: str
    reached: list[Hop] = field(default_factory=list)
    waiting: str | None = None
    deadline: float | None = None  # app clock time the current hop gives up

    def sentence(self, marks: dict[str, str], now: float) -> str:
        done = " → ".join(
            f"{marks.get(h.status.value, '?')} {h.name}"
            + (f" {elapsed(h.at_ms)}" if h.at_ms is not None else "")
            for h in self.reached
        )
        if self.waiting is None:
            return f"Probe {self.probe_id}: {done}" if done else f"Probe {self.probe_id}"
        left = max(0.0, (self.deadline or now) - now)
        lead = f"{done} → " if done else ""
        return f"Probe {self.probe_id}: {lead}waiting at {self.waiting}, {left:.0f} s left"


@dataclass
class RunView:
    integration: str = ""
    stages: list[StageView] = field(default_factory=list)
    phase: str = IDLE  # idle | running | done | cancelled | failed
    trace: TraceResult | None = None
    error: str | None = None
    cancelled_at: str | None = None  # title of the stage running when cancelled
    probe: ProbeView | None = None  # the probe of this run, while and after it goes
    changes: dict[str, StageChange] = field(default_factory=dict)  # since the run before (watch)

    @classmethod
    def loaded(cls, trace: TraceResult) -> RunView:
        view = cls(integration=trace.integration, phase=DONE, trace=trace)
        view.stages = [StageView(s.id, s.title, DONE, s) for s in trace.stages]
        return view

    # --- events -----------------------------------------------------------
    def start(self, plan: list[tuple[str, str]], integration: str) -> None:
        self.integration = integration
        self.stages = [StageView(sid, title) for sid, title in plan]
        self.phase = RUNNING
        self.trace = None
        self.error = None
        self.cancelled_at = None
        self.probe = None
        self.changes = {}

    def probe_progress(self, probe_id: str, name: str, hop: Hop | None, deadline: float | None) -> None:
        """The probe waits at ``name`` until ``deadline`` (app clock), or reached it (``hop``)."""
        if self.probe is None or self.probe.probe_id != probe_id:
            self.probe = ProbeView(probe_id)
        if hop is None:
            self.probe.waiting, self.probe.deadline = name, deadline
        else:
            self.probe.reached.append(hop)
            self.probe.waiting, self.probe.deadline = None, None

    def replan(self, plan: list[tuple[str, str]]) -> None:
        """The trace decided its plan (the StackState version may differ from the guess the
        rows were drawn from): show exactly its stages, keeping rows already there."""
        rows = {r.id: r for r in self.stages}
        self.stages = [rows.get(sid) or StageView(sid, title) for sid, title in plan]

    def _row(self, index: int, stage_id: str, title: str) -> StageView:
        if 0 <= index < len(self.stages) and self.stages[index].id == stage_id:
            return self.stages[index]
        for row in self.stages:
            if row.id == stage_id:
                return row
        # Not in the plan (a runner without one, or a different plan): add it.
        row = StageView(stage_id, title)
        self.stages.append(row)
        return row

    def stage_started(self, index: int, stage_id: str, title: str, now: float) -> StageView:
        row = self._row(index, stage_id, title)
        row.title = title
        if row.state != CANCELLED:
            row.state = RUNNING
            row.started = now
        return row

    def stage_finished(self, index: int, result: StageResult) -> StageView:
        row = self._row(index, result.id, result.title)
        row.result = result
        if row.state != CANCELLED:
            row.state = DONE
        return row

    def trace_finished(self, trace: TraceResult) -> None:
        self.trace = trace
        self.integration = trace.integration
        for result in trace.stages:
            row = self._row(-1, result.id, result.title)
            row.result = result
            if row.state != CANCELLED:
                row.state = DONE
        if self.phase == RUNNING:
            self.phase = DONE

    def cancel(self) -> bool:
        """Mark every stage not yet finished as cancelled. False if nothing was running."""
        if self.phase != RUNNING:
            return False
        running = next((r for r in self.stages if r.state == RUNNING), None)
        self.cancelled_at = running.title if running else None
        for row in self.stages:
            if row.state in (PENDING, RUNNING):
                row.state = CANCELLED
        self.phase = CANCELLED
        return True

    def runner_failed(self, message: str) -> None:
        self.phase = FAILED
        self.error = message
        for row in self.stages:
            if row.state in (PENDING, RUNNING):
                row.state = CANCELLED

    # --- questions --------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.phase == RUNNING

    def current(self) -> StageView | None:
        return next((r for r in self.stages if r.state == RUNNING), None)

    def banner(self, now: float = 0.0, marks: dict[str, str] | None = None) -> Banner:
        if self.phase == FAILED:
            return Banner("error", "ERROR", f"The trace could not run: {self.error}")
        if self.phase == RUNNING:
            row = self.current()
            if row is None and self.probe is not None and self.probe.waiting is not None:
                # The probe runs before the stages: count its current hop's deadline down.
                return Banner(RUNNING, "PROBING", self.probe.sentence(marks or {}, now) + "… Escape cancels.")
            done = sum(1 for r in self.stages if r.state == DONE)
            total = len(self.stages)
            where = f"{row.title} ({done + 1} of {total})" if row else f"{done} of {total} done"
            return Banner(RUNNING, "RUNNING", f"Tracing {self.integration}: {where}… Escape cancels.")
        if self.phase == CANCELLED:
            where = f" during {self.cancelled_at}" if self.cancelled_at else ""
            sentence = f"Run cancelled{where}; the stages marked cancelled were not checked."
            so_far = self._partial_verdict()
            if so_far:
                sentence += f" So far: {so_far}"
            return Banner(CANCELLED, "CANCELLED", sentence + " Press r to run again.")
        if self.trace is not None:
            v = self.trace.verdict
            return Banner(v.status.value, v.status.value.upper(), v.sentence, v.next_step)
        return Banner(PENDING, "READY", "No trace yet. Press r to run it.")

    def _partial_verdict(self) -> str | None:
        from stsdebug.trace import verdict

        finished = [r.result for r in self.stages if r.state == DONE and r.result is not None]
        if not finished:
            return None
        v = verdict(finished, self.integration)
        return v.sentence if v.status in (Status.FAIL, Status.ERROR) else None
