"""What every stage gets (Context) and is (Stage).

A stage is a function ``run(ctx) -> StageResult``: it reads through
``ctx.source(name)`` (all I/O lives in stsdebug.sources), judges what it saw, and
returns a result. It never prints and never imports a renderer.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from stsdebug.errors import SourceError
from stsdebug.integrations import Integration, Matcher
from stsdebug.model import Evidence, Hint, StageResult, Status, Window
from stsdebug.settings import Settings

T = TypeVar("T")

# name -> "module:factory"; a factory takes Settings and returns the source object.
SOURCE_FACTORIES: dict[str, str] = {
    "agent": "stsdebug.sources.agent:from_settings",
    "logs": "stsdebug.sources.logs:from_settings",
    "http": "stsdebug.sources.http:from_settings",
    "kafka": "stsdebug.sources.kafka:from_settings",
    "topic_api": "stsdebug.sources.topic_api:from_settings",
    "es": "stsdebug.sources.es:from_settings",
    "mirror": "stsdebug.sources.mirror:from_settings",
}


class Sources:
    """Lazily built I/O objects, one per kind, shared by all stages of a trace.

    Tests pass ``overrides`` (name -> object) to fake any of them.
    """

    def __init__(self, settings: Settings, overrides: Mapping[str, Any] | None = None) -> None:
        self._settings = settings
        self._made: dict[str, Any] = dict(overrides or {})
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        with self._lock:
            if name not in self._made:
                module_name, _, attr = SOURCE_FACTORIES[name].partition(":")
                factory = getattr(importlib.import_module(module_name), attr)
                self._made[name] = factory(self._settings)
            return self._made[name]

    def close(self) -> None:
        for obj in self._made.values():
            close = getattr(obj, "close", None)
            if callable(close):
                # Closing must never fail a trace.
                with contextlib.suppress(Exception):
                    close()


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

    def source(self, name: str) -> Any:
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
        evidence: list[Evidence] | None = None,
        hints: list[Hint] | None = None,
        *,
        missing_data: bool = False,
    ) -> StageResult:
        return StageResult(
            id=self.stage_id,
            title=self.stage_title,
            status=status,
            summary=summary,
            evidence=list(evidence or []),
            hints=list(hints or []),
            missing_data=missing_data,
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
