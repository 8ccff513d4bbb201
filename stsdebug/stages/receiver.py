"""Stage `receiver`: did the StackState receiver accept the agents' data and put it on Kafka?

Inputs: the receiver log (``--receiver-log``: a file, a directory of rotated
logs, or ``-`` for stdin) and/or its health endpoint (``--receiver`` →
``<receiver>/health``, or ``--receiver-health`` for Kubernetes ``:1618/readiness``).

Judgement (docs/stages/receiver.md explains why; the findings are the table in
``receiver_rules``, the transient/persistent rule is ``recovery.judge_recovery``):

* fail  - the receiver stops itself (``Stopping <app> app``, ``MissingKafkaTopics``);
        - Kafka producer failures in the window that did not recover;
        - JSON deserialization errors in every minute the log covers in the
          window (at least 3 minutes): the sender's intake fails every time;
        - the health endpoint answers 5xx.
* warn  - Kafka failures followed by a recovery line, or quiet for three reporting
          intervals (recovery unconfirmed); other deserialization errors, API key
          rejections, payloads too large, Kafka warnings, other ERROR entries; a clean
          log with an unreachable health endpoint; nothing in the window with a
          whole-hour offset (a zone mix-up).
* pass  - the log's window holds none of those, and/or health answered 2xx.
* error - nothing gave a verdict and the health endpoint could not be checked,
          or the input is not a receiver log.
* skip  - no receiver input, or a log with nothing in the window and no health URL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timezone, tzinfo

from stsdebug.errors import UsageError
from stsdebug.logs.receiver_format import describe_tz, parse_tz
from stsdebug.logs.receiver_patterns import CATEGORY_TITLES
from stsdebug.logs.receiver_result import Bucket, ScanResult, materialize
from stsdebug.model import Evidence, Figures, Hint, StageResult, Status
from stsdebug.redact import Redactor
from stsdebug.stages.base import Context
from stsdebug.stages.census import downstream_fresh
from stsdebug.stages.clocks import too_old, too_old_clause
from stsdebug.stages.receiver_evidence import (
    counted,
    duration,
    input_figures,
    log_samples,
    other_table,
    reason_table,
    stamp,
    timeline,
    top_reason,
)
from stsdebug.stages.receiver_health import Health, _check_health, _health_figures, _health_url
from stsdebug.stages.receiver_rules import RULES, Facts, Found, apply
from stsdebug.stages.recovery import judge_recovery

TITLE = "StackState receiver"
# A log scan is not a network call, but a big one takes a while: allow it time.
BUDGET_CALLS = 12.0

RUNBOOK = "StackState receiver"
STEADY_MINUTES = 3  # deserialization errors in every one of at least this many minutes -> fail


@dataclass
class LogVerdict:
    status: Status | None  # None: the log gives no verdict for the window (summary says why)
    summary: str
    unusable: bool = False  # the input is not a receiver log: with nothing else, an error


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    health_url = _health_url(s.receiver, s.receiver_health)
    if not s.receiver_log and not health_url:
        return ctx.skip(
            "No receiver input given: no receiver log and no receiver URL.",
            "Give --receiver-log /opt/stackstate/var/log/stackstate-receiver/stackstate-receiver.log "
            "(Kubernetes: kubectl logs <release>-receiver-<hash> | stsdebug check --receiver-log -) "
            "and/or --receiver https://HOST:7077.",
        )
    started = time.time()
    budget = max(5.0, s.timeout * BUDGET_CALLS + 2.0)
    # Bad input (a missing file, an unknown zone) is reported before anything is waited for.
    auto = (s.receiver_log_tz or "auto").strip().lower() == "auto"
    try:
        tz = None if auto else parse_tz(s.receiver_log_tz)
    except ValueError as exc:
        raise UsageError(f"receiver_log_tz: {exc}") from None
    # Receiver pods log UTC without a zone; the Linux package logs in the host's zone.
    k8s_tz = timezone.utc if auto else tz
    logs = ctx.logs if s.receiver_log else None
    inputs = logs.receiver_inputs() if logs is not None else []
    health = _check_health(ctx, health_url) if health_url else None

    evidence: list[Evidence] = []
    hints: list[Hint] = []
    verdict: LogVerdict | None = None
    if logs is not None:
        # Leave time to assemble the result before the trace's budget for this stage ends.
        deadline = started + budget - 3.0
        report = logs.scan(
            inputs, (ctx.window.start, ctx.window.end), tz, deadline=deadline, cancel=ctx.cancel.is_set,
            k8s_tz=k8s_tz,
        )
        ctx.cache["receiver.scan"] = report.result
        shown_tz = timezone.utc if auto and report.result.layouts == {"kubernetes"} else tz
        verdict = _judge_log(ctx, report.result, report.skipped, shown_tz, evidence, hints,
                             zones=_zone_note(report.result, auto, tz))
    if health is not None:
        evidence.append(_health_figures(health))
    status, summary = _combine(verdict, health, hints)
    return ctx.result(status, summary, evidence, hints)


def _combine(verdict: LogVerdict | None, health: Health | None, hints: list[Hint]) -> tuple[Status, str]:
    """One status and sentence from what the log said and what the health endpoint said."""
    health_clause = ""
    if health is not None:
        if health.state == "ok":
            health_clause = f"its health endpoint answered HTTP {health.status}"
        elif health.state == "unhealthy":
            health_clause = f"its health endpoint answered HTTP {health.status}: the receiver reports itself unhealthy"
            hints.append(Hint(
                "The receiver reports itself unhealthy: check the receiver process or pod "
                "(kubectl get pods; kubectl logs <release>-receiver-<hash>) and what it depends on (Kafka).",
                RUNBOOK,
            ))
        else:
            health_clause = f"its health endpoint could not be checked: {_unsentence(health.detail)}"
            hints.append(Hint(
                "Check the receiver URL and that the receiver runs. Linux: https://HOST:7077/health. "
                "Kubernetes: the health endpoints are on port 1618 (/liveness, /readiness); give "
                "--receiver-health http://<receiver-pod-or-service>:1618/readiness.",
                RUNBOOK,
            ))

    if verdict is None or verdict.status is None:
        log_part = verdict.summary if verdict is not None else ""
        if health is None:
            # Only a log, and it gave no verdict.
            if verdict is not None and verdict.unusable:
                return Status.ERROR, _sentence(log_part)
            return Status.SKIP, _sentence(f"Nothing to judge in the receiver log: {log_part}")
        if health.state == "ok":
            status, lead = Status.PASS, f"The receiver is up: {health_clause}"
        elif health.state == "unhealthy":
            status, lead = Status.FAIL, f"The receiver is not healthy: {health_clause}"
        else:
            status, lead = Status.ERROR, f"Could not check the receiver: {health_clause}"
        tail = f" The receiver log gives no verdict: {_unsentence(log_part)}." if log_part else ""
        return status, _sentence(lead) + tail

    status, summary = verdict.status, verdict.summary
    if health is None:
        return status, summary
    if health.state == "unhealthy":
        return Status.FAIL, f"{_unsentence(summary)}; and {health_clause}."
    if health.state == "unreachable" and status is Status.PASS:
        return Status.WARN, f"{_unsentence(summary)}, but {health_clause}."
    return status, f"{_unsentence(summary)}; {health_clause}."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _unsentence(text: str) -> str:
    return text.strip().rstrip(".")


# --- the log -----------------------------------------------------------------------


def _judge_log(
    ctx: Context,
    r: ScanResult,
    skipped: list[str],
    tz: tzinfo | None,
    evidence: list[Evidence],
    hints: list[Hint],
    zones: str = "",
) -> LogVerdict:
    names = ", ".join(s.name for s in r.sources) or "the receiver log"
    total = r.total_lines
    fig = Figures("Receiver log")
    evidence.append(fig)
    input_figures(fig, r, skipped, tz, zones)

    timed = r.has_headers
    part = "in" if timed else "untimed"
    if total == 0:
        fig.add("Lines", 0)
        why = f"{names} is empty" if not skipped else "every file was last written before the window"
        return LogVerdict(None, why)
    if not timed and not any(b.count for b in r.problems["untimed"].values()):
        return LogVerdict(
            None,
            f"{names} does not look like a StackState receiver log: none of its {counted(total, 'line')} starts "
            "with a logback timestamp and level (e.g. '2024-01-15 10:23:45,123 [thread] WARN  logger - ...')",
            unusable=True,
        )

    # Where the lines fall against the window.
    if timed:
        fig.add("Lines in the window", r.lines["in"])
        if r.lines["before"]:
            fig.add("Lines before the window (not counted)", r.lines["before"])
        if r.lines["after"]:
            fig.add("Lines after the window end (not counted)", r.lines["after"])
        if r.lines["untimed"]:
            fig.add("Lines before the first timestamped entry (not counted)", r.lines["untimed"])
    else:
        fig.add("Lines", total)
        fig.add("Timestamps", "none found: the window was not applied, every entry counts")

    counts = {cat: r.count(part, cat) for cat in CATEGORY_TITLES}
    # Every category, zero or not: a later trace of the same log compares figure by figure.
    for cat, title in CATEGORY_TITLES.items():
        fig.add(f"{title}{' in the window' if timed else ''}", counts[cat])
    if r.stopped:
        fig.add("Scan", f"stopped early ({r.stopped}); the rest of the log was not read")

    redactor = Redactor(ctx.settings.secret_values())
    deser = r.bucket(part, "deserialization")
    if deser.count:
        evidence.append(reason_table(f"{CATEGORY_TITLES['deserialization']} by reason", deser, tz))
        evidence.extend(log_samples(CATEGORY_TITLES["deserialization"], deser, redactor))
    others = [c for c in ("kafka", "auth", "payload", "stale", "error", "warning") if counts[c]]
    if others:
        evidence.append(other_table(r, part, others, tz))
        for cat in others:
            if cat != "warning":
                evidence.extend(log_samples(CATEGORY_TITLES[cat], r.bucket(part, cat), redactor))

    offset = _hour_offset(r, ctx.window.start, ctx.window.end, ctx.now) if timed else None
    if offset is not None:
        fig.add("Time zone check", offset)
        hints.append(Hint(
            "The newest entry sits a whole number of hours away from now: the log's timestamps are "
            "probably in another zone than stsdebug assumed (UTC for the Kubernetes layout, the local "
            "zone for the Linux package). Set STSDEBUG_RECEIVER_LOG_TZ (or receiver_log_tz in the "
            "profile) to the receiver's zone, e.g. UTC or Europe/Amsterdam.",
            RUNBOOK,
        ))
    if timed and r.lines["in"] == 0:
        text = _nothing_in_window(ctx, r, tz, hints)
        if offset is not None:
            return LogVerdict(Status.WARN, _sentence(f"Cannot judge the receiver log: {text}; {offset}"))
        return LogVerdict(None, text)

    where = "in the window" if timed else "in the log (no timestamps, so the window was not applied)"
    stopped = " (the scan stopped early; only part of the log was read)" if r.stopped else ""
    steady = timed and _steady(deser, ctx.window.start, ctx.window.end, r)
    kafka = r.bucket(part, "kafka")
    # A quiet producer has recovered only if data flows on downstream: the census says whether
    # Kafka (else Elasticsearch) holds data newer than the last failure, on time.
    recovery = judge_recovery(kafka.last, r.recovered_at.get("kafka"), ctx.window.end,
                              downstream_fresh=downstream_fresh(ctx, kafka.last)) if kafka.fail_count and timed else None
    recovered = f" at {stamp(r.recovered_at['kafka'], tz)}" if recovery and recovery.recovered_at else ""
    stale = r.bucket(part, "stale")
    stale_recovery = judge_recovery(stale.last, None, ctx.window.end,
                                    downstream_fresh=downstream_fresh(ctx, stale.last)) if stale.count else None
    clock = too_old_clause(too_old(_texts(stale))) if stale.count else ""
    findings: list[Found] = []
    for rule in RULES:
        b = r.bucket(part, rule.category)
        facts = Facts(b, steady, where, stamp(b.last, tz), top_reason(b),
                      {"kafka": recovery, "stale": stale_recovery}.get(rule.category), recovered, stamp(b.first, tz),
                      clock)
        found = apply(rule, facts)
        if found is not None:
            findings.append(found)
            if found.hint is not None:
                hints.append(found.hint)

    if not findings:
        warned = counts["warning"]
        extra = f"; {counted(warned, 'other warning')} listed" if warned else ""
        scope = f"{r.lines['in']:,} lines in the window" if timed else f"{total:,} lines"
        return LogVerdict(
            Status.PASS,
            _sentence(
                f"The receiver log shows no deserialization errors, Kafka problems or rejections "
                f"({scope}{extra}){stopped}"
            ),
        )
    findings.sort(key=lambda f: f.status is not Status.FAIL)  # stable: fails first, in order
    also = [f.short for f in findings[1:]]
    tail = f"; also {', '.join(also)}" if also else ""
    lead = findings[0]
    if lead.inferred:
        tail += (f" (recognised by inferred wording: {', '.join(lead.inferred)}; the patterns are listed in "
                 "docs/stages/receiver.md and can be extended)")
    if timed:
        evidence.insert(1, timeline(r, part, tz))
    return LogVerdict(lead.status, _sentence(lead.headline + tail + stopped))


def _texts(b: Bucket) -> list[tuple[float | None, str]]:
    """(time, text) of the bucket's samples, for reading what their lines name."""
    return [(s.ts, " ".join(line.text for line in s.lines)) for s in map(materialize, [*b.head, *b.tail])]


