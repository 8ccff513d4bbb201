"""Has the data stopped? Judged against how often the integration reports, never against --window.

An integration reports every few seconds (agent checks: 15 s by default) or every few minutes
(a batch check, a Splunk saved search). Its data has stopped when its newest point is older
than ``STALE_INTERVALS`` reporting intervals (and at least ``MIN_STALE_S``): three missed
reports are not a delay. The window only decides how much history is counted and shown; a
wide window never makes a stopped pipeline look fresh, and a narrow one never makes a slow
check look stopped.

The reporting interval is measured from the data whenever there is enough of it (the gaps
between a series' own timestamps), else taken from the catalog (``interval`` in
integrations.toml), else assumed (``DEFAULT_INTERVAL_S``); every sentence says which. Pure.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stsdebug.stages.phrases import age_text

MIN_STALE_S = 60.0  # younger than this is never stale: batching, mm2es, index refresh
STALE_INTERVALS = 3  # missed reports before data counts as stopped
DEFAULT_INTERVAL_S = 60.0  # when neither the data nor the catalog says
MIN_GAPS = 2  # gaps a series needs before its interval counts as measured
MIN_INTERVAL_S, MAX_INTERVAL_S = 1.0, 6 * 3600.0

FRESH, STALE, UNSEEN = "fresh", "stale", "unseen"


@dataclass(frozen=True)
class Cadence:
    """How often the integration reports, and how that is known."""

    seconds: float
    basis: str  # "measured on Kafka records", "the catalog", "assumed"
    measured: bool = False

    @property
    def stale_after(self) -> float:
        return max(MIN_STALE_S, STALE_INTERVALS * self.seconds)

    def text(self) -> str:
        return f"every {age_text(self.seconds)} ({self.basis})"


@dataclass(frozen=True)
class Measured:
    """A reporting interval measured on some data (None: not enough data to tell)."""

    seconds: float | None
    where: str  # "Kafka records", "Elasticsearch documents"
    series: int = 0  # series it was measured on


@dataclass(frozen=True)
class Freshness:
    state: str  # fresh | stale | unseen (no point of the data was seen at all)
    age: float | None  # seconds since the newest point (negative: stamped in the future)
    cadence: Cadence

    @property
    def stale(self) -> bool:
        return self.state == STALE

    @property
    def missed(self) -> int:
        """Reports missed since the newest point."""
        if self.age is None or self.age <= 0:
            return 0
        return int(self.age // self.cadence.seconds)

    def clause(self, what: str) -> str:
        """"the newest system record is 20 min old; system reports every 15 s (...)"."""
        if self.age is None:
            return f"no {what} was seen; it reports {self.cadence.text()}"
        return f"the newest {what} is {age_text(max(0.0, self.age))} old; it reports {self.cadence.text()}"


def interval(series: Mapping[Any, Iterable[float]]) -> float | None:
    """The reporting interval of the data: per series (one host's one metric), the median gap
    between its distinct timestamps; over the series, their median. None with too few points."""
    medians = []
    for stamps in series.values():
        ordered = sorted(set(round(t, 3) for t in stamps))
        gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False) if b - a > 0]
        if len(gaps) >= MIN_GAPS:
            medians.append(statistics.median(gaps))
    if not medians:
        return None
    return min(max(statistics.median(medians), MIN_INTERVAL_S), MAX_INTERVAL_S)


def cadence(
    measured: Iterable[Measured | None],
    catalog_s: float | None = None,
    catalog_basis: str = "the catalog",
) -> Cadence:
    """The first measured interval, else the catalog's, else the assumed one."""
    for m in measured:
        if m is not None and m.seconds is not None:
            return Cadence(m.seconds, f"measured on {m.where}", measured=True)
    if catalog_s:
        return Cadence(catalog_s, catalog_basis)
    return Cadence(DEFAULT_INTERVAL_S, "assumed: the data is too sparse to measure it")


def judge(newest: float | None, now: float, c: Cadence) -> Freshness:
    if newest is None:
        return Freshness(UNSEEN, None, c)
    age = now - newest
    return Freshness(STALE if age > c.stale_after else FRESH, age, c)


def covers(span_s: float | None, c: Cadence) -> bool:
    """Does data reaching back ``span_s`` seconds show a series of this cadence for sure?

    A sample of a busy topic may cover a few seconds only: a series that reports every
    5 minutes can be absent from it without having stopped."""
    return span_s is not None and span_s >= c.stale_after
