"""Stage `elasticsearch`: did the integration's data land in the metric indices, and can it?

Checks, with a bounded number of requests whatever the number of indices (see
bench/README.md): cluster health; the indices matching the pattern with their doc
counts and whether today's daily index exists; write blocks (``read_only_allow_delete``
from the flood-stage watermark, ``read_only``, ``write``) and disk use against the
watermarks; the write index's field count against ``index.mapping.total_fields.limit``;
and, through aggregations only, the integration's documents in the window and the
newest one's age.

The index list, the mappings and the census it judges are read once per trace in
``es_catalog`` (shared with the streams stage and the census service).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.integrations import prefix_of
from stsdebug.model import Evidence, Figures, Hint, StageResult, Status, Table, Text
from stsdebug.sources.es import ESSource
from stsdebug.sources.es_answers import Health, IndexSettings, NodeDisk, Watermarks
from stsdebug.sources.es_query import MATCH_NONE, all_of, to_epoch_seconds, total_hits
from stsdebug.stages import freshness
from stsdebug.stages.base import Context
from stsdebug.stages.census import cadence_of, peek
from stsdebug.stages.clocks import clock_finding, clock_skew, clock_table
from stsdebug.stages.es_catalog import (
    DATED,
    TS_FIELD,
    Catalog,
    catalog,
    integration_query,
)
from stsdebug.stages.freshness import UNSEEN, Freshness
from stsdebug.stages.phrases import age_text, listing
from stsdebug.suggest import did_you_mean

TITLE = "Elasticsearch"
# info (+ the client's product check), health, index list, settings, mappings,
# allocation, cluster settings, census (up to MAX_CENSUS_REQUESTS), stale lookup (2).
BUDGET_CALLS = 16.0
RUNBOOK = "Troubleshooting step 2 / Elasticsearch"

FIELD_WARN_RATIO = 0.9  # warn at 90% of index.mapping.total_fields.limit
FUTURE_SKEW_S = 300.0
SHOWN_INDICES = 15


# --- the stage ------------------------------------------------------------------------------


@dataclass
class _Findings:
    fails: list[str] = field(default_factory=list)  # real causes
    missing: list[str] = field(default_factory=list)  # "no data arrived here"
    clock: list[str] = field(default_factory=list)  # data arrives, stamped far from its arrival
    warns: list[str] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)

    def hint(self, text: str) -> None:
        if all(h.text != text for h in self.hints):
            self.hints.append(Hint(text, RUNBOOK))


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    if not s.es:
        return ctx.skip(
            "No Elasticsearch URL given, so the metric indices were not checked.",
            "Give --es http://<stackstate-elasticsearch-master>:9200 (and --es-username/"
            "--es-password-env or --es-api-key-env if security is on).",
        )
    es = ctx.es
    version = es.version()
    health = es.health()
    cat = catalog(ctx)
    settings = es.index_settings(cat.pattern) if cat.indices else {}
    disks = es.allocation()
    marks = es.watermarks()
    cen = ctx.census.elasticsearch()
    assert cen is not None
    name = ctx.integration.name
    f = _Findings()

    if health.status == "red":
        red = [i.name for i in cat.indices if i.health == "red"]
        where = f" (red indices: {listing(red)})" if red else ""
        f.fails.append(f"Cluster health is red{where}: some primary shards are unassigned.")
        f.hint(
            "Find out why shards are unassigned: GET _cluster/allocation/explain, and "
            "GET _cat/shards?v&h=index,shard,prirep,state,unassigned.reason."
        )

    _check_disk(disks, marks, f)
    write_index = cat.write_index
    if not cat.indices:
        f.missing.append(f"No index matches {cat.pattern}.")
        f.hint(_pattern_hint(es, cat.pattern))
    else:
        _check_write_index(cat, settings, f)
        _check_other_blocks(cat, settings, write_index, f)

    kafka = peek(ctx.census.kafka) if ctx.integration.kind == "push" else None
    cad = cadence_of(ctx, cen, kafka)
    newest = cen.matched_newest
    older_age: float | None = None
    if newest is None and cat.indices:
        older = _newest_ever(ctx, es, cat)  # in any index of the pattern, however old
        older_age = None if older is None else ctx.now - older
        newest = older
    fresh = freshness.judge(newest, ctx.now, cad)
    newest_age = fresh.age
    skewed = clock_skew(cen.clocks, cad)
    on_demand = ctx.integration.on_demand
    not_stored = ""
    if skewed:
        summary, hint = clock_finding(skewed, len(cen.clocks), name, "are received",
                                      "the receiver's timeReceived")
        f.clock.append(summary)
        f.hint(hint)
    elif not cat.indices:
        pass
    elif fresh.state == UNSEEN or (fresh.stale and on_demand):
        if on_demand:
            not_stored = _on_demand_text(ctx, fresh)
        elif cen.total:
            f.missing.append(
                f"No {name} documents in the last {ctx.window.spec} ({cen.total:,} documents of other data "
                f"are there), and none in any index matching {cat.pattern}."
            )
            f.hint(_no_data_hint(ctx, cat, cen.total))
        else:
            f.missing.append(f"No documents at all in the last {ctx.window.spec} in {cat.pattern}.")
            f.hint(_no_data_hint(ctx, cat, cen.total))
    elif fresh.stale:
        f.missing.append(
            f"{name}'s documents stopped arriving: {fresh.clause(f'{name} document')} "
            f"({fresh.missed:,} reports missed)"
            + (f"; the {cen.matched:,} earlier ones in the last {ctx.window.spec} do not make it fresh."
               if cen.matched else ".")
        )
        f.hint(_no_data_hint(ctx, cat, cen.total))
    elif newest_age is not None and newest_age < -FUTURE_SKEW_S:
        f.warns.append(
            f"The newest {name} document is stamped {age_text(-newest_age)} in the future: a "
            "clock is wrong, and streams will show it late."
        )
        f.hint("Check NTP on the agent hosts; StackState drops points far from its own time.")

    figs = _figures(ctx, version, health, cat, cen, disks, newest_age, older_age)
    figs.add(f"{name} reporting interval", round(cad.seconds, 1), "s").add(f"{name} reporting interval from", cad.basis)
    evidence: list[Evidence] = [
        figs,
        _index_table(cat, settings, write_index),
    ]
    if disks:
        evidence.append(_disk_table(disks, marks))

    if skewed:
        evidence.append(clock_table(skewed, "the receiver's timeReceived"))
    if on_demand and not_stored:
        evidence.append(Text("Retrieved on demand", not_stored))
        if f.fails or f.warns:
            # Not on this integration's path: worth knowing, not where its data stops.
            return ctx.result(Status.WARN, f"{not_stored} Besides: {' '.join(f.fails + f.warns)}", evidence,
                              f.hints)
        return ctx.result(Status.SKIP, not_stored, evidence, f.hints)
    if f.fails:
        summary = " ".join(f.fails + f.clock + f.missing)
        return ctx.result(Status.FAIL, summary, evidence, f.hints)
    if f.clock:
        # Data arrives, filed at the wrong time: after an earlier stage named the clock, expected.
        return ctx.result(Status.FAIL, " ".join(f.clock), evidence, f.hints, missing_data=True)
    if f.missing:
        extra = f" Also: {' '.join(f.warns)}" if f.warns else ""
        return ctx.result(
            Status.FAIL, " ".join(f.missing) + extra, evidence, f.hints, missing_data=True
        )
    if f.warns:
        return ctx.result(Status.WARN, " ".join(f.warns), evidence, f.hints)
    if cen.matched:
        lead = (f"{cen.matched:,} {name} documents in the last {ctx.window.spec}, the newest "
                f"{age_text(max(0.0, newest_age or 0.0))} old")
    else:
        lead = f"No {name} document in the last {ctx.window.spec}, but {fresh.clause(f'{name} document')}: on time"
    summary = f"{lead}; cluster {health.status}, {len(cat.indices)} {'index' if len(cat.indices) == 1 else 'indices'}, no write blocks."
    return ctx.result(Status.PASS, summary, evidence, f.hints)


def _check_write_index(cat: Catalog, settings: dict[str, IndexSettings], f: _Findings) -> None:
    names = cat.names
    if cat.today and cat.today not in names:
        f.warns.append(f"Today's index {cat.today} does not exist: nothing was written today.")
        f.hint(
            "Today's index is created by the first write of the day: check that the "
            "Kafka-to-Elasticsearch mover (mm2es) or the plugin is running and can write."
        )
    index = cat.write_index
    if index is None:
        return
    info = next(i for i in cat.indices if i.name == index)
    if info.status == "close":
        f.fails.append(f"Index {index} is closed: nothing can be written to it.")
        f.hint(f"Open it: POST {index}/_open.")
        return
    st = settings.get(index)
    if st is None:
        return
    blocks = st.write_blocks
    if blocks:
        why = (
            " (set by the flood-stage disk watermark)" if "read_only_allow_delete" in blocks else ""
        )
        f.fails.append(
            f"Index {index} has a write block "
            f"{', '.join('index.blocks.' + b for b in blocks)}{why}: "
            "new documents are rejected."
        )
        f.hint(
            "Free disk space first, then lift the block: PUT "
            f'{index}/_settings {{"index.blocks.read_only_allow_delete": null}} '
            "(Elasticsearch 7.4+ lifts it by itself once disk use falls below the high watermark)."
        )
    count = cat.fields.counts.get(index)
    if count is not None and st.field_limit > 0:
        ratio = count / st.field_limit
        if count >= st.field_limit:
            f.fails.append(
                f"Index {index} has {count:,} fields, at its index.mapping.total_fields.limit of "
                f"{st.field_limit:,}: documents with new metric names are rejected."
            )
        elif ratio >= FIELD_WARN_RATIO:
            f.warns.append(
                f"Index {index} has {count:,} fields, {ratio:.0%} of its "
                f"index.mapping.total_fields.limit of {st.field_limit:,}."
            )
        if ratio >= FIELD_WARN_RATIO:
            f.hint(
                "Raise index.mapping.total_fields.limit in the index template for "
                f"{cat.pattern} (StackState installs often use 5000), and look for metric names "
                "that embed ids (each new name is a new field)."
            )


def _check_other_blocks(
    cat: Catalog, settings: dict[str, IndexSettings], write_index: str | None, f: _Findings
) -> None:
    blocked = [n for n, st in settings.items() if st.write_blocks and n != write_index]
    if blocked:
        f.warns.append(
            f"{len(blocked)} older {'index has' if len(blocked) == 1 else 'indices have'} a write "
            f"block ({listing(sorted(blocked))}): late points for those days are rejected."
        )


def _check_disk(disks: list[NodeDisk], marks: Watermarks, f: _Findings) -> None:
    if not marks.enabled:
        return
    for d in disks:
        flood = _over(d, marks.flood_stage)
        high = _over(d, marks.high)
        used = f"{d.percent:.0f}%" if d.percent is not None else "?"
        if flood:
            f.fails.append(
                f"Node {d.node} disk is {used} full, past the flood-stage watermark "
                f"({marks.flood_stage}): Elasticsearch puts a read_only_allow_delete block on "
                "its indices."
            )
            f.hint("Free disk space or add nodes; then lift read_only_allow_delete blocks.")
        elif high:
            f.warns.append(
                f"Node {d.node} disk is {used} full, past the high watermark ({marks.high}); "
                f"writes stop at the flood stage ({marks.flood_stage})."
            )
            f.hint("Free disk space or add nodes before the flood-stage watermark blocks writes.")


def _over(d: NodeDisk, mark: str) -> bool:
    """Is the node past this watermark?

    Percent and ratio marks bound the disk used; byte values bound the space left free."""
    text = mark.strip().lower()
    try:
        if text.endswith("%"):
            return d.percent is not None and d.percent >= float(text[:-1])
        value = float(text)
        if value <= 1.0:
            return d.percent is not None and d.percent >= value * 100
    except ValueError:
        pass
    free = _bytes(text)
    return free is not None and d.avail_bytes is not None and d.avail_bytes <= free


_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}


def _bytes(text: str) -> int | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtp]?b)\s*", text)
    return int(float(m[1]) * _UNITS[m[2]]) if m else None


def _newest_ever(ctx: Context, es: ESSource, cat: Catalog) -> float | None:
    """The integration's newest document in any index of the pattern (two requests)."""
    names = None
    if cat.layout != "single" and ctx.matcher.prefixes:
        # Metric names across every index: the data may have stopped before today's mapping.
        names = [
            n[len("values.") :]
            for n in es.field_names(cat.pattern, "values.*")
            if n.startswith("values.")
        ]
    query = integration_query(ctx, cat, names)
    if query == MATCH_NONE or query == all_of(MATCH_NONE):
        return None
    body = es.search(cat.pattern, query, {"newest": {"max": {"field": TS_FIELD}}})
    if total_hits(body) == 0:
        return None
    return to_epoch_seconds(((body.get("aggregations") or {}).get("newest") or {}).get("value"))