def _steady(b: Bucket, start: float, end: float, r: ScanResult) -> bool:
    """Errors in every whole minute of the part of the window the log covers."""
    if r.first is None or r.last is None:
        return False
    lo, hi = max(start, r.first), min(end, r.last)
    first_min = int(-(-lo // 60))  # first whole minute starting at or after lo
    last_min = int(hi // 60) - 1  # last whole minute ending at or before hi
    minutes = range(first_min, last_min + 1)
    return len(minutes) >= STEADY_MINUTES and all(m in b.minutes for m in minutes)


def _nothing_in_window(ctx: Context, r: ScanResult, tz: tzinfo | None, hints: list[Hint]) -> str:
    w = ctx.window
    if r.last is not None and r.last < w.start:
        age = duration(w.end - r.last)
        text = (
            f"none of its {counted(r.total_lines, 'line')} falls in the last {w.spec} "
            f"(its newest entry is {age} old, at {stamp(r.last, tz)})"
        )
    elif r.first is not None and r.first > w.end:
        text = (
            f"all of its {counted(r.total_lines, 'line')} {'is' if r.total_lines == 1 else 'are'} dated after the window end "
            f"(its oldest entry is at {stamp(r.first, tz)})"
        )
    else:
        text = f"none of its {counted(r.total_lines, 'line')} falls in the last {w.spec}"
    hints.append(Hint(
        "Give the current receiver log, or widen the window (e.g. --window 2d) to judge an older one.",
        RUNBOOK,
    ))
    if r.naive_ts:
        hints.append(Hint(
            f"Its timestamps carry no time zone and were read as {describe_tz(tz)}. If the receiver logs "
            "in another zone (containers usually log in UTC), set STSDEBUG_RECEIVER_LOG_TZ "
            "(e.g. UTC or +02:00) or receiver_log_tz in the profile.",
            RUNBOOK,
        ))
    return text


# --- time zone and timeline ------------------------------------------------------------


def _zone_note(r: ScanResult, auto: bool, tz: tzinfo | None) -> str:
    if not r.naive_ts:
        return ""
    if not auto:
        return f"timestamps carry no zone; read as {describe_tz(tz)} (receiver_log_tz)"
    parts = []
    if "kubernetes" in r.layouts:
        parts.append("Kubernetes layout read as UTC (receiver pods log UTC)")
    if "linux" in r.layouts:
        parts.append(f"Linux layout read as {describe_tz(None)}")
    return "timestamps carry no zone; " + "; ".join(parts) + " (override: receiver_log_tz)"


def _hour_offset(r: ScanResult, start: float, end: float, now: float) -> str | None:
    """A sentence when the newest entry lies about a whole number of hours from now: in the
    future, or just before the window. None when nothing suggests a zone mix-up."""
    newest = r.last
    if newest is None:
        return None
    delta = newest - now
    if delta > 300:
        where = "in the future"
    elif newest < start and now - newest < 15 * 3600:
        where = "old"
    else:
        return None
    hours = round(abs(delta) / 3600)
    if hours < 1 or abs(abs(delta) - hours * 3600) > 600:
        return None
    return (f"the newest entry is about {hours} h {where} ({stamp(newest, None)}), a whole-hour offset: "
            "its timestamps are probably in another time zone than the one assumed")
