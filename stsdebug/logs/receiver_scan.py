"""The streaming receiver log scanner. Pure: it is fed bytes, it reads nothing itself.

An *entry* is a header line plus the lines after it that do not start a new
header: Java/Scala stack traces (``\\tat ...``, ``Caused by: ...``,
``... 12 more``) and multi-line messages stay with their entry.

The scanner is built for big logs: it works on bytes in large chunks, finds
candidate entries with two substring searches (``ERROR``, ``WARN``) and runs
regexes only on those entries. Everything else is only counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import tzinfo
from typing import Any

from stsdebug.logs.receiver_format import (
    _HEADER,
    _UNSEEN,
    HEADER_START,
    Clock,
    _entry_start,
    _last_header_start,
    _next_header,
    _shape_info,
    find_entry_start,
    parse_entries,
)
from stsdebug.logs.receiver_patterns import (
    RECOVERY,
    Classified,
    classify_template,
    id_template,
)
from stsdebug.logs.receiver_result import (
    SAMPLES_HEAD,
    SAMPLES_TAIL,
    Bucket,
    ScanResult,
    SourceStats,
)
from stsdebug.logs.receiver_window import SLACK, WindowLines
from stsdebug.logs.search import Needles, find_all
from stsdebug.logs.text import LINE_TEXT_CAP

MAX_LINE_BYTES = 1 << 20  # a line longer than this is cut to LINE_TEXT_CAP; the rest is skipped
MAX_CARRY = 4 << 20  # an entry longer than this is split (its tail is read as a headless entry)
_NEEDLES = (b"ERROR", b"WARN")
_FINDER = Needles((*_NEEDLES, *(needle for _, needle, _ in RECOVERY)))

# --- scanner ---------------------------------------------------------------------

CHUNK = 8 << 20  # bytes read at a time
_CACHE_MAX = 4096  # classifications remembered (entries repeat, bar timestamp and thread)
_CACHE_BODY_MAX = 16384  # only entries up to this size are remembered
_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NOT_A_PROBLEM = Classified("", "", "", "", 0, None)
_LINE_KEY = 96  # bytes of a line start remembered as a header shape (thread and level fit)
_POW10 = (10, 100, 1000, 10**4, 10**5, 10**6, 10**7, 10**8, 10**9)
# A run's problem entries of one classification: it, their times, starts and ends.
_Group = tuple[Classified, list["float | None"], list[int], list[int]]


class Scanner(WindowLines):
    """Streaming scanner for one source: ``feed`` bytes in any pieces (or ``read_from``
    a binary file), then ``close``.

    ``window`` is (start, end) epoch seconds; None counts everything as in the window.
    ``line_base`` is the number of lines before the first byte (for scanning a file
    in parallel ranges). Memory stays bounded: one buffer of CHUNK + MAX_CARRY bytes.
    """

    def __init__(
        self,
        source: str,
        window: tuple[float, float] | None = None,
        tz: tzinfo | None = None,
        *,
        k8s_tz: tzinfo | None = None,
        result: ScanResult | None = None,
        line_base: int = 0,
    ) -> None:
        self.window = window
        self.clock = Clock(tz, k8s_tz)
        self.result = result if result is not None else ScanResult()
        self.stats = SourceStats(source)
        self.result.sources.append(self.stats)
        self._line = line_base  # lines processed so far (absolute)
        self._buf = bytearray(CHUNK + MAX_CARRY)
        self._len = 0  # valid bytes in _buf; they are the carry: the unfinished last entry
        self._skipping = False  # inside an over-long line, discarding bytes up to its end
        self._prev_ts: float | None = None  # timestamp of the last entry processed
        self._prev_counted = False  # the last entry was a problem (its split tail is not counted again)
        # Classifications by template (digits as 0), and by template with ids as <id>.
        self._cache: dict[tuple[bytes, bytes], Classified] = {}
        self._id_cache: dict[tuple[bytes, bytes], Classified] = {}
        self._shapes: dict[bytes, int] = {}  # header line shapes, see _shape_info
        # Plain headers: classifications by template, and times by second (Linux, Kubernetes layout).
        self._plain_cache: dict[bytes, Classified] = {}
        self._line_heads: set[bytes] = set()  # line starts (digits as 0) known to start a header
        self._plain_seconds: tuple[dict[bytes, float | None], dict[bytes, float | None]] = ({}, {})

    # -- input ----------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        for i in range(0, len(data), CHUNK):
            piece = view[i : i + CHUNK]
            self._buf[self._len : self._len + len(piece)] = piece
            self._len += len(piece)
            self.stats.bytes += len(piece)
            self._drain()

    def read_from(self, reader: Any, stop: Callable[[], bool] | None = None, limit: int | None = None) -> None:
        """Read ``reader`` (anything with ``readinto``) to its end, or ``limit`` bytes.

        ``stop`` is asked between chunks; when it returns True reading ends early.
        """
        left = limit
        while True:
            if stop is not None and stop():
                self.result.stopped = "stopped"
                return
            want = CHUNK if left is None else min(CHUNK, left)
            if want <= 0:
                return
            with memoryview(self._buf) as mv, mv[self._len : self._len + want] as part:
                n = reader.readinto(part)
            if not n:
                return
            self._len += n
            self.stats.bytes += n
            if left is not None:
                left -= n
            self._drain()

    def close(self) -> ScanResult:
        if self._len and not self._skipping:
            self._process(0, self._len)
        self._len = 0
        return self.result

    def _keep(self, start: int) -> None:
        """Move bytes [start, _len) to the front of the buffer: they wait for more input."""
        n = self._len - start
        if start and n:
            self._buf[:n] = self._buf[start : self._len]
        self._len = n

    def _drain(self) -> None:
        buf = self._buf
        if self._skipping:
            nl = buf.find(b"\n", 0, self._len)
            if nl < 0:
                self._len = 0
                return
            self._skipping = False
            self._keep(nl + 1)
        hi = self._len
        last_nl = buf.rfind(b"\n", 0, hi)
        if last_nl < 0:  # no line end yet
            if hi > MAX_LINE_BYTES:
                self._long_line(0)
            return
        if hi - (last_nl + 1) > MAX_LINE_BYTES:
            self._process(0, last_nl + 1)
            self._long_line(last_nl + 1)
            return
        # Hold back the last entry: more of its lines (a stack trace) may follow.
        cut = _last_header_start(buf, 0, last_nl + 1)
        if cut > 0 and hi - cut <= MAX_CARRY:
            self._process(0, cut)
            self._keep(cut)
        elif hi > MAX_CARRY:
            # One giant entry (or no entries at all): split it at the last line end;
            # its tail is read as a headless continuation.
            self._process(0, last_nl + 1)
            self._keep(last_nl + 1)

    def _long_line(self, start: int) -> None:
        """A line longer than MAX_LINE_BYTES from ``start``: keep its beginning, skip to its end."""
        self.stats.long_lines += 1
        head = bytes(self._buf[start : start + LINE_TEXT_CAP]) + b"\n"
        self._len = 0
        self._skipping = True
        self._process_bytes(head)

    def _process_bytes(self, data: bytes) -> None:
        saved, saved_len = self._buf, self._len
        self._buf = bytearray(data)
        self._process(0, len(data))
        self._buf, self._len = saved, saved_len

    # -- one run of whole entries: buf[lo:hi] ------------------------------------
    def _process(self, lo: int, hi: int) -> None:
        if lo >= hi:
            return
        buf = self._buf
        ends_nl = buf[hi - 1] == 10
        first = lo if HEADER_START.match(buf, lo, hi) else _next_header(buf, lo, hi)
        if first < 0:
            # No header: all of it continues the previous entry (or precedes any entry).
            n = self._candidates(lo, hi, -1, -1, _FINDER.find(buf, lo, hi))
            n += 0 if ends_nl else 1
            self._line += n
            self.stats.lines += n
            self.result.lines[self._part(self._prev_ts)] += n
            return
        self.stats.headers = True
        last = max(_last_header_start(buf, lo, hi), first)
        t_first = self._header_ts(first, hi)
        t_last = self._header_ts(last, hi) if last != first else t_first
        if t_first is not None and t_last is not None and t_first <= t_last:
            # The oldest and newest times: an entry written late may hold them, within SLACK
            # of the source's first entry and of each run's last.
            oldest = self.result.first
            if oldest is None or t_first - SLACK <= oldest:
                self._see_band(first, self._first_at_or_after(first, hi, t_first + SLACK, strict=True), hi)
            self._see_band(self._first_at_or_after(first, hi, t_last - SLACK, strict=False), hi, hi)
        before_first = buf.count(b"\n", lo, first)
        if self._outside(first, lo, t_first, t_last):
            # In time order and wholly outside the window: only its lines count.
            n = buf.count(b"\n", lo, hi) + (0 if ends_nl else 1)
            self._prev_counted = False
        else:
            found = _FINDER.find(buf, lo, hi)
            n = self._candidates(lo, hi, first, last, found) + (0 if ends_nl else 1)
            self._recoveries(first, hi, found[len(_NEEDLES):])
        if before_first:
            self.result.lines[self._part(self._prev_ts)] += before_first
        self._count_window(first, hi, n - before_first, t_first, t_last)
        self._line += n
        self.stats.lines += n
        self._prev_ts = t_last

    # -- candidates: entries that mention ERROR or WARN --------------------------
    def _candidates(self, lo: int, hi: int, first: int, last: int, found: list[list[int]]) -> int:
        """Classify the entries in buf[lo:hi] that mention a needle; return its line ends.

        ``first``/``last``: offsets of the first and last header (-1: none, the
        whole run continues the previous entry).

        Each problem entry costs a few C-level calls: its header is read by its shape, its
        time from a per-second table, its classification from its template. What it adds to
        its bucket is gathered per classification and folded in once per run (``_fold``);
        line numbers are counted only for the entries kept as samples.
        """
        buf = self._buf
        positions = found[0] + found[1]  # _NEEDLES
        positions.sort()
        counted_last = False  # was the entry at ``last`` counted?
        entry_end = -1
        header = _HEADER.match
        entry_end_of = self._entry_end
        rfind = buf.rfind
        shapes = self._shapes
        cache = self._plain_cache
        seconds = self._plain_seconds
        plain = self.clock.plain
        w = self.window
        w0, w1 = w if w is not None else (0.0, 0.0)
        timed: dict[int, _Group] = {}  # entries dated in the window (or no window)
        untimed: dict[int, _Group] = {}
        for pos in positions:
            if pos < entry_end:
                continue
            if first < 0 or pos < first:
                # Lines before the run's first header continue the previous entry.
                entry_end = entry_end_of(pos, hi)
                if self._prev_counted:
                    continue  # the tail of an entry already counted
                if self._judge(timed, untimed, lo, entry_end, None, True):
                    self._prev_counted = True
                continue
            # Usually the needle is the header's own level: try its line first. A line's shape
            # (digits as 0) says whether it is a plain header and where its parts are.
            start = rfind(b"\n", lo, pos) + 1
            key = bytes(buf[start : pos + 8])
            info = shapes.get(key.translate(_ZERO), _UNSEEN)
            if info == _UNSEEN:
                info = _shape_info(header(buf, start, hi), start, pos, key)
                if len(shapes) >= _CACHE_MAX:
                    shapes.clear()
                shapes[key.translate(_ZERO)] = info
            if info <= 0:
                m = header(buf, start, hi)
                if m is None or info == 0:
                    start = _entry_start(buf, pos, first)
                    m = header(buf, start, hi)
                entry_end = entry_end_of(pos, hi)
                counted = m is not None and self._judge(timed, untimed, start, entry_end, m, False)
                if start == last:
                    counted_last = counted
                continue
            # A plain header: its time from the table of seconds, its fraction added.
            k8s = info > 16
            sec = key[:19]
            base = seconds[k8s].get(sec, -1.0)
            if base == -1.0:
                base = plain(key[:10], key[11:19], None, k8s)
                if len(seconds[k8s]) >= _CACHE_MAX:
                    seconds[k8s].clear()
                seconds[k8s][sec] = base
            f = info & 15
            ts = base + int(key[20 : 19 + f]) / _POW10[f - 2] if (f > 1 and base is not None) else base
            entry_end = end = entry_end_of(pos, hi)
            if ts is None:
                groups = untimed
            elif w is None or w0 <= ts <= w1:
                groups = timed
            else:
                # Outside the window: not classified.
                if start == last:
                    counted_last = False
                continue
            if end - start <= _CACHE_BODY_MAX:
                tkey = bytes(buf[start:end]).translate(_ZERO)
                c = cache.get(tkey)
                if c is None:
                    c, ids = self._classify_ids(b"ERROR" if buf[pos] == 69 else b"WARN", tkey, False)
                    if not ids:  # a template with ids varies from entry to entry: not kept
                        if len(cache) >= _CACHE_MAX:
                            cache.clear()
                        cache[tkey] = c
            else:
                c = self._classify(b"ERROR" if buf[pos] == 69 else b"WARN",
                                   bytes(buf[start:end]).translate(_ZERO), False)
            if c is _NOT_A_PROBLEM:
                if start == last:
                    counted_last = False
                continue
            g = groups.get(id(c))  # by identity: a Classified's own hash is Python code
            if g is None:
                g = groups[id(c)] = (c, [], [], [])
            g[1].append(ts)
            g[2].append(start)
            g[3].append(end)
            if start == last:
                counted_last = True
        if first >= 0:
            # The next run may begin with the tail of this run's last entry.
            self._prev_counted = counted_last
        ends = buf.count(b"\n", lo, hi)
        if timed or untimed:
            self._fold(timed, untimed, lo, hi, ends)
        return ends

    def _classify(self, lv: bytes, zeroed: bytes, headless: bool) -> Classified:
        """The classification of an entry's template (digits as 0), by its ids-as-<id> form."""
        return self._classify_ids(lv, zeroed, headless)[0]

    def _classify_ids(self, lv: bytes, zeroed: bytes, headless: bool) -> tuple[Classified, bool]:
        """``_classify``, and whether the template held ids."""
        ided = id_template(zeroed)
        ids = len(ided) != len(zeroed)
        c = self._id_cache.get((lv, ided))
        if c is None:
            level = None if headless else ("ERROR" if lv == b"ERROR" else "WARN")
            c = classify_template(ided, level, headless) or _NOT_A_PROBLEM
            if len(self._id_cache) >= _CACHE_MAX:
                self._id_cache.clear()
            self._id_cache[(lv, ided)] = c
        return c, ids

    def _judge(self, timed: dict[int, _Group], untimed: dict[int, _Group], start: int, end: int,
               m: re.Match[bytes] | None, headless: bool) -> bool:
        """Classify one entry buf[start:end] read the slow way (no plain header: headless,
        zoned, prefixed or coloured); True if it was counted as a problem.

        Entries dated outside the window are not classified: only their lines count.
        """
        if headless:
            ts, lv = self._prev_ts, b""
        else:
            assert m is not None
            lv = m.group("level")
            if lv != b"ERROR" and lv != b"WARN":
                return False
            ts = self.clock.epoch(m)[0]
        w = self.window
        if ts is None:
            groups = untimed
        elif w is None or w[0] <= ts <= w[1]:
            groups = timed
        else:
            return False
        zeroed = bytes(self._buf[start:end]).translate(_ZERO)
        key = (lv, zeroed)
        c = self._cache.get(key) if end - start <= _CACHE_BODY_MAX else None
        if c is None:
            c = self._classify(lv, zeroed, headless)
            if end - start <= _CACHE_BODY_MAX:
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()
                self._cache[key] = c
        if c is _NOT_A_PROBLEM:
            return False
        g = groups.get(id(c))
        if g is None:
            g = groups[id(c)] = (c, [], [], [])
        g[1].append(ts)
        g[2].append(-start - 1 if headless else start)  # negative: no header (level unknown)
        g[3].append(end)
        return True

    def _fold(self, timed: dict[int, _Group], untimed: dict[int, _Group], lo: int, hi: int, lines: int) -> None:
        """Add a run's problem entries to their buckets: counts, reasons and minutes per
        classification at once; samples (the first and last few of each bucket, in log
        order) with their line numbers, counted in one pass over the run."""
        buf = self._buf
        chosen: list[tuple[int, int, int, float | None, Bucket]] = []  # (offset, start, end, ts, bucket)
        for where, groups in (("in", timed), ("untimed", untimed)):
            part = self.result.problems[where]
            picks: dict[str, list[tuple[int, int, int, float | None]]] = {}
            for c, tss, starts, ends in groups.values():
                bucket = part.get(c.category)
                if bucket is None:
                    bucket = part[c.category] = Bucket()
                bucket.add_many(c, tss)
                room = max(SAMPLES_HEAD - len(bucket.head), 0)
                n = len(starts)
                keep = range(n) if n <= room + SAMPLES_TAIL else (*range(room), *range(n - SAMPLES_TAIL, n))
                pick = picks.setdefault(c.category, [])
                pick.extend((starts[i] if starts[i] >= 0 else -starts[i] - 1, starts[i], ends[i], tss[i])
                            for i in keep)
            for category, pick in picks.items():
                bucket = part[category]
                pick.sort()
                room = max(SAMPLES_HEAD - len(bucket.head), 0)
                if len(pick) > room + SAMPLES_TAIL:
                    pick = pick[:room] + pick[-SAMPLES_TAIL:]
                chosen.extend((*p, bucket) for p in pick)
        # Line numbers: counted from the previous sample or back from the run's end, whichever
        # is nearer; each bucket still gets its samples in log order.
        chosen.sort(key=lambda p: p[0])
        line, at = self._line, lo
        for offset, start, end, ts, bucket in chosen:
            if offset - at <= hi - offset:
                line += buf.count(b"\n", at, offset)
            else:
                line = self._line + lines - buf.count(b"\n", offset, hi)
            at = offset
            raw = bytes(buf[offset:end])
            level = None
            if start >= 0:  # a header: its level (a headless entry has none)
                m = _HEADER.match(raw)
                level = m.group("level").decode() if m is not None else None
            bucket.add_sample((self.stats.name, line + 1, ts, raw, level))

    def _entry_end(self, pos: int, hi: int, header_start: Any = None, next_header: Any = None) -> int:
        """Where the entry holding ``pos`` ends: the start of the next header, or hi.

        Each following line is judged by its first byte (a header starts with a digit or a
        colour code) and then by its shape: the first ``_LINE_KEY`` bytes with digits as 0,
        remembered when the header regex matched within them (a regex costs about a
        microsecond a line; a lookup a fifth of that).
        """
        buf = self._buf
        find = buf.find
        heads = self._line_heads
        nl = find(b"\n", pos, hi)
        while 0 <= nl < hi - 1:
            s = nl + 1
            c = buf[s]
            if 48 <= c <= 57 or c == 27:
                whole = s + _LINE_KEY <= hi  # the key holds only bytes of this run
                key = bytes(buf[s : s + _LINE_KEY]).translate(_ZERO) if whole else b""
                if key in heads:
                    return s
                m = HEADER_START.match(buf, s, hi)
                if m is not None:
                    if whole and m.end() < s + _LINE_KEY:
                        if len(heads) >= _CACHE_MAX:
                            heads.clear()
                        heads.add(key)
                    return s
            nl = find(b"\n", s, hi)
        return hi


def scan_bytes(
    data: bytes | Iterable[bytes],
    source: str = "input",
    window: tuple[float, float] | None = None,
    tz: tzinfo | None = None,
) -> ScanResult:
    """Scan a whole input (bytes, or an iterable of byte chunks) and return what it found."""
    scanner = Scanner(source, window, tz)
    if isinstance(data, (bytes, bytearray)):
        scanner.feed(bytes(data))
    else:
        for chunk in data:
            scanner.feed(chunk)
    return scanner.close().finish()


__all__ = ["CHUNK", "MAX_CARRY", "MAX_LINE_BYTES", "Scanner", "find_all", "find_entry_start", "parse_entries",
           "scan_bytes"]