def _on_demand_text(ctx: Context, fresh: Freshness) -> str:
    i = ctx.integration
    seen = ("No" if fresh.age is None else "Only old") + f" {i.name} documents in Elasticsearch"
    where = f" ({i.storage_source})" if i.storage_source else ""
    return (
        f"{seen}, and none are expected: {i.name} metrics are retrieved on demand by the StackState "
        f"plugin{where}, when a stream is viewed or a check uses them, and are not stored in "
        f"{ctx.settings.index_pattern}. Their absence here proves nothing; the source stage judges the plugin."
    )


def _no_data_hint(ctx: Context, cat: Catalog, others: int) -> str:
    name = ctx.integration.name
    if ctx.integration.kind == "pull":
        base = (
            f"{name} is pulled by a StackState plugin straight into Elasticsearch: check the "
            "data source stage and the StackState server log for the plugin's errors."
        )
    else:
        base = (
            "Compare with the Kafka stage: if the topic has the records, the "
            "Kafka-to-Elasticsearch mover (mm2es) is not writing them — check its log for "
            "rejected bulk items "
            "(field limit, write block) and its consumer lag."
        )
    if others and ctx.matcher.prefixes and cat.layout != "single":
        near = [n for n in cat.fields.metric_names() if not ctx.matcher.name_matches(n)]
        if near:
            base += (
                f" Other metric names are present ({listing(sorted({prefix_of(n) for n in near}))}); "
                f"stsdebug recognises {name} by {ctx.matcher.describe()} (if its metrics are "
                "named differently, pass --metric-prefix)."
            )
    return base


