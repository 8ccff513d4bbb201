"""What an agent scan keeps: cited lines per finding kind, bounded counters, the result. Pure.

Memory stays flat for any input: per kind of finding the first ``HEAD`` and last ``TAIL``
lines plus a total; name tables stop at ``DISTINCT_LIMIT`` entries.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from stsdebug.redact import Redactor

# How many lines a finding keeps: the first HEAD and the last TAIL, plus the total.
HEAD = 3
TAIL = 2
DISPLAY_CHARS = 320  # a quoted line is cut to about this many characters around its match
_RAW_KEEP = 4000  # kept around a match until redaction, so a cut never splits a secret we show
DISTINCT_LIMIT = 2000  # distinct metric names / hosts / messages counted per input

# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One cited line: number, text and the [start, end) span of what matched."""

    n: int
    text: str
    span: tuple[int, int] | None
    ts: float | None = None
    check: str | None = None
    detail: str = ""
    context: tuple[Hit, ...] = ()  # lines shown before it (a traceback's first line)

    # Written out: a scan makes one per finding line (hundreds of thousands in a busy agent
    # log), and the generated frozen __init__ sets each field by object.__setattr__, twice as slow.
    def __init__(
        self,
        n: int,
        text: str,
        span: tuple[int, int] | None,
        ts: float | None = None,
        check: str | None = None,
        detail: str = "",
        context: tuple[Hit, ...] = (),
    ) -> None:
        self.__dict__.update(n=n, text=text, span=span, ts=ts, check=check, detail=detail, context=context)


class Samples:
    """The first HEAD and the last TAIL hits of a kind, and how many there were."""

    def __init__(self, head: int = HEAD, tail: int = TAIL) -> None:
        self.head = head
        self.first: list[Hit] = []
        self.last: deque[Hit] = deque(maxlen=tail)
        self.total = 0
        self.latest: Hit | None = None

    def add(self, hit: Hit) -> None:
        self.total += 1
        self.latest = hit
        if len(self.first) < self.head:
            self.first.append(hit)
        else:
            self.last.append(hit)

    def shown(self) -> list[Hit]:
        seen = {h.n for h in self.first}
        return self.first + [h for h in self.last if h.n not in seen]

    def map(self, fn: Callable[[Hit], Hit]) -> None:
        self.first = [fn(h) for h in self.first]
        self.last = deque((fn(h) for h in self.last), maxlen=self.last.maxlen)
        if self.latest is not None:
            self.latest = fn(self.latest)


class BoundedCounter(Counter[str]):
    """A Counter that stops taking new keys at ``limit``; ``dropped`` counts what it refused."""

    def __init__(self, limit: int = DISTINCT_LIMIT) -> None:
        super().__init__()
        self.limit = limit
        self.dropped = 0

    def note(self, key: str, n: int = 1) -> None:
        had = self.get(key)  # one lookup where `in` then `+=` took three: a note per finding line
        if had is not None:
            self[key] = had + n
        elif len(self) < self.limit:
            self[key] = n
        else:
            self.dropped += n


@dataclass
class Finding:
    kind: str
    samples: Samples = field(default_factory=Samples)
    details: BoundedCounter = field(default_factory=lambda: BoundedCounter(50))
    checks: BoundedCounter = field(default_factory=lambda: BoundedCounter(50))

    @property
    def total(self) -> int:
        return self.samples.total


@dataclass
class CheckSamples:
    name: str
    last_run: int
    total: int
    n: int  # line of the "Metric Samples" report


@dataclass
class CheckRuns:
    """Runs of one check seen in a log: a run fails when an error is logged between its
    "Running check" and "Done running check" lines."""

    name: str
    runs: int = 0
    errors: int = 0
    clean: int = 0
    last_clean_n: int | None = None  # the "Done running check" line of the last clean run
    failing: bool = False  # an error since the current run started


@dataclass
class ScanResult:
    findings: dict[str, Finding]
    lines: int  # every line read
    lines_in_window: int  # lines judged (all lines when no window applies)
    lines_before_window: int
    lines_after_window: int
    log_lines: int  # lines with an agent log header
    components: BoundedCounter  # CORE, CLUSTER, PROCESS, JMX... (which agent wrote the log)
    undated_zones: BoundedCounter  # zone abbreviations that could not be read
    oldest_ts: float | None
    newest_ts: float | None
    newest_in_window: float | None
    shape: str  # log | check | status | text | empty
    checks_seen: dict[str, int]  # check name -> first line naming it
    check_samples: dict[str, CheckSamples]
    check_runs: dict[str, CheckRuns]
    metric_names: BoundedCounter
    metric_hosts: BoundedCounter
    series_entries: int
    series_sections: int
    service_checks: int
    events: int
    forwarder_counts: dict[str, int]  # `status`: Success, Errors, Dropped, DNSErrors, 403, ...
    api_keys: list[tuple[str, bool | None]]  # `status`: (last 5 characters, valid; None: not checked)
    # `check` output of StackState checks: raw metrics (self.raw) in the Topology section's payload
    raw_metrics: BoundedCounter = field(default_factory=BoundedCounter)
    raw_points: int = 0
    # Checks whose last run before the window ended cleanly: name -> (its "Done running
    # check" line, its time). The agent logs only a check's first five runs (check_logger.go,
    # then one in logging_frequency), so a quiet healthy log shows its checks only there.
    ran_before: dict[str, tuple[int, float | None]] = field(default_factory=dict)
    topology_payloads: int = 0

    def finding(self, kind: str) -> Finding | None:
        return self.findings.get(kind)

    def count(self, kind: str) -> int:
        f = self.findings.get(kind)
        return f.total if f else 0



def _keep(text: str, span: tuple[int, int] | None) -> tuple[str, tuple[int, int] | None]:
    """Cut very long lines to _RAW_KEEP characters around the match, before redaction."""
    if len(text) <= _RAW_KEEP:
        return text, span
    return _crop(text, span, _RAW_KEEP)


def _crop(
    text: str, span: tuple[int, int] | None, width: int
) -> tuple[str, tuple[int, int] | None]:
    if len(text) <= width:
        return text, span
    s, e = span if span else (0, 0)
    e = min(e, s + width - 20)  # a very long match is shown in part
    room = width - (e - s)
    lo = max(0, s - room // 3)
    hi = min(len(text), max(e + (room - (s - lo)), lo + width))
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < len(text) else ""
    out = prefix + text[lo:hi] + suffix
    new_span = (s - lo + len(prefix), e - lo + len(prefix)) if span else None
    return out, new_span


def _redact_with_span(
    redactor: Redactor, text: str, span: tuple[int, int] | None
) -> tuple[str, tuple[int, int] | None]:
    whole = redactor.text(text)
    if span is None:
        return whole, None
    s, e = span
    parts = [redactor.text(text[:s]), redactor.text(text[s:e]), redactor.text(text[e:])]
    joined = "".join(parts)
    if joined == whole:
        return whole, (len(parts[0]), len(parts[0]) + len(parts[1]))
    # A secret crossed the span's edges: find the redacted match in the redacted line.
    i = whole.find(parts[1]) if parts[1] else -1
    return whole, ((i, i + len(parts[1])) if i >= 0 else None)

