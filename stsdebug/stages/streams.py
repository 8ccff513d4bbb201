"""Stage `streams`: do the telemetry streams' filters select the data that is there?

A StackState telemetry stream is an AND of ``key = value`` conditions plus a metric
field, run against Elasticsearch. For each stream given (``--stream`` or
``--streams-file``) one search, aggregations only, answers: how many documents in the
window match it and how old the newest is; if none, which condition empties it (each
condition is relaxed in turn, inside the same search) and which stored values of that
field are nearest to what was typed — ranked by similarity, then by documents in the
window, the way the UI's auto-complete would have offered them. For the multi-metric
layout the metric field ``values.<name>`` must be in the mapping; if not, the nearest
metric names from the mapping are offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from stsdebug import streamdefs
from stsdebug.errors import UsageError
from stsdebug.model import Figures, Hint, StageResult, Status, Table, Window
from stsdebug.sources.es import ESSource
from stsdebug.sources.es_query import FieldMap, all_of, to_epoch_seconds, total_hits, window_query
from stsdebug.stages import freshness
from stsdebug.stages.base import Context
from stsdebug.stages.census import cadence_of, peek
from stsdebug.stages.es_catalog import TS_FIELD, Catalog, catalog, search_target
from stsdebug.stages.freshness import Cadence
from stsdebug.stages.stream_suggest import (
    SHOWN_SUGGESTIONS,
    first_only,
    fix_text,
    metric_fix,
    rank,
    similarity,
    suggestion_text,
)
from stsdebug.streamdefs import Condition, StreamDef, is_stackstate_source
from stsdebug.suggest import did_you_mean

TITLE = "Telemetry streams"
BUDGET_CALLS = 12.0
AFTER = ("elasticsearch",)  # reads its result (ctx.results): starts once it is reported
RUNBOOK = "Troubleshooting step 2 / Element telemetry stream configuration"

MAX_STREAMS = 25  # one search each
SUGGEST_TERMS = 200  # stored values fetched per condition field to rank suggestions from
METRIC_CANDIDATES = 10  # nearest metric names counted per stream


@dataclass
class StreamCheck:
    stream: StreamDef
    metric_field: str | None
    status: Status
    docs: int = 0
    newest: float | None = None
    reason: str = ""  # one sentence: why it fails or warns
    fix: str = ""  # "did you mean ..." for the hint
    no_data_at_all: bool = False  # the window holds no document at all
    stale: bool = False  # it matches documents, but the newest is too old for its cadence
    rows: list[list[Any]] = field(default_factory=list)  # condition by condition


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    try:
        defs = streamdefs.load(s.streams, s.streams_file)
    except UsageError as exc:
        return ctx.result(Status.ERROR, f"The stream definitions cannot be used: {exc}.")
    given = len(defs)
    defs = [d for d in defs if d.integration in (None, ctx.integration.name)]
    if given and not defs:
        return ctx.skip(
            f"{given} stream{'s' if given != 1 else ''} given, none of them for "
            f"{ctx.integration.name} (their 'integration' names another)."
        )
    if not defs:
        return ctx.skip(
            "No telemetry stream given, so no stream filter was checked.",
            "Copy a stream's filters from the StackState UI (the stream's details) and give them "
            "as --stream 'host=HOST,tags.KEY=VALUE,metric=values.METRIC' (repeatable), or as "
            "--streams-file streams.yaml with a list of {name, conditions, metric}.",
        )
    if not s.es:
        return ctx.skip(
            f"{len(defs)} stream{'s' if len(defs) != 1 else ''} given, but no Elasticsearch URL "
            "(--es) to check them against.",
            "Give --es http://<stackstate-elasticsearch-master>:9200.",
        )
    cat = catalog(ctx)
    es = ctx.es
    upstream_ok = _upstream_ok(ctx)
    if not cat.indices:
        return ctx.result(
            Status.FAIL,
            f"No index matches {cat.pattern}, so no stream can draw data.",
            hints=[Hint("See the Elasticsearch stage: the metric indices are missing.", RUNBOOK)],
            missing_data=True,
        )

    elsewhere = [d for d in defs if not is_stackstate_source(d.data_source)]
    defs = [d for d in defs if is_stackstate_source(d.data_source)]
    if not defs:
        sources = sorted({str(d.data_source) for d in elsewhere})
        return ctx.skip(
            f"{len(elsewhere)} stream{'s' if len(elsewhere) != 1 else ''} given, all on the data source "
            f"{', '.join(sources)}: a plugin answers them, not Elasticsearch, so their filters cannot be "
            "checked from here.",
            "Open the stream in the StackState UI: with the source stage passing, an empty chart means its "
            "filters or its select do not match what the data source returns.",
        )
    cen = peek(ctx.census.elasticsearch)
    kafka = peek(ctx.census.kafka) if ctx.integration.kind == "push" else None
    if ctx.integration.on_demand and cen is not None and cen.matched_newest is None:
        return ctx.skip(
            f"{len(defs)} stream{'s' if len(defs) != 1 else ''} given, but {ctx.integration.name} metrics are "
            "retrieved on demand by the StackState plugin and not stored in Elasticsearch: a stream on its "
            "data source is answered by the plugin, which stsdebug cannot query from outside.",
            "Open the stream in the StackState UI: an empty chart with the source stage passing means the "
            "stream's filters (data source, filters, select) do not match what the plugin returns.",
        )
    cad = cadence_of(ctx, cen, kafka)
    span = _span(ctx.window, cad)
    checked = defs[:MAX_STREAMS]
    checks = [_check(ctx, es, cat, d, span, cad) for d in checked]
    table = _summary_table(ctx, checks, span)
    for d in elsewhere:
        table.rows.append([d.name, ", ".join(str(x) for x in d.conditions) or "(none)", d.metric or "(none)",
                           None, None, "not checked", f"data source {d.data_source}: answered by a plugin"])
    if len(defs) > MAX_STREAMS:
        table.note = f"{len(defs) - MAX_STREAMS} more streams were not checked (one search each)."
    evidence: list[Any] = [table]
    for c in checks:
        if c.status is Status.FAIL and c.rows:
            evidence.append(
                Table(
                    f"Stream '{c.stream.name}', condition by condition",
                    [
                        "condition",
                        "docs matching it alone",
                        "docs matching all the others",
                        "nearest stored values",
                    ],
                    c.rows,
                    note="Counts are documents in the window. A condition whose removal brings "
                    "documents back is the one that empties the stream.",
                )
            )
    evidence.append(
        Figures("Streams")
        .add("streams checked", len(checks))
        .add("layout", f"{cat.layout or 'unknown'} ({cat.layout_origin})")
        .add("indices searched", cat.pattern)
    )
    hints = [Hint(f"Stream '{c.stream.name}'{_source_words(c.stream)}: {c.fix}", RUNBOOK) for c in checks if c.fix]
    fails = [c for c in checks if c.status is Status.FAIL]
    warns = [c for c in checks if c.status is Status.WARN]
    if fails:
        hints.append(
            Hint(
                "Edit the stream in the StackState UI and pick its filters and its select (the metric) again "
                "with auto-complete, which offers the stored names and values; in a StackPack template, "
                "fix the MetricStream's query.conditions and query.metricField. A renamed metric or tag "
                "silently empties a stream.",
                RUNBOOK,
            )
        )
        shown = "; ".join(f"'{c.stream.name}': {c.reason.rstrip('.')}" for c in fails[:3])
        more = f" and {len(fails) - 3} more" if len(fails) > 3 else ""
        summary = (
            f"{len(fails)} of {len(checks)} stream{'s' if len(checks) != 1 else ''} "
            f"draw{'s' if len(checks) == 1 and len(fails) == 1 else ''} no data in the last "
            f"{span.spec}: {shown}{more}."
        )
        if len(checks) > 1 and all(c.no_data_at_all for c in checks):
            summary = (
                f"No stream draws data: there are no documents at all in {cat.pattern} in the "
                f"last {span.spec}."
            )
        elif len(checks) == 1:
            summary = (
                f"Stream '{fails[0].stream.name}' draws no data in the last {span.spec}: "
                f"{fails[0].reason}"
            )
        # Only a cause of its own when the data is known to be in Elasticsearch.
        missing = not upstream_ok or all(c.no_data_at_all or c.stale for c in fails)
        return ctx.result(Status.FAIL, summary, evidence, hints, missing_data=missing)
    if warns:
        shown = "; ".join(f"'{c.stream.name}': {c.reason.rstrip('.')}" for c in warns[:3])
        return ctx.result(
            Status.WARN,
            f"{len(warns)} of {len(checks)} streams need attention: {shown}.",
            evidence,
            hints,
        )
    total = sum(c.docs for c in checks)
    which = "The stream draws" if len(checks) == 1 else f"All {len(checks)} streams draw"
    return ctx.result(
        Status.PASS,
        f"{which} data: {total:,} matching document{'s' if total != 1 else ''} in the last "
        f"{span.spec}.",
        evidence,
        hints,
    )


def _source_words(d: StreamDef) -> str:
    """" (data source StackState Metrics, select system.load.norm)": the UI's words for a stream."""
    parts = []
    if d.data_source and not d.data_source.isdigit():
        parts.append(f"data source {d.data_source}")
    if d.data_source is not None and d.metric:
        parts.append(f"select {d.metric}")
    return f" ({', '.join(parts)})" if parts else ""


