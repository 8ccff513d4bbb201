"""Plan, run and judge a trace.

``Trace.run`` decides which StackState the target is (``stsdebug.stsversion``: 5 or 6),
runs the stages of the integration's plan for that version (with what runs beside them,
such as the probe, and, skipped with the reason, the stages of the other version whose
input was given), reports progress through ``on_event`` (the TUI shows stages live),
turns any exception or overrun inside a stage into that stage's ``error``, redacts every
result, and computes the verdict: the first ``fail``/``error`` in pipeline order.

Stages run at the same time: their I/O is independent (shared reads go through
``ctx.once``, which reads once however many stages ask). A stage that reads another's
result names it in ``AFTER`` and starts once that result is reported. Results are
reported in pipeline order whatever order they finish in.

Events: ``PlanDecided`` first (the version and the stages that will run), ``StageStarted`` when a stage starts (several may be running at once; a stage
always starts before it finishes), ``StageFinished`` in pipeline order, ``TraceFinished``
last. ``on_event`` is called from one thread at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stsdebug import __version__, stsversion
from stsdebug.census import Overview
from stsdebug.deadline import Cancelled, DeadlineExceeded, bounded
from stsdebug.errors import SourceError, UsageError
from stsdebug.events import (
    Event,
    PlanDecided,
    ProbeProgress,
    StageFinished,
    StageStarted,
    TraceFinished,
)
from stsdebug.integrations import Integration, Matcher, find, planned
from stsdebug.model import (
    StageResult,
    Status,
    TraceResult,
    Verdict,
    Window,
    _stage_from_dict,
    _stage_to_dict,
)
from stsdebug.redact import Redactor
from stsdebug.settings import SECRET_FIELDS, Settings, parse_window
from stsdebug.sources.errors import sentence
from stsdebug.stages import next_steps
from stsdebug.stages.base import Augment, Context, Sources, Stage, load_stage
from stsdebug.stages.census import Censuses
from stsdebug.stsversion import Decision

__all__ = ["Event", "PlanDecided", "ProbeProgress", "Stage", "StageFinished", "StageStarted", "Trace", "TraceFinished",
           "exit_code", "integration_for", "plan", "planned_titles", "verdict"]

ASK_TIMEOUT_S = 5.0  # the one request `auto` may make (is there a /prometheus path?)


OVERVIEW_CALLS = 24.0  # the Kafka and Elasticsearch reads of a census, in per-call timeouts


def push_input(settings: Settings) -> bool:
    """Was anything of the push path given (agent, receiver, Kafka or the topic API)?"""
    return any((settings.agent_output, settings.agent_log, settings.agent_cmd, settings.receiver_log,
                settings.receiver, settings.kafka, settings.sts_api))


def integration_for(settings: Settings) -> Integration:
    """The integration as this trace plans it: its kind (push or pull) and the checks named."""
    return planned(find(settings.integration or "custom"), kind=settings.kind,
                   push_input=push_input(settings), checks=settings.check, storage=settings.storage)


def plan(integration: Integration, sts_version: str = "5") -> list[Stage]:
    return [load_stage(stage_id, sts_version) for stage_id in integration.stages_for(sts_version)]


def outside_plan(settings: Settings, decision: Decision) -> list[Stage]:
    """The other version's stages whose input was given: each says `skip` with the reason."""
    other = "5" if decision.version == "6" else "6"
    out = []
    for stage_id, reason in stsversion.outside_plan(settings, decision):
        title = load_stage(stage_id, other).title
        out.append(Stage(stage_id, title, _skipping(reason), budget_calls=1.0))
    return out


def _skipping(reason: str) -> Callable[[Context], StageResult]:
    return lambda ctx: ctx.skip(reason)


def plan_augments(settings: Settings, sts_version: str = "5") -> list[Augment]:
    """What runs beside the stages: the probe, when --probe asked for it."""
    if settings.probe:
        if sts_version == "6":
            from stsdebug.stages.v6.probe import ProbeStep6

            return [ProbeStep6()]
        from stsdebug.stages.probe import ProbeStep

        return [ProbeStep()]
    return []


def planned_titles(integration: Integration, sts_version: str = "5") -> list[tuple[str, str]]:
    """(id, title) of each planned stage, without running anything (for the TUI strip)."""
    return [(s.id, s.title) for s in plan(integration, sts_version)]


