"""Stage `receiver` (StackState 6): does the receiver take the agents' data and hand it on to
vmagent?

In StackState 6 the receiver remote-writes metrics to vmagent
(``PROMETHEUS_WRITE_ENDPOINT=http://suse-observability-vmagent:8429/api/v1/write``); Kafka
only carries its topology, health and events. Three inputs, each optional:

- readiness (``--receiver-health http://<receiver>:1618/readiness``): 2xx ready, 5xx not;
- its own metrics (``--receiver-metrics http://<receiver>:9404/metrics``), scraped twice:
  intake answers by status (akka/pekko HTTP metrics, names confirmed in StackState's
  dashboards) and remote-write counters. No public source names the receiver's
  remote-write counters, so they are found by name (``REMOTE_WRITE``, ``FAILED``: any
  counter whose name says remote/prometheus write, and failed/error/dropped for failures);
- its log (``--receiver-log``), judged by the StackState 5 receiver stage's scanner and
  rules (deserialization, API key, payload size, stale points), plus the entries that say a
  remote write failed (``REMOTE_WRITE_WORDS``, inferred wording). A Kafka producer failure
  does not stop metrics here, so it is a warning, not a failure.

* fail  - remote writes fail and none succeed (metrics page), or the log's remote-write
          failures go on to its end; readiness 5xx; the StackState 5 log rules' failures
          other than Kafka.
* warn  - remote writes failing in part or recovered, intake answered mostly with errors,
          the log rules' warnings (and Kafka failures).
* pass  - ready, writes succeed, a clean log.
* error - nothing could be checked (readiness and metrics page unreachable, no log).
* skip  - no input; or only StackState's Prometheus API path (the receiver is not reachable
          through it).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from stsdebug import promtext
from stsdebug.errors import SourceError
from stsdebug.model import Evidence, Figures, Hint, LogSample, StageResult, Status, Table
from stsdebug.stages.base import Context
from stsdebug.stages.phrases import age_text
from stsdebug.stages.v6 import pages
from stsdebug.stages.v6.common import only_api, only_api_reason
from stsdebug.stages.v6.pages import Pair

TITLE = "StackState receiver"
BUDGET_CALLS = 14.0  # readiness, two scrapes, and the log scan (as the StackState 5 stage)
BUDGET_WAITS = "scrape_interval"

RUNBOOK = "StackState 6: receiver"
# Counters of the receiver's remote writes, found by name (inferred; see the docstring).
REMOTE_WRITE = re.compile(r"(?i)(remote_?write|prometheus_?write|vmagent)")
FAILED = re.compile(r"(?i)(fail|error|drop|reject)")
# akka-http in older charts, pekko-http since (StackVista/helm-charts, stackstate-monitoring).
HTTP_RESPONSES = ("akka_http_responses_total", "pekko_http_responses_total")
# Log entries about a failed remote write (inferred wording: none is public).
REMOTE_WRITE_WORDS = re.compile(
    r"(?i)(remote[ -]?write|prometheus[ _-]?write|/api/v1/write|vmagent|:8429)")
STILL_FAILING_S = 120.0  # a failure this close to the log's end has not recovered


@dataclass
class Part:
    name: str
    status: Status | None  # None: no verdict (could not look)
    sentence: str
    evidence: list[Evidence] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    if not (s.receiver_log or s.receiver_health or s.receiver_metrics):
        if only_api(ctx):
            return ctx.skip(only_api_reason("the receiver's readiness (:1618), metrics (:9404) and log",
                                            "--receiver-health, --receiver-metrics or --receiver-log"))
        given = (" (--receiver, the intake URL, serves the probe only: the StackState 6 receiver "
                 "reports its readiness on port 1618)") if s.receiver else ""
        return ctx.skip(
            f"No receiver input given: no readiness URL, metrics page or log{given}.",
            "Give --receiver-health http://<receiver>:1618/readiness, --receiver-metrics "
            "http://<receiver>:9404/metrics (kubectl port-forward deploy/suse-observability-receiver "
            "1618 9404) and/or the log: kubectl logs deploy/suse-observability-receiver | "
            "stsdebug check --receiver-log - --receiver-log-tz UTC.",
        )
    parts: list[Part] = []
    if s.receiver_health:
        parts.append(_readiness(ctx, s.receiver_health))
    if s.receiver_metrics:
        parts.append(_metrics(pages.pair(ctx, "receiver_metrics")))
    if s.receiver_log:
        parts.append(_log(ctx))
    return _combine(ctx, parts)


def _combine(ctx: Context, parts: list[Part]) -> StageResult:
    order = [Status.FAIL, Status.WARN, Status.PASS, Status.SKIP]
    judged = [p for p in parts if p.status is not None]
    evidence = [e for p in parts for e in p.evidence]
    hints = [h for p in parts for h in p.hints]
    if not judged:
        return ctx.result(Status.ERROR, "Could not check the receiver: "
                          + "; ".join(p.sentence.rstrip(".") for p in parts) + ".", evidence, hints)
    worst = min((p.status for p in judged if p.status is not None), key=order.index)
    if worst is Status.SKIP and len(judged) == len(parts):
        return ctx.result(Status.SKIP, " ".join(p.sentence for p in judged), evidence, hints)
    lead = [p for p in judged if p.status is worst]
    rest = [p for p in parts if p not in lead and p.status is not Status.SKIP]
    summary = " ".join(p.sentence for p in lead)
    if rest:
        summary += " Also: " + "; ".join(f"{p.name}: {p.sentence.rstrip('.')}" for p in rest) + "."
    if worst is Status.SKIP:
        worst = Status.PASS
    return ctx.result(worst, summary, evidence, hints)


# --- readiness -------------------------------------------------------------------------


def _readiness(ctx: Context, url: str) -> Part:
    from stsdebug.sources.http import HttpStatusError, display_url

    shown = display_url(url)
    f = Figures("Receiver readiness").add("URL", shown)
    try:
        resp = ctx.http.get(url, system="the receiver readiness endpoint")
    except HttpStatusError as exc:
        f.add("HTTP status", exc.status).add("Body", exc.body[:200])
        if exc.status >= 500:
            return Part("readiness", Status.FAIL,
                        f"The receiver reports itself not ready (HTTP {exc.status} from {shown}).", [f],
                        [Hint("kubectl describe pod and kubectl logs for the receiver: it reports not "
                              "ready while what it depends on (Kafka, vmagent) is unavailable.", RUNBOOK)])
        return Part("readiness", None, f"its readiness endpoint answered HTTP {exc.status}.", [f])
    except SourceError as exc:
        f.add("Problem", str(exc))
        return Part("readiness", None, f"its readiness endpoint could not be checked ({str(exc).rstrip('.')}).",
                    [f], [Hint("The readiness endpoint is on port 1618 of the receiver pod: "
                               "--receiver-health http://<receiver>:1618/readiness.", RUNBOOK)])
    f.add("HTTP status", resp.status).add("Answered in", round(resp.elapsed_ms), "ms")
    return Part("readiness", Status.PASS, f"The receiver is ready (HTTP {resp.status}).", [f])


# --- its own metrics -------------------------------------------------------------------


def remote_write_counters(page: promtext.Page) -> list[str]:
    """Names of the counters on a receiver page that count remote writes (found by name)."""
    out = []
    for name in sorted(page.names()):
        kind = page.types.get(name)
        if not REMOTE_WRITE.search(name) or kind not in (None, "counter", "untyped"):
            continue
        if kind is None and not name.endswith(("_total", "_count")):
            continue
        out.append(name)
    return out


def _failed_series(name: str, labels: dict[str, str]) -> bool:
    """A failure counter by its name (``..._failed_total``) or a label value (``result="failed"``,
    ``status="503"``)."""
    if FAILED.search(name):
        return True
    return any(FAILED.search(v) or (v[:1] in "45" and v[:3].isdigit()) for v in labels.values())


def _split(pair: Pair, names: list[str]) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Per counter: increase of its success series, of its failure series, total failures ever."""
    assert pair.first is not None and pair.second is not None
    ok: dict[str, float] = {}
    bad: dict[str, float] = {}
    bad_ever: dict[str, float] = {}
    for name in names:
        for d in promtext.deltas(pair.first, pair.second, name):
            if _failed_series(name, dict(d.labels)):
                bad[name] = bad.get(name, 0.0) + d.increase
                bad_ever[name] = bad_ever.get(name, 0.0) + d.after
            else:
                ok[name] = ok.get(name, 0.0) + d.increase
    return ok, bad, bad_ever


