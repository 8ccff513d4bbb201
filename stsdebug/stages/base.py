"""What every stage gets (Context) and is (Stage), and what may run beside the stages (Augment).

A stage is a function ``run(ctx) -> StageResult``: it reads through the context's typed
sources (``ctx.kafka``, ``ctx.es``, ... : all I/O lives in stsdebug.sources) and shared
services (``ctx.census``), judges what it saw, and returns a result. It never prints and
never imports a renderer.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast, overload

from stsdebug.errors import SourceError
from stsdebug.integrations import Integration, Matcher
from stsdebug.model import Evidence, Hint, StageResult, Status, Window
from stsdebug.settings import Settings
from stsdebug.source_factory import Sources
from stsdebug.sources.agent import AgentSource
from stsdebug.sources.es import ESSource
from stsdebug.sources.http import HttpSource
from stsdebug.sources.intake import IntakeSource
from stsdebug.sources.kafka import KafkaSource
from stsdebug.sources.logs import LogSource
from stsdebug.sources.mirror import MirrorSource
from stsdebug.sources.topic_api import TopicApiSource
from stsdebug.stages.census import Censuses, CensusService

__all__ = ["Augment", "Context", "Sources", "Stage", "load_stage"]

T = TypeVar("T")
S = TypeVar("S")


class SourceAccess(Generic[S]):
    """``ctx.kafka`` and friends: the source of that name, typed, built on first use."""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, ctx: None, owner: type) -> SourceAccess[S]: ...

    @overload
    def __get__(self, ctx: Context, owner: type) -> S: ...

    def __get__(self, ctx: Context | None, owner: type) -> SourceAccess[S] | S:
        if ctx is None:
            return self
        return cast(S, ctx.sources.get(self.name))


@dataclass
class Context:
    settings: Settings
    integration: Integration
    matcher: Matcher
    window: Window
    now: float
    sources: Sources
    results: dict[str, StageResult] = field(default_factory=dict)  # earlier stages, by id
    cache: dict[str, Any] = field(default_factory=dict)  # shared between stages of one trace
    cancel: threading.Event = field(default_factory=threading.Event)
    stage_id: str = ""
    stage_title: str = ""
    census_service: Censuses | None = None  # tests substitute it; built on first use otherwise
    # Progress beside the stage events (the probe's hops): the trace passes them on to its
    # on_event. May be called from any thread.
    notify: Callable[[Any], None] = field(default=lambda event: None)

    # --- shared services -----------------------------------------------------------------

    @property
    def census(self) -> Censuses:
        """What Kafka and Elasticsearch hold in the window, read once per trace."""
        if self.census_service is None:
            self.census_service = CensusService(self)
        return self.census_service

    # --- sources (built on first use; SourceError when the user gave nothing to build from)
    http = SourceAccess[HttpSource]("http")
    logs = SourceAccess[LogSource]("logs")
    agent = SourceAccess[AgentSource]("agent")
    kafka = SourceAccess[KafkaSource]("kafka")
    topic_api = SourceAccess[TopicApiSource]("topic_api")
    es = SourceAccess[ESSource]("es")
    mirror = SourceAccess[MirrorSource]("mirror")
    intake = SourceAccess[IntakeSource]("intake")

    def source(self, name: str) -> Any:
        """Any source by name: the older spelling of the accessors above."""
        return self.sources.get(name)

    def once(self, key: str, make: Callable[[], T]) -> T:
        """``make()`` once per trace: its result, or the SourceError it raised, is shared
        with every later caller (the scope stage reads for the Kafka and ES stages)."""
        if key in self.cache:
            cached = self.cache[key]
            if isinstance(cached, SourceError):
                raise cached
            return cached  # type: ignore[no-any-return]
        try:
            value = make()
        except SourceError as exc:
            self.cache[key] = exc
            raise
        self.cache[key] = value
        return value

    def result(
        self,
        status: Status,
        summary: str,
        evidence: Sequence[Evidence] | None = None,
        hints: Sequence[Hint] | None = None,
        *,
        missing_data: bool = False,
        next_step: str | None = None,
    ) -> StageResult:
        """The stage's result. ``next_step``: the one action to take first, when the stage knows
        it exactly; otherwise the trace derives it (stsdebug.stages.next_steps)."""
        return StageResult(
            id=self.stage_id,
            title=self.stage_title,
            status=status,
            summary=summary,
            evidence=list(evidence or []),
            hints=list(hints or []),
            missing_data=missing_data,
            next_step=next_step,
        )

    def skip(self, reason: str, hint: str | None = None) -> StageResult:
        return self.result(Status.SKIP, reason, hints=[Hint(hint)] if hint else None)


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    run: Callable[[Context], StageResult]
    # Wall-clock budget as a multiple of the per-call timeout: a safety net so a
    # stage can never hang the trace, whatever its I/O does.
    budget_calls: float = 4.0


class Augment(Protocol):
    """Runs once before the stages and adds what it saw to their results (the probe does)."""

    def prepare(self, ctx: Context) -> None: ...

    def merge(self, result: StageResult) -> StageResult: ...


STAGE_MODULES: dict[str, str] = {
    "scope": "stsdebug.stages.scope",
    "agent": "stsdebug.stages.agent",
    "receiver": "stsdebug.stages.receiver",
    "kafka": "stsdebug.stages.kafka",
    "source": "stsdebug.stages.source",
    "elasticsearch": "stsdebug.stages.elasticsearch",
    "streams": "stsdebug.stages.streams",
}


def load_stage(stage_id: str) -> Stage:
    module = importlib.import_module(STAGE_MODULES[stage_id])
    return Stage(
        id=stage_id,
        title=module.TITLE,
        run=module.run,
        budget_calls=getattr(module, "BUDGET_CALLS", 4.0),
    )
