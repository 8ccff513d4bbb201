"""An agent log as bytes, read fast: the lines that can matter are parsed, the rest counted. Pure.

Agent logs of several hundred MB exist on busy nodes, and almost all of their lines are
INFO and DEBUG chatter that says nothing about delivery or collection. :class:`LogFeeder`
takes the log in chunks of bytes and, per chunk:

* counts its lines, its header lines (lines that start with a date) and, by bisecting
  the header times, how many lines fall before, in and after the window;
* hands to :class:`~stsdebug.logs.agent_scan.AgentScan` only the lines that can change a
  finding: lines holding one of the scanner's trigger words (forwarder, transactional
  forwarder, check runs, API key, ERROR levels, check names), every line that does not
  start a record (tracebacks, multi-line messages, pasted output) with the record before
  it and the record after it, and the first and last line of the chunk (they carry the
  scanner's state from chunk to chunk).

A chunk that is not a plain agent log in time order (no header at its start or end, a
``kubectl`` prefix, timestamps that go backwards, a zone stsdebug cannot read) is fed
line by line. Either way every line is cleaned the same way (:func:`clean_line`), so
the result is the same as feeding every line (tests/unit/test_agent_differential.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from stsdebug.logs.agent_format import _KUBE_PREFIX_RE, parse_line
from stsdebug.logs.agent_scan import AgentScan
from stsdebug.logs.search import Needles, find_all
from stsdebug.logs.text import strip_ansi

_hs: Any
try:  # a native multi-literal matcher: one pass over a chunk for every needle
    import hyperscan as _hs
except ImportError:  # pragma: no cover - platforms without a wheel fall back to memchr passes
    _hs = None

MAX_LINE_BYTES = 1 << 20  # longer lines are cut here (a compact JSON section fits)
CUT_MARK = " …[line cut]"

# Lines holding one of these are parsed (AgentScan._record's triggers, levels, check names).
NEEDLES: tuple[bytes, ...] = (
    b"transaction", b"Too many errors", b"TLS Handshake", b"DNS Lookup", b"Connection failure",
    b"Successfully posted", b"SendJSONToV1Intake", b"unning check", b"API Key", b"api_key", b"| ERROR",
    b"| CRIT", b"giving up after", b"[ERR]", b"[DEBUG]", b"protocol scheme", b"Unable to validate",
)
# Lines naming a check matter only the first time a check is named (checks seen).
_CHECK_NAMES = (
    re.compile(rb"\| check:[A-Za-z0-9_.-]+ \| "),
    re.compile(rb"\| [A-Za-z0-9_.-]+:(?:[^|\n]*:)?[0-9a-f]{16} \| "),
)
_COMPONENTS = (b"CORE", b"CLUSTER", b"PROCESS", b"JMXFETCH", b"TRACE", b"SECURITY")
_CONTINUATION = re.compile(rb"\n(?!2)")  # a line that does not start with a date (year 2xxx)


def clean_line(raw: bytes) -> str:
    """One line as text: CR dropped, U+FFFD for bad bytes, ANSI codes dropped, cut at MAX_LINE_BYTES."""
    cut = len(raw) > MAX_LINE_BYTES
    if cut:
        raw = raw[:MAX_LINE_BYTES]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    text = raw.decode("utf-8", errors="replace")
    if "\x1b" in text:
        text = strip_ansi(text)
    return text + CUT_MARK if cut else text


# Check runs and agent starts before the window (AgentScan.earlier_run): one pass for all three.
_EARLIER = Needles((b"unning check", b"Starting Datadog Agent", b"Starting StackState Agent"))


class LogFeeder:
    """Feed an agent log's bytes in any pieces (``feed``), then ``close``."""

    def __init__(self, scan: AgentScan, *, fast: bool = True, cancel: Callable[[], bool] | None = None) -> None:
        self.scan = scan
        self.fast = fast
        self.cancel = cancel
        self.cancelled_at: int | None = None  # line number reached when cancel said stop
        self._carry = b""
        self._skipping = False  # inside an over-long line, discarding up to its end
        self._n = 0  # lines handed on so far
        self._matcher = Matcher(NEEDLES)

    def feed(self, data: bytes) -> None:
        if self.cancelled_at is not None:
            return
        if self._skipping:
            nl = data.find(b"\n")
            if nl < 0:
                return
            self._skipping = False
            data = data[nl + 1 :]
        buf = self._carry + data if self._carry else data
        last = buf.rfind(b"\n")
        if last < 0:
            if len(buf) > MAX_LINE_BYTES:
                self._slow(buf[: MAX_LINE_BYTES + 1] + b"\n")  # cut, like any over-long line
                self._carry, self._skipping = b"", True
            else:
                self._carry = buf
            return
        self._carry = buf[last + 1 :]
        if len(self._carry) > MAX_LINE_BYTES:
            self._chunk(buf[: last + 1])
            self._slow(self._carry[: MAX_LINE_BYTES + 1] + b"\n")
            self._carry, self._skipping = b"", True
            return
        self._chunk(buf[: last + 1])

    def close(self) -> None:
        if self._carry and not self._skipping and self.cancelled_at is None:
            self._slow(self._carry + b"\n")
        self._carry = b""

    # -- one run of whole lines ---------------------------------------------------------

    def _chunk(self, chunk: bytes) -> None:
        if self.cancel is not None and self.cancel():
            self.cancelled_at = self._n
            return
        if not self.fast:
            self._slow(chunk)
            return
        # The fast way needs a record at each end of what it reads: lines before the first
        # record and after the last (a traceback cut by the read) are fed one by one.
        a, b = _record_bounds(chunk)
        if a < 0:
            self._slow(chunk)
            return
        if a > 0:
            self._slow(chunk[:a])
        middle = chunk[a:b] if (a or b < len(chunk)) else chunk
        if not self._fast(middle):
            self._slow(middle)
        if b < len(chunk):
            self._slow(chunk[b:])

    def _slow(self, chunk: bytes) -> None:
        feed = self.scan.feed
        n = self._n
        for raw in chunk.split(b"\n")[:-1]:
            n += 1
            feed(n, clean_line(raw))
        self._n = n

    def _fast(self, chunk: bytes) -> bool:
        """Count the chunk and parse only its lines that can matter; False when it cannot."""
        s = self.scan
        if b"\x1b" in chunk:  # colour codes can hide a needle (| \x1b[31mERROR): line by line
            return False
        first_nl = chunk.find(b"\n")
        last_start = chunk.rfind(b"\n", 0, len(chunk) - 1) + 1
        head = _plain_record(chunk[:first_nl])
        tail = _plain_record(chunk[last_start:-1])
        if head is None or tail is None or head > tail:
            return False
        # Where the window's edges fall, by bisection on the header times.
        w = s.window
        a, b = 0, len(chunk)  # first record at or after the start / after the end of the window
        if w is not None:
            a = self._first_after(chunk, w[0], strict=False)
            b = self._first_after(chunk, w[1], strict=True)
        if a < 0 or b < 0:
            return False
        if a > 0:
            self._earlier_runs(chunk, min(a, len(chunk)))
        starts = {0, last_start}
        if a >= len(chunk) or b == 0:
            # Wholly before or after the window: nothing in it is judged; its first and last
            # lines carry the dates and the state on.
            hits: list[int] = []
            names: list[tuple[int, int]] = []
            conts: list[int] = []
            comps: list[bytes] = []
        else:
            hits, names, conts, comps = self._matcher.find(chunk)
        for pos in hits:
            starts.add(chunk.rfind(b"\n", 0, pos) + 1)
        # A check named for the first time: the first line naming it.
        seen = s.checks_seen
        first_at: dict[bytes, int] = {}
        for start, end in names:
            if start < a or start >= b:  # records outside the window name no checks
                continue
            token = chunk[start:end]
            if token not in first_at:
                first_at[token] = start
        for token, start in first_at.items():
            name = token[8:-3] if token.startswith(b"| check:") else token[2 : token.index(b":")]
            if name.decode("utf-8", "replace") not in seen:
                starts.add(chunk.rfind(b"\n", 0, start) + 1)
        if hits or names or a < b:  # lines that continue a record
            after = -1  # the line after the last continuation handled
            for ls in conts:
                starts.add(ls)
                if ls != after:  # else the line before is that continuation, added already
                    starts.add(chunk.rfind(b"\n", 0, ls - 1) + 1)  # the record it continues
                after = chunk.find(b"\n", ls) + 1
                if after < len(chunk):
                    starts.add(after)  # the line after: a record ends an open traceback
        # Parse those lines; the line counters are then set from the bulk counts.
        saved = (s.lines, s.in_window, s.before, s.after, s.log_lines)
        # One counting pass over the chunk gives the fed lines' numbers and the window's parts.
        count, pos = self._n, 0
        feed = s.feed
        edge_lines: dict[int, int] = {}
        s.note_earlier = False  # _earlier_runs handed them over already
        size, find, counted = len(chunk), chunk.find, chunk.count
        whole = a == 0 and b == size  # the chunk wholly in the window: no edge to count to
        for ls in sorted(starts) if whole else sorted(starts | {a, b, size}):
            count += counted(b"\n", pos, ls)
            pos = ls
            if not whole:
                if ls in (a, b):
                    edge_lines[ls] = count - self._n
                if ls not in starts or ls >= size:
                    continue
            raw = chunk[ls : find(b"\n", ls)]
            # The chunk holds no colour codes: a line that is neither over-long nor
            # CRLF-ended is clean_line's decode alone (a call spared per line).
            if len(raw) > MAX_LINE_BYTES or raw[-1:] == b"\r":
                feed(count + 1, clean_line(raw))
            else:
                feed(count + 1, raw.decode("utf-8", errors="replace"))
        if whole:
            count += counted(b"\n", pos, size)
            edge_lines = {0: 0, size: count - self._n}
        s.note_earlier = True
        total = count - self._n
        # Records in the window are agent log lines, and say which agent wrote the log.
        if a == 0 and b == len(chunk):
            heads = total - len(conts)  # lines that start a record (a date): all but continuations
        else:
            heads = chunk.count(b"\n2", max(a - 1, 0), b) + (1 if a == 0 and b > 0 else 0)
        for name in comps if a == 0 and b == len(chunk) else self._matcher.components(chunk, a, b):
            s.components.note(name.decode())
        before = edge_lines[a]
        inside = edge_lines[b] - before
        after = total - before - inside
        s.lines, s.in_window, s.before, s.after, s.log_lines = (
            saved[0] + total, saved[1] + inside, saved[2] + before, saved[3] + after, saved[4] + heads)
        if w is not None and a < b:
            newest = _plain_record(chunk[chunk.rfind(b"\n", 0, b - 1) + 1 : b - 1])
            if newest is not None:
                s.newest_in = newest if s.newest_in is None else max(s.newest_in, newest)
        self._n += total
        return True

    def _earlier_runs(self, chunk: bytes, end: int) -> None:
        """Hand the check-run and agent-start lines among chunk[:end] (records before the
        window) to the scan: a few lines in any log, found at memchr speed."""
        marks = [p for found in _EARLIER.find(chunk, 0, end) for p in found]
        counted, n, done = 0, self._n, -1
        for pos in sorted(marks):
            if pos < done:
                continue  # both needles on one line
            ls = chunk.rfind(b"\n", 0, pos) + 1
            done = chunk.find(b"\n", pos)
            n += chunk.count(b"\n", counted, ls)
            counted = ls
            self.scan.earlier_run(n + 1, clean_line(chunk[ls:done]))

    def _first_after(self, chunk: bytes, edge: float, strict: bool) -> int:
        """Offset of the first record whose time is >= edge (> edge if strict), or len(chunk);
        -1 when a record's time cannot be read."""
        lo, hi = 0, len(chunk)  # lo: a line start whose record is before the edge (or 0)
        ts0 = _plain_record(chunk[: chunk.find(b"\n")])
        if ts0 is None:
            return -1
        if (ts0 > edge) if strict else (ts0 >= edge):
            return 0
        while hi - lo > 4096:
            mid = chunk.rfind(b"\n", lo, (lo + hi) // 2) + 1
            if mid <= lo:
                break
            ts = _record_at_or_after(chunk, mid, hi)
            if ts is None:
                return -1
            t, start = ts
            if start >= hi:
                break
            if (t > edge) if strict else (t >= edge):
                hi = start
            else:
                lo = start
        # Walk the last few lines.
        pos = lo
        while pos < len(chunk):
            end = chunk.find(b"\n", pos)
            if chunk[pos : pos + 1] == b"2":
                t2 = _plain_record(chunk[pos:end])
                if t2 is None:
                    return -1
                if (t2 > edge) if strict else (t2 >= edge):
                    return pos
            pos = end + 1
        return len(chunk)


class Matcher:
    """Where the needles are in a chunk, and the spans of check names (``| check:<name> | `` and
    ``| <name>:<16 hex> | ``). One hyperscan pass each when hyperscan is installed, else
    memchr-guided searches and a regex."""

    def __init__(self, needles: Iterable[bytes]) -> None:
        self.needles = tuple(needles)
        self._db: Any = None
        self._names: Any = None
        self._components: Any = None
        if _hs is not None:
            db = _hs.Database()
            # The needles as one expression that runs to the end of the line: hyperscan reports
            # a match end once per expression, so a line holding several needles (a transaction
            # error names "transaction" twice, and "| ERROR") is reported once, at its newline.
            # In the same pass: lines that do not start with a date (continuations), and the
            # components named (each reported once).
            comps = [re.escape(b"| " + c + b" |") for c in _COMPONENTS]
            any_needle = b"(?:" + b"|".join(re.escape(n) for n in self.needles) + rb")[^\n]*\n"
            expressions = [any_needle, rb"\n[^2]", *comps]
            db.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions),
                       flags=[0, 0] + [_hs.HS_FLAG_SINGLEMATCH] * len(comps))
            names = _hs.Database()
            names.compile(expressions=[p.pattern for p in _CHECK_NAMES], ids=[0, 1], elements=2,
                          flags=[_hs.HS_FLAG_SOM_LEFTMOST] * 2)
            one = _hs.Database()
            one.compile(expressions=comps, ids=list(range(len(comps))), elements=len(comps),
                        flags=[_hs.HS_FLAG_SINGLEMATCH] * len(comps))
            self._db, self._names, self._components = db, names, one

    def components(self, chunk: bytes, a: int, b: int) -> list[bytes]:
        """The agent components (CORE, CLUSTER, ...) named by a record in chunk[a:b]: one pass
        that reports each at most once, instead of a search of the chunk per name."""
        if a >= b:
            return []
        if self._db is None:
            return [c for c in _COMPONENTS if chunk.find(b"| " + c + b" |", a, b) >= 0]
        found: set[int] = set()

        def on_hit(ident: int, start: int, end: int, flags: int, context: Any) -> None:
            found.add(ident)

        with memoryview(chunk) as mv, mv[a:b] as view:
            self._components.scan(view, match_event_handler=on_hit)
        return [c for i, c in enumerate(_COMPONENTS) if i in found]

    def find(self, chunk: bytes) -> tuple[list[int], list[tuple[int, int]], list[int], list[bytes]]:
        """(an offset within each line holding a needle, check-name spans, starts of the lines
        that do not start a record, the components named in the chunk)."""
        hits: list[int] = []
        names: list[tuple[int, int]] = []
        conts: list[int] = []
        if self._db is None:
            conts = [m.start() + 1 for m in _CONTINUATION.finditer(chunk, 0, len(chunk) - 1)]
            comps = self.components(chunk, 0, len(chunk))
            for needle in self.needles:
                hits.extend(find_all(chunk, needle))
            for needle, rx in zip((b"check:", b" | "), _CHECK_NAMES, strict=True):
                if needle == b"check:":
                    for pos in find_all(chunk, needle):
                        m = rx.match(chunk, max(0, pos - 2))
                        if m is not None:
                            names.append(m.span())
                else:
                    names.extend(m.span() for m in rx.finditer(chunk))
            names.sort()
            return hits, names, conts, comps
        found: set[int] = set()

        def on_hit(ident: int, start: int, end: int, flags: int, context: Any) -> None:
            if ident == 0:
                hits.append(end - 1)  # the newline of a line holding a needle
            elif ident == 1:
                conts.append(end - 1)
            else:
                found.add(ident - 2)

        def on_name(ident: int, start: int, end: int, flags: int, context: Any) -> None:
            names.append((start, end))

        self._db.scan(chunk, match_event_handler=on_hit)
        self._names.scan(chunk, match_event_handler=on_name)
        names.sort()
        return hits, names, conts, [c for i, c in enumerate(_COMPONENTS) if i in found]