def _ever_ok(pair: Pair, names: list[str]) -> float:
    assert pair.second is not None
    return sum(s.value for n in names for s in pair.second.series(n)
               if not _failed_series(n, dict(s.labels)))


def _metrics(pair: Pair | None) -> Part:
    if pair is None or pair.first is None or pair.second is None:
        why = (pair.error if pair is not None else None) or "not read"
        return Part("metrics page", None, f"its metrics page could not be read twice ({why.rstrip('.')}).",
                    [Figures("Receiver metrics page").add("Problem", why)])
    return judge_metrics(pair)


def judge_metrics(pair: Pair) -> Part:
    """What two scrapes of the receiver's /metrics say (pure: tests feed it pages)."""
    assert pair.first is not None and pair.second is not None
    secs = pair.seconds or 0.0
    span = f"in {secs:.0f} s"
    f = Figures(f"Receiver metrics between two scrapes ({secs:.1f} s apart)")
    names = remote_write_counters(pair.second)
    ok, bad, bad_ever = _split(pair, names)
    for n in names:
        f.add(n, f"+{ok.get(n, 0.0):,.0f} ok, +{bad.get(n, 0.0):,.0f} failed")
    sent, failed = any(ok.values()), any(bad.values())
    intake_ok, intake_bad, codes = _intake(pair)
    if intake_ok or intake_bad:
        f.add("Intake answers", f"{intake_ok + intake_bad:,.0f} ({', '.join(f'{c}: {n:,.0f}' for c, n in codes)})")
    hints: list[Hint] = []
    fix = Hint("The receiver cannot hand metrics to vmagent: check that suse-observability-vmagent runs and "
               "answers on 8429 (the next stage), and the receiver's PROMETHEUS_WRITE_ENDPOINT.", RUNBOOK)
    if not names:
        note = ("it exposes no remote-write counters stsdebug knows (no public source names them; "
                "it looks for names with remote_write, prometheus_write or vmagent)")
        f.add("Remote-write counters", "none found")
        status: Status | None = Status.PASS if intake_ok else None
        sentence = (f"The receiver answered {intake_ok:,.0f} intake requests {span}; " + note + "."
                    if intake_ok else f"The receiver's metrics page gives no verdict: {note}.")
        if intake_bad and intake_bad >= intake_ok:
            status, sentence = Status.WARN, (f"The receiver answered {intake_bad:,.0f} of "
                                             f"{intake_ok + intake_bad:,.0f} intake requests with errors {span}.")
        return Part("metrics page", status, sentence, [f])
    listed = ", ".join(names)
    if not sent and not failed:
        # Nothing written between the scrapes (agents post every few seconds; a short
        # interval can fall between two posts): judge on the totals since it started.
        ever_bad = sum(bad_ever.values())
        ever_ok = _ever_ok(pair, names)
        f.add("Remote writes since the receiver started", f"{ever_ok:,.0f} ok, {ever_bad:,.0f} failed")
        if ever_bad and not ever_ok:
            return Part("metrics page", Status.FAIL,
                        f"Every remote write of the receiver failed since it started (none {span}; {listed}).",
                        [f], [fix])
        quiet = (f"The receiver wrote nothing remotely {span} (since it started: {ever_ok:,.0f} ok, "
                 f"{ever_bad:,.0f} failed, by {listed}).")
        return Part("metrics page", Status.WARN if ever_bad else None, quiet, [f], [fix] if ever_bad else [])
    if failed and not sent:
        hints.append(fix)
        return Part("metrics page", Status.FAIL,
                    f"The receiver's remote writes to vmagent fail: only failures {span} ({listed}).", [f], hints)
    warns = []
    if failed:
        warns.append(f"some remote writes failed {span} while others succeeded ({listed})")
    if intake_bad and intake_bad >= intake_ok:
        warns.append(f"{intake_bad:,.0f} of {intake_ok + intake_bad:,.0f} intake requests answered with errors")
    if warns:
        return Part("metrics page", Status.WARN, "The receiver: " + "; ".join(warns) + ".", [f], hints)
    return Part("metrics page", Status.PASS, f"The receiver's remote writes succeed {span}, none failed.", [f])


