"""Stage `scope` (StackState 6): are all metrics missing, or only this integration's?

The runbook's first question, answered from VictoriaMetrics: the census service
(``ctx.census.victoriametrics()``, one bounded query) counts the series with a sample in the
window and the newest sample for every integration of the catalog, push and pull alike
(StackState's own services write pulled data, e.g. from clouds, to the same vmagent). An
integration is fresh when its newest sample is younger than its kind allows (pull data
arrives late by design).

Like the StackState 5 scope stage it says ``pass`` or ``warn`` only: it tells where to look,
and never hides the stage where the data stops.
"""

from __future__ import annotations

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.integrations import Integration, load_catalog
from stsdebug.model import Evidence, Figures, Hint, StageResult, Status, Table
from stsdebug.promnames import stored_prefix
from stsdebug.stages.base import Context
from stsdebug.stages.phrases import age, age_text, listing
from stsdebug.stages.v6.census import integration_series

TITLE = "Scale of impact"
BUDGET_CALLS = 4.0

RUNBOOK_1 = "Troubleshooting step 1: identify the scale of impact"
RUNBOOK_2 = "Troubleshooting step 2: the problem relates to a single integration"
RUNBOOK_3 = "Troubleshooting step 3: all metrics are missing"
FRESH_S = {"push": 300.0, "pull": 1200.0}


def run(ctx: Context) -> StageResult:
    try:
        census = ctx.census.victoriametrics()
    except SourceError as exc:
        return ctx.skip(f"No census possible: VictoriaMetrics could not be read ({str(exc).rstrip('.')}). "
                        "Its own stage says more.")
    if census is None:
        return ctx.skip(
            "No census source given; the scale of impact needs --victoria-metrics or --prometheus-api.",
            f"Give VictoriaMetrics so stsdebug can tell whether all metrics or only "
            f"{ctx.integration.name}'s are missing.",
        )
    name = ctx.integration.name
    rows, fresh = _integrations(ctx, census)
    figures = (Figures("Census of the window (VictoriaMetrics)")
               .add("Series with a sample in the window (catalog prefixes)", census.total)
               .add(f"{name} series", census.matched)
               .add(f"{name} newest sample age", age(ctx.now, census.matched_newest), "s")
               .add("Newest sample of any catalog prefix", age(ctx.now, census.newest), "s"))
    table = Table("Integrations in VictoriaMetrics", ["integration", "kind", "metric names", "series",
                                                      "newest sample age (s)", "state"], rows,
                  note=census.note or None)
    evidence: list[Evidence] = [figures, table]
    ours_fresh = _fresh(ctx, ctx.integration, census.matched, census.matched_newest)
    others = sorted(n for n in fresh if n != name)
    if not fresh and not ours_fresh:
        return ctx.result(
            Status.WARN,
            f"All metrics are missing: no integration of the catalog has a fresh sample in "
            f"VictoriaMetrics in the last {ctx.window.spec}.",
            evidence,
            [Hint("Every integration is affected, so look at the shared path first: the receiver "
                  "(readiness, its log), vmagent (buffer, send errors) and VictoriaMetrics (health, "
                  "rows ignored).", RUNBOOK_3)],
        )
    if not ours_fresh:
        what = ("has no series in the window" if not census.matched else
                f"stopped: its newest sample is {age_text(ctx.now - (census.matched_newest or ctx.now))} old")
        hints = [Hint(f"The metrics path works for other data, so the problem is specific to {name}: "
                      "follow the stages below from the first one that fails.", RUNBOOK_2)]
        if ctx.matcher.prefixes:
            hints.append(Hint(
                f"stsdebug recognises {name} by {ctx.matcher.describe()} (stored with _ for .); if its "
                "metrics are named differently, pass --metric-prefix, --host or --tag.", RUNBOOK_1))
        return ctx.result(
            Status.WARN,
            f"Only {name} is missing: it {what}, while {len(others)} other integration"
            f"{'s are' if len(others) != 1 else ' is'} fresh ({listing(others, 6)}).",
            evidence, hints)
    also = f"; {len(others)} other integration{'s' if len(others) != 1 else ''} fresh" if others else ""
    return ctx.result(
        Status.PASS,
        f"{name} data is present in VictoriaMetrics ({census.matched:,} series, the newest sample "
        f"{age_text(max(0.0, ctx.now - (census.matched_newest or ctx.now)))} old){also}.",
        evidence)


def _fresh(ctx: Context, integration: Integration, series: int, newest: float | None) -> bool:
    if not series or newest is None:
        return False
    return ctx.now - newest <= FRESH_S.get(integration.kind, 300.0)


def _integrations(ctx: Context, census: Census) -> tuple[list[list[object]], set[str]]:
    """One row per catalog integration with metric prefixes; the names of the fresh ones."""
    rows: list[list[object]] = []
    fresh: set[str] = set()
    for entry in load_catalog().values():
        prefixes = [stored_prefix(p) for p in entry.metric_prefixes]
        if not prefixes:
            continue
        _, series, newest = integration_series(census, entry)
        is_fresh = _fresh(ctx, entry, series, newest)
        if is_fresh:
            fresh.add(entry.name)
        state = "fresh" if is_fresh else ("stale" if series else "absent")
        rows.append([entry.name, entry.kind, ", ".join(p + "*" for p in prefixes), series,
                     age(ctx.now, newest), state])
    rows.sort(key=lambda r: (r[0] != ctx.integration.name, r[5] != "fresh", str(r[0])))
    return rows, fresh