def _upstream_ok(ctx: Context) -> bool:
    es = ctx.results.get("elasticsearch")
    return es is not None and es.status in (Status.PASS, Status.WARN)


# --- one stream ------------------------------------------------------------------------------


def _span(window: Window, cad: Cadence) -> Window:
    """What a stream is searched over: the window, or, when the window is shorter than the time
    a series of this cadence may be silent, that time (a slow series is not empty, only slow)."""
    if window.seconds >= cad.stale_after:
        return window
    seconds = cad.stale_after
    spec = f"{seconds / 3600:g}h" if seconds >= 7200 else f"{seconds / 60:g}m" if seconds >= 120 else f"{seconds:g}s"
    return Window(window.end - seconds, window.end, spec)


def _check(ctx: Context, es: ESSource, cat: Catalog, d: StreamDef, span: Window, cad: Cadence) -> StreamCheck:
    fields = cat.fields
    given = d
    if cat.layout == "single" and d.metric and d.metric != "value" and not fields.has(d.metric):
        # One document per point: the UI's bare metric name is the document's name.
        d = replace(d, conditions=(*d.conditions, Condition("name", d.metric)), metric="value")
    metric, metric_note = _resolve_metric(cat, d.metric)
    bare = given.metric is not None and not given.metric.startswith("values.") and cat.layout != "single"

    def shown(field_name: str) -> str:
        return field_name.removeprefix("values.") if bare else field_name
    conds = [_cond_query(fields, c) for c in d.conditions]
    metric_q = {"exists": {"field": metric}} if metric else None
    newest = {"max": {"field": TS_FIELD}}
    aggs: dict[str, Any] = {"all": {"filter": all_of(*conds, metric_q), "aggs": {"newest": newest}}}
    for i, c in enumerate(d.conditions):
        rest = [q for j, q in enumerate(conds) if j != i]
        without_i: dict[str, Any] = {"filter": all_of(*rest, metric_q)}
        term_field = fields.term_field.get(c.key)
        if term_field:
            terms = {"terms": {"field": term_field, "size": SUGGEST_TERMS}}
            without_i["aggs"] = {"values": terms}
            aggs[f"near_{i}"] = terms
        aggs[f"without_{i}"] = without_i
        aggs[f"only_{i}"] = {"filter": conds[i]}
    candidates: list[str] = []
    if metric:
        candidates = _metric_candidates(cat, metric)
        without_metric: dict[str, Any] = {"filter": all_of(*conds)}
        if candidates:
            without_metric["aggs"] = {
                "candidates": {
                    "filters": {"filters": {n: {"exists": {"field": n}} for n in candidates}}
                }
            }
        aggs["without_metric"] = without_metric
        aggs["only_metric"] = {"filter": metric_q}
    window = window_query(span.start, span.end, TS_FIELD)
    target = cat.window_target if span is ctx.window else search_target(cat, span.start, span.end)
    body = es.search(target, window, aggs)
    a: dict[str, Any] = body.get("aggregations") or {}
    total = total_hits(body)
    matched = _count(a.get("all"))
    check = StreamCheck(given, metric, Status.PASS, docs=matched)
    check.newest = to_epoch_seconds(((a.get("all") or {}).get("newest") or {}).get("value"))

    if matched > 0:
        fresh = freshness.judge(check.newest, ctx.now, cad)
        if fresh.stale:
            check.status = Status.FAIL
            check.stale = True
            check.reason = f"it draws no current data: {fresh.clause('point')}; the data behind it stopped."
            check.fix = (
                "The data behind the stream stopped arriving: follow the earlier stages for the host or "
                "series its filters select."
            )
        elif metric is None:
            check.status = Status.WARN
            check.reason = (
                "no metric field given (metric=...), so only its conditions were checked."
            )
        if metric_note and check.status is Status.PASS:
            check.reason = metric_note
        return check

    check.status = Status.FAIL
    if total == 0:
        check.no_data_at_all = True
        check.reason = f"there are no documents at all in {cat.pattern} in the window."
        check.fix = "No data reached Elasticsearch in the window: see the earlier stages."
        # The mapping still tells whether the stream could match once data flows again.
        unknown = _unmapped(cat, d, metric, candidates)
        if unknown:
            check.reason = check.reason[:-1] + f"; besides, {unknown[0]}."
            check.fix += " Besides, " + "; ".join(unknown) + "."
        return check

    # Which condition empties it? A field missing from the mapping does for certain;
    # otherwise the condition whose removal alone brings documents back.
    rows: list[list[Any]] = []
    unmapped: list[str] = []  # fixes for fields that do not exist
    relaxed: list[tuple[str, str]] = []  # (what, fix) for conditions whose removal helps
    for i, c in enumerate(d.conditions):
        alone = _count(a.get(f"only_{i}"))
        without = a.get(f"without_{i}") or {}
        others = _count(without)
        if not fields.has(c.key):
            did = _nearest_field(fields, c.key)
            rows.append([str(c), alone, others, f"no field {c.key} in the mapping{did}"])
            unmapped.append(f"{c.key} is not a field of the indices{did}")
            continue
        # Values stored on the documents the other conditions match, else anywhere in the window.
        stored = without.get("values") if others > 0 else a.get(f"near_{i}")
        suggestions = rank(c.value, _options(stored))
        suspect = alone == 0 or others > 0
        rows.append([str(c), alone, others, suggestion_text(suggestions) if suspect else ""])
        if others > 0:
            relaxed.append(
                (str(c), fix_text(c.key, c.value, suggestions, alone=alone, selected=True))
            )
    if metric:
        alone = _count(a.get("only_metric"))
        without = a.get("without_metric") or {}
        others = _count(without)
        buckets = (without.get("candidates") or {}).get("buckets") or {}
        counted = [(n, _count(buckets.get(n))) for n in candidates]
        with_docs: list[tuple[str, int | None]] = [(n, k) for n, k in counted if k > 0]
        in_mapping = fields.has(metric)
        # With no document to count on, the mapping's names are still worth offering.
        offered = with_docs or [(n, None) for n in candidates]
        suggestions = rank(shown(metric), [(shown(n), k) for n, k in offered])
        label = f"metric field {shown(metric)}" + ("" if in_mapping else " (not in the mapping)")
        suspect = not in_mapping or alone == 0 or others > 0
        rows.append([label, alone, others, suggestion_text(suggestions) if suspect else ""])
        if not in_mapping:
            unmapped.append(metric_fix(shown(metric), "is not in the mapping", suggestions))
        elif others > 0:
            relaxed.append(
                (
                    f"metric field {shown(metric)}",
                    metric_fix(
                        shown(metric), "is on none of the documents its conditions match", suggestions
                    ),
                )
            )
    check.rows = rows
    if unmapped:
        check.reason = f"{first_only(unmapped[0])}."
        check.fix = "; ".join(unmapped + [fix for _, fix in relaxed]) + "."
        return check
    if len(relaxed) == 1:
        what, fix = relaxed[0]
        check.reason = f"{what} empties it ({first_only(fix)})."
        check.fix = fix + "."
        return check
    if relaxed:
        check.reason = (
            f"dropping any one of {', '.join(w for w, _ in relaxed)} brings documents back; "
            "together they match nothing."
        )
        check.fix = "; ".join(fix for _, fix in relaxed) + "."
        return check
    empty_alone = [i for i in range(len(d.conditions)) if _count(a.get(f"only_{i}")) == 0]
    if empty_alone:
        named = ", ".join(str(d.conditions[i]) for i in empty_alone)
        one = len(empty_alone) == 1
        check.reason = (
            f"{named} match{'es' if one else ''} no document in the window on "
            f"{'its' if one else 'their'} own."
        )
        check.fix = (
            "; ".join(
                fix_text(
                    d.conditions[i].key,
                    d.conditions[i].value,
                    rank(d.conditions[i].value, _options(a.get(f"near_{i}"))),
                )
                for i in empty_alone
            )
            + "."
        )
        return check
    check.reason = "each condition matches documents, but no document matches all of them together."
    check.fix = (
        "Compare the conditions with one document of the series "
        "(host, tags and metric name together)."
    )
    return check