def expected_plan(settings: Settings) -> list[tuple[str, str]]:
    """(id, title) of the stages a trace of these settings will most likely run, decided
    without any I/O (the TUI draws its strip with it; the trace itself may still ask the
    StackState API, and then says so with PlanDecided)."""
    decision = stsversion.decide(settings)
    integration = integration_for(settings)
    return [(s.id, s.title) for s in plan(integration, decision.version) + outside_plan(settings, decision)]


def ask_prometheus(timeout: float, token: str | None = None) -> stsversion.Answers:
    """``answers`` for stsversion.decide: one bounded query of a Prometheus API, with the
    token the user gave for the StackState API (a credential: it never follows a redirect
    to another origin)."""

    def answers(url: str) -> str | None:
        from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig

        try:
            config = PrometheusApiConfig(url, api_key=token, timeout=min(timeout, ASK_TIMEOUT_S))
            with PrometheusApi(config) as api:
                api.query("vector(1)")
        except (SourceError, UsageError) as exc:
            return str(exc)
        return None

    return answers


class _Slot:
    """One stage's run, handed from the thread that ran it to the one reporting in order."""

    def __init__(self) -> None:
        self.done = threading.Event()  # its result (or the exception to raise) is in
        self.reported = threading.Event()  # it is in ctx.results: stages after it may read it
        self.result: StageResult | None = None
        self.raised: BaseException | None = None


