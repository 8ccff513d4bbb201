"""Stage `bindings` (StackState 6): do the metric bindings that chart the integration draw
data, and if not, which part of their PromQL empties them?

The counterpart of the streams stage: in StackState 6 a component's charts are PromQL
metric bindings with ``${tags.*}`` placeholders filled from the component's labels, and
the v6 docs name a binding that selects nothing as the most common "no data" cause.

Inputs: ``--binding 'QUERY'`` (repeatable, always checked), ``--bindings-file FILE``
(MetricBinding or ComponentPresentation nodes, as ``sts settings describe --type
MetricBinding`` exports them; those reading the integration's metrics are checked),
``--component-tag KEY=VALUE`` and ``--component-name`` for the placeholders, and the
query API (``--victoria-metrics`` or StackState's ``--prometheus-api``). The explainer
(stsdebug.stages.v6.explain) runs each query over the window and, when it is empty, finds
the placeholder, metric name or label matcher that empties it.

* fail  - a binding draws nothing (or stopped): unresolved placeholder, renamed metric, a
          matcher no stored series satisfies (with the stored values nearest to it), a
          query VictoriaMetrics refuses; "no data arrived" (blocked after an earlier
          failure) when its metric has no data at all.
* pass  - every binding checked draws fresh data.
* error - no binding could be checked (the query API failed each time).
* skip  - no binding, no query API, or no binding reads this integration's metrics.
"""

from __future__ import annotations

from stsdebug import bindings
from stsdebug.errors import SourceError, UsageError
from stsdebug.model import Evidence, Hint, StageResult, Status, Table, Text
from stsdebug.promnames import stored_prefix
from stsdebug.stages.base import Context
from stsdebug.stages.phrases import age, listing
from stsdebug.stages.v6.explain import Budget, BudgetSpent, Explained, Explainer

TITLE = "Metric bindings"
MAX_REQUESTS = 40  # every query the explainer sends, for all bindings together
BUDGET_CALLS = MAX_REQUESTS * 0.6  # most answer far within the timeout
MAX_QUERIES = 20  # binding queries checked per trace
FRESH_S = {"push": 180.0, "pull": 1200.0}
INTERVAL = "1m"  # ${__interval}: the chart's step, which depends on its width in the UI
RUNBOOK = "StackState 6: metric bindings (k8sTs-metrics-troubleshooting)"


def parse_component_tags(items: list[str]) -> dict[str, list[str]]:
    """``KEY=VALUE`` or StackState's own ``key:value`` labels; a key may repeat."""
    tags: dict[str, list[str]] = {}
    for raw in items:
        key, sep, value = raw.partition("=") if "=" in raw else raw.partition(":")
        if not sep or not key.strip():
            raise UsageError(f"--component-tag {raw!r}: expected KEY=VALUE (or key:value)")
        tags.setdefault(key.strip(), []).append(value.strip())
    return tags


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    if not (s.bindings or s.bindings_file):
        return ctx.skip(
            "No metric binding given (--binding or --bindings-file).",
            "Give the query of the empty chart (--binding 'QUERY'; the chart's inspector shows it) "
            "with the component's labels (--component-tag KEY=VALUE), or export the bindings with "
            "`sts settings describe --type MetricBinding > bindings.sty` and give --bindings-file.",
        )
    if not (s.victoria_metrics or s.prometheus_api):
        return ctx.skip(
            "No query API to run the bindings against (--victoria-metrics or --prometheus-api).")
    tags = parse_component_tags(s.component_tag)
    chosen, skipped = _for_integration(ctx, bindings.given(s.bindings, s.bindings_file))
    if not chosen:
        return ctx.skip(skipped or "No enabled binding to check.")
    w = ctx.window
    explainer = Explainer(ctx.prometheus, w.start, w.end,
                          fresh_after=w.end - FRESH_S.get(ctx.integration.kind, 180.0),
                          budget=Budget(MAX_REQUESTS), cancel=ctx.cancel)
    results: list[Explained] = []
    unexplained = 0
    queries = [(b, q) for b in chosen for q in b.queries]
    for b, q in queries[:MAX_QUERIES]:
        try:
            results.append(explainer.explain(b.name, q.expression, tags, s.component_name, INTERVAL))
        except BudgetSpent:
            unexplained += 1
        except SourceError as exc:  # this binding could not be looked at; the others still can
            results.append(Explained(b.name, q.expression, q.expression, Status.ERROR,
                                     f"could not be checked: {str(exc).rstrip('.')}."))
    unexplained += max(0, len(queries) - MAX_QUERIES)
    return _judge(ctx, results, unexplained, skipped, explainer.budget.used)


