"""What VictoriaMetrics holds in the window for a selector: series per metric name, the
newest sample of each, how many stopped, and the stalest few. Shared by the StackState 6
scope census and the VictoriaMetrics stage.

Bounded cost: ONE query, whatever the number of series. The per-series newest sample is
MetricsQL's ``tlast_over_time(sel[window]) keep_metric_names`` (the timestamp of each
series' last sample in the window, name kept); the answers are aggregated by metric name
on the server and joined with ``or``, each part tagged by a ``stat`` label:

    label_replace(count by (__name__) (T), "stat", "series", ...)
    or label_replace(max by (__name__) (T), "stat", "newest", ...)
    or label_replace(count by (__name__) (T < cut), "stat", "stale", ...)
    or label_replace(max by (__name__) (count_over_time(sel[window]) keep_metric_names), "stat", "samples", ...)
    or label_replace(bottomk(5, T), "stat", "stalest", ...)

so the answer has four rows per metric name plus five example series. (``samples`` tells a
metric that reports regularly from one that reports rarely, e.g. once an hour.) MetricsQL is what
VictoriaMetrics speaks, and what StackState's ``/prometheus`` path forwards to it; a
Prometheus API that is not VictoriaMetrics refuses the query and the caller says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from stsdebug.promnames import quote
from stsdebug.sources.prometheus_api import PrometheusApi

QUERIES = 1  # requests per read, whatever the number of series
EXAMPLES = 5  # stalest series shown with their labels
MIN_STALE_S = 120.0  # a series is stale when its newest sample is older than this ...
STALE_INTERVALS = 3.0  # ... or than this many of its reporting intervals, if longer


@dataclass
class MetricRow:
    name: str
    series: int = 0
    newest: float | None = None  # epoch seconds of its newest sample in the window
    stale: int = 0  # series whose newest sample is older than the cut
    samples: int = 0  # the most samples one of its series has in the window (regular or rare)


@dataclass
class Holding:
    selector: str
    cut: float  # samples older than this are stale
    metrics: dict[str, MetricRow] = field(default_factory=dict)
    stalest: list[tuple[Mapping[str, str], float]] = field(default_factory=list)

    @property
    def series(self) -> int:
        return sum(m.series for m in self.metrics.values())

    @property
    def stale(self) -> int:
        return sum(m.stale for m in self.metrics.values())

    @property
    def newest(self) -> float | None:
        times = [m.newest for m in self.metrics.values() if m.newest is not None]
        return max(times) if times else None


def window_range(seconds: float) -> str:
    return f"{max(1, int(math.ceil(seconds)))}s"


def newest_expr(selector: str, seconds: float) -> str:
    """Per series, the timestamp of its newest sample in the last `seconds` (name kept)."""
    return f"tlast_over_time({selector}[{window_range(seconds)}]) keep_metric_names"


def _tag(expr: str, stat: str) -> str:
    return f'label_replace({expr}, "stat", {quote(stat)}, "__name__", ".*")'


def holding_query(selector: str, seconds: float, cut: float) -> str:
    t = newest_expr(selector, seconds)
    return " or ".join([
        _tag(f"count by (__name__) ({t})", "series"),
        _tag(f"max by (__name__) ({t})", "newest"),
        _tag(f"count by (__name__) ({t} < {cut:.3f})", "stale"),
        _tag(f"max by (__name__) (count_over_time({selector}[{window_range(seconds)}]) keep_metric_names)",
             "samples"),
        _tag(f"bottomk({EXAMPLES}, {t})", "stalest"),
    ])


def read(api: PrometheusApi, selector: str, *, start: float, end: float, cut: float) -> Holding:
    """One query at `end` over [start, end]; SourceError (PromQueryError) when refused."""
    result = api.query(holding_query(selector, end - start, cut), at=end)
    holding = Holding(selector, cut)
    for s in result.series:
        labels = dict(s.labels)
        stat = labels.pop("stat", "")
        value = s.points[-1][1] if s.points else math.nan
        if stat == "stalest":
            if not math.isnan(value):
                holding.stalest.append((labels, value))
            continue
        name = labels.get("__name__", "")
        row = holding.metrics.setdefault(name, MetricRow(name))
        if math.isnan(value):
            continue
        if stat == "series":
            row.series = int(value)
        elif stat == "newest":
            row.newest = value
        elif stat == "stale":
            row.stale = int(value)
        elif stat == "samples":
            row.samples = int(value)
    holding.stalest.sort(key=lambda x: x[1])
    return holding


def stale_cut(end: float, interval: float | None = None) -> float:
    """The instant before which a series' newest sample makes it stale."""
    wait = max(MIN_STALE_S, STALE_INTERVALS * interval) if interval else MIN_STALE_S
    return end - wait
