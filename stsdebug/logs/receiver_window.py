"""Where a receiver log's lines fall against the window, the log's oldest and newest
times, and the recovery lines in the window: the part of the scanner that dates entries. Pure.

Entries are in time order but for a few written up to ``SLACK`` seconds late (threads take
their time before the appender's lock): stretches of a chunk are placed by bisection on the
header times, and entries dated within SLACK of a window edge one by one.
"""

from __future__ import annotations

from stsdebug.logs.receiver_format import _HEADER, _NEXT_HEADER, Clock, _next_header
from stsdebug.logs.receiver_patterns import RECOVERY
from stsdebug.logs.receiver_result import ScanResult, SourceStats
from stsdebug.logs.text import decode

SLACK = 10.0  # seconds an entry may be written out of time order (see _count_window)
_BAND_MAX = 1 << 17  # bytes of headers read one by one for the oldest/newest time near a run's ends


class WindowLines:
    """Dating for :class:`stsdebug.logs.receiver_scan.Scanner` (which holds the state)."""

    _buf: bytearray
    window: tuple[float, float] | None
    clock: Clock
    result: ScanResult
    stats: SourceStats
    _prev_ts: float | None

    def _outside(self, first: int, lo: int, t0: float | None, t1: float | None) -> bool:
        """Do the entries of buf[lo:hi] all lie on one side of the window (in time order)?"""
        w = self.window
        if w is None or t0 is None or t1 is None or t0 > t1:
            return False
        # SLACK: an entry in the middle may be dated up to that much out of order.
        early, late = t1 < w[0] - SLACK, t0 > w[1] + SLACK
        if not (early or late) or first == lo:
            return early or late
        # Lines before the first header continue the previous entry: judged by its time.
        p = self._prev_ts
        return p is not None and ((early and p < w[0]) or (late and p > w[1]))

    def _header_ts(self, pos: int, hi: int) -> float | None:
        m = _HEADER.match(self._buf, pos, hi)
        if m is None:
            return None
        ts, zoned = self.clock.epoch(m)
        if zoned:
            self.result.zoned_ts = True
        else:
            self.result.naive_ts = True
        self.result.layouts.add("kubernetes" if m.group("thread") is None else "linux")
        if ts is not None:
            self._see(ts)
        return ts

    def _part(self, ts: float | None) -> str:
        if ts is None:
            return "untimed"
        w = self.window
        if w is None:
            return "in"
        if ts < w[0]:
            return "before"
        if ts > w[1]:
            return "after"
        return "in"

    def _count_window(self, first: int, hi: int, n: int, t0: float | None, t1: float | None) -> None:
        """Count the run's lines (from its first header) before, in and after the window.

        Entries are in time order but for a few written up to ``SLACK`` seconds late
        (threads take their time before the appender's lock). So a run whose ends are more
        than SLACK inside (or outside) the window is counted whole; near an edge, the band
        of entries dated within SLACK of it is counted entry by entry, and the stretches
        between bands (found by bisection) are wholly on one side.
        """
        w = self.window
        lines = self.result.lines
        if t0 is None or t1 is None or t0 > t1:
            self._count_entries(first, hi, hi)  # out of order at its ends: entry by entry
            return
        if w is None or (t0 >= w[0] + SLACK and t1 <= w[1] - SLACK):
            lines["in"] += n
            return
        if t1 < w[0] - SLACK:
            lines["before"] += n
            return
        if t0 > w[1] + SLACK:
            lines["after"] += n
            return
        bands: list[list[int]] = []
        for edge in w:
            if t0 - SLACK <= edge <= t1 + SLACK:
                a = self._first_at_or_after(first, hi, edge - SLACK, strict=False)
                b = self._first_at_or_after(a, hi, edge + SLACK, strict=True)
                if bands and a <= bands[-1][1]:
                    bands[-1][1] = max(b, bands[-1][1])
                else:
                    bands.append([a, b])
        buf = self._buf
        pos = first
        for a, b in [*bands, [hi, hi]]:
            if pos < a:  # a stretch wholly on one side: the part of its first entry
                m = _HEADER.match(buf, pos, hi)
                ts = self.clock.epoch(m)[0] if m else None
                if ts is None:
                    self._count_entries(pos, a, hi)
                else:
                    cnt = buf.count(b"\n", pos, a) + (1 if a == hi and buf[hi - 1] != 10 else 0)
                    lines[self._part(ts)] += cnt
            if a < b:
                self._count_entries(a, b, hi)
            pos = max(pos, b)

    def _first_at_or_after(self, lo: int, hi: int, edge: float, strict: bool) -> int:
        """Offset of the first header in [lo, hi) whose time is >= edge (> edge if strict),
        or hi. Assumes time order; headers without a time count as early."""
        buf = self._buf
        a, b = lo, hi  # answer in [a, b]; a is a header start (or hi)
        while True:
            mid = _next_header(buf, (a + b) // 2, b) if b - a > 1 else -1
            if mid < 0 or mid >= b or mid <= a:
                # Few headers left between a and b: walk them.
                pos = a
                while 0 <= pos < b:
                    m = _HEADER.match(buf, pos, hi)
                    ts = self.clock.epoch(m)[0] if m else None
                    if ts is not None and (ts > edge if strict else ts >= edge):
                        return pos
                    pos = _next_header(buf, pos, b)
                return b
            m = _HEADER.match(buf, mid, hi)
            ts = self.clock.epoch(m)[0] if m else None
            if ts is not None and (ts > edge if strict else ts >= edge):
                b = mid
            else:
                a = mid

    def _count_entries(self, first: int, end: int, hi: int) -> None:
        """Each entry starting in [first, end) by its own time (``hi``: where the run ends)."""
        buf = self._buf
        lines = self.result.lines
        starts = [first] + [m.start() + 1 for m in _NEXT_HEADER.finditer(buf, first, end)]
        starts.append(end)
        ends_nl = buf[hi - 1] == 10
        for a, b in zip(starts, starts[1:], strict=False):
            if a >= b:
                continue
            cnt = buf.count(b"\n", a, b) + (0 if b < hi or ends_nl else 1)
            m = _HEADER.match(buf, a, hi)
            ts = self.clock.epoch(m)[0] if m else None
            if ts is not None:
                self._see(ts)
            lines[self._part(ts)] += cnt

    def _see_band(self, a: int, b: int, hi: int) -> None:
        """Note the times of the headers starting in [a, b) (at most _BAND_MAX bytes of them)."""
        if a >= b or b - a > _BAND_MAX:
            return
        buf, epoch = self._buf, self.clock.epoch
        for pos in [a] + [m.start() + 1 for m in _NEXT_HEADER.finditer(buf, a, b)]:
            m = _HEADER.match(buf, pos, hi)
            ts = epoch(m)[0] if m else None
            if ts is not None:
                self._see(ts)

    def _see(self, ts: float) -> None:
        self.result._see(ts)
        st = self.stats
        if st.first is None or ts < st.first:
            st.first = ts
        if st.last is None or ts > st.last:
            st.last = ts

    def _recoveries(self, lo: int, hi: int, found: list[list[int]]) -> None:
        """Recovery lines (RECOVERY) dated in the window, in buf[lo:hi]; ``found``: where
        each recovery needle is."""
        buf, w = self._buf, self.window
        done: set[int] = set()
        for (category, _needle, rx), hits in zip(RECOVERY, found, strict=True):
            for pos in hits:
                if pos < lo:
                    continue
                start = buf.rfind(b"\n", lo, pos) + 1
                if start in done:
                    continue
                m = _HEADER.match(buf, start, hi)
                if m is None:
                    continue
                ts = self.clock.epoch(m)[0]
                if ts is None or (w is not None and not (w[0] <= ts <= w[1])):
                    continue
                if rx.search(decode(m.group("msg") or b"")):
                    done.add(start)
                    self.result.recovery(category, ts)
