"""Stage `victoriametrics` (StackState 6): does VictoriaMetrics hold the integration's series,
with fresh samples, and does it keep what vmagent writes?

Inputs: ``--victoria-metrics http://suse-observability-victoriametrics:8428`` (the query API,
``/health``, ``/flags`` and its own ``/metrics``, scraped twice), or StackState's
``--prometheus-api https://HOST/prometheus`` (the query API only; VictoriaMetrics' own
counters then come from StackState's self-monitoring, ``stackstate_vm_rows_ignored_total``,
when it is on).

Bounded cost, whatever the number of series (bench/v6_queries.py measures it): one query
for the integration's series per metric name, newest sample and stale series
(stsdebug.stages.v6.series); one more for the newest sample of the last day when none is in
the window; ``/health``, two scrapes of ``/metrics`` and ``/flags`` (VictoriaMetrics itself) or
one self-monitoring query (StackState's path). At most ``MAX_REQUESTS``.

* fail  - none of the integration's series has a sample in the window, or every one
          stopped; its own cause when VictoriaMetrics ignored rows meanwhile (too old:
          ``vm_rows_ignored_total{reason="small_timestamp"}``, too far ahead:
          ``big_timestamp``), otherwise "no data arrived" (blocked after an earlier failure).
* warn  - rows ignored while the data is fresh, half or more of the series stopped, a whole
          metric stopped while the others go on, series losing labels.
* pass  - fresh series, nothing ignored.
* error - the query API does not answer or refuses the query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stsdebug import promtext
from stsdebug.errors import SourceError
from stsdebug.model import Evidence, Figures, Hint, StageResult, Status, Table
from stsdebug.promnames import selector
from stsdebug.sources.prometheus_api import PromQueryError
from stsdebug.stages.base import Context
from stsdebug.stages.phrases import age, age_text
from stsdebug.stages.v6 import pages, series
from stsdebug.stages.v6.pages import Pair
from stsdebug.stages.v6.series import Holding

TITLE = "VictoriaMetrics"
BUDGET_CALLS = 8.0
BUDGET_WAITS = "scrape_interval"
MAX_REQUESTS = 6  # health, holding, newest of the day, two scrapes (or one query), flags

RUNBOOK = "StackState 6: VictoriaMetrics"
STALE_AFTER_S = {"push": 180.0, "pull": 1200.0}  # clouds deliver late by design
LOOKBACK_S = 86400.0  # how far back the newest sample is looked for when the window is empty
TABLE_ROWS = 20
REGULAR_SAMPLES = 3  # samples of one series in the window that make a metric a regular reporter
IGNORED = "vm_rows_ignored_total"
SELF_IGNORED = "stackstate_vm_rows_ignored_total"  # the same, as self-monitoring stores it
REASONS = {
    "small_timestamp": "too old (older than the retention)",
    "big_timestamp": "too far in the future (more than 2 days ahead)",
}


@dataclass
class Ignored:
    """Rows VictoriaMetrics ignored, by reason, over `seconds` (from its counters)."""

    by_reason: dict[str, float] = field(default_factory=dict)
    since_start: dict[str, float] = field(default_factory=dict)  # totals, when counters are read
    seconds: float | None = None
    where: str = ""  # how it was measured, for evidence
    unknown: str = ""  # why it could not be measured

    @property
    def total(self) -> float:
        return sum(self.by_reason.values())

    def text(self) -> str:
        parts = [f"{n:,.0f} {REASONS.get(r, r)}" for r, n in sorted(self.by_reason.items()) if n]
        return ", ".join(parts)


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    if not (s.victoria_metrics or s.prometheus_api):
        return ctx.skip(
            "No VictoriaMetrics or StackState Prometheus API given.",
            "Give --victoria-metrics http://suse-observability-victoriametrics:8428 (kubectl "
            "port-forward svc/suse-observability-victoriametrics 8428), or, from outside the "
            "cluster, --prometheus-api https://HOST/prometheus with a service token "
            "(--prometheus-api-token-env).",
        )
    sel = selector(ctx.matcher.prefixes, ctx.matcher.hosts, ctx.matcher.tags)
    if sel is None:
        return ctx.skip(
            f"Nothing identifies {ctx.integration.name}'s series: give --metric-prefix, --host or --tag.")
    api = ctx.prometheus
    direct = bool(s.victoria_metrics)
    health = _health(ctx) if direct else None
    w = ctx.window
    cut = max(w.start, w.end - STALE_AFTER_S.get(ctx.integration.kind, 180.0))
    try:
        holding = series.read(api, sel, start=w.start, end=w.end, cut=cut)
    except PromQueryError as exc:
        return ctx.result(Status.ERROR, f"The query API refused stsdebug's query: {str(exc).rstrip('.')}.",
                          [_target(ctx, health)],
                          [Hint("stsdebug asks in MetricsQL (tlast_over_time, keep_metric_names), which "
                                "VictoriaMetrics and StackState's /prometheus path speak; another "
                                "Prometheus server does not.", RUNBOOK)])
    except SourceError as exc:
        return ctx.result(Status.ERROR, f"VictoriaMetrics could not be queried: {str(exc).rstrip('.')}.",
                          [_target(ctx, health)],
                          [Hint("Check the URL and that the VictoriaMetrics pods run "
                                "(kubectl get pods | grep victoria-metrics).", RUNBOOK)])
    pair = pages.pair(ctx, "vm_metrics") if direct else None
    ignored = _ignored_direct(pair) if direct else _ignored_self(ctx)
    return _judge(ctx, sel, holding, ignored, pair, health)


def _judge(ctx: Context, sel: str, h: Holding, ignored: Ignored, pair: Pair | None,
           health: str | None) -> StageResult:
    name = ctx.integration.name
    w = ctx.window
    figures = _figures(ctx, sel, h, ignored, pair, health)
    evidence: list[Evidence] = [figures]
    if h.metrics:
        evidence.append(_metric_table(ctx, h))
    if h.stalest and h.stale:
        evidence.append(_stalest_table(ctx, h))
    hints: list[Hint] = []
    missing = h.series == 0 or (h.newest is not None and h.newest < h.cut)
    old_rows = ignored.by_reason.get("small_timestamp") or (missing and ignored.since_start.get("small_timestamp"))
    retention = _retention(ctx) if old_rows else None
    if retention:
        figures.add("Retention (-retentionPeriod)", retention)
    cause = _ignored_cause(ignored, retention, hints, missing=missing)

    if h.series == 0:
        newest = _newest_ever(ctx, sel)
        if newest is not None:
            figures.add("Newest sample in the last day", f"{age_text(ctx.now - newest)} old")
            stopped = f"its newest sample is {age_text(ctx.now - newest)} old, so the data stopped"
        else:
            stopped = "and none in the last day either"
        summary = f"No series of {name} has a sample in the last {w.spec} ({sel}); {stopped}."
        if cause:
            return ctx.result(Status.FAIL, f"{cause} {summary}", evidence, hints)
        hints.append(_no_data_hint(ctx))
        return ctx.result(Status.FAIL, summary, evidence, hints, missing_data=True)

    newest_age = ctx.now - (h.newest or ctx.now)
    if h.newest is not None and h.newest < h.cut:
        summary = (f"{name}'s data stopped: {h.series:,} series in the last {w.spec}, but the newest "
                   f"sample is {age_text(newest_age)} old.")
        if cause:
            return ctx.result(Status.FAIL, f"{cause} {summary}", evidence, hints)
        hints.append(_no_data_hint(ctx))
        return ctx.result(Status.FAIL, summary, evidence, hints, missing_data=True)

    warns: list[str] = []
    if cause:
        warns.append(cause.rstrip("."))
    # A metric counts as stopped only when it reported regularly before (a metric sent once
    # an hour is old most of the time, and that is fine).
    stopped_metrics = [m for m in h.metrics.values()
                       if m.series and m.stale == m.series and m.samples >= REGULAR_SAMPLES]
    regular = [m for m in h.metrics.values() if m.samples >= REGULAR_SAMPLES]
    stale, total = sum(m.stale for m in regular), sum(m.series for m in regular)
    if stopped_metrics and len(stopped_metrics) < len(h.metrics):
        names = ", ".join(m.name for m in stopped_metrics[:3])
        warns.append(f"{len(stopped_metrics)} metric{'s' if len(stopped_metrics) != 1 else ''} stopped "
                     f"while the others go on ({names}): renamed or no longer collected?")
        hints.append(Hint("A metric that stops while its neighbours go on was usually renamed by an "
                          "agent or integration upgrade: the bindings stage looks for its new name.",
                          RUNBOOK))
    elif stale and stale * 2 >= total:
        warns.append(f"{stale:,} of {total:,} series stopped (no sample in the last "
                     f"{age_text(w.end - h.cut)})")
    dropped_labels = pair.increase("vm_metrics_with_dropped_labels_total") if pair else None
    if dropped_labels:
        warns.append(f"{dropped_labels:,.0f} series lost labels to -maxLabelsPerTimeseries (60 in the chart)")
    summary = (f"{h.series:,} series of {name} in {len(h.metrics)} metric"
               f"{'s' if len(h.metrics) != 1 else ''}, the newest sample {age_text(max(0.0, newest_age))} old")
    if warns:
        told = "; ".join(warns)
        return ctx.result(Status.WARN, f"{summary}, but {told}{'' if told.endswith('?') else '.'}",
                          evidence, hints)
    extra = ""
    if h.stale:
        extra = f"; {h.stale:,} series stopped (series come and go)"
    return ctx.result(Status.PASS, f"{summary}{extra}; {ignored_note(ignored)}.", evidence, hints)


def ignored_note(ignored: Ignored) -> str:
    if ignored.unknown:
        return "rows ignored: not known"
    return "no rows ignored" if not ignored.total else f"rows ignored: {ignored.text()}"


def _ignored_cause(ignored: Ignored, retention: str | None, hints: list[Hint], *, missing: bool) -> str:
    """The sentence that blames ignored rows, or "". With the data `missing`, rows ignored
    since VictoriaMetrics started count too (the two scrapes may fall between two writes)."""
    if ignored.total:
        span = f" in {ignored.seconds:.0f} s" if ignored.seconds else ""
        sentence = f"VictoriaMetrics ignores samples: {ignored.text()}{span} ({ignored.where})."
        reasons = ignored.by_reason
    elif missing and any(ignored.since_start.values()):
        reasons = {r: n for r, n in ignored.since_start.items() if n}
        listed = ", ".join(f"{n:,.0f} {REASONS.get(r, r)}" for r, n in sorted(reasons.items()))
        sentence = (f"VictoriaMetrics has ignored samples since it started: {listed} (none between "
                    "the two scrapes, so the last may be older).")
    else:
        return ""
    if reasons.get("small_timestamp"):
        keep = f" ({retention})" if retention else ""
        hints.append(Hint(
            f"Samples older than the retention{keep} are dropped without an error upstream (vmagent got "
            "204). Look for a sender whose clock runs behind (an agent host without NTP) or that "
            "replays old data; VictoriaMetrics' log names the oldest allowed timestamp "
            "('cannot insert row with too small timestamp').", RUNBOOK))
    if reasons.get("big_timestamp"):
        hints.append(Hint("Samples more than 2 days ahead are dropped: a sender's clock runs ahead "
                          "(or sends milliseconds where seconds are expected).", RUNBOOK))
    return sentence


def _no_data_hint(ctx: Context) -> Hint:
    return Hint(
        f"Nothing of {ctx.integration.name} reached VictoriaMetrics: look at the earlier stages "
        "(agent, receiver, vmagent). If the data is named differently, give --metric-prefix "
        f"({ctx.matcher.describe()} is looked for; dots are stored as _).", RUNBOOK)


# --- reads besides the one query ------------------------------------------------------


def _health(ctx: Context) -> str:
    try:
        body = ctx.prometheus.health()
    except SourceError as exc:
        return f"no answer: {exc}"
    return body[:40] or "(empty)"


def _ignored_direct(pair: Pair | None) -> Ignored:
    if pair is None or pair.first is None or pair.second is None:
        why = pair.error if pair is not None and pair.error else "its /metrics page was not read"
        return Ignored(where="", unknown=why)
    out = Ignored(seconds=pair.seconds, where="vm_rows_ignored_total, between two scrapes")
    for d in promtext.deltas(pair.first, pair.second, IGNORED):
        reason = d.labels.get("reason", "?")
        if d.increase:
            out.by_reason[reason] = out.by_reason.get(reason, 0.0) + d.increase
        out.since_start[reason] = out.since_start.get(reason, 0.0) + d.after
    return out


def _ignored_self(ctx: Context) -> Ignored:
    """Through StackState's path: what self-monitoring stored (one query; may be absent)."""
    w = ctx.window
    expr = f"sum by (reason) (increase({SELF_IGNORED}[{series.window_range(w.seconds)}]))"
    try:
        result = ctx.prometheus.query(expr, at=w.end)
    except SourceError as exc:
        return Ignored(unknown=str(exc))
    if result.empty:
        return Ignored(unknown=f"{SELF_IGNORED} is not stored (self-monitoring off?)")
    out = Ignored(seconds=w.seconds, where=f"{SELF_IGNORED}, self-monitoring, over the window")
    for s in result.series:
        value = s.points[-1][1] if s.points else 0.0
        if value == value and value > 0:  # not NaN
            out.by_reason[s.labels.get("reason", "?")] = value
    return out