def _intake(pair: Pair) -> tuple[float, float, list[tuple[str, float]]]:
    """Intake answers between the scrapes: (2xx/3xx, 4xx/5xx, per status)."""
    assert pair.first is not None and pair.second is not None
    by_code: dict[str, float] = {}
    for name in HTTP_RESPONSES:
        for d in promtext.deltas(pair.first, pair.second, name):
            path = d.labels.get("path", "")
            if path and "intake" not in path and "stsAgent" not in path and "write" not in path:
                continue
            code = d.labels.get("status", d.labels.get("code", "?"))
            by_code[code] = by_code.get(code, 0.0) + d.increase
    ok = sum(n for c, n in by_code.items() if c[:1] in ("2", "3"))
    bad = sum(n for c, n in by_code.items() if c[:1] in ("4", "5"))
    return ok, bad, sorted((c, n) for c, n in by_code.items() if n)


# --- its log ---------------------------------------------------------------------------


def _log(ctx: Context) -> Part:
    """The StackState 5 receiver stage on the log alone, re-read for StackState 6."""
    from stsdebug.stages import receiver as receiver5

    log_only = dataclasses.replace(ctx.settings, receiver=None, receiver_health=None)
    result = receiver5.run(dataclasses.replace(ctx, settings=log_only))
    status: Status | None = result.status
    sentence = result.summary
    evidence = list(result.evidence)
    hints = list(result.hints)
    if status is Status.ERROR:
        status = None
    elif status is Status.FAIL and "Kafka" in sentence.split(":", 1)[0]:
        status = Status.WARN
        sentence = (f"{sentence.rstrip('.')} (Kafka carries the receiver's topology, health and events in "
                    "StackState 6, not its metrics).")
    found = _remote_write_entries(ctx.cache.get("receiver.scan"))
    if found is not None:
        count, last, log_end, reasons, samples = found
        evidence.append(Table("Remote-write failures in the receiver log", ["reason", "count"],
                              [[r, n] for r, n in reasons]))
        evidence.extend(samples)
        still = last is not None and log_end is not None and log_end - last <= STILL_FAILING_S
        when = f", the last {age_text(max(0.0, (log_end or 0) - (last or 0)))} before the log's end" \
            if last is not None and log_end is not None else ""
        hints.append(Hint(
            "The receiver cannot remote-write metrics: check vmagent (suse-observability-vmagent:8429) "
            "and the receiver's PROMETHEUS_WRITE_ENDPOINT.", RUNBOOK))
        if still:
            return Part("log", Status.FAIL,
                        f"The receiver cannot remote-write metrics to vmagent: {count:,} failures in the "
                        f"log{when} ({reasons[0][0]}).", evidence, hints)
        if status is not Status.FAIL:
            status = Status.WARN
            sentence = (f"The receiver's remote writes failed {count:,} times{when}, and the log is quiet "
                        f"about them since ({reasons[0][0]}). {sentence}")
    return Part("log", status, sentence, evidence, hints)


