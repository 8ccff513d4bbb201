"""What Elasticsearch holds for the trace, read once: the index list and the mappings of the
window's indices (the ``Catalog``, shared by the Elasticsearch and streams stages), the
integration as a query, and the per-prefix census of the window behind the census service.
Each read is cached in the context together with any ``SourceError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from stsdebug.census import Census, HostClock, PrefixCount
from stsdebug.errors import SourceError
from stsdebug.integrations import prefix_of
from stsdebug.sources.es_answers import IndexInfo
from stsdebug.sources.es_query import (
    FieldMap,
    all_of,
    any_of,
    exists_any,
    to_epoch_seconds,
    total_hits,
    window_query,
)
from stsdebug.stages import freshness

if TYPE_CHECKING:
    from stsdebug.stages.base import Context

TS_FIELD = "timestamp"
RECEIVED_FIELD = "timeReceived"  # the receiver's time (multi-metric documents)
LOOKBACK_S = 86400.0  # how far back the newest of what the window lacks is looked for
MEASURE_SPAN_S = 3600.0  # the span the reporting interval is measured over
MEASURE_HOSTS = 20
CLOCK_HOSTS = 50
MAX_MAPPED = 8  # mappings read: the window's daily indices, newest first
MAX_EXISTS_PER_REQUEST = 1000  # exists clauses per search (bool max_clause_count is 1024)
MAX_CENSUS_REQUESTS = 5
MAX_PREFIXES = 200
TERMS_SIZE = 1000  # metric names per census in the single-metric layout
DATED = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})$")


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
        dated = [n for n in names if DATED.search(n)]
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
    es = ctx.es
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
    if names and not any(DATED.search(n) for n in names):
        return None  # indices exist and none is daily: there is no "today's index"
    return base + datetime.fromtimestamp(now, timezone.utc).strftime("%Y.%m.%d")


def _window_indices(names: list[str], start: float, end: float) -> list[str]:
    """Daily indices the window can touch; empty when some index is not daily."""
    if not all(DATED.search(n) for n in names):
        return []
    first = datetime.fromtimestamp(start, timezone.utc).date()
    last = datetime.fromtimestamp(end, timezone.utc).date()
    # Late or early points land in the neighbouring day's index.
    first, last = first - timedelta(days=1), last + timedelta(days=1)
    chosen = []
    for name in names:
        m = DATED.search(name)
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


# --- census (behind the census service) -----------------------------------------------------------


def census(ctx: Context) -> Census | None:
    """Documents in the window per metric prefix, via aggregations; None without --es."""
    if not ctx.settings.es:
        return None
    return ctx.once("es.census", lambda: _take_census(ctx, catalog(ctx)))


def _take_census(ctx: Context, cat: Catalog) -> Census:
    es = ctx.es
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
            found = ((body.get("aggregations") or {}).get("prefixes") or {}).get("buckets") or {}
            for p in batch:
                b = found.get(p) or {}
                pc = c.prefix(p)
                pc.records += int(b.get("doc_count") or 0)
                _newer(pc, to_epoch_seconds((b.get("newest") or {}).get("value")))
    c.examined = c.total
    groups_of = {} if cat.layout == "single" else _groups(cat)
    _look_back(ctx, cat, c, groups_of)
    _measure(ctx, cat, c)
    _clocks(ctx, cat, c)
    c.note = " ".join(notes)
    return c


def _groups(cat: Catalog) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name in cat.fields.metric_names():
        groups.setdefault(prefix_of(name), []).append(f"values.{name}")
    return groups


def search_target(cat: Catalog, start: float, end: float) -> str:
    """The daily indices a search of [start, end] must read (or the whole pattern)."""
    days = _window_indices(cat.names, start, end)
    return ",".join(days) if days else cat.pattern


def _look_back(ctx: Context, cat: Catalog, c: Census, groups: dict[str, list[str]]) -> None:
    """The newest document before the window of what has none in it: how long ago it stopped
    (or that a slow series is on time). One search over the day before the window."""
    w = ctx.window
    since = min(w.start, ctx.now - LOOKBACK_S)
    c.seen_since = since
    absent = [p for p, pc in sorted(c.prefixes.items()) if pc.records == 0 and p in groups][:MAX_PREFIXES]
    if not (absent or c.matched == 0) or since >= w.start:
        return
    newest = {"max": {"field": TS_FIELD}}
    aggs: dict[str, Any] = {}
    if c.matched == 0:
        aggs["matched"] = {"filter": integration_query(ctx, cat), "aggs": {"newest": newest}}
    if absent:
        aggs["prefixes"] = {
            "filters": {"filters": {p: exists_any(groups[p][:MAX_EXISTS_PER_REQUEST]) for p in absent}},
            "aggs": {"newest": newest},
        }
    body = ctx.es.search(search_target(cat, since, w.end), window_query(since, w.start, TS_FIELD), aggs)
    found = body.get("aggregations") or {}
    if "matched" in aggs:
        c.matched_newest = to_epoch_seconds(((found.get("matched") or {}).get("newest") or {}).get("value"))
    buckets = (found.get("prefixes") or {}).get("buckets") or {}
    for p in absent:
        _newer(c.prefix(p), to_epoch_seconds(((buckets.get(p) or {}).get("newest") or {}).get("value")))


def _measure(ctx: Context, cat: Catalog, c: Census) -> None:
    """The integration's reporting interval: per host, the span of one metric's timestamps over
    their number, in the hour up to its newest document."""
    if c.matched_newest is None:
        return
    names = [n for n in cat.fields.metric_names() if ctx.matcher.name_matches(n)] if ctx.matcher.prefixes else []
    one: dict[str, Any] | None = None
    if cat.layout != "single" and names:
        one = {"exists": {"field": f"values.{sorted(names)[0]}"}}
    hi = c.matched_newest
    lo = max(hi - MEASURE_SPAN_S, ctx.now - LOOKBACK_S)
    aggs = {"hosts": {"terms": {"field": cat.fields.term("host"), "size": MEASURE_HOSTS},
                      "aggs": {"n": {"cardinality": {"field": TS_FIELD}},
                               "lo": {"min": {"field": TS_FIELD}}, "hi": {"max": {"field": TS_FIELD}}}}}
    query = all_of(window_query(lo, hi, TS_FIELD), integration_query(ctx, cat), one)
    body = ctx.es.search(search_target(cat, lo, hi), query, aggs)
    gaps = []
    for b in _buckets((body.get("aggregations") or {}).get("hosts"))[0]:
        n = int((b.get("n") or {}).get("value") or 0)
        first = to_epoch_seconds((b.get("lo") or {}).get("value"))
        last = to_epoch_seconds((b.get("hi") or {}).get("value"))
        if n > freshness.MIN_GAPS and first is not None and last is not None and last > first:
            gaps.append((last - first) / (n - 1))
    if gaps:
        gaps.sort()
        c.interval_s = min(max(gaps[len(gaps) // 2], freshness.MIN_INTERVAL_S), freshness.MAX_INTERVAL_S)


def _clocks(ctx: Context, cat: Catalog, c: Census) -> None:
    """Per host of the integration, documents received in the window: the newest time they carry
    against the newest ``timeReceived`` (the receiver's clock)."""
    if not cat.fields.has(RECEIVED_FIELD):
        return
    w = ctx.window
    query = all_of(window_query(w.start, w.end, RECEIVED_FIELD), integration_query(ctx, cat))
    aggs = {"hosts": {"terms": {"field": cat.fields.term("host"), "size": CLOCK_HOSTS},
                      "aggs": {"stamp": {"max": {"field": TS_FIELD}}, "received": {"max": {"field": RECEIVED_FIELD}}}}}
    body = ctx.es.search(search_target(cat, w.start - LOOKBACK_S, w.end), query, aggs)
    for b in _buckets((body.get("aggregations") or {}).get("hosts"))[0]:
        stamp = to_epoch_seconds((b.get("stamp") or {}).get("value"))
        received = to_epoch_seconds((b.get("received") or {}).get("value"))
        if stamp is None or received is None:
            continue
        c.clocks.append(HostClock(str(b.get("key")), int(b.get("doc_count") or 0), received - stamp, stamp, received))
    c.clocks.sort(key=lambda h: -abs(h.behind_s))


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


def _buckets(agg: Any) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(agg, dict):
        return [], 0
    return [b for b in agg.get("buckets") or [] if isinstance(b, dict)], int(
        agg.get("sum_other_doc_count") or 0
    )


def _newer(pc: PrefixCount, ts: float | None) -> None:
    if ts is not None and (pc.newest is None or ts > pc.newest):
        pc.newest = ts
