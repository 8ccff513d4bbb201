"""Stage `elasticsearch`: did the integration's data land in the metric indices, and can it?

Checks, with a bounded number of requests whatever the number of indices (see
bench/README.md): cluster health; the indices matching the pattern with their doc
counts and whether today's daily index exists; write blocks (``read_only_allow_delete``
from the flood-stage watermark, ``read_only``, ``write``) and disk use against the
watermarks; the write index's field count against ``index.mapping.total_fields.limit``;
and, through aggregations only, the integration's documents in the window and the
newest one's age.

``census(ctx)`` is the per-prefix count of the window that the scope stage compares with
Kafka's. ``catalog(ctx)`` (index list + mappings of the window's indices) is shared with
the streams stage. Both are cached in ``ctx.cache`` with any ``SourceError``, so each
read happens once per trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.integrations import prefix_of
from stsdebug.model import Figures, Hint, StageResult, Status, Table
from stsdebug.sources.es import (
    MATCH_NONE,
    ESSource,
    FieldMap,
    IndexInfo,
    IndexSettings,
    NodeDisk,
    Watermarks,
    all_of,
    any_of,
    exists_any,
    to_epoch_seconds,
    window_query,
)
from stsdebug.stages.base import Context

TITLE = "Elasticsearch"
# info (+ the client's product check), health, index list, settings, mappings,
# allocation, cluster settings, census (up to MAX_CENSUS_REQUESTS), stale lookup (2).
BUDGET_CALLS = 16.0
RUNBOOK = "Troubleshooting step 2 / Elasticsearch"

TS_FIELD = "timestamp"
FIELD_WARN_RATIO = 0.9  # warn at 90% of index.mapping.total_fields.limit
STALE_AFTER_S = {"push": 600.0, "pull": 1200.0}  # CloudWatch & co. deliver late by design
FUTURE_SKEW_S = 300.0
MAX_MAPPED = 8  # mappings read: the window's daily indices, newest first
MAX_EXISTS_PER_REQUEST = 1000  # exists clauses per search (bool max_clause_count is 1024)
MAX_CENSUS_REQUESTS = 5
MAX_PREFIXES = 200
TERMS_SIZE = 1000  # metric names per census in the single-metric layout
SHOWN_INDICES = 15
_DATED = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})$")


# --- what the index list and mappings say (shared with the streams stage) -------------


@dataclass
class Catalog:
    pattern: str
    indices: list[IndexInfo]
    today: str | None  # the name today's daily index has (None: the pattern is not daily)
    mapped: list[str]  # indices whose mapping was read
    window_target: str  # what window searches read: the window's daily indices, or the pattern
    fields: FieldMap
    layout: str | None  # multi | single | None (no mapping to tell)
    layout_origin: str  # "mapping", "--es-layout" or "unknown"

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.indices]

    @property
    def write_index(self) -> str | None:
        """The index being written now: today's if it exists, else the newest daily one."""
        names = self.names
        if self.today and self.today in names:
            return self.today
        dated = [n for n in names if _DATED.search(n)]
        return dated[-1] if dated else (names[-1] if names else None)


def catalog(ctx: Context) -> Catalog:
    """The index list and the mappings of the window's indices; cached (errors too)."""
    return ctx.once("es.catalog", lambda: _read_catalog(ctx))


def _read_catalog(ctx: Context) -> Catalog:
    s = ctx.settings
    layout_override = (s.es_layout or "").strip().lower() or None
    if layout_override not in (None, "multi", "single"):
        raise SourceError(
            f"--es-layout must be 'multi' or 'single', not {s.es_layout!r}.",
            system="elasticsearch",
            cause="config",
        )
    es: ESSource = ctx.source("es")
    pattern = s.index_pattern
    indices = es.indices(pattern)
    names = [i.name for i in indices]
    today = _today_index(pattern, ctx.now, names)
    in_window = _window_indices(names, ctx.window.start, ctx.window.end)
    # Searching only the window's daily indices spares the cluster a fan-out to every
    # shard of the pattern; a pattern that is not daily is searched as a whole.
    target = ",".join(in_window) if in_window else pattern
    mapped = (in_window or names[-3:])[-MAX_MAPPED:]
    fields = FieldMap.from_mappings(es.mappings(mapped)) if mapped else FieldMap()
    detected = fields.layout()
    layout = layout_override or detected
    origin = "--es-layout" if layout_override else ("mapping" if detected else "unknown")
    return Catalog(pattern, indices, today, mapped, target, fields, layout, origin)


