"""What a topic read returns, whichever way the topic is reached (Kafka or the StackState
topic API), and the pure helpers both readers share: decoding ``MultiMetric`` records,
telling timestamp units apart, and searching offsets on record timestamps."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_PROBES = 24  # binary-search fetches per partition: enough for 16 million records


# --- what the reads return ----------------------------------------------------------


@dataclass
class Record:
    """One record as read, undecoded. ``value`` is bytes from Kafka, parsed JSON from the topic API."""

    partition: int
    offset: int
    timestamp: float | None  # epoch seconds: the Kafka record timestamp (None if absent)
    key: bytes | str | None
    value: Any
    size: int = 0  # serialized value size in bytes (0 when unknown)


@dataclass
class PartitionInfo:
    partition: int
    leader: int | None  # broker node id; None when unknown or leaderless (-1)
    replicas: list[int] = field(default_factory=list)
    isr: list[int] = field(default_factory=list)
    error: str | None = None


@dataclass
class TopicInfo:
    name: str
    exists: bool
    partitions: list[PartitionInfo] = field(default_factory=list)
    brokers: dict[int, str] = field(default_factory=dict)  # node id -> advertised host:port
    note: str = ""


@dataclass
class PartitionTail:
    """What one partition holds near its end and in the window."""

    partition: int
    earliest: int | None
    end: int | None  # the next offset to be written
    end_method: str  # how `end` was established
    in_window: int | None  # records with timestamp >= window start
    exact: bool  # False: `in_window` is a lower bound
    window_method: str  # how `in_window` was established
    newest: Record | None = None  # newest record of the partition (by timestamp), in window or not
    records: list[Record] = field(default_factory=list)  # in-window records read, by offset
    read_from: int | None = None  # first offset read
    # Every record read near the end, in the window or not (by offset): how far back the
    # data reaches, and the newest of series that report less often than the window.
    read: list[Record] = field(default_factory=list)


@dataclass
class GroupOffsets:
    group: str
    committed: dict[int, int | None]  # partition -> committed offset (None: no commit)
    state: str | None = None  # Stable, Empty, Dead, ... (None when the broker did not say)
    members: int | None = None


@dataclass
class MultiMetric:
    """The parts of a ``MultiMetric`` message that identify whose data it is."""

    metrics: list[str]  # metric names (the keys of `values`)
    host: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    name: str | None = None  # "convertedMetric" for agent metrics
    timestamp: float | None = None  # epoch seconds, whatever unit the message used


def epoch_seconds(value: Any) -> float | None:
    """A timestamp in seconds, milli-, micro- or nanoseconds, told apart by magnitude.

    Seconds stay below 1e11 until the year 5138, so anything above is a finer unit.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or value != value or value <= 0:
        return None
    number = float(value)
    for limit, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if number > limit:
            return number / scale
    return number


def decode_value(value: Any) -> MultiMetric | None:
    """A record value as a MultiMetric, with or without the ``{"MultiMetric": ...}`` wrapper.

    Accepts bytes or text holding JSON, or JSON already parsed (the topic API). None when it
    is not JSON, or JSON without metric values.
    """
    obj = value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            obj = json.loads(bytes(value))
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested thousands deep
            return None
    elif isinstance(value, str):
        try:
            obj = json.loads(value)
        except (ValueError, RecursionError):
            return None
    if not isinstance(obj, dict):
        return None
    for key, inner in obj.items():
        if isinstance(key, str) and key.lower() == "multimetric" and isinstance(inner, dict):
            obj = inner
            break
    values = obj.get("values")
    if isinstance(values, dict):
        metrics = [str(k) for k in values]
    elif isinstance(obj.get("metric"), str):  # one point per message
        metrics = [obj["metric"]]
    elif isinstance(obj.get("name"), str) and "value" in obj:
        metrics = [obj["name"]]
    else:
        return None
    tags: dict[str, str] = {}
    for source in (obj.get("labels"), obj.get("tags")):  # explicit tags win over labels
        if isinstance(source, dict):
            tags.update({str(k): str(v) for k, v in source.items()})
        elif isinstance(source, list):
            for item in source:
                key, sep, val = str(item).partition(":")
                if sep:
                    tags[key] = val
    host = obj.get("host")
    name = obj.get("name")
    return MultiMetric(
        metrics,
        host if isinstance(host, str) else None,
        tags,
        name if isinstance(name, str) else None,
        epoch_seconds(obj.get("timestamp")),
    )


@dataclass
class WindowCount:
    """Records in the window on one partition, as far as the records read can tell."""

    count: int
    exact: bool  # False: an estimate or a lower bound (``method`` says which)
    method: str
    records: list[Record]  # the in-window records among those read, by offset


def in_window(record: Record, start: float) -> bool:
    """A record without a timestamp cannot be placed: it counts as in the window."""
    return record.timestamp is None or record.timestamp >= start


