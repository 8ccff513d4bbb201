"""What a running trace reports through ``on_event``: a stage started, a stage finished, the
trace finished. Standalone (only the result model), so that what shows a trace (the TUI)
can know these without loading the trace machinery and its sources."""

from __future__ import annotations

from dataclasses import dataclass

from stsdebug.model import StageResult, TraceResult

__all__ = ["Event", "StageFinished", "StageStarted", "TraceFinished"]


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


Event = StageStarted | StageFinished | TraceFinished
