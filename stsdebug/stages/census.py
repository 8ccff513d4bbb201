"""The census service: what Kafka and Elasticsearch (StackState 5) or VictoriaMetrics
(StackState 6) hold in the window, per metric prefix.

One service in the context (``ctx.census``) instead of stages looking each other up: the
scope stage compares the two censuses, the source stage follows pull data arriving in
Elasticsearch, and the Kafka and Elasticsearch stages judge the same reads. Each census
is taken once per trace (cached with any ``SourceError``, which every caller then sees).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.stages import es_catalog, freshness, topic_read
from stsdebug.stages.freshness import Cadence, Measured

if TYPE_CHECKING:
    from stsdebug.stages.base import Context


class Censuses(Protocol):
    """What the stages ask of the census service (tests substitute it)."""

    def kafka(self) -> Census | None:
        """The topic's census; None when neither --kafka nor --sts-api was given."""
        ...

    def elasticsearch(self) -> Census | None:
        """The metric indices' census; None when --es was not given."""
        ...

    def victoriametrics(self) -> Census | None:
        """StackState 6: VictoriaMetrics' series per catalog prefix; None without a query API."""
        ...


class CensusService:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def kafka(self) -> Census | None:
        return topic_read.census(self._ctx)

    def elasticsearch(self) -> Census | None:
        return es_catalog.census(self._ctx)

    def victoriametrics(self) -> Census | None:
        from stsdebug.stages.v6 import census

        return census.census(self._ctx)

SYSTEM_WORDS = {"kafka": "Kafka records", "elasticsearch": "Elasticsearch documents"}


def cadence_of(ctx: Context, *censuses: Census | None) -> Cadence:
    """How often the integration reports: measured on the first census that shows it, else
    the catalog's interval, else assumed (stsdebug.stages.freshness)."""
    measured = [
        Measured(c.interval_s, SYSTEM_WORDS.get(c.system, c.system)) for c in censuses if c is not None
    ]
    i = ctx.integration
    basis = f"the catalog's default for {i.name}"
    return freshness.cadence(measured, i.interval_s, basis)


def peek(take: Callable[[], Census | None]) -> Census | None:
    """A census if it can be had, None if its system cannot be read (its own stage says why)."""
    try:
        return take()
    except SourceError:
        return None


def downstream_fresh(ctx: Context, after: float | None) -> bool | None:
    """Does data flow on past the receiver: is the newest record on Kafka (else the newest
    document in Elasticsearch) newer than ``after`` and on time for the integration's
    reporting interval? None when neither system was given or could be read: a quiet log
    alone then confirms nothing."""
    for take in (ctx.census.kafka, ctx.census.elasticsearch):
        c = peek(take)
        if c is None:
            continue
        if c.newest is None:
            return False
        on_time = freshness.judge(c.newest, ctx.now, cadence_of(ctx, c)).state == freshness.FRESH
        return on_time and (after is None or c.newest > after)
    return None
