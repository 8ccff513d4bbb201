"""Every integration of the catalog at once: fresh or stale by kind, from one census.

What ``stsdebug check`` does when no integration is named: instead of tracing a default
silently, it takes the census of Kafka and Elasticsearch once (StackState 6: of VictoriaMetrics;
the census service, as the scope stage does) and says, for each integration of the catalog, whether its data is
fresh or stopped against its reporting interval, or why it cannot be seen (retrieved on
demand, or no fixed metric names to recognise it by).
"""

from __future__ import annotations

from stsdebug.census import (
    FRESH,
    ON_DEMAND,
    STALE,
    UNRECOGNISED,
    UNSEEN,
    Census,
    IntegrationState,
    Overview,
)
from stsdebug.errors import SourceError
from stsdebug.integrations import load_catalog
from stsdebug.stages import freshness
from stsdebug.stages.base import Context
from stsdebug.stages.freshness import Cadence
from stsdebug.stages.scope import Group, groups_of
from stsdebug.stages.v6.census import integration_series

STATE = {freshness.FRESH: FRESH, freshness.STALE: STALE, freshness.UNSEEN: UNSEEN}


def take(ctx: Context, version: str = "5") -> Overview:
    ov = Overview(ctx.window.spec, ctx.now)
    reads = (("VictoriaMetrics", ctx.census.victoriametrics),) if version == "6" else (
        ("Kafka", ctx.census.kafka), ("Elasticsearch", ctx.census.elasticsearch))
    censuses: dict[str, Census] = {}
    for system, read in reads:
        try:
            c = read()
        except SourceError as exc:
            ov.problems.append(f"{system}: {str(exc).rstrip('.')}")
            continue
        if c is not None:
            censuses[system] = c
            ov.read.append(system)
    if version == "6":
        groups = _stored_groups(ctx, censuses["VictoriaMetrics"]) if censuses else {}
    else:
        groups = {g.name: g for g in groups_of(ctx, censuses, None)} if censuses else {}
    for i in load_catalog().values():
        if i.name == "custom":
            continue
        pull = "pull" in (i.kinds or (i.kind,))
        kind = "/".join(i.kinds) if len(i.kinds) > 1 else i.kind
        g = groups.pop(i.name, None)
        if g is not None and g.newest is not None:
            ov.rows.append(_row(ctx, g, kind))
        elif not i.metric_prefixes:
            ov.rows.append(IntegrationState(i.name, kind, UNRECOGNISED, note=(
                "its metric names come from its configuration: trace it with --integration "
                f"{i.name} and --metric-prefix, --host or --check")))
        elif pull and i.storage == "on-demand":
            ov.rows.append(IntegrationState(i.name, kind, ON_DEMAND, note=(
                "retrieved when viewed and stored nowhere: trace it with --integration "
                f"{i.name} --server-log")))
        else:
            ov.rows.append(IntegrationState(i.name, kind, UNSEEN, interval_s=i.interval_s,
                                            note="no data in what was read"))
    for g in groups.values():  # prefixes no integration claims
        if g.newest is not None:
            row = _row(ctx, g, g.kind)
            row.note = "metric prefix of no catalog integration"
            ov.rows.append(row)
    return ov


def _stored_groups(ctx: Context, census: Census) -> dict[str, Group]:
    """StackState 6: VictoriaMetrics stores names with _ for . (system_cpu_user), and its census
    counts series per stored prefix; each catalog integration claims its own."""
    groups: dict[str, Group] = {}
    claimed: set[str] = set()
    for i in load_catalog().values():
        stored, series, newest = integration_series(census, i)
        if not stored or i.name == "custom":
            continue
        claimed.update(stored)
        g = groups[i.name] = Group(i.name, i.kind, stored, series, newest)
        cad = (Cadence(i.interval_s, f"the catalog's default for {i.name}") if i.interval_s
               else freshness.cadence([]))
        g.cadence, g.state = cad, freshness.judge(g.newest, ctx.now, cad).state
    for p, pc in census.prefixes.items():  # prefixes given with --metric-prefix that no one claims
        if p not in claimed and pc.newest is not None:
            cad = freshness.cadence([])
            groups[p] = Group(p, "push", [p], pc.records, pc.newest, freshness.judge(pc.newest, ctx.now, cad).state,
                              cad)
    return groups


def _row(ctx: Context, g: Group, kind: str) -> IntegrationState:
    cad = g.cadence or freshness.cadence([])
    return IntegrationState(
        g.name, kind, STATE[g.state], g.records,
        None if g.newest is None else round(ctx.now - g.newest, 1), cad.seconds,
    )