def _today_index(pattern: str, now: float, names: list[str]) -> str | None:
    if not pattern.endswith("*") or "*" in pattern[:-1] or "," in pattern:
        return None
    base = pattern[:-1]
    if names and not any(_DATED.search(n) for n in names):
        return None  # indices exist and none is daily: there is no "today's index"
    return base + datetime.fromtimestamp(now, timezone.utc).strftime("%Y.%m.%d")


def _window_indices(names: list[str], start: float, end: float) -> list[str]:
    """Daily indices the window can touch; empty when some index is not daily."""
    if not all(_DATED.search(n) for n in names):
        return []
    first = datetime.fromtimestamp(start, timezone.utc).date()
    last = datetime.fromtimestamp(end, timezone.utc).date()
    # Late or early points land in the neighbouring day's index.
    first, last = first - timedelta(days=1), last + timedelta(days=1)
    chosen = []
    for name in names:
        m = _DATED.search(name)
        try:
            day = datetime(int(m[1]), int(m[2]), int(m[3])).date()  # type: ignore[index]
        except ValueError:
            return []  # not a date after all: treat the pattern as not daily
        if first <= day <= last:
            chosen.append(name)
    return chosen


# --- what identifies the integration in Elasticsearch ------------------------------------


def integration_query(
    ctx: Context, cat: Catalog, metric_names: Iterable[str] | None = None
) -> dict[str, Any]:
    """The matcher as a query: metric prefix, hosts and tags (all must hold)."""
    m = ctx.matcher
    fields = cat.fields
    clauses: list[dict[str, Any]] = []
    if m.prefixes:
        if cat.layout == "single":
            clauses.append(any_of({"prefix": {fields.term("name"): p}} for p in m.prefixes))
        else:
            names = metric_names if metric_names is not None else fields.metric_names()
            ours = [f"values.{n}" for n in names if m.name_matches(n)]
            clauses.append(exists_any(ours[:MAX_EXISTS_PER_REQUEST]))
    if m.hosts:
        clauses.append({"terms": {fields.term("host"): list(m.hosts)}})
    for key, value in m.tags:
        clauses.append({"term": {fields.term(f"tags.{key}"): value}})
    return all_of(*clauses)


# --- census (for the scope stage) -----------------------------------------------------------


def census(ctx: Context) -> Census | None:
    """Documents in the window per metric prefix, via aggregations; None without --es."""
    if not ctx.settings.es:
        return None
    return ctx.once("es.census", lambda: _take_census(ctx, catalog(ctx)))


