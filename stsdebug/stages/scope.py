"""Stage `scope`: the runbook's first question — are all metrics missing, or only this integration's?

It takes a census of metric prefixes from Kafka (push) and Elasticsearch, ties each prefix
to the catalog's integrations and their kind (push or pull), and judges each one fresh or
stale against its reporting interval (``stages.freshness``), not against the window. Then
it concludes: only this integration stopped (look at its own source); every push
integration stopped while pull data is fresh (the shared push path: agents' connection,
receiver, Kafka, mm2es); every pull integration stopped while push data is fresh (the
StackState server and its plugins); or everything stopped. When both systems were read it
reconciles the integration's counts between them. The scope stage only ever says `pass` or
`warn`: it points where to look, and the stages after it say where the data stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stsdebug.census import Census, HostClock
from stsdebug.errors import SourceError
from stsdebug.integrations import Integration, load_catalog
from stsdebug.model import Evidence, Figures, Hint, StageResult, Status, Table
from stsdebug.stages import freshness
from stsdebug.stages.base import Context
from stsdebug.stages.census import cadence_of
from stsdebug.stages.clocks import clock_skew
from stsdebug.stages.freshness import Cadence
from stsdebug.stages.phrases import age, age_text, listing

TITLE = "Scale of impact"
BUDGET_CALLS = 8.0  # it may perform the Kafka and Elasticsearch reads for the later stages

RUNBOOK_1 = "Troubleshooting step 1: identify the scale of impact"
RUNBOOK_2 = "Troubleshooting step 2: the problem relates to a single integration"
RUNBOOK_3 = "Troubleshooting step 3: all metrics are missing"
# Records younger than this may still be on their way from Kafka to Elasticsearch.
IN_FLIGHT_S = 30.0
SHARED_PUSH = "the agents' connection, the receiver, Kafka (sts_multi_metrics) and the mm2es mover"
SHARED_PULL = "the StackState server and its telemetry plugins (the server log shows their errors)"


def _read(take: Callable[[], Census | None]) -> tuple[Census | None, str | None]:
    try:
        return take(), None
    except SourceError as exc:
        return None, str(exc)


@dataclass
class Group:
    """What the censuses show of one integration (or of a prefix no integration claims)."""

    name: str
    kind: str  # push | pull
    prefixes: list[str] = field(default_factory=list)
    records: int = 0  # in the window
    newest: float | None = None
    state: str = freshness.UNSEEN
    cadence: Cadence | None = None


def run(ctx: Context) -> StageResult:
    censuses: dict[str, Census] = {}
    problems: list[str] = []
    if ctx.integration.kind == "push":
        kafka, err = _read(ctx.census.kafka)
        if kafka is not None:
            censuses["Kafka"] = kafka
        if err:
            problems.append(f"Kafka could not be read ({err.rstrip('.')})")
    es, err = _read(ctx.census.elasticsearch)
    if es is not None:
        censuses["Elasticsearch"] = es
    if err:
        problems.append(f"Elasticsearch could not be read ({err.rstrip('.')})")

    if not censuses:
        if problems:
            return ctx.skip(
                "No census possible: " + "; ".join(problems) + ". Their own stages say more."
            )
        systems = "--kafka / --sts-api or --es" if ctx.integration.kind == "push" else "--es"
        return ctx.skip(
            f"No census source given; the scale of impact needs {systems}.",
            "Give Kafka or Elasticsearch so stsdebug can tell whether all metrics or only "
            f"{ctx.integration.name}'s are missing.",
        )

    name = ctx.integration.name
    own_cadence = cadence_of(ctx, *censuses.values())
    groups = groups_of(ctx, censuses, own_cadence)
    ours = _ours(ctx, censuses, own_cadence)
    figures = Figures("Census of the window")
    for system, c in censuses.items():
        approx = " (sampled)" if c.sampled else ""
        figures.add(f"{system}: records in window{approx}", c.total)
        figures.add(f"{system}: {name} records", c.matched)
        figures.add(f"{system}: newest record age", age(ctx.now, c.newest), "s")
    figures.add(f"{name} reporting interval", f"{own_cadence.seconds:g} s ({own_cadence.basis})")
    evidence: list[Evidence] = [figures, _prefix_table(ctx, censuses, groups)]
    hints: list[Hint] = []

    others = [g for g in groups if g.name != name]
    fresh = [g for g in others if g.state == freshness.FRESH]
    stale = [g for g in others if g.state == freshness.STALE]
    by_kind = _by_kind(groups)
    summary_parts: list[str] = []
    status = Status.PASS
    where = " and ".join(censuses)

    if ctx.integration.on_demand and ours.state != freshness.FRESH:
        # Retrieved when viewed and stored nowhere: a census cannot see it, so it is no evidence.
        summary_parts.append(
            f"{name} metrics are retrieved on demand by the StackState plugin and not stored, so the census "
            f"cannot show them; the source stage judges the plugin. By kind: {by_kind}."
        )
    elif not any(g.state == freshness.FRESH for g in groups) and ours.state != freshness.FRESH:
        status = Status.WARN
        seen = [g for g in groups if g.newest is not None]
        if seen:
            newest = max(g.newest for g in seen if g.newest is not None)
            summary_parts.append(
                f"All metrics stopped: nothing in {where} is fresh; the newest record of any kind is "
                f"{age_text(ctx.now - newest)} old ({by_kind})."
            )
        else:
            summary_parts.append(f"All metrics are missing: no records at all in {where} in the last {ctx.window.spec}.")
        hints.append(Hint(
            "Every integration is affected, so look at the shared infrastructure first: receiver health "
            "and logs, the sts_multi_metrics topic, the Kafka-to-Elasticsearch mover (mm2es) and its lag, "
            "Elasticsearch health and write blocks.",
            RUNBOOK_3,
        ))
    elif ours.state == freshness.FRESH:
        parts = [f"{c.matched:,} in {s}" for s, c in censuses.items() if c.matched]
        if parts:
            summary_parts.append(f"{name} data is present in the window ({', '.join(parts)}).")
        else:
            summary_parts.append(f"{name} data is on time: {freshness.judge(ours.newest, ctx.now, own_cadence).clause(f'{name} record')}.")
    else:
        status = Status.WARN
        kind = ctx.integration.kind
        same = [g for g in others if g.kind == kind and g.newest is not None]
        other_kind = [g for g in others if g.kind != kind and g.newest is not None]
        whole_kind_stale = bool(same) and all(g.state == freshness.STALE for g in same)
        other_fresh = [g for g in other_kind if g.state == freshness.FRESH]
        how = "is missing" if ours.state == freshness.UNSEEN else "stopped"
        if whole_kind_stale and other_fresh:
            shared = SHARED_PUSH if kind == "push" else SHARED_PULL
            summary_parts.append(
                f"Not only {name}: every {kind} integration stopped ({_names(same + [ours])}) while "
                f"{'pull' if kind == 'push' else 'push'} data is fresh ({_names(other_fresh)}), so the "
                f"shared {kind} path stopped: {shared}."
            )
            hints.append(Hint(
                f"Look at what every {kind} integration shares: {shared}. The first stage below that fails "
                "names the broken link.",
                RUNBOOK_3,
            ))
        elif fresh:
            summary_parts.append(
                f"Only {name} {how}: {len(fresh)} other integration"
                f"{'s are' if len(fresh) != 1 else ' is'} fresh ({_names(fresh, 6)})."
            )
            hints.append(Hint(
                f"The pipeline works for other data, so the problem is specific to {name}: "
                "follow the stages below from the first one that fails.",
                RUNBOOK_2,
            ))
            if ctx.matcher.prefixes:
                hints.append(Hint(
                    f"stsdebug recognises {name} by {ctx.matcher.describe()}; if its metrics are "
                    "named differently, pass --metric-prefix, --host or --tag.",
                    RUNBOOK_1,
                ))
        else:
            summary_parts.append(f"{name} {how}, and no other data is fresh either ({by_kind}).")
        if stale and not (whole_kind_stale and other_fresh):
            summary_parts.append(f"Also stopped: {_names(stale, 6)}.")

    kafka_c, es_c = censuses.get("Kafka"), censuses.get("Elasticsearch")
    skewed = clock_skew(kafka_c.clocks, own_cadence) if kafka_c is not None else []
    if skewed:
        # Elasticsearch files the points under the time they carry: compared by time, every
        # one would look lost. The Kafka stage names the host.
        summary_parts.append(
            f"{len(skewed)} host{'s' if len(skewed) != 1 else ''} ({_hosts(skewed)}) send points stamped far "
            "from when they arrive, so the Kafka and Elasticsearch counts of the window are not compared."
        )
    elif kafka_c is not None and es_c is not None and kafka_c.decoded:
        missing = kafka_c.matched - es_c.matched
        approx = "about " if kafka_c.sampled or es_c.sampled else ""
        evidence.append(
            Table(
                f"Reconciliation of {name} records, Kafka → Elasticsearch",
                ["Kafka records", "Elasticsearch documents", "did not make it"],
                [[kafka_c.matched, es_c.matched, max(0, missing)]],
                note=(
                    "Kafka's count is from a bounded sample of the window. "
                    if kafka_c.sampled
                    else ""
                )
                + f"Records younger than {IN_FLIGHT_S:.0f} s may still be on their way.",
            )
        )
        if kafka_c.matched > 0 and missing > max(5, 0.05 * kafka_c.matched):
            status = Status.WARN
            summary_parts.append(
                f"{approx}{missing:,} of {kafka_c.matched:,} {name} records on Kafka did not "
                "reach Elasticsearch."
            )
            hints.append(
                Hint(
                    "Records reach Kafka but not Elasticsearch: check the mm2es mover and "
                    "Elasticsearch limits (field limit, write blocks, disk watermarks).",
                    RUNBOOK_2,
                )
            )
    if groups and status is Status.PASS and "By kind" not in " ".join(summary_parts):
        summary_parts.append(f"By kind: {by_kind}.")
    if problems:
        summary_parts.append("Partial census: " + "; ".join(problems) + ".")
    return ctx.result(status, " ".join(summary_parts), evidence, hints)


# --- integrations in the census -----------------------------------------------------------


def _owner(prefix: str, catalog: list[Integration]) -> Integration | None:
    for i in catalog:
        if any(prefix.startswith(p) or p.startswith(prefix) for p in i.metric_prefixes):
            return i
    return None


def groups_of(ctx: Context, censuses: dict[str, Census], own: Cadence | None) -> list[Group]:
    """Every integration (or unclaimed prefix) the censuses show, judged fresh or stale against
    its reporting interval (``own`` for the integration under diagnosis)."""
    catalog = [i for i in load_catalog().values() if i.metric_prefixes and i.name != ctx.integration.name]
    out: dict[str, Group] = {}
    for c in censuses.values():
        for p, pc in c.prefixes.items():
            mine = bool(ctx.matcher.prefixes) and any(
                p.startswith(x) or x.startswith(p) for x in ctx.matcher.prefixes
            )
            owner = None if mine else _owner(p, catalog)
            if mine:
                key, kind = ctx.integration.name, ctx.integration.kind
            elif owner is not None:
                key, kind = owner.name, owner.kind
            else:
                key, kind = p, "push"  # a prefix no integration claims came through the receiver
            g = out.setdefault(key, Group(key, kind))
            if p not in g.prefixes:
                g.prefixes.append(p)
            g.records += pc.records
            if pc.newest is not None and (g.newest is None or pc.newest > g.newest):
                g.newest = pc.newest
            if mine and own is not None:
                g.cadence = own
            elif owner is not None and owner.interval_s:
                g.cadence = Cadence(owner.interval_s, f"the catalog's default for {owner.name}")
    for g in out.values():
        g.cadence = g.cadence or freshness.cadence([])
        g.state = freshness.judge(g.newest, ctx.now, g.cadence).state
    return sorted(out.values(), key=lambda g: (g.kind, g.name))


def _ours(ctx: Context, censuses: dict[str, Census], own: Cadence) -> Group:
    """The integration under diagnosis, from the censuses' own matching (hosts and tags too)."""
    g = Group(ctx.integration.name, ctx.integration.kind, cadence=own)
    for c in censuses.values():
        g.records += c.matched
        if c.matched_newest is not None and (g.newest is None or c.matched_newest > g.newest):
            g.newest = c.matched_newest
    g.state = freshness.judge(g.newest, ctx.now, own).state
    return g


