"""What a running trace reports through ``on_event``: the plan decided, a stage started, a stage finished, the
trace finished. Standalone (only the result model), so that what shows a trace (the TUI)
can know these without loading the trace machinery and its sources."""

from __future__ import annotations

from dataclasses import dataclass

from stsdebug.model import StageResult, TraceResult

__all__ = ["Event", "PlanDecided", "StageFinished", "StageStarted", "TraceFinished"]


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


Event = PlanDecided | StageStarted | StageFinished | TraceFinished
