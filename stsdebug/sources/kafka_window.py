"""Reading one window of a topic near its end, with kafka-python's consumer (used by
``KafkaSource.read_window``): offsets, the tail, and the check of ``offsets_for_times``
against the records around its answer. Never reads from the beginning of a partition."""

from __future__ import annotations

import time
from typing import Any

from stsdebug.sources.topic import (
    PartitionTail,
    Record,
    WindowCount,
    boundary_in,
    count_window,
    search_offset,
)


class WindowReader:
    """The read of one window: offsets, the tail, and the check of offsets_for_times."""

    def __init__(
        self, admin: Any, consumer: Any, topic: str, partitions: list[int], seconds: float
    ) -> None:
        from kafka import TopicPartition

        self.admin = admin
        self.consumer = consumer
        self.topic = topic
        self._tp = TopicPartition
        self.tps = [TopicPartition(topic, p) for p in partitions]
        # Loops stop on their own at this deadline, so an abandoned read cannot spin.
        self.deadline = time.monotonic() + seconds
        self.marks: dict[Any, int | None] = {}  # high-water marks seen by read_ranges

    def _start(self, offsets: dict[Any, int]) -> None:
        """Assign exactly these partitions at these offsets, with nothing left buffered.

        Records fetched but not returned (reads stop at what they need) would otherwise
        stay parked in the consumer and keep it from fetching those partitions again.
        """
        self.consumer.unsubscribe()
        self.consumer.assign(list(offsets))
        for tp, offset in offsets.items():
            self.consumer.seek(tp, offset)

    def _drop(self, tp: Any) -> None:
        """Stop reading one partition and forget what was fetched for it."""
        keep = {t: self.consumer.position(t) for t in self.consumer.assignment() if t != tp}
        if keep:
            self._start(keep)
        else:
            self.consumer.unsubscribe()

    def _poll(self, max_records: int = 5000) -> dict[Any, list[Any]]:
        if time.monotonic() > self.deadline:
            from kafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError("read deadline passed")
        return dict(self.consumer.poll(timeout_ms=200, max_records=max_records))

    def tp(self, partition: int) -> Any:
        return self._tp(self.topic, partition)

    def list_offsets(self) -> tuple[dict[Any, int], dict[Any, int]]:
        from kafka.protocol.consumer import OffsetSpec

        first = self.admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in self.tps})
        last = self.admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in self.tps})
        return (
            {tp: int(first[tp].offset) for tp in self.tps},
            {tp: int(last[tp].offset) for tp in self.tps},
        )

    def high_water(
        self, earliest: dict[Any, int], listed: dict[Any, int]
    ) -> tuple[dict[Any, tuple[int, str]], dict[Any, list[Record]]]:
        """(end, method) per partition: ListOffsets checked against a fetch's high-water mark.

        Some brokers answer ListOffsets LATEST with the start of the last batch + 1; the
        high-water mark in a fetch response is the log end either way.
        """
        ends: dict[Any, tuple[int, str]] = {}
        probe = {tp: max(earliest[tp], listed[tp] - 1) for tp in self.tps if listed[tp] > earliest[tp]}
        for tp in self.tps:
            if tp not in probe:
                ends[tp] = (listed[tp], "ListOffsets (empty partition)")
        marks, seen = self.fetch_high_water(probe)
        for tp in probe:
            hw = marks[tp]
            if hw > listed[tp]:
                ends[tp] = (hw, f"fetch high-water mark (ListOffsets answered {listed[tp]:,})")
            else:
                ends[tp] = (listed[tp], "ListOffsets, confirmed by the fetch high-water mark")
        return ends, seen

    def fetch_high_water(self, probe: dict[Any, int]) -> tuple[dict[Any, int], dict[Any, list[Record]]]:
        """The high-water mark of a fetch at each offset (which must hold a record).

        The mark is read only after this fetch returned a record for the partition: the
        consumer keeps the mark of earlier fetches, which would be stale.
        """
        seen: dict[Any, list[Record]] = {}
        if not probe:
            return {}, seen
        self._start(probe)
        waiting = set(probe)
        while waiting:
            batch = self._poll()
            for tp, records in batch.items():
                if records:
                    seen.setdefault(tp, []).extend(_record(r) for r in records)
                    waiting.discard(tp)
        return {tp: int(self.consumer.highwater(tp)) for tp in probe}, seen

    def read_ranges(self, ranges: dict[Any, tuple[int, int]]) -> dict[Any, list[Record]]:
        """Records with from <= offset < to, per partition (the caller bounds the sizes)."""
        out: dict[Any, list[Record]] = {tp: [] for tp in ranges}
        todo = {tp: r for tp, r in ranges.items() if r[0] < r[1]}
        if not todo:
            return out
        self._start({tp: lo for tp, (lo, _hi) in todo.items()})
        while todo:
            # Ask for no more than is still wanted: kafka-python decodes lazily, so the
            # rest of a large fetch (up to 1 MB of records) is never decoded.
            wanted = sum(max(1, hi - self.consumer.position(tp)) for tp, (_lo, hi) in todo.items())
            batch = self._poll(max_records=min(5000, wanted))
            for tp, records in batch.items():
                if tp not in todo:
                    continue
                lo, hi = todo[tp]
                out[tp].extend(_record(r) for r in records if lo <= r.offset < hi)
            for tp in list(todo):
                if self.consumer.position(tp) >= todo[tp][1]:
                    self.marks[tp] = self.consumer.highwater(tp)
                    del todo[tp]
                    if todo:
                        self._drop(tp)
        return out

    def first_records(self, offsets: dict[Any, int]) -> dict[Any, Record | None]:
        """The first record at or after each offset (None past the end)."""
        out: dict[Any, Record | None] = {tp: None for tp in offsets}
        todo = dict(offsets)
        if not todo:
            return out
        self._start(todo)
        while todo:
            # One record at a time: kafka-python decodes lazily, so the rest of the
            # fetched batch is never decoded.
            batch = self._poll(max_records=1)
            for tp, records in batch.items():
                if tp in todo:
                    hits = [r for r in records if r.offset >= todo[tp]]
                    if hits:
                        out[tp] = _record(min(hits, key=lambda r: r.offset))
                        del todo[tp]
                        if todo:
                            self._drop(tp)
            for tp in list(todo):
                hw = self.consumer.highwater(tp)
                if hw is not None and self.consumer.position(tp) >= hw:
                    del todo[tp]
                    if todo:
                        self._drop(tp)
        return out

    def offsets_for_times(self, start_ms: int, tps: list[Any]) -> dict[Any, Any] | None:
        if not tps:
            return {}
        try:
            return dict(self.consumer.offsets_for_times({tp: start_ms for tp in tps}))
        except Exception as exc:  # noqa: BLE001 - an old broker: fall back to reading
            if type(exc).__name__ in ("UnsupportedVersionError", "IncompatibleBrokerVersion"):
                return None
            raise

    def read(self, start: float, cap: int) -> list[PartitionTail]:
        earliest, listed = self.list_offsets()
        start_ms = int(start * 1000)
        start = start_ms / 1000.0  # compare at the brokers' precision (milliseconds)
        # The tail up to the listed end; the fetch that returns it also carries the
        # high-water mark, which checks that end. Past it: read the real tail again.
        ranges = {tp: (max(earliest[tp], listed[tp] - cap), listed[tp]) for tp in self.tps}
        tails = self.read_ranges(ranges)
        ends: dict[Any, tuple[int, str]] = {}
        again: dict[Any, tuple[int, int]] = {}
        for tp in self.tps:
            hw = self.marks.get(tp) if tails.get(tp) else None
            if listed[tp] <= earliest[tp]:
                ends[tp] = (listed[tp], "ListOffsets (empty partition)")
            elif hw is not None and hw > listed[tp]:
                ends[tp] = (int(hw), f"fetch high-water mark (ListOffsets answered {listed[tp]:,})")
                again[tp] = ranges[tp] = (max(earliest[tp], int(hw) - cap), int(hw))
            else:
                ends[tp] = (listed[tp], "ListOffsets, confirmed by the fetch high-water mark")
        if again:
            tails.update(self.read_ranges(again))
        # Where the records read do not reach the start of the partition and the window's
        # start does not show among them (old and new records in order), look it up.
        beyond = [
            tp for tp in self.tps
            if ranges[tp][0] > earliest[tp] and not boundary_in(tails.get(tp, []), start)
        ]
        by_time = self.offsets_for_times(start_ms, beyond)
        out = []
        for tp in self.tps:
            end, end_method = ends[tp]
            lo, _hi = ranges[tp]
            records = sorted(tails.get(tp, []), key=lambda r: r.offset)
            newest = max(
                (r for r in records if r.timestamp is not None), key=lambda r: r.timestamp or 0, default=None
            )
            answer = by_time.get(tp) if by_time is not None else None
            counted = self._window(
                tp, start, earliest[tp], end, lo, records, by_time is not None and tp in beyond, tp in beyond, answer
            )
            out.append(
                PartitionTail(
                    tp.partition, earliest[tp], end, end_method, counted.count, counted.exact, counted.method,
                    newest, counted.records, lo, records,
                )
            )
        return out

    def _window(
        self,
        tp: Any,
        start: float,
        earliest: int,
        end: int,
        lo: int,
        tail: list[Record],
        asked: bool,
        beyond: bool,
        answer: Any,
    ) -> WindowCount:
        """The records in the window: counted on timestamps, with the window's first offset
        looked up where the records read do not show it."""
        if end <= earliest:
            return WindowCount(0, True, "empty partition", [])
        if not beyond:
            return count_window(tail, start, earliest=earliest, lo=lo, end=end)
        if asked:
            by_offset = {r.offset: r for r in tail}
            ok, offset = self._check(tp, start, earliest, end, by_offset, answer)
            if ok and offset is not None:
                return count_window(tail, start, earliest=earliest, lo=lo, end=end, first=offset,
                                    how="offsets_for_times (checked against record timestamps)")
            if ok:  # no record at or after the start: the newest read is older
                return count_window(tail, start, earliest=earliest, lo=lo, end=end, first=end,
                                    how="offsets_for_times (checked against record timestamps)")
            why = "the broker's offsets_for_times answer failed the timestamp check"
        else:
            why = "the broker does not support offsets_for_times"
        first, probes = self._search(tp, start, earliest, tail)
        if first is not None:
            how = (f"searched on record timestamps, {probes} fetch{'es' if probes != 1 else ''}, assuming they "
                   f"grow with offsets ({why})")
            return count_window(tail, start, earliest=earliest, lo=lo, end=end, first=first, how=how)
        counted = count_window(tail, start, earliest=earliest, lo=lo, end=end)
        counted.method += f" ({why})"
        return counted

    def _check(
        self, tp: Any, start: float, earliest: int, end: int, by_offset: dict[int, Record], answer: Any
    ) -> tuple[bool, int | None]:
        """Is the broker's offsets_for_times answer consistent with the records around it?"""
        if answer is None:
            newest = max((r.timestamp or 0.0 for r in by_offset.values()), default=None)
            # "No record at or after start": true only if the newest record is older.
            return (newest is not None and newest < start), None
        offset = int(answer.offset)
        if not earliest <= offset < end:
            return False, None
        need = [o for o in (offset - 1, offset) if o >= earliest and o not in by_offset]
        if need:
            got = self.read_ranges({tp: (min(need), max(need) + 1)})[tp]
            by_offset = {**by_offset, **{r.offset: r for r in got}}
        at = by_offset.get(offset)
        before = by_offset.get(offset - 1)
        if at is None or at.timestamp is None or at.timestamp < start:
            return False, None
        if offset > earliest and (before is None or before.timestamp is None or before.timestamp >= start):
            return False, None
        return True, offset

    def _search(self, tp: Any, start: float, earliest: int, tail: list[Record]) -> tuple[int | None, int]:
        """First in-window offset before the tail: (offset or None, fetches used)."""
        oldest = next((r for r in tail if r.timestamp is not None), None)
        first = self.first_records({tp: earliest})[tp]
        if oldest is None or first is None or first.timestamp is None:
            return None, 1
        if first.timestamp >= start:
            return first.offset, 1  # the whole partition is in the window
        found, probes = search_offset(start, first, oldest, lambda x: self.first_records({tp: x})[tp])
        return found, probes + 1


def _record(r: Any) -> Record:
    ts = getattr(r, "timestamp", None)
    size = getattr(r, "serialized_value_size", 0) or 0
    return Record(
        int(r.partition),
        int(r.offset),
        ts / 1000.0 if isinstance(ts, (int, float)) and ts >= 0 else None,
        r.key,
        r.value,
        int(size) if size and size > 0 else 0,
    )