class Trace:
    def __init__(
        self,
        settings: Settings,
        *,
        stages: Sequence[Stage] | None = None,
        sources: Mapping[str, Any] | None = None,
        census: Censuses | None = None,
        augments: Sequence[Augment] | None = None,
        labels: Mapping[str, str] | None = None,
        on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None,
        now: float | None = None,
    ) -> None:
        self.settings = settings
        self.integration = integration_for(settings)
        self.matcher = Matcher.build(
            self.integration, settings.metric_prefix, settings.host, settings.tag
        )
        # Decided without I/O here; run() may ask the StackState API (auto, --sts-api given).
        self.decision = stsversion.decide(settings)
        self._fixed_stages = stages is not None
        self._fixed_augments = augments is not None
        self.stages = list(stages) if stages is not None else self._plan()
        self.augments = list(augments) if augments is not None else plan_augments(
            settings, self.decision.version)
        self.source_overrides = sources
        self.census = census
        self.labels = {**settings.labels, **(labels or {})}
        self.on_event = on_event or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self.now = time.time() if now is None else now
        seconds = parse_window(settings.window)
        self.window = Window(self.now - seconds, self.now, settings.window)
        self.redactor = Redactor(settings.secret_values())
        self._event_lock = threading.Lock()  # stages start on threads of their own

    def _plan(self) -> list[Stage]:
        return plan(self.integration, self.decision.version) + outside_plan(self.settings, self.decision)

    def _decide(self) -> None:
        """Ask the StackState API once when only that can tell (auto, --sts-api, no 6 endpoint)."""
        if self._fixed_stages or self.decision.mode != stsversion.AUTO or self.decision.version == "6":
            return
        if not self.settings.sts_api or self.cancel.is_set():
            return
        token = self.settings.prometheus_api_token or self.settings.sts_api_token
        decision = stsversion.decide(self.settings, ask_prometheus(self.settings.timeout, token))
        if decision == self.decision:
            return
        self.decision = decision
        self.settings = decision.applied(self.settings)
        self.stages = self._plan()
        if not self._fixed_augments:
            self.augments = plan_augments(self.settings, decision.version)

    def _context(self, sources: Sources) -> Context:
        return Context(
            settings=self.settings,
            integration=self.integration,
            matcher=self.matcher,
            window=self.window,
            now=self.now,
            sources=sources,
            cancel=self.cancel,
            census_service=self.census,
            notify=self._emit,  # the probe notifies from its own thread
        )

    def overview(self) -> Overview:
        """The census of every integration in the catalog, fresh or stale by kind (what `check`
        does when no integration is named), under the same wall-clock bound as a stage."""
        from stsdebug.stages import overview

        self._decide()
        sources = Sources(self.settings, self.source_overrides)
        ctx = self._context(sources)
        budget = max(5.0, self.settings.timeout * OVERVIEW_CALLS + 2.0)
        version = self.decision.version
        try:
            ov = bounded(lambda: overview.take(ctx, version), budget, "overview", cancel=self.cancel)
        except DeadlineExceeded:
            ov = Overview(self.window.spec, self.now, problems=[
                f"the census did not finish within {budget:.0f} s; the systems it reads are not answering"])
        finally:
            sources.close()
        for row in ov.rows:
            row.name = self.redactor.text(row.name, "census")
            row.note = self.redactor.text(row.note, "census")
        ov.problems = [self.redactor.text(p, "census") for p in ov.problems]
        return ov

    def run(self) -> TraceResult:
        self._decide()
        plan_ids = [s.id for s in self.stages]
        outside = {sid for sid, _ in stsversion.outside_plan(self.settings, self.decision)}
        self._emit(PlanDecided(self.decision.version, self.decision.reason,
                               tuple((s.id, s.title) for s in self.stages)))
        sources = Sources(self.settings, self.source_overrides)
        ctx = self._context(sources)
        ctx.census  # noqa: B018 - built once here, so that every stage's view shares it
        results: list[StageResult] = []
        try:
            for augment in self.augments:
                augment.prepare(ctx)
            results = self._run_stages(ctx)
        finally:
            sources.close()
        trace = TraceResult(
            integration=self.integration.name,
            kind=self.integration.kind,
            window=self.window,
            target=self.redactor.walk(self.settings.redacted(), "target"),
            stages=results,
            verdict=verdict(results, self.integration.name),
            version=__version__,
            started_at=self.now,
            labels=self.redactor.walk(dict(self.labels), "labels"),
            sts_version=self.decision.version,
            sts_version_decision=self.redactor.walk(self.decision.to_dict(), "sts_version_decision"),
            plan=[i for i in plan_ids if self._fixed_stages or i not in outside],
        )
        trace.redactions = self._manifest()
        self._emit(TraceFinished(trace))
        return trace

    def _run_stages(self, ctx: Context) -> list[StageResult]:
        """Start every stage (each once the stages it reads are reported), report in order."""
        slots = [_Slot() for _ in self.stages]
        halt = threading.Event()  # the run ended early: stages still waiting must not start
        position = {stage.id: i for i, stage in enumerate(self.stages)}
        for index, stage in enumerate(self.stages):
            # Only earlier stages can be waited for: a result is reported in pipeline order.
            waits = [slots[position[d]] for d in stage.after if position.get(d, index) < index]
            threading.Thread(
                target=self._launch, args=(index, stage, ctx, waits, slots[index], halt),
                name=f"stsdebug-stage-{stage.id}", daemon=True,
            ).start()
        results: list[StageResult] = []
        for slot in slots:
            while not slot.done.wait(0.1):  # a timed wait: Ctrl-C still reaches this thread
                pass
            if slot.raised is not None:
                halt.set()
                raise slot.raised
            assert slot.result is not None
            result = self._after(slot.result, results, ctx)
            results.append(result)
            ctx.results[result.id] = result
            slot.reported.set()
            self._emit(StageFinished(len(results) - 1, result))
        return results

    def _launch(
        self, index: int, stage: Stage, ctx: Context, waits: list[_Slot], slot: _Slot, halt: threading.Event
    ) -> None:
        try:
            for earlier in waits:
                while not earlier.reported.wait(0.05):
                    if self.cancel.is_set() or halt.is_set():
                        break
            if halt.is_set():
                return
            self._emit(StageStarted(index, stage.id, stage.title))
            if self.cancel.is_set():
                slot.result = StageResult(stage.id, stage.title, Status.SKIP, "Cancelled before this stage ran.")
            else:
                slot.result = self._run_stage(stage, ctx.for_stage(stage.id, stage.title))
        except BaseException as exc:  # noqa: BLE001 - raised again by the reporting thread
            slot.raised = exc
        finally:
            slot.done.set()

    def _emit(self, event: Event) -> None:
        with self._event_lock:
            self.on_event(event)

    def _run_stage(self, stage: Stage, ctx: Context) -> StageResult:
        started = time.time()
        t0 = time.perf_counter()
        budget = max(5.0, self.settings.timeout * stage.budget_calls + 2.0)
        if stage.waits:
            budget += float(getattr(self.settings, stage.waits, 0.0) or 0.0)
        ctx.activity.begin(stage.id)
        try:
            # Bounded, so a stage stuck in I/O cannot hang the trace.
            result = bounded(lambda: stage.run(ctx), budget, f"stage-{stage.id}", cancel=self.cancel)
        except Cancelled:
            result = StageResult(stage.id, stage.title, Status.ERROR, "Cancelled while running.")
        except DeadlineExceeded:
            reason = f"Did not finish within {budget:.0f} s; the system it reads is not answering."
            result = StageResult(stage.id, stage.title, Status.ERROR, reason)
        except UsageError:
            # The stage found its input unusable (missing file, empty stdin, ...):
            # the user's to fix, so it ends the run as one line with exit code 2.
            raise
        except SourceError as exc:
            result = StageResult(stage.id, stage.title, Status.ERROR, sentence(str(exc)))
        except Exception as exc:  # noqa: BLE001 - any failure becomes this stage's error
            result = StageResult(
                stage.id,
                stage.title,
                Status.ERROR,
                f"Internal error in the {stage.id} stage: {type(exc).__name__}: {exc}. "
                "Please report it with the trace JSON.",
            )
        finally:
            ctx.activity.end(stage.id)
        result.started_at = started
        result.duration_ms = round((time.perf_counter() - t0) * 1000, 1)
        return result

    def _after(self, result: StageResult, earlier: list[StageResult], ctx: Context) -> StageResult:
        """Merge what ran beside the stages, show an expected downstream failure as `blocked`,
        name the next step, and redact."""
        for augment in self.augments:
            result = augment.merge(result)
        first_fail = next((r for r in earlier if r.status is Status.FAIL), None)
        if result.status is Status.FAIL and result.missing_data and first_fail is not None:
            result.status = Status.BLOCKED
            result.summary = f"{result.summary} (expected: data already stops at {first_fail.title})"
        # A blocked stage's advice does not apply: the fix is upstream.
        result.next_step = None if result.status is Status.BLOCKED else next_steps.derive(result, ctx)
        data = self.redactor.walk(_stage_to_dict(result), f"stages.{result.id}")
        redacted = _stage_from_dict(data)
        redacted.missing_data = result.missing_data
        return redacted

    def _manifest(self) -> list[dict[str, Any]]:
        manifest = [
            {"rule": "secret setting", "where": f"target.{name}", "count": 1}
            for name in SECRET_FIELDS
            if getattr(self.settings, name)
        ]
        return manifest + self.redactor.manifest()


