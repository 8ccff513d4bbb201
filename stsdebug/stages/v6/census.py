"""The StackState 6 census: what VictoriaMetrics holds in the window for every integration of
the catalog (series and newest sample per metric prefix) and for the one under diagnosis.

Read once per trace through the census service (``ctx.census.victoriametrics()``), in ONE
query whatever the number of series: per-series newest samples (``tlast_over_time``) are
grouped by the stored prefix of their name on the server (``label_replace`` captures
``system_`` out of ``system_cpu_user``) and joined with the integration's own count and
newest sample by ``or``, each part tagged by a ``stat`` label.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from stsdebug.census import Census
from stsdebug.integrations import Integration, load_catalog
from stsdebug.promnames import prefix_regex, quote, selector, stored_prefix
from stsdebug.stages.v6.common import configured
from stsdebug.stages.v6.series import newest_expr

if TYPE_CHECKING:
    from stsdebug.stages.base import Context

QUERIES = 1
SYSTEM = "victoriametrics"


def catalog_prefixes(extra: tuple[str, ...] = ()) -> list[str]:
    """Every stored prefix of the catalog (plus `extra`), longest first."""
    prefixes = {p for entry in load_catalog().values() for p in entry.metric_prefixes}
    prefixes.update(extra)
    return sorted({stored_prefix(p) for p in prefixes if p}, key=lambda p: (-len(p), p))


def _tag(expr: str, stat: str) -> str:
    return f'label_replace({expr}, "stat", {quote(stat)}, "__name__", ".*")'


def integration_series(census: Census, entry: Integration) -> tuple[list[str], int, float | None]:
    """A catalog integration in the census: its stored prefixes found there, their series in
    the window and the newest sample of any."""
    found = [p for p in (stored_prefix(x) for x in entry.metric_prefixes) if p in census.prefixes]
    series = sum(census.prefixes[p].records for p in found)
    times = [t for p in found if (t := census.prefixes[p].newest) is not None]
    return found, series, (max(times) if times else None)


def census_query(prefixes: list[str], own: str | None, seconds: float) -> str:
    regex = prefix_regex(prefixes)
    t_all = newest_expr("{__name__=~" + quote(regex + ".*") + "}", seconds)
    by_prefix = f'label_replace({t_all}, "prefix", "$1", "__name__", {quote(regex + ".*")})'
    parts = [_tag(f"count by (prefix) ({by_prefix})", "series"),
             _tag(f"max by (prefix) ({by_prefix})", "newest")]
    if own:
        t_own = newest_expr(own, seconds)
        parts += [_tag(f"count({t_own})", "own_series"), _tag(f"max({t_own})", "own_newest")]
    return " or ".join(parts)


def census(ctx: Context) -> Census | None:
    """VictoriaMetrics' census of the window; None when no query API was given."""
    if not configured(ctx, "prometheus"):
        return None
    return ctx.once("v6.census", lambda: _take(ctx))


def _take(ctx: Context) -> Census:
    m = ctx.matcher
    prefixes = catalog_prefixes(m.prefixes)
    own = selector(m.prefixes, m.hosts, m.tags)
    w = ctx.window
    result = ctx.prometheus.query(census_query(prefixes, own, w.seconds), at=w.end)
    c = Census(SYSTEM, w.start, w.end, note="Series with a sample in the window, for the "
               "metric prefixes of stsdebug's catalog (names as stored: dots become _).")
    for s in result.series:
        stat = s.labels.get("stat", "")
        value = s.points[-1][1] if s.points else math.nan
        if math.isnan(value):
            continue
        if stat in ("series", "newest"):
            pc = c.prefix(s.labels.get("prefix", ""))
            if stat == "series":
                pc.records = int(value)
                c.total += int(value)
            else:
                pc.newest = value
                c.newest = value if c.newest is None else max(c.newest, value)
        elif stat == "own_series":
            c.matched = int(value)
        elif stat == "own_newest":
            c.matched_newest = value
    c.examined = c.total
    if own is None:  # nothing narrows the integration down: all of it is "its" data
        c.matched, c.matched_newest = c.total, c.newest
    return c