_EDGE_LINES = 200  # lines looked at from each end of a chunk for a record to start or end at


def _record_bounds(chunk: bytes) -> tuple[int, int]:
    """(start of the first record line, end of the last record line) of a chunk of whole
    lines, each looked for within _EDGE_LINES lines of its end; (-1, -1) when none is."""
    a = 0
    for _ in range(_EDGE_LINES):
        end = chunk.find(b"\n", a)
        if end < 0:
            return -1, -1
        if _plain_record(chunk[a:end]) is not None:
            break
        a = end + 1
    else:
        return -1, -1
    b = len(chunk)
    for _ in range(_EDGE_LINES):
        start = chunk.rfind(b"\n", 0, b - 1) + 1
        if start < a:
            return -1, -1
        if _plain_record(chunk[start : b - 1]) is not None:
            return a, b
        b = start
    return -1, -1


def _plain_record(raw: bytes) -> float | None:
    """The time of a plain (no kubectl prefix) agent record line; None otherwise."""
    if raw[:1] != b"2" or _KUBE_PREFIX_RE.match(raw.decode("ascii", "replace")[:48]):
        return None
    rec = parse_line(strip_ansi(raw[:240].decode("utf-8", "replace")))
    if rec is None or not rec.level:
        return None
    return rec.ts


def _record_at_or_after(chunk: bytes, pos: int, hi: int) -> tuple[float, int] | None:
    """(time, offset) of the first record line at or after ``pos``; (inf, hi) if none before hi."""
    while pos < hi:
        end = chunk.find(b"\n", pos)
        if chunk[pos : pos + 1] == b"2":
            t = _plain_record(chunk[pos:end])
            if t is None:
                return None
            return t, pos
        pos = end + 1
    return float("inf"), hi