def _for_integration(ctx: Context, found: list[bindings.MetricBinding]
                     ) -> tuple[list[bindings.MetricBinding], str]:
    """Bindings to check: every --binding; from a file, the enabled ones that read the
    integration's metrics (all of them when the integration has no metric prefix)."""
    prefixes = tuple(stored_prefix(p) for p in ctx.matcher.prefixes)
    chosen = []
    disabled = 0
    other = 0
    for b in found:
        if b.node_type == "--binding":
            chosen.append(b)
        elif not b.enabled:
            disabled += 1
        elif not prefixes or any(_reads(q.expression, prefixes) for q in b.queries):
            chosen.append(b)
        else:
            other += 1
    notes = []
    if other:
        notes.append(f"{other} binding{'s' if other != 1 else ''} read other metrics than "
                     f"{ctx.integration.name}'s ({listing([p + '*' for p in prefixes], 4)})")
    if disabled:
        notes.append(f"{disabled} disabled")
    return chosen, ("; ".join(notes) + ".") if notes and not chosen else ("; ".join(notes))


def _reads(expression: str, prefixes: tuple[str, ...]) -> bool:
    from stsdebug.promql import PromQLSyntaxError, selectors

    try:
        names = [sel.metric or "" for sel in selectors(expression)]
    except PromQLSyntaxError:
        return True  # unreadable: check it, the explainer says why
    return any(n.startswith(prefixes) for n in names)


def _judge(ctx: Context, results: list[Explained], unexplained: int, skipped: str,
           requests: int) -> StageResult:
    failed = [r for r in results if r.status is not Status.PASS]
    evidence: list[Evidence] = [_table(ctx, results)]
    hints: list[Hint] = []
    for r in failed[:5]:
        lines = [f"Query: {r.filled}", f"Finding: {r.sentence}"]
        lines += [f"Fix: {s.text}" for s in r.suggestions]
        evidence.append(Text(f"Binding {r.binding!r}", "\n".join(lines)))
        for sug in r.suggestions:
            if sug.ranked and sug.label not in ("label", "component label"):
                evidence.append(Table(
                    f"Stored {'metric names' if sug.label == '__name__' else sug.label + ' values'} "
                    f"nearest to {r.binding!r}'s",
                    ["value", "series in the window", "similarity"],
                    [[x.value, x.count, round(x.score, 2)] for x in sug.ranked]))
    notes = [f"{requests} requests to the query API"]
    if skipped:
        notes.append(f"not checked: {skipped.rstrip('.')}")
    table = evidence[0]
    assert isinstance(table, Table)
    table.note = "; ".join(notes) + "."
    tail = ""
    if unexplained:
        tail = (f" ({unexplained} binding quer{'ies were' if unexplained != 1 else 'y was'} not checked: at "
                f"most {MAX_QUERIES} queries and {MAX_REQUESTS} requests per trace)")
    if not failed:
        if not results:
            return ctx.skip(f"No binding could be checked{tail}.")
        n = len(results)
        return ctx.result(Status.PASS, f"{n} binding quer{'ies draw' if n != 1 else 'y draws'} fresh "
                          f"data{tail}.", evidence)
    if all(r.status is Status.ERROR for r in failed):
        first = failed[0]
        return ctx.result(Status.ERROR, f"Binding {first.binding!r} {first.sentence}{tail}", evidence)
    failed = [r for r in failed if r.status is not Status.ERROR] + [r for r in failed if r.status is Status.ERROR]
    first = failed[0]
    hints.append(Hint(
        "StackState fills ${tags.KEY} from the component's labels and runs the query as a chart "
        "would; fix the binding (sts settings apply -f) or the labels it relies on.", RUNBOOK))
    own = [r for r in failed if not r.missing_data and r.status is not Status.ERROR]
    summary = (f"Binding {first.binding!r} {first.sentence}"
               + (f" ({len(failed)} of {len(results)} binding queries draw nothing.)" if len(results) > 1 else "")
               + tail)
    if not own:
        hints.append(Hint("The bindings look right but their metrics have no data: the earlier stages "
                          "say where it stops.", RUNBOOK))
    return ctx.result(Status.FAIL, summary, evidence, hints, missing_data=not own)


def _table(ctx: Context, results: list[Explained]) -> Table:
    rows = []
    for r in results:
        query = r.filled if len(r.filled) <= 120 else r.filled[:119] + "…"
        rows.append([r.binding, query, r.series, age(ctx.now, r.newest), r.status.word])
    return Table("Bindings checked over the window", ["binding", "query (placeholders filled)", "series",
                                                       "newest point age (s)", "result"], rows)
