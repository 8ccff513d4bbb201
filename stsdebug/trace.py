"""Plan, run and judge a trace.

``Trace.run`` decides which StackState the target is (``stsdebug.stsversion``: 5 or 6),
walks the stages of the integration's plan for that version in pipeline order (with what
runs beside them, such as the probe, and, skipped with the reason, the stages of the
other version whose input was given), reports progress through ``on_event`` (the TUI
shows stages live), turns any exception or overrun inside a stage into that stage's
``error``, redacts every result, and computes the verdict: the first ``fail``/``error``
in pipeline order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stsdebug import __version__, stsversion
from stsdebug.deadline import Cancelled, DeadlineExceeded, bounded
from stsdebug.errors import SourceError, UsageError
from stsdebug.integrations import Integration, Matcher, find
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
from stsdebug.stages.base import Augment, Context, Sources, Stage, load_stage
from stsdebug.stages.census import Censuses
from stsdebug.stsversion import Decision

__all__ = ["Event", "PlanDecided", "Stage", "StageFinished", "StageStarted", "Trace", "TraceFinished",
           "exit_code", "plan", "planned_titles", "verdict"]

ASK_TIMEOUT_S = 5.0  # the one request `auto` may make (is there a /prometheus path?)


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
    integration = find(settings.integration or "custom")
    return [(s.id, s.title) for s in plan(integration, decision.version) + outside_plan(settings, decision)]


def ask_prometheus(timeout: float) -> stsversion.Answers:
    """``answers`` for stsversion.decide: one bounded query of a Prometheus API."""

    def answers(url: str) -> str | None:
        from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig

        try:
            with PrometheusApi(PrometheusApiConfig(url, timeout=min(timeout, ASK_TIMEOUT_S))) as api:
                api.query("vector(1)")
        except (SourceError, UsageError) as exc:
            return str(exc)
        return None

    return answers


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
        self.integration = find(settings.integration or "custom")
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

    def _plan(self) -> list[Stage]:
        return plan(self.integration, self.decision.version) + outside_plan(self.settings, self.decision)

    def _decide(self) -> None:
        """Ask the StackState API once when only that can tell (auto, --sts-api, no 6 endpoint)."""
        if self._fixed_stages or self.decision.mode != stsversion.AUTO or self.decision.version == "6":
            return
        if not self.settings.sts_api or self.cancel.is_set():
            return
        decision = stsversion.decide(self.settings, ask_prometheus(self.settings.timeout))
        if decision == self.decision:
            return
        self.decision = decision
        self.settings = decision.applied(self.settings)
        self.stages = self._plan()
        if not self._fixed_augments:
            self.augments = plan_augments(self.settings, decision.version)

    def run(self) -> TraceResult:
        self._decide()
        plan_ids = [s.id for s in self.stages]
        outside = {sid for sid, _ in stsversion.outside_plan(self.settings, self.decision)}
        self.on_event(PlanDecided(self.decision.version, self.decision.reason,
                                  tuple((s.id, s.title) for s in self.stages)))
        sources = Sources(self.settings, self.source_overrides)
        ctx = Context(
            settings=self.settings,
            integration=self.integration,
            matcher=self.matcher,
            window=self.window,
            now=self.now,
            sources=sources,
            cancel=self.cancel,
            census_service=self.census,
        )
        results: list[StageResult] = []
        try:
            for augment in self.augments:
                augment.prepare(ctx)
            for index, stage in enumerate(self.stages):
                self.on_event(StageStarted(index, stage.id, stage.title))
                if self.cancel.is_set():
                    result = StageResult(stage.id, stage.title, Status.SKIP, "Cancelled before this stage ran.")
                else:
                    result = self._run_stage(stage, ctx)
                result = self._after(result, results)
                results.append(result)
                ctx.results[result.id] = result
                self.on_event(StageFinished(index, result))
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
        self.on_event(TraceFinished(trace))
        return trace

    def _run_stage(self, stage: Stage, ctx: Context) -> StageResult:
        ctx.stage_id, ctx.stage_title = stage.id, stage.title
        started = time.time()
        t0 = time.perf_counter()
        budget = max(5.0, self.settings.timeout * stage.budget_calls + 2.0)
        if stage.waits:
            budget += float(getattr(self.settings, stage.waits, 0.0) or 0.0)
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
        result.started_at = started
        result.duration_ms = round((time.perf_counter() - t0) * 1000, 1)
        return result

    def _after(self, result: StageResult, earlier: list[StageResult]) -> StageResult:
        """Merge what ran beside the stages, redact, and show an expected downstream failure as `blocked`."""
        for augment in self.augments:
            result = augment.merge(result)
        first_fail = next((r for r in earlier if r.status is Status.FAIL), None)
        if result.status is Status.FAIL and result.missing_data and first_fail is not None:
            result.status = Status.BLOCKED
            result.summary = f"{result.summary} (expected: data already stops at {first_fail.title})"
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
            return Verdict(Status.FAIL, r.id, f"Data for {integration} stops at {r.title}: {r.summary}")
        if r.status is Status.ERROR:
            return Verdict(
                Status.ERROR,
                r.id,
                f"Could not check {r.title}: {r.summary} "
                "Where the data stops is unknown until this stage can be checked.",
            )
    checked = [r for r in results if r.status in (Status.PASS, Status.WARN)]
    skipped = [r for r in results if r.status is Status.SKIP]
    if not checked:
        return Verdict(
            Status.SKIP,
            None,
            f"Nothing was checked for {integration}: every stage was skipped for lack of input.",
        )
    warned = [r for r in results if r.status is Status.WARN]
    tail = f" ({len(skipped)} skipped: {', '.join(r.id for r in skipped)})" if skipped else ""
    if warned:
        return Verdict(
            Status.WARN,
            warned[0].id,
            f"No stage failed for {integration}, but {warned[0].title} needs attention: "
            f"{warned[0].summary}{tail}",
        )
    return Verdict(
        Status.PASS,
        None,
        f"Telemetry for {integration} was seen at every checked stage{tail}.",
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