def _take_census(ctx: Context, cat: Catalog) -> Census:
    es: ESSource = ctx.source("es")
    w = ctx.window
    c = Census("elasticsearch", w.start, w.end)
    if not cat.indices:
        c.note = f"No index matches {cat.pattern}."
        return c
    window = window_query(w.start, w.end, TS_FIELD)
    newest = {"max": {"field": TS_FIELD}}
    base_aggs: dict[str, Any] = {
        "newest": newest,
        "matched": {"filter": integration_query(ctx, cat), "aggs": {"newest": newest}},
    }
    notes: list[str] = []
    if cat.layout == "single":
        aggs = dict(base_aggs)
        aggs["names"] = {
            "terms": {"field": cat.fields.term("name"), "size": TERMS_SIZE},
            "aggs": {"newest": newest},
        }
        body = es.search(cat.window_target, window, aggs)
        _census_base(c, body)
        buckets, other = _buckets(body["aggregations"].get("names"))
        for b in buckets:
            pc = c.prefix(prefix_of(str(b.get("key"))))
            pc.records += int(b.get("doc_count") or 0)
            _newer(pc, to_epoch_seconds((b.get("newest") or {}).get("value")))
        if other:
            notes.append(
                f"{other:,} documents carry metric names beyond the {TERMS_SIZE} most frequent "
                "and are not in the per-prefix counts."
            )
    else:
        groups: dict[str, list[str]] = {}
        for name in cat.fields.metric_names():
            groups.setdefault(prefix_of(name), []).append(f"values.{name}")
        prefixes = sorted(groups)
        if len(prefixes) > MAX_PREFIXES:
            notes.append(
                f"Only the first {MAX_PREFIXES} of {len(prefixes)} metric prefixes are counted."
            )
            prefixes = prefixes[:MAX_PREFIXES]
        batches = _batches(prefixes, groups, notes)
        if len(batches) > MAX_CENSUS_REQUESTS:
            skipped = sum(len(b) for b in batches[MAX_CENSUS_REQUESTS:])
            notes.append(f"{skipped} metric prefixes were not counted (too many metric names).")
            batches = batches[:MAX_CENSUS_REQUESTS]
        for n, batch in enumerate(batches or [[]]):
            aggs = dict(base_aggs) if n == 0 else {}
            if batch:
                aggs["prefixes"] = {
                    "filters": {
                        "filters": {
                            p: exists_any(groups[p][:MAX_EXISTS_PER_REQUEST]) for p in batch
                        }
                    },
                    "aggs": {"newest": newest},
                }
            body = es.search(cat.window_target, window, aggs or None)
            if n == 0:
                _census_base(c, body)
            buckets = ((body.get("aggregations") or {}).get("prefixes") or {}).get("buckets") or {}
            for p in batch:
                b = buckets.get(p) or {}
                pc = c.prefix(p)
                pc.records += int(b.get("doc_count") or 0)
                _newer(pc, to_epoch_seconds((b.get("newest") or {}).get("value")))
    c.examined = c.total
    c.note = " ".join(notes)
    return c


def _census_base(c: Census, body: dict[str, Any]) -> None:
    c.total = total_hits(body)
    aggs = body.get("aggregations") or {}
    c.newest = to_epoch_seconds((aggs.get("newest") or {}).get("value"))
    matched = aggs.get("matched") or {}
    c.matched = int(matched.get("doc_count") or 0)
    c.matched_newest = to_epoch_seconds((matched.get("newest") or {}).get("value"))


def _batches(
    prefixes: list[str], groups: dict[str, list[str]], notes: list[str]
) -> list[list[str]]:
    """Pack prefixes into searches of at most MAX_EXISTS_PER_REQUEST exists clauses."""
    batches: list[list[str]] = []
    current: list[str] = []
    used = 0
    for p in prefixes:
        size = len(groups[p])
        if size > MAX_EXISTS_PER_REQUEST:
            notes.append(
                f"{p}* has {size} metric names; its count uses the first {MAX_EXISTS_PER_REQUEST} "
                "and may be low."
            )
            size = MAX_EXISTS_PER_REQUEST
        if current and used + size > MAX_EXISTS_PER_REQUEST:
            batches.append(current)
            current, used = [], 0
        current.append(p)
        used += size
    if current:
        batches.append(current)
    return batches


# --- the stage ------------------------------------------------------------------------------