def _pattern_hint(es: ESSource, pattern: str) -> str:
    try:
        names = [i.name for i in es.indices("*") if not i.name.startswith(".")]
    except SourceError:
        names = []
    stems = sorted({DATED.sub("*", n) for n in names})
    near = did_you_mean(pattern, stems, cutoff=0.5, lead=": ")
    if near:
        return f"Check --index-pattern{near}"
    return (
        f"Check --index-pattern ({pattern}); StackState 5.x writes metrics to daily indices "
        "sts_multi_metrics-YYYY.MM.DD."
    )


# --- evidence -------------------------------------------------------------------------------


def _figures(
    ctx: Context,
    version: str,
    health: Health,
    cat: Catalog,
    cen: Census,
    disks: list[NodeDisk],
    newest_age: float | None,
    older_age: float | None,
) -> Figures:
    name = ctx.integration.name
    fig = Figures("Elasticsearch")
    fig.add("version", version)
    fig.add("cluster health", health.status)
    fig.add("nodes", health.nodes)
    fig.add("unassigned shards", health.unassigned_shards)
    fig.add(f"indices matching {cat.pattern}", len(cat.indices))
    if cat.today:
        fig.add("today's index", cat.today if cat.today in cat.names else f"{cat.today} (missing)")
    fig.add("document layout", f"{cat.layout or 'unknown'} ({cat.layout_origin})")
    fig.add(f"documents in the last {ctx.window.spec}", cen.total)
    fig.add(f"{name} documents in the last {ctx.window.spec}", cen.matched)
    fig.add(
        f"newest {name} document age", None if newest_age is None else round(newest_age, 1), "s"
    )
    if older_age is not None:
        fig.add(f"newest {name} document age (any index)", round(older_age, 1), "s")
    fullest = max((d.percent for d in disks if d.percent is not None), default=None)
    if fullest is not None:
        fig.add("fullest node disk", fullest, "%")
    return fig