def _unmapped(cat: Catalog, d: StreamDef, metric: str | None, candidates: list[str]) -> list[str]:
    """Fields of the stream that the mapping does not have, with the nearest mapped names."""
    fields = cat.fields
    out = []
    for c in d.conditions:
        if not fields.has(c.key):
            out.append(f"{c.key} is not a field of the indices{_nearest_field(fields, c.key)}")
    if metric and not fields.has(metric):
        suggestions = rank(metric, [(n, None) for n in candidates])
        out.append(metric_fix(metric, "is not in the mapping", suggestions))
    return out


def _nearest_field(fields: FieldMap, key: str) -> str:
    """"; did you mean tags.region" for a field the mapping does not have, or ""."""
    return did_you_mean(key, sorted(fields.leaves), n=SHOWN_SUGGESTIONS, end="")


def _options(terms: Any) -> list[tuple[str, int | None]]:
    """(value, docs) of a terms aggregation."""
    buckets = (terms or {}).get("buckets") if isinstance(terms, dict) else None
    return [
        (str(b.get("key")), int(b.get("doc_count") or 0))
        for b in buckets or []
        if isinstance(b, dict)
    ]


def _resolve_metric(cat: Catalog, metric: str | None) -> tuple[str | None, str]:
    """The metric field to query, and a note when it was read differently than given."""
    if metric is None:
        return ("value", "") if cat.layout == "single" else (None, "")
    fields = cat.fields
    if cat.layout == "multi" and not metric.startswith("values.") and not fields.has(metric):
        # The UI shows bare metric names; the multi-metric documents hold them under values.
        candidate = f"values.{metric}"
        return candidate, (f"metric field read as {candidate}." if fields.has(candidate) else "")
    return metric, ""