def _retention(ctx: Context) -> str | None:
    try:
        flags = ctx.prometheus.flags()
    except SourceError:
        return None
    value = flags.get("retentionPeriod")
    if value is None:
        return None
    if value.isdigit():  # a bare number counts months
        return f"{value} month{'s' if value != '1' else ''}"
    return value


def _newest_ever(ctx: Context, sel: str) -> float | None:
    expr = f"max({series.newest_expr(sel, LOOKBACK_S)})"
    try:
        result = ctx.prometheus.query(expr, at=ctx.window.end)
    except SourceError:
        return None
    points = [s.points[-1][1] for s in result.series if s.points]
    return max(points) if points else None


# --- evidence -------------------------------------------------------------------------


def _target(ctx: Context, health: str | None) -> Figures:
    from stsdebug.sources.http import display_url

    s = ctx.settings
    url = s.victoria_metrics or s.prometheus_api or ""
    f = Figures("VictoriaMetrics").add("Queried through", display_url(url))
    if health is not None:
        f.add("/health", health)
    return f


def _figures(ctx: Context, sel: str, h: Holding, ignored: Ignored, pair: Pair | None,
             health: str | None) -> Figures:
    f = _target(ctx, health)
    f.add("Selector", sel)
    f.add(f"Series with a sample in the last {ctx.window.spec}", h.series)
    f.add("Metric names", len(h.metrics))
    f.add("Newest sample age", age(ctx.now, h.newest), "s")
    f.add(f"Series stopped (no sample in the last {age_text(ctx.window.end - h.cut)})", h.stale)
    if ignored.unknown:
        f.add("Rows ignored", f"not known: {ignored.unknown}")
    else:
        f.add("Rows ignored", ignored.text() or "none")
    if pair is not None and pair.second is not None:
        received = pair.increase("vm_rows_inserted_total")
        if received is not None and pair.seconds:
            f.add("Rows received (all senders)", f"+{received:,.0f} in {pair.seconds:.0f} s")
        refused = pair.increase("vm_http_request_errors_total", path="/api/v1/write")
        if refused:
            f.add("Write requests refused", f"+{refused:,.0f}")
    return f


def _metric_table(ctx: Context, h: Holding) -> Table:
    rows = sorted(h.metrics.values(), key=lambda m: (-m.stale, m.name))
    shown = rows[:TABLE_ROWS]
    note = f"{len(rows) - TABLE_ROWS} more metrics not shown" if len(rows) > TABLE_ROWS else None
    return Table(
        f"{ctx.integration.name} metrics in the window",
        ["metric", "series", "newest sample age (s)", "stopped series"],
        [[m.name, m.series, age(ctx.now, m.newest), m.stale] for m in shown],
        note=note,
    )


def _stalest_table(ctx: Context, h: Holding) -> Table:
    rows = [[", ".join(f"{k}={v}" for k, v in sorted(labels.items())), age(ctx.now, ts)]
            for labels, ts in h.stalest]
    return Table("Series that stopped (the stalest first)", ["series", "newest sample age (s)"], rows)