def boundary_in(tail: list[Record], start: float) -> bool:
    """Does the window start inside the records read, with every older record before every
    newer one (timestamps growing with offsets, as from one producer)?"""
    older = [r.offset for r in tail if not in_window(r, start)]
    newer = [r.offset for r in tail if in_window(r, start)]
    return bool(older) and (not newer or max(older) < min(newer))


def count_window(
    tail: list[Record],
    start: float,
    *,
    earliest: int,
    lo: int,
    end: int,
    first: int | None = None,
    how: str = "",
    unit: str = "records",
) -> WindowCount:
    """Count the window on a partition whose timestamps need not grow with offsets.

    Record timestamps are CreateTime, set by each producer: with several producers,
    buffered or backfilled points, old and new records interleave on one partition, so
    the window is counted on timestamps, never cut at an offset. ``tail`` is every record
    read, offsets ``lo`` to ``end``. ``first`` is the first offset whose timestamp is in the
    window as a lookup found it (Kafka's offsets_for_times: every record before it is older),
    with ``how`` saying how; without it the records read decide alone.
    """
    tail = sorted(tail, key=lambda r: r.offset)
    inside = [r for r in tail if in_window(r, start)]
    n = len(inside)
    if lo <= earliest:
        mixed = " (old and new timestamps interleave)" if not _ordered(tail, start) else ""
        return WindowCount(n, True, f"counted on the timestamps of all {len(tail):,} {unit}{mixed}", inside)
    if first is not None:
        if first >= lo:
            return WindowCount(n, True, f"{how}; counted on the timestamps of the {unit} read", inside)
        share = n / len(tail) if tail else 1.0
        unread = lo - first
        if share >= 1.0:
            return WindowCount(end - first, True, how, inside)
        estimate = n + round(unread * share)
        return WindowCount(
            estimate, False,
            f"estimated: {n:,} of the last {len(tail):,} {unit} read are in the window, and the "
            f"{unread:,} before them (from offset {first:,}, {how}) are counted at that rate",
            inside,
        )
    if boundary_in(tail, start):
        return WindowCount(n, True, f"counted in the last {len(tail):,} {unit} read", inside)
    if any(not in_window(r, start) for r in tail):
        return WindowCount(
            n, False,
            f"at least: old and new timestamps interleave in the last {len(tail):,} {unit} read, "
            f"and the {lo - earliest:,} before them were not read",
            inside,
        )
    return WindowCount(end - lo, False, f"at least: the last {end - lo:,} {unit} are all in the window", inside)


def _ordered(tail: list[Record], start: float) -> bool:
    return not any(not in_window(r, start) for r in tail) or boundary_in(tail, start)


class TopicSource:
    """What a Kafka stage reads from, whichever way it reaches the topic."""

    access: str = ""
    endpoint: str = ""
    supports_groups: bool = False  # committed offsets of consumer groups can be read
    shows_leaders: bool = False  # partitions come with their leaders (unreadable without one)

    def describe_topic(self, topic: str) -> TopicInfo:  # pragma: no cover - interface
        raise NotImplementedError

    def read_window(
        self, topic: str, partitions: list[int], start: float, cap: int
    ) -> list[PartitionTail]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        pass


def search_offset(
    start: float,
    a: Record,
    b: Record,
    fetch: Callable[[int], Record | None],
    max_probes: int = MAX_PROBES,
) -> tuple[int | None, int]:
    """The offset of the first record at or after ``start``, between record ``a`` (older than
    ``start``) and record ``b`` (not older). Returns (offset, probes); offset None when the
    probes run out or a record has no timestamp.

    ``fetch(x)`` gives the first record at or after offset x. Probes alternate between
    interpolating on timestamps (a few probes when records arrive at a steady rate) and
    bisecting (so an uneven log still converges within twice log2 of the range). Assumes
    timestamps grow with offsets, as they do for records from one producer.
    """
    assert a.timestamp is not None and b.timestamp is not None
    lo, t_lo, hi, t_hi, hi_offset = a.offset, a.timestamp, b.offset, b.timestamp, b.offset
    probes, interpolate = 0, True
    while hi - lo > 1:
        if probes >= max_probes:
            return None, probes
        if interpolate and t_hi > t_lo:
            guess = lo + int((start - t_lo) / (t_hi - t_lo) * (hi - lo))
        else:
            guess = (lo + hi) // 2
        guess = min(max(guess, lo + 1), hi - 1)
        interpolate = not interpolate
        probes += 1
        rec = fetch(guess)
        if rec is None or rec.timestamp is None:
            return None, probes
        if rec.offset >= hi or rec.timestamp >= start:
            # Nothing older than `start` at or after `guess`: the answer is at or before it.
            hi = guess
            if rec.offset < hi_offset:
                hi_offset, t_hi = rec.offset, rec.timestamp
        else:
            lo, t_lo = rec.offset, rec.timestamp
    return hi_offset, probes
