"""The topic as read once per trace, and what its records say: the shared read behind the
Kafka stage and the census service (the scope stage runs first and reads for both).

Kafka first (``ctx.kafka``), then the StackState topic API (``ctx.topic_api``) when Kafka
cannot be reached or was not given. The read and its analysis are cached in the context
together with any ``SourceError``, so nothing is read twice.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stsdebug.census import Census, HostClock
from stsdebug.errors import SourceError
from stsdebug.integrations import prefix_of
from stsdebug.probe_marker import only_probe
from stsdebug.sources.errors import lower_first
from stsdebug.sources.topic import (
    PartitionTail,
    Record,
    TopicInfo,
    TopicSource,
    decode_value,
    in_window,
)
from stsdebug.stages import freshness

if TYPE_CHECKING:
    from stsdebug.stages.base import Context

CAP = 2000  # records decoded per partition, newest first
FUTURE_SKEW_S = 300.0
CACHE_READ = "kafka.read"
CACHE_CENSUS = "kafka.census"


@dataclass
class TopicRead:
    source: TopicSource
    access: str  # "Kafka" | "StackState topic API"
    endpoint: str
    topic: TopicInfo
    tails: list[PartitionTail] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # partitions without a leader: not read
    notes: list[str] = field(default_factory=list)


def given(ctx: Context) -> bool:
    return bool(ctx.settings.kafka or ctx.settings.sts_api)


def read(ctx: Context) -> TopicRead | None:
    """The topic as read once per trace: Kafka first, then the topic API; None without either."""
    if not given(ctx):
        return None
    return ctx.once(CACHE_READ, lambda: _read(ctx))


def _must_read(ctx: Context) -> TopicRead:
    topic_read = read(ctx)
    assert topic_read is not None  # callers check _inputs first
    return topic_read


def _read(ctx: Context) -> TopicRead:
    s = ctx.settings
    notes: list[str] = []
    if s.kafka:
        try:
            return _read_with(ctx, ctx.kafka, notes)
        except SourceError as exc:
            if not s.sts_api:
                raise
            notes.append(
                f"Kafka could not be read ({str(exc).rstrip('.')}); the topic was read through the "
                "StackState topic API instead."
            )
            try:
                return _read_with(ctx, ctx.topic_api, notes)
            except SourceError as api_exc:
                raise SourceError(
                    f"{str(exc).rstrip('.')}; and the StackState topic API failed too: "
                    f"{lower_first(str(api_exc))}",
                    system="Kafka",
                    cause=exc.cause,
                ) from None
    return _read_with(ctx, ctx.topic_api, notes)


def _read_with(ctx: Context, source: TopicSource, notes: list[str]) -> TopicRead:
    topic = source.describe_topic(ctx.settings.topic)
    result = TopicRead(source, source.access, source.endpoint, topic, notes=notes)
    if not topic.exists:
        return result
    readable = [p.partition for p in topic.partitions if p.leader is not None or not source.shows_leaders]
    result.skipped = [p.partition for p in topic.partitions if p.partition not in readable]
    result.tails = source.read_window(topic.name, readable, ctx.window.start, CAP)
    return result


def census(ctx: Context) -> Census | None:
    """Records in the window per metric prefix; None when neither --kafka nor --sts-api is given.

    Raises SourceError when the topic cannot be read (cached: not retried).
    """
    if not given(ctx):
        return None
    return ctx.once(CACHE_CENSUS, lambda: analyse(ctx, _must_read(ctx)).census)


# --- what the records say ---------------------------------------------------------------


@dataclass
class Analysis:
    census: Census
    undecoded: int = 0
    future: int = 0  # records dated more than FUTURE_SKEW_S after now
    interval_s: float | None = None  # how often the integration reports, from its records
    payload_delay_s: float | None = None  # median of Kafka timestamp - payload timestamp (matched)
    total_exact: bool = True
    read: int = 0  # records read near the end of the partitions, in the window or not
    read_since: float | None = None  # the oldest record timestamp among them
    whole: bool = False  # the read reached the start of every partition
    probes: int = 0  # records of stsdebug's own probe in the window, left out of every count


def _ts(record: Record, payload_ts: float | None) -> float | None:
    return record.timestamp if record.timestamp is not None else payload_ts


def analyse(ctx: Context, topic_read: TopicRead) -> Analysis:
    """The census of the window, and what the records read say beyond it.

    Counts are of the window (on record timestamps: old and new records may interleave);
    the integration's newest record, its reporting interval and its hosts' clocks come from
    every record read, so a series that reports less often than the window is not taken
    for stopped and one that stopped shows when."""
    w = ctx.window
    c = Census("kafka", w.start, w.end)
    a = Analysis(c)
    series: dict[tuple[str, str], list[float]] = {}
    delays: list[float] = []
    clocks: dict[str, list[tuple[float, float]]] = {}  # host -> (record ts, payload ts)
    a.whole = bool(topic_read.tails)
    probes = 0
    for tail in topic_read.tails:
        if tail.in_window is not None:
            c.total += tail.in_window
        a.total_exact = a.total_exact and tail.exact and tail.in_window is not None
        a.whole = a.whole and tail.read_from is not None and tail.earliest is not None and (
            tail.read_from <= tail.earliest)
        newest_mm = decode_value(tail.newest.value) if tail.newest is not None else None
        probe_newest = newest_mm is not None and only_probe(newest_mm.metrics)
        real_newest: float | None = None
        if tail.newest is not None and tail.newest.timestamp is not None and not probe_newest:
            c.newest = max(c.newest or 0.0, tail.newest.timestamp)
        for record in tail.read or tail.records:
            inside = in_window(record, w.start)
            mm = decode_value(record.value)
            if mm is not None and only_probe(mm.metrics):
                # stsdebug's own probe: never data of the window (nor its newest record).
                probes += int(inside)
                continue
            a.read += 1
            payload_ts = mm.timestamp if mm else None
            ts = _ts(record, payload_ts)
            if ts is not None and (a.read_since is None or ts < a.read_since):
                a.read_since = ts
            if inside:
                c.examined += 1
                if ts is not None and ts > ctx.now + FUTURE_SKEW_S:
                    a.future += 1
                if mm is None:
                    a.undecoded += 1
            if mm is None:
                continue
            if ts is not None and probe_newest:
                real_newest = max(real_newest or 0.0, ts)
            for prefix in sorted({prefix_of(m) for m in mm.metrics}):
                c.prefix(prefix).see(ts, inside)
            if not ctx.matcher.matches(mm.metrics, mm.host, mm.tags):
                continue
            if inside:
                c.matched += 1
            if ts is not None and (c.matched_newest is None or ts > c.matched_newest):
                c.matched_newest = ts
            if payload_ts is not None:
                host = mm.host or ""
                for metric in mm.metrics[:3]:  # a few series per record measure the interval
                    series.setdefault((host, metric), []).append(payload_ts)
                if record.timestamp is not None:
                    if inside:
                        delays.append(record.timestamp - payload_ts)
                    clocks.setdefault(host, []).append((record.timestamp, payload_ts))
        if real_newest is not None:
            c.newest = max(c.newest or 0.0, real_newest)
    c.total = max(0, c.total - probes)
    a.probes = probes
    c.sampled = c.examined < c.total or not a.total_exact
    c.decoded = not (c.examined > 0 and a.undecoded == c.examined)
    a.interval_s = c.interval_s = freshness.interval(series)
    c.seen_since = a.read_since
    c.clocks = _clocks(clocks, ctx.now)
    if delays:
        a.payload_delay_s = statistics.median(delays)
    notes = []
    if not topic_read.topic.exists:
        notes.append(f"topic {topic_read.topic.name} does not exist")
    if c.sampled:
        notes.append(f"the newest {CAP:,} records per partition were decoded")
    if a.undecoded and c.decoded:
        notes.append(f"{a.undecoded:,} of {c.examined:,} records were not JSON MultiMetric messages")
    if not c.decoded:
        notes.append("the records are not JSON: counts and ages only")
    c.note = "; ".join(notes)
    return a


CLOCK_RECENT = 50  # a host's newest records that say whether its clock is off now


def _clocks(points: dict[str, list[tuple[float, float]]], now: float) -> list[HostClock]:
    """Per host: how far its newest points are stamped behind the time Kafka received them.

    The smallest delay among a host's newest records is its clock's offset: points sent on
    time would show a delay near zero, so when even the smallest is large, every point of
    the host is stamped in the past (a clock behind), not just some buffered ones."""
    out = []
    for host, pairs in points.items():
        recent = sorted(pairs)[-CLOCK_RECENT:]
        delays = [received - stamped for received, stamped in recent]
        behind = min(delays) if min(delays) > 0 else (max(delays) if max(delays) < 0 else 0.0)
        out.append(HostClock(host, len(recent), behind, max(p for _, p in recent), max(r for r, _ in recent)))
    return sorted(out, key=lambda h: -abs(h.behind_s))

