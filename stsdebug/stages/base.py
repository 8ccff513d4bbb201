"""What every stage gets (Context) and is (Stage), and what may run beside the stages (Augment).

A stage is a function ``run(ctx) -> StageResult``: it reads through the context's typed
sources (``ctx.kafka``, ``ctx.es``, ... : all I/O lives in stsdebug.sources) and shared
services (``ctx.census``), judges what it saw, and returns a result. It never prints and
never imports a renderer.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, cast, overload

from stsdebug.errors import SourceError
from stsdebug.integrations import Integration, Matcher
from stsdebug.model import Evidence, Hint, StageResult, Status, Window
from stsdebug.settings import Settings
from stsdebug.source_factory import Sources
from stsdebug.stages.census import Censuses, CensusService

if TYPE_CHECKING:  # the sources' modules (and their clients) load when a stage first uses one
    from stsdebug.sources.agent import AgentSource
    from stsdebug.sources.es import ESSource
    from stsdebug.sources.http import HttpSource
    from stsdebug.sources.intake import IntakeSource
    from stsdebug.sources.kafka import KafkaSource
    from stsdebug.sources.logs import LogSource
    from stsdebug.sources.mirror import MirrorSource
    from stsdebug.sources.prom_metrics import PromMetricsSource
    from stsdebug.sources.prometheus_api import PrometheusApi
    from stsdebug.sources.topic_api import TopicApiSource

__all__ = ["Activity", "Augment", "Context", "Sources", "Stage", "load_stage"]

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


class Activity:
    """Which stages of a trace are running now (the trace runs independent stages at once).

    A stage with a second look to take at something that changes over time (the Kafka
    stage's second consumer-group sample) waits in ``Context.linger`` while the others
    still work: time the trace spends anyway.
    """

    TICK_S = 0.05  # how often a waiting stage looks at the cancel event

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running: set[str] = set()

    def begin(self, stage_id: str) -> None:
        with self._changed:
            self._running.add(stage_id)

    def end(self, stage_id: str) -> None:
        with self._changed:
            self._running.discard(stage_id)
            self._changed.notify_all()

    def running(self) -> set[str]:
        with self._changed:
            return set(self._running)

    def wait_others(self, me: str, seconds: float, cancel: threading.Event) -> float:
        """Wait until no stage but ``me`` runs, ``seconds`` pass or ``cancel`` is set; the seconds waited."""
        started = time.monotonic()
        deadline = started + max(0.0, seconds)
        with self._changed:
            while self._running - {me} and not cancel.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, self.TICK_S))
        return time.monotonic() - started


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
    activity: Activity = field(default_factory=Activity)  # the stages running now
    # one lock per ctx.once key: concurrent stages asking for the same read wait for one
    _once_locks: dict[str, threading.RLock] = field(default_factory=dict, repr=False)
    _once_guard: threading.Lock = field(default_factory=threading.Lock, repr=False)
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
    http: ClassVar[SourceAccess[HttpSource]] = SourceAccess("http")
    logs: ClassVar[SourceAccess[LogSource]] = SourceAccess("logs")
    agent: ClassVar[SourceAccess[AgentSource]] = SourceAccess("agent")
    kafka: ClassVar[SourceAccess[KafkaSource]] = SourceAccess("kafka")
    topic_api: ClassVar[SourceAccess[TopicApiSource]] = SourceAccess("topic_api")
    es: ClassVar[SourceAccess[ESSource]] = SourceAccess("es")
    mirror: ClassVar[SourceAccess[MirrorSource]] = SourceAccess("mirror")
    intake: ClassVar[SourceAccess[IntakeSource]] = SourceAccess("intake")
    # StackState 6
    prometheus: ClassVar[SourceAccess[PrometheusApi]] = SourceAccess("prometheus")  # VM or StackState's path
    vm_metrics: ClassVar[SourceAccess[PromMetricsSource]] = SourceAccess("vm_metrics")
    vmagent_metrics: ClassVar[SourceAccess[PromMetricsSource]] = SourceAccess("vmagent_metrics")
    receiver_metrics: ClassVar[SourceAccess[PromMetricsSource]] = SourceAccess("receiver_metrics")

    def once(self, key: str, make: Callable[[], T]) -> T:
        """``make()`` once per trace: its result, or the SourceError it raised, is shared
        with every later caller (the scope stage reads for the Kafka and ES stages).

        Stages run at the same time: a second caller waits for the first one's read
        instead of reading again.
        """
        with self._once_guard:
            lock = self._once_locks.setdefault(key, threading.RLock())
        with lock:
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

    def linger(self, seconds: float) -> float:
        """Wait up to ``seconds`` while other stages of the trace still run; the seconds waited.

        Free time for a stage that wants two looks some time apart: the trace waits for
        the other stages anyway. Returns at once when this stage is the last one running.
        """
        return self.activity.wait_others(self.stage_id, seconds, self.cancel)

    def for_stage(self, stage_id: str, title: str) -> Context:
        """This context as one stage sees it: its own id and title, everything else shared."""
        return replace(self, stage_id=stage_id, stage_title=title)

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
    # Stages whose results this one reads (ctx.results): it starts once they are
    # reported. Every other stage starts with the trace, alongside the rest.
    after: tuple[str, ...] = ()
    # A Settings field of seconds the stage may wait on purpose (the pause between two
    # scrapes of a /metrics page), added to its budget.
    waits: str | None = None


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
    # StackState 6 only
    "vmagent": "stsdebug.stages.v6.vmagent",
    "victoriametrics": "stsdebug.stages.v6.victoriametrics",
    "bindings": "stsdebug.stages.v6.bindings",
}
# Stages with the same id and place in both versions but other inputs in StackState 6:
# the scope census comes from VictoriaMetrics, the receiver remote-writes instead of
# producing to Kafka. (The agent is the same in both.)
STAGE_MODULES_6: dict[str, str] = {
    "scope": "stsdebug.stages.v6.scope",
    "receiver": "stsdebug.stages.v6.receiver",
}


def load_stage(stage_id: str, sts_version: str = "5") -> Stage:
    path = STAGE_MODULES_6.get(stage_id) if sts_version == "6" else None
    module = importlib.import_module(path or STAGE_MODULES[stage_id])
    return Stage(
        id=stage_id,
        title=module.TITLE,
        run=module.run,
        budget_calls=getattr(module, "BUDGET_CALLS", 4.0),
        after=tuple(getattr(module, "AFTER", ())),
        waits=getattr(module, "BUDGET_WAITS", None),
    )