def _metric_candidates(cat: Catalog, metric: str) -> list[str]:
    """Mapped metric fields nearest to the one given (the given one is not among them)."""
    fields = cat.fields
    if cat.layout == "single":
        pool = [
            p for p, t in fields.leaves.items() if t not in ("keyword", "text", "date", "boolean")
        ]
    else:
        pool = [f"values.{n}" for n in fields.metric_names()]
    pool = [p for p in pool if p != metric and p != TS_FIELD and p != "timeReceived"]
    ranked = sorted(pool, key=lambda p: -similarity(metric, p))
    return ranked[:METRIC_CANDIDATES]


def _cond_query(fields: FieldMap, c: Condition) -> dict[str, Any]:
    """Exact match, as a telemetry stream's condition means it."""
    if c.key in fields.term_field:
        return {"term": {fields.term(c.key): c.value}}
    if fields.leaves.get(c.key) == "text":  # text without a keyword sub-field
        return {"match_phrase": {c.key: c.value}}
    return {"term": {c.key: c.value}}  # unmapped: matches nothing, as it would in StackState


# --- evidence --------------------------------------------------------------------------------


def _summary_table(ctx: Context, checks: list[StreamCheck], span: Window) -> Table:
    rows = []
    for c in checks:
        age = None if c.newest is None else round(max(0.0, ctx.now - c.newest), 1)
        rows.append(
            [
                c.stream.name,
                ", ".join(str(x) for x in c.stream.conditions) or "(none)",
                c.metric_field or "(none)",
                c.docs,
                age,
                c.status.value,
                c.reason,
            ]
        )
    return Table(
        f"Streams in the last {span.spec}",
        ["stream", "conditions", "metric field", "docs", "newest age (s)", "result", "why"],
        rows,
    )


def _count(agg: Any) -> int:
    return int((agg or {}).get("doc_count") or 0) if isinstance(agg, dict) else 0
