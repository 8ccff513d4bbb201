"""What a receiver log scan keeps: buckets of problems per part of the window. Pure.

Memory stays bounded whatever the log's size: per category, a count, up to
``MAX_REASONS`` distinct reasons with their first and last time, and the first and
last few entries as samples (decoded only when shown).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import cast

from stsdebug.logs.receiver_patterns import (
    Classified,
    classify_block,
    classify_template,
    entry_lines,
    template,
)

SAMPLES_HEAD = 3  # samples kept per category: the first few ...
SAMPLES_TAIL = 3  # ... and the last few
MAX_REASONS = 200  # distinct reasons kept per category; the rest are counted as "(other reasons)"
OTHER_REASONS = "(other reasons)"


@dataclass
class SampleLine:
    n: int
    text: str
    match: tuple[int, int] | None = None


@dataclass
class Sample:
    source: str
    ts: float | None
    reason: str
    lines: list[SampleLine]


# A sample as the scanner keeps it until the end: (source, line number, ts, entry bytes,
# level or None). Decoding waits until it is known to be among the few shown.
RawSample = tuple[str, int, "float | None", bytes, "str | None"]


def materialize(raw: RawSample | Sample) -> Sample:
    if isinstance(raw, Sample):
        return raw
    source, n, ts, block, level = raw
    lines = entry_lines(block)
    headless = level is None
    c = classify_block(block, level, headless)
    if c is None:  # cannot happen for a counted entry; keep the header line
        return Sample(source, ts, "", [SampleLine(n, lines[0] if lines else "")])
    # The span is found on the same-length template (ids as they are), so it fits the text.
    same = classify_template(template(block), level, headless)
    span = same.span if same is not None and (same.pattern, same.line) == (c.pattern, c.line) else None
    out = [SampleLine(n, lines[0], span if c.line == 0 else None)]
    if c.line > 0:
        out.append(SampleLine(n + c.line, lines[c.line], span))
    return Sample(source, ts, c.reason, out)


@dataclass
class ReasonStat:
    count: int = 0
    first: float | None = None
    last: float | None = None

    def add(self, ts: float | None) -> None:
        self.count += 1
        if ts is not None:
            if self.first is None or ts < self.first:
                self.first = ts
            if self.last is None or ts > self.last:
                self.last = ts

    def merge(self, other: ReasonStat) -> None:
        self.count += other.count
        for ts in (other.first, other.last):
            if ts is not None:
                self.first = ts if self.first is None else min(self.first, ts)
                self.last = ts if self.last is None else max(self.last, ts)


@dataclass
class Bucket:
    """Problems of one category in one part of the log (in the window, before it, ...)."""

    count: int = 0
    fail_count: int = 0  # of those, how many matched a fail-severity pattern
    partial_count: int = 0  # of those, how many dropped only part of a payload
    reasons: dict[str, ReasonStat] = field(default_factory=dict)
    head: list[RawSample | Sample] = field(default_factory=list)
    tail: deque[RawSample | Sample] = field(default_factory=lambda: deque(maxlen=SAMPLES_TAIL))
    minutes: set[int] = field(default_factory=set)  # epoch minutes with a timed, whole-payload entry
    inferred: dict[str, int] = field(default_factory=dict)  # pattern id -> entries, for inferred patterns
    first: float | None = None
    last: float | None = None

    def add(self, c: Classified, ts: float | None, sample: RawSample | Sample) -> None:
        # The scanner's hot path: ReasonStat.add inlined.
        self.count += 1
        if c.severity == "fail":
            self.fail_count += 1
        if c.partial:
            self.partial_count += 1
        if c.inferred:
            self.inferred[c.pattern] = self.inferred.get(c.pattern, 0) + 1
        stat = self.reasons.get(c.reason)
        if stat is None:
            key = c.reason if len(self.reasons) < MAX_REASONS else OTHER_REASONS
            stat = self.reasons.setdefault(key, ReasonStat())
        stat.count += 1
        if len(self.head) < SAMPLES_HEAD:
            self.head.append(sample)
        else:
            self.tail.append(sample)
        if ts is not None:
            if stat.first is None or ts < stat.first:
                stat.first = ts
            if stat.last is None or ts > stat.last:
                stat.last = ts
            if not c.partial:
                self.minutes.add(int(ts // 60))
            if self.first is None or ts < self.first:
                self.first = ts
            if self.last is None or ts > self.last:
                self.last = ts

    def add_many(self, c: Classified, tss: list[float | None]) -> None:
        """``add`` for several entries of one classification at once, without their samples
        (``add_sample``): what a scan gathers per classification and folds in per run."""
        n = len(tss)
        self.count += n
        if c.severity == "fail":
            self.fail_count += n
        if c.partial:
            self.partial_count += n
        if c.inferred:
            self.inferred[c.pattern] = self.inferred.get(c.pattern, 0) + n
        stat = self.reasons.get(c.reason)
        if stat is None:
            key = c.reason if len(self.reasons) < MAX_REASONS else OTHER_REASONS
            stat = self.reasons.setdefault(key, ReasonStat())
        stat.count += n
        timed = cast("list[float]", [t for t in tss if t is not None] if None in tss else tss)
        if not timed:
            return
        lo, hi = min(timed), max(timed)
        if stat.first is None or lo < stat.first:
            stat.first = lo
        if stat.last is None or hi > stat.last:
            stat.last = hi
        if not c.partial:
            self.minutes.update(map(int, map((60.0).__rfloordiv__, timed)))  # int(ts // 60), in C
        if self.first is None or lo < self.first:
            self.first = lo
        if self.last is None or hi > self.last:
            self.last = hi

    def add_sample(self, sample: RawSample | Sample) -> None:
        if len(self.head) < SAMPLES_HEAD:
            self.head.append(sample)
        else:
            self.tail.append(sample)

    def samples(self) -> list[Sample]:
        """The first few and the last few entries (decoded on first call)."""
        self.head = [materialize(s) for s in self.head]
        self.tail = deque((materialize(s) for s in self.tail), maxlen=SAMPLES_TAIL)
        return [*self.head, *self.tail]  # type: ignore[list-item]

    def merge(self, other: Bucket) -> None:
        self.count += other.count
        self.fail_count += other.fail_count
        self.partial_count += other.partial_count
        for reason, stat in other.reasons.items():
            key = reason if (reason in self.reasons or len(self.reasons) < MAX_REASONS) else OTHER_REASONS
            self.reasons.setdefault(key, ReasonStat()).merge(stat)
        for s in [*other.head, *other.tail]:
            if len(self.head) < SAMPLES_HEAD:
                self.head.append(s)
            else:
                self.tail.append(s)
        self.minutes |= other.minutes
        for pid, n in other.inferred.items():
            self.inferred[pid] = self.inferred.get(pid, 0) + n
        for ts in (other.first, other.last):
            if ts is not None:
                self.first = ts if self.first is None else min(self.first, ts)
                self.last = ts if self.last is None else max(self.last, ts)

    def shift_lines(self, offset: int) -> None:
        for s in self.samples():
            for ln in s.lines:
                ln.n += offset


PARTS = ("in", "before", "after", "untimed")


@dataclass
class SourceStats:
    name: str
    lines: int = 0
    bytes: int = 0
    headers: bool = False  # at least one line parsed as a receiver log header
    long_lines: int = 0  # lines longer than MAX_LINE_BYTES, cut
    first: float | None = None
    last: float | None = None


@dataclass
class ScanResult:
    """What a scan found. Line counts are split by where they fall against the window:
    ``in``, ``before``, ``after``, ``untimed`` (no timestamp: lines before the first header)."""

    sources: list[SourceStats] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    problems: dict[str, dict[str, Bucket]] = field(default_factory=lambda: {p: {} for p in PARTS})
    naive_ts: bool = False  # some timestamps had no zone (read in the configured zone)
    zoned_ts: bool = False
    first: float | None = None  # oldest / newest timestamp seen
    last: float | None = None
    stopped: str | None = None  # why the scan stopped early, if it did
    layouts: set[str] = field(default_factory=set)  # "linux" ([thread]) and/or "kubernetes"
    # Recovery lines in the window (RECOVERY), by category: how many, and the last one's time.
    recoveries: dict[str, int] = field(default_factory=dict)
    recovered_at: dict[str, float] = field(default_factory=dict)

    def recovery(self, category: str, ts: float) -> None:
        self.recoveries[category] = self.recoveries.get(category, 0) + 1
        if ts > self.recovered_at.get(category, ts - 1):
            self.recovered_at[category] = ts

    @property
    def total_lines(self) -> int:
        return sum(self.lines.values())

    @property
    def has_headers(self) -> bool:
        return any(s.headers for s in self.sources)

    def bucket(self, part: str, category: str) -> Bucket:
        return self.problems[part].get(category) or Bucket()

    def count(self, part: str, category: str) -> int:
        b = self.problems[part].get(category)
        return b.count if b else 0

    def _see(self, ts: float) -> None:
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts

    def finish(self) -> ScanResult:
        """Decode the kept samples (before pickling or merging across processes)."""
        for part in self.problems.values():
            for b in part.values():
                b.samples()
        return self

    def merge(self, other: ScanResult, line_offset: int = 0) -> None:
        """Append ``other`` (scanned after this one); shift its line numbers by line_offset."""
        for part in PARTS:
            self.lines[part] += other.lines[part]
            for cat, b in other.problems[part].items():
                if line_offset:
                    b.shift_lines(line_offset)
                self.problems[part].setdefault(cat, Bucket()).merge(b)
        self.naive_ts |= other.naive_ts
        self.zoned_ts |= other.zoned_ts
        for ts in (other.first, other.last):
            if ts is not None:
                self._see(ts)
        self.stopped = self.stopped or other.stopped
        self.layouts |= other.layouts
        for cat, n in other.recoveries.items():
            self.recoveries[cat] = self.recoveries.get(cat, 0) + n
        for cat, ts in other.recovered_at.items():
            self.recovered_at[cat] = max(ts, self.recovered_at.get(cat, ts))