def _hosts(clocks: list[HostClock]) -> str:
    return listing([h.host or "(no host)" for h in clocks], 4)


def _names(groups: list[Group], limit: int = 5) -> str:
    return listing(sorted({g.name for g in groups}), limit)


def _by_kind(groups: list[Group]) -> str:
    parts = []
    for kind in ("push", "pull"):
        for state in (freshness.FRESH, freshness.STALE):
            names = [g.name for g in groups if g.kind == kind and g.state == state]
            if names:
                parts.append(f"{kind} {state}: {listing(names, 6)}")
    return "; ".join(parts) or "nothing seen"


def _prefix_table(ctx: Context, censuses: dict[str, Census], groups: list[Group]) -> Table:
    systems = list(censuses)
    of_prefix = {p: g for g in groups for p in g.prefixes}
    prefixes = sorted({p for c in censuses.values() for p in c.prefixes})
    columns = ["prefix", "this integration", "integration", "kind", "state"]
    for s in systems:
        columns += [f"{s} records", f"{s} newest age (s)"]
    rows = []
    for p in prefixes:
        ours = "yes" if ctx.matcher.prefixes and any(
            p.startswith(x) or x.startswith(p) for x in ctx.matcher.prefixes
        ) else ""
        g = of_prefix.get(p)
        row: list[object] = [p, ours, g.name if g else "", g.kind if g else "", g.state if g else ""]
        for s in systems:
            pc = censuses[s].prefixes.get(p)
            row += [pc.records if pc else 0, age(ctx.now, pc.newest) if pc else None]
        rows.append(row)
    # The integration's own prefixes appear even when nothing carries them.
    for x in ctx.matcher.prefixes:
        if not any(r[0] == x for r in rows):
            rows.append([x, "yes", ctx.integration.name, ctx.integration.kind, freshness.UNSEEN]
                        + [0, None] * len(systems))
    rows.sort(key=lambda r: (r[1] != "yes", r[0]))
    notes = [c.note for c in censuses.values() if c.note]
    notes.append("Fresh or stale by each integration's reporting interval (the catalog's, or measured), "
                  "not by the window; newest ages look back before the window where the read reaches.")
    return Table("Metric prefixes in the window", columns, rows, note=" ".join(notes))
