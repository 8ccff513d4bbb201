"""What a running trace reports through ``on_event``: the plan decided, a stage started, a stage finished, the
trace finished. Standalone (only the result model), so that what shows a trace (the TUI)
can know these without loading the trace machinery and its sources."""

from __future__ import annotations

from dataclasses import dataclass

from stsdebug.model import Hop, StageResult, TraceResult

__all__ = ["Event", "PlanDecided", "ProbeProgress", "StageFinished", "StageStarted", "TraceFinished"]


@dataclass(frozen=True)
class PlanDecided:
    """Sent first: the version the target is traced as and the stages that will run."""

    sts_version: str
    reason: str
    stages: tuple[tuple[str, str], ...]  # (id, title), in order


@dataclass(frozen=True)
class StageStarted:
    index: int
    id: str
    title: str


@dataclass(frozen=True)
class StageFinished:
    index: int
    result: StageResult


@dataclass(frozen=True)
class TraceFinished:
    result: TraceResult


@dataclass(frozen=True)
class ProbeProgress:
    """The probe as it goes (for live progress): waiting at a hop, or a hop reached or given up.

    ``hop`` is None while waiting at ``name``, for at most ``deadline_s`` seconds from ``at``
    (monotonic clock); afterwards it is the hop's outcome.
    """

    probe_id: str
    name: str
    deadline_s: float | None = None
    at: float = 0.0
    hop: Hop | None = None


Event = PlanDecided | StageStarted | StageFinished | TraceFinished | ProbeProgress
