"""The /metrics pages of the StackState 6 metrics path, each scraped twice so that stages
judge rates, not totals (a counter of 12 dropped packets since a pod started a month ago
says nothing about now).

One service for the receiver (:9404), vmagent (:8429) and VictoriaMetrics (:8428): the
first stage that asks takes the first scrape of *every* page given, so that the wait
before the second scrapes (``scrape_interval``) is spent once per trace, not once per
stage. The second scrape of a page is taken when its stage asks, at least the interval
after its first one. Both are cached with ``ctx.once``: each page is read twice per trace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stsdebug import promtext
from stsdebug.errors import SourceError
from stsdebug.stages.v6.common import configured

if TYPE_CHECKING:
    from stsdebug.stages.base import Context

PAGES = ("receiver_metrics", "vmagent_metrics", "vm_metrics")
MIN_INTERVAL_S = 1.0  # /metrics pages lag their counters by about a second (docs/v6/facts.md)


@dataclass
class Pair:
    """Two scrapes of one page, or why there are not two."""

    first: promtext.Page | None
    second: promtext.Page | None
    error: str | None = None  # the sentence when a scrape failed

    @property
    def seconds(self) -> float | None:
        if self.first is None or self.second is None:
            return None
        if self.first.taken_at is None or self.second.taken_at is None:
            return None
        return self.second.taken_at - self.first.taken_at

    def increase(self, name: str, **match: str) -> float | None:
        """How much the counter `name` (summed over matching series) rose between the scrapes."""
        if self.first is None or self.second is None:
            return None
        return promtext.total_increase(self.first, self.second, name, **match)

    def gauge(self, name: str, **match: str) -> tuple[float | None, float | None]:
        """The gauge `name` (summed) on the first and the second page."""
        a = self.first.total(name, **match) if self.first is not None else None
        b = self.second.total(name, **match) if self.second is not None else None
        return a, b


@dataclass
class _First:
    page: promtext.Page | None
    error: str | None
    at: float  # monotonic


def _firsts(ctx: Context) -> dict[str, _First]:
    out: dict[str, _First] = {}
    for name in PAGES:
        if not configured(ctx, name):
            continue
        try:
            out[name] = _First(ctx.sources.get(name).scrape(), None, time.monotonic())
        except SourceError as exc:
            out[name] = _First(None, str(exc), time.monotonic())
    return out


def pair(ctx: Context, name: str) -> Pair | None:
    """Both scrapes of page `name`; None when it was not given."""
    if name not in PAGES or not configured(ctx, name):
        return None
    firsts = ctx.once("v6.pages.first", lambda: _firsts(ctx))
    first = firsts.get(name)
    if first is None:
        return None
    if first.page is None:
        return Pair(None, None, first.error)
    return ctx.once(f"v6.pages.second.{name}", lambda: _second(ctx, name, first))


def _second(ctx: Context, name: str, first: _First) -> Pair:
    interval = max(MIN_INTERVAL_S, float(ctx.settings.scrape_interval))
    wait = first.at + interval - time.monotonic()
    if wait > 0 and ctx.cancel.wait(wait):
        return Pair(first.page, None, "cancelled before the second scrape")
    try:
        return Pair(first.page, ctx.sources.get(name).scrape())
    except SourceError as exc:
        return Pair(first.page, None, str(exc))