def verdict(results: Sequence[StageResult], integration: str) -> Verdict:
    for r in results:
        if r.status is Status.FAIL:
            return Verdict(
                Status.FAIL,
                r.id,
                f"Data for {integration} stops at {r.title}: {r.summary}",
                next_steps.for_stage(r, results),
            )
        if r.status is Status.ERROR:
            return Verdict(
                Status.ERROR,
                r.id,
                f"Could not check {r.title}: {r.summary} "
                "Where the data stops is unknown until this stage can be checked.",
                r.next_step,
            )
    checked = [r for r in results if r.status in (Status.PASS, Status.WARN)]
    skipped = [r for r in results if r.status is Status.SKIP]
    if not checked:
        return Verdict(
            Status.SKIP,
            None,
            f"Nothing was checked for {integration}: every stage was skipped for lack of input.",
            next_steps.for_verdict(Status.SKIP, results),
        )
    warned = [r for r in results if r.status is Status.WARN]
    tail = f" ({len(skipped)} skipped: {', '.join(r.id for r in skipped)})" if skipped else ""
    if warned:
        return Verdict(
            Status.WARN,
            warned[0].id,
            f"No stage failed for {integration}, but {warned[0].title} needs attention: "
            f"{warned[0].summary}{tail}",
            warned[0].next_step,
        )
    return Verdict(
        Status.PASS,
        None,
        f"Telemetry for {integration} was seen at every checked stage{tail}.",
        next_steps.for_verdict(Status.PASS, results),
    )


def exit_code(trace: TraceResult, fail_on: str = "fail") -> int:
    statuses = {s.status for s in trace.stages}
    if Status.FAIL in statuses or Status.BLOCKED in statuses:
        return 1
    if fail_on == "warn" and Status.WARN in statuses:
        return 1
    if Status.ERROR in statuses or trace.verdict.status is Status.SKIP:
        return 3
    return 0
