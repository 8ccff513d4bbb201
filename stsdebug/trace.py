"""Plan, run and judge a trace.

``Trace.run`` walks the stages of the integration's plan in pipeline order (with what
runs beside them, such as the probe), reports progress through ``on_event`` (the TUI
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

from stsdebug import __version__
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
from stsdebug.stages import next_steps
from stsdebug.stages.base import Augment, Context, Sources, Stage, load_stage
from stsdebug.stages.census import Censuses
from stsdebug.stages.probe import ProbeProgress

__all__ = ["Event", "ProbeProgress", "Stage", "StageFinished", "StageStarted", "Trace", "TraceFinished",
           "exit_code", "plan", "planned_titles", "verdict"]


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


Event = StageStarted | StageFinished | TraceFinished | ProbeProgress


def plan(integration: Integration) -> list[Stage]:
    return [load_stage(stage_id) for stage_id in integration.stages]


def plan_augments(settings: Settings) -> list[Augment]:
    """What runs beside the stages: the probe, when --probe asked for it."""
    if settings.probe:
        from stsdebug.stages.probe import ProbeStep

        return [ProbeStep()]
    return []


def planned_titles(integration: Integration) -> list[tuple[str, str]]:
    """(id, title) of each planned stage, without running anything (for the TUI strip)."""
    return [(s.id, s.title) for s in plan(integration)]


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
        self.stages = list(stages) if stages is not None else plan(self.integration)
        self.augments = list(augments) if augments is not None else plan_augments(settings)
        self.source_overrides = sources
        self.census = census
        self.labels = {**settings.labels, **(labels or {})}
        self.on_event = on_event or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self.now = time.time() if now is None else now
        seconds = parse_window(settings.window)
        self.window = Window(self.now - seconds, self.now, settings.window)
        self.redactor = Redactor(settings.secret_values())

    def run(self) -> TraceResult:
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
            notify=self.on_event,
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
                result = self._after(result, results, ctx)
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
        )
        trace.redactions = self._manifest()
        self.on_event(TraceFinished(trace))
        return trace

    def _run_stage(self, stage: Stage, ctx: Context) -> StageResult:
        ctx.stage_id, ctx.stage_title = stage.id, stage.title
        started = time.time()
        t0 = time.perf_counter()
        budget = max(5.0, self.settings.timeout * stage.budget_calls + 2.0)
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