def _remote_write_entries(scan: Any) -> tuple[int, float | None, float | None, list[tuple[str, int]],
                                              list[LogSample]] | None:
    """Remote-write failures among the WARN/ERROR entries the scan grouped by reason:
    (count, last, the log's newest timestamp, reasons, samples), or None when there are none.
    Read from the scan result the StackState 5 stage keeps in the trace cache."""
    if scan is None:
        return None
    part = "in" if getattr(scan, "has_headers", False) else "untimed"
    buckets: dict[str, Any] = dict(getattr(scan, "problems", {}).get(part, {}))
    count = 0
    last: float | None = None
    reasons: dict[str, int] = {}
    samples: list[LogSample] = []
    for bucket in buckets.values():
        hit = False
        for reason, stat in bucket.reasons.items():
            if REMOTE_WRITE_WORDS.search(reason):
                hit = True
                count += stat.count
                reasons[reason] = reasons.get(reason, 0) + stat.count
                if stat.last is not None:
                    last = stat.last if last is None else max(last, stat.last)
        if hit:
            samples.extend(_samples(bucket))
    if not count:
        return None
    ranked = sorted(reasons.items(), key=lambda x: -x[1])[:10]
    return count, last, getattr(scan, "last", None), ranked, samples[:2]


def _samples(bucket: Any) -> list[LogSample]:
    from stsdebug.model import LogLine

    out: list[LogSample] = []
    for s in bucket.samples():
        if not REMOTE_WRITE_WORDS.search(s.reason):
            continue
        out.append(LogSample("Remote-write failure", s.source,
                             [LogLine(ln.n, ln.text, ln.match) for ln in s.lines]))
        if len(out) >= 2:
            break
    return out
