"""Stage `scope`: the runbook's first question — are all metrics missing, or only this integration's?

It takes a census of metric prefixes in the window from Kafka (push) and Elasticsearch,
says which are fresh, concludes "all metrics are missing" (look at shared
infrastructure) or "only this integration", and, when both systems were read,
reconciles the integration's counts between them. The censuses come from the census
service (``ctx.census``), whose reads the Kafka and Elasticsearch stages reuse.
"""

from __future__ import annotations

from collections.abc import Callable

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.model import Evidence, Figures, Hint, StageResult, Status, Table
from stsdebug.stages.base import Context
from stsdebug.stages.phrases import age, listing

TITLE = "Scale of impact"
BUDGET_CALLS = 8.0  # it may perform the Kafka and Elasticsearch reads for the later stages

RUNBOOK_1 = "Troubleshooting step 1: identify the scale of impact"
RUNBOOK_2 = "Troubleshooting step 2: the problem relates to a single integration"
RUNBOOK_3 = "Troubleshooting step 3: all metrics are missing"
# Records younger than this may still be on their way from Kafka to Elasticsearch.
IN_FLIGHT_S = 30.0


def _read(take: Callable[[], Census | None]) -> tuple[Census | None, str | None]:
    try:
        return take(), None
    except SourceError as exc:
        return None, str(exc)


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
    table = _prefix_table(ctx, censuses)
    figures = Figures("Census of the window")
    for system, c in censuses.items():
        approx = " (sampled)" if c.sampled else ""
        figures.add(f"{system}: records in window{approx}", c.total)
        figures.add(f"{system}: {name} records", c.matched)
        figures.add(f"{system}: newest record age", age(ctx.now, c.newest), "s")
    evidence: list[Evidence] = [figures, table]
    hints: list[Hint] = []

    if all(c.total == 0 for c in censuses.values()):
        where = " and ".join(censuses)
        hints += [
            Hint(
                "Every integration is affected, so look at the shared infrastructure first: "
                "receiver health and logs, the sts_multi_metrics topic, the Kafka-to-Elasticsearch "
                "mover (mm2es) and its lag, Elasticsearch health and write blocks.",
                RUNBOOK_3,
            )
        ]
        return ctx.result(
            Status.WARN,
            f"All metrics are missing: no records at all in {where} in the last {ctx.window.spec}.",
            evidence,
            hints,
        )

    summary_parts: list[str] = []
    status = Status.PASS
    present = {s: c for s, c in censuses.items() if c.matched > 0}
    if not present:
        fresh = {p for c in censuses.values() for p, pc in c.prefixes.items() if pc.records}
        status = Status.WARN
        summary_parts.append(
            f"Only {name} is missing: {len(fresh)} other metric prefix"
            f"{'es are' if len(fresh) != 1 else ' is'} fresh ({listing(sorted(fresh), 6)})."
        )
        hints.append(
            Hint(
                f"The pipeline works for other data, so the problem is specific to {name}: "
                "follow the stages below from the first one that fails.",
                RUNBOOK_2,
            )
        )
        if ctx.matcher.prefixes:
            hints.append(
                Hint(
                    f"stsdebug recognises {name} by {ctx.matcher.describe()}; if its metrics are "
                    "named differently, pass --metric-prefix, --host or --tag.",
                    RUNBOOK_1,
                )
            )
    else:
        parts = [f"{c.matched:,} in {s}" for s, c in present.items()]
        summary_parts.append(f"{name} data is present in the window ({', '.join(parts)}).")

    kafka_c, es_c = censuses.get("Kafka"), censuses.get("Elasticsearch")
    if kafka_c is not None and es_c is not None and kafka_c.decoded:
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
    if problems:
        summary_parts.append("Partial census: " + "; ".join(problems) + ".")
    return ctx.result(status, " ".join(summary_parts), evidence, hints)


def _prefix_table(ctx: Context, censuses: dict[str, Census]) -> Table:
    systems = list(censuses)
    prefixes = sorted({p for c in censuses.values() for p in c.prefixes})
    columns = ["prefix", "this integration"]
    for s in systems:
        columns += [f"{s} records", f"{s} newest age (s)"]
    rows = []
    for p in prefixes:
        ours = "yes" if ctx.matcher.prefixes and any(
            p.startswith(x) or x.startswith(p) for x in ctx.matcher.prefixes
        ) else ""
        row: list[object] = [p, ours]
        for s in systems:
            pc = censuses[s].prefixes.get(p)
            row += [pc.records if pc else 0, age(ctx.now, pc.newest) if pc else None]
        rows.append(row)
    # The integration's own prefixes appear even when nothing carries them.
    for x in ctx.matcher.prefixes:
        if not any(r[0] == x for r in rows):
            rows.append([x, "yes"] + [0, None] * len(systems))
    rows.sort(key=lambda r: (r[1] != "yes", r[0]))
    notes = [c.note for c in censuses.values() if c.note]
    return Table("Metric prefixes in the window", columns, rows, note=" ".join(notes) or None)
