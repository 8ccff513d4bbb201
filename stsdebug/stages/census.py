"""The census service: what Kafka and Elasticsearch (StackState 5) or VictoriaMetrics
(StackState 6) hold in the window, per metric prefix.

One service in the context (``ctx.census``) instead of stages looking each other up: the
scope stage compares the two censuses, the source stage follows pull data arriving in
Elasticsearch, and the Kafka and Elasticsearch stages judge the same reads. Each census
is taken once per trace (cached with any ``SourceError``, which every caller then sees).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from stsdebug.census import Census
from stsdebug.stages import es_catalog, topic_read

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