@dataclass
class _Findings:
    fails: list[str] = field(default_factory=list)  # real causes
    missing: list[str] = field(default_factory=list)  # "no data arrived here"
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
    es: ESSource = ctx.source("es")
    version = es.version()
    health = es.health()
    cat = catalog(ctx)
    settings = es.index_settings(cat.pattern) if cat.indices else {}
    disks = es.allocation()
    marks = es.watermarks()
    cen = census(ctx)
    assert cen is not None
    name = ctx.integration.name
    f = _Findings()

    if health.status == "red":
        red = [i.name for i in cat.indices if i.health == "red"]
        where = f" (red indices: {_list(red)})" if red else ""
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

    newest_age = None if cen.matched_newest is None else ctx.now - cen.matched_newest
    older_age: float | None = None
    if cat.indices and cen.matched == 0:
        older = _newest_ever(ctx, es, cat)
        older_age = None if older is None else ctx.now - older
        span = ctx.window.spec
        if older_age is not None:
            f.missing.append(
                f"No {name} documents in the last {span}; the newest one is "
                f"{age_text(older_age)} old, so the data stopped arriving."
            )
        elif cen.total:
            f.missing.append(
                f"No {name} documents in the last {span} ({cen.total:,} documents of other data "
                f"are there), and none in any index matching {cat.pattern}."
            )
        else:
            f.missing.append(f"No documents at all in the last {span} in {cat.pattern}.")
        f.hint(_no_data_hint(ctx, cat, cen.total))
    elif newest_age is not None:
        stale_after = STALE_AFTER_S.get(ctx.integration.kind, 600.0)
        if newest_age > stale_after:
            f.warns.append(
                f"The newest {name} document is {age_text(newest_age)} old: data may have stopped "
                f"(expected within {age_text(stale_after)})."
            )
            f.hint(_no_data_hint(ctx, cat, cen.total))
        elif newest_age < -FUTURE_SKEW_S:
            f.warns.append(
                f"The newest {name} document is stamped {age_text(-newest_age)} in the future: a "
                "clock is wrong, and streams will show it late."
            )
            f.hint("Check NTP on the agent hosts; StackState drops points far from its own time.")

    evidence = [
        _figures(ctx, version, health, cat, cen, disks, newest_age, older_age),
        _index_table(cat, settings, write_index),
    ]
    if disks:
        evidence.append(_disk_table(disks, marks))

    if f.fails:
        summary = " ".join(f.fails + f.missing)
        return ctx.result(Status.FAIL, summary, evidence, f.hints)
    if f.missing:
        extra = f" Also: {' '.join(f.warns)}" if f.warns else ""
        return ctx.result(
            Status.FAIL, " ".join(f.missing) + extra, evidence, f.hints, missing_data=True
        )
    if f.warns:
        return ctx.result(Status.WARN, " ".join(f.warns), evidence, f.hints)
    summary = (
        f"{cen.matched:,} {name} documents in the last {ctx.window.spec}, the newest "
        f"{age_text(max(0.0, newest_age or 0.0))} old; cluster {health.status}, "
        f"{len(cat.indices)} indices, no write blocks."
    )
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
            f"block ({_list(sorted(blocked))}): late points for those days are rejected."
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
                f" Other metric names are present ({_list(sorted({prefix_of(n) for n in near}))}); "
                f"stsdebug recognises {name} by {ctx.matcher.describe()} (if its metrics are "
                "named differently, pass --metric-prefix)."
            )
    return base


def _pattern_hint(es: ESSource, pattern: str) -> str:
    from difflib import get_close_matches

    try:
        names = [i.name for i in es.indices("*") if not i.name.startswith(".")]
    except SourceError:
        names = []
    stems = sorted({_DATED.sub("*", n) for n in names})
    near = get_close_matches(pattern, stems, n=3, cutoff=0.5)
    if near:
        return f"Check --index-pattern: did you mean {' or '.join(near)}?"
    return (
        f"Check --index-pattern ({pattern}); StackState 5.x writes metrics to daily indices "
        "sts_multi_metrics-YYYY.MM.DD."
    )


# --- evidence -------------------------------------------------------------------------------


def _figures(
    ctx: Context,
    version: str,
    health: Any,
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


# --- small helpers ----------------------------------------------------------------------------


def total_hits(body: dict[str, Any]) -> int:
    """hits.total of a search, in either of its shapes."""
    total = (body.get("hits") or {}).get("total")
    if isinstance(total, dict):
        return int(total.get("value") or 0)
    return int(total or 0)


def _buckets(agg: Any) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(agg, dict):
        return [], 0
    return [b for b in agg.get("buckets") or [] if isinstance(b, dict)], int(
        agg.get("sum_other_doc_count") or 0
    )


def _newer(pc: Any, ts: float | None) -> None:
    if ts is not None and (pc.newest is None or ts > pc.newest):
        pc.newest = ts


def age_text(seconds: float) -> str:
    """12 s, 4 min, 3.2 h, 2.1 d."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _list(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