def _index_table(
    cat: Catalog, settings: dict[str, IndexSettings], write_index: str | None
) -> Table:
    rows: list[list[Any]] = []
    newest_first = list(reversed(cat.indices))
    shown = newest_first[:SHOWN_INDICES]
    # Older indices with a problem are shown too.
    shown += [
        i
        for i in newest_first[SHOWN_INDICES:]
        if i.health == "red"
        or i.status == "close"
        or (settings.get(i.name) and settings[i.name].write_blocks)
    ][:SHOWN_INDICES]
    for i in shown:
        st = settings.get(i.name)
        count = cat.fields.counts.get(i.name)
        fields = "" if count is None else f"{count} / {st.field_limit}" if st else str(count)
        rows.append(
            [
                i.name + (" (write index)" if i.name == write_index else ""),
                i.health,
                i.status,
                i.docs,
                i.size_bytes,
                fields,
                ", ".join(st.write_blocks) if st else "",
            ]
        )
    hidden = len(cat.indices) - len(shown)
    note = f"{hidden} older indices not shown." if hidden > 0 else None
    return Table(
        f"Indices matching {cat.pattern}",
        ["index", "health", "status", "docs", "size (bytes)", "fields / limit", "write blocks"],
        rows,
        note=note,
    )


def _disk_table(disks: list[NodeDisk], marks: Watermarks) -> Table:
    rows = [[d.node, d.percent, d.avail_bytes, d.total_bytes] for d in disks]
    origin = "cluster settings" if marks.from_cluster else "Elasticsearch defaults"
    return Table(
        "Disk allocation",
        ["node", "disk used (%)", "available (bytes)", "total (bytes)"],
        rows,
        note=(
            f"Watermarks ({origin}): low {marks.low}, high {marks.high}, "
            f"flood stage {marks.flood_stage}."
        ),
    )
