"""Parsers for what the StackState Agent writes. Pure: no I/O, no clock.

Three kinds of text arrive here, often mixed in one input:

- log lines, ``2006-01-02 15:04:05 MST | CORE | LEVEL | (path/file.go:LINE in Func) | message``
  (also PROCESS, CLUSTER, JMX...), possibly behind a Kubernetes prefix
  (``2024-05-01T10:00:00.123Z stdout F `` or ``kubectl logs --timestamps``);
- ``stackstate-agent check <name> -l debug`` output: log lines, then the JSON sections
  ``=== Series ===``, ``=== Service Checks ===``, ``=== Events ===``, ``=== Topology ===``
  (``=== JSON ===`` with ``--json``) and the check's status block;
- ``stackstate-agent status`` output: ``Collector`` (per check: Instance ID, Metric
  Samples, Error, Traceback) and ``Forwarder`` (transactions, errors, API key status).

:class:`AgentScan` reads one input line by line and keeps, per kind of finding, the
first and last few lines plus a total, so memory stays flat for any input size. The
patterns are listed below in the order they are tried, one list per concern, so that
a new agent message is a one-line addition (docs/stages/agent.md lists them).
"""

from __future__ import annotations

import calendar
import functools
import json
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from stsdebug.redact import Redactor

# --- finding kinds -----------------------------------------------------------------

API_KEY = "api_key_invalid"  # 403: "API Key invalid, dropping transaction for ..."
REJECTED = "rejected"  # 400/404/413: "Error code ... received while sending transaction to ..."
HTTP_ERROR = "http_error"  # other >= 400: "error "503 ..." while sending transaction to ..."
REFUSED = "refused"
DNS = "dns"
TLS = "tls"
TIMEOUT = "timeout"
NETWORK = "network"  # no route to host, connection reset, EOF, proxy errors
BLOCKED = "endpoint_blocked"  # "Too many errors for endpoint '...': retrying later"
SEND_ERROR = "send_error"  # a transaction error with no recognised cause
BATCHER = "batcher_error"  # "error in SendJSONToV1Intake: ..."
SUCCESS = "success"  # "Successfully posted payload to ..."
CHECK_ERROR = "check_error"
TRACEBACK = "traceback"
ZERO_SAMPLES = "zero_samples"
SERVICE_CHECK = "service_check"  # a service check with status 1, 2 or 3
BAD_NAME = "metric_name"  # a metric name the receiver refuses
BAD_TYPE = "metric_type"  # a metric type the receiver refuses
CHECK_RAN = "check_ran"
STATUS_POSTED = "status_posted"  # `status`: Forwarder transactions succeeded
STATUS_ERRORS = "status_errors"  # `status`: Forwarder transaction errors

DELIVERY_KINDS: tuple[str, ...] = (
    API_KEY,
    REJECTED,
    HTTP_ERROR,
    REFUSED,
    DNS,
    TLS,
    TIMEOUT,
    NETWORK,
    BLOCKED,
    SEND_ERROR,
    BATCHER,
)
CONNECTIVITY_KINDS: tuple[str, ...] = (REFUSED, DNS, TLS, TIMEOUT, NETWORK, BLOCKED, SEND_ERROR, BATCHER, HTTP_ERROR)

SERVICE_CHECK_STATUS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

# How many lines a finding keeps: the first HEAD and the last TAIL, plus the total.
HEAD = 3
TAIL = 2
DISPLAY_CHARS = 320  # a quoted line is cut to about this many characters around its match
_RAW_KEEP = 4000  # kept around a match until redaction, so a cut never splits a secret we show
DISTINCT_LIMIT = 2000  # distinct metric names / hosts / messages counted per input

# --- timestamps ----------------------------------------------------------------------

# Go prints the zone abbreviation of the agent's local time zone (layout "MST"), or a
# numeric offset such as "+03" or "+0530" where the zone has no abbreviation.
# Ambiguous abbreviations take their most common meaning on Linux hosts: CST is US
# Central (China Standard Time is also written CST), IST is India, BST is British Summer.
TZ_OFFSETS_H: dict[str, float] = {
    "UTC": 0, "UCT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 5.5,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "TRT": 3,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
    "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3, "NST": -3.5,
    "NDT": -2.5, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "PHT": 8, "AWST": 8, "WIB": 7,
    "ICT": 7, "PKT": 5, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12,
    "NZDT": 13, "SAST": 2, "CAT": 2, "EAT": 3, "WAT": 1, "IDT": 3,
}

_HEADER_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2})(?:[.,]\d+)? "
    r"(?P<tz>[A-Za-z]{1,5}|[+-]\d{2}(?::?\d{2})?) \| "
    r"(?P<component>[A-Z][A-Z0-9_-]*) \| "
    r"(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|CRIT|OFF)\s*\| "
    r"(?:\((?P<location>[^)]*)\) \| )?"
)
# Kubernetes container log prefixes: CRI files under /var/log/pods and `kubectl logs --timestamps`.
_KUBE_PREFIX_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?(?P<tz>Z|[+-]\d{2}:\d{2}) "
    r"(?:(?:stdout|stderr) [FP] )?"
)
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text) if "\x1b" in text else text


def tz_offset_seconds(tz: str) -> float | None:
    """Seconds east of UTC for a Go zone abbreviation or numeric offset; None if unknown."""
    if tz in TZ_OFFSETS_H:
        return TZ_OFFSETS_H[tz] * 3600
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", tz)
    if not m:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return sign * (hours * 3600 + minutes * 60)


def parse_timestamp(date: str, time_: str, tz: str) -> float | None:
    """Epoch seconds for ``2024-05-01``, ``10:00:00``, ``CEST``; None when any part is invalid."""
    day = _day_start(date, tz)
    if day is None or len(time_) != 8:
        return None
    try:
        h, mi, s = int(time_[0:2]), int(time_[3:5]), int(time_[6:8])
    except ValueError:
        return None
    if h > 23 or mi > 59 or s > 60:
        return None
    return day + h * 3600 + mi * 60 + s


@functools.lru_cache(maxsize=512)
def _day_start(date: str, tz: str) -> float | None:
    """Midnight of a local date in epoch seconds (cached: a log has few distinct days)."""
    offset = tz_offset_seconds(tz)
    if offset is None:
        return None
    try:
        y, mo, d = (int(p) for p in date.split("-"))
        if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]):
            return None
        return calendar.timegm((y, mo, d, 0, 0, 0, 0, 0, 0)) - offset
    except (ValueError, OverflowError, calendar.IllegalMonthError):
        return None


@dataclass(frozen=True)
class LogRecord:
    """One agent log line, split into its parts. Offsets index the line as given."""

    ts: float | None  # epoch seconds; None when the zone or date cannot be read
    tz: str
    component: str
    level: str
    location: str
    msg_start: int  # where the message starts in the line
    check: str | None  # the check the line speaks for, when it names one


# `check:<name> | ...` (collector check logger), `<name>:<16 hex> | (file.py:N) | ...`
# (Python check log messages; instance ids may carry an instance name between).
_CHECK_TAG_RE = re.compile(r"check:(?P<name>[A-Za-z0-9_.-]+) \| ")
_PY_CHECK_RE = re.compile(r"(?P<name>[A-Za-z0-9_.-]+):(?:[^|]*?:)?[0-9a-f]{16} \| ")


def parse_line(text: str) -> LogRecord | None:
    """Split an agent log line; None when the line is not one (continuations, other text)."""
    if not text[:1].isdigit():
        return None
    offset = 0
    kube = _KUBE_PREFIX_RE.match(text)
    if kube:
        offset = kube.end()
    m = _HEADER_RE.match(text, offset)
    if m is None:
        if kube is None:
            return None
        # A container line without the agent's own header (e.g. a Python traceback line):
        # the runtime's timestamp still dates it.
        tz = "UTC" if kube.group("tz") == "Z" else kube.group("tz")
        return LogRecord(
            parse_timestamp(kube.group("date"), kube.group("time"), tz), tz, "", "", "", offset, None
        )
    tz = m.group("tz")
    ts = parse_timestamp(m.group("date"), m.group("time"), tz)
    start = m.end()
    check = None
    c = _CHECK_TAG_RE.match(text, start) or _PY_CHECK_RE.match(text, start)
    if c:
        check = c.group("name")
    return LogRecord(
        ts, tz, m.group("component"), m.group("level"), m.group("location") or "", start, check
    )


# --- forwarder messages (pkg/forwarder/transaction.go, worker.go; pkg/batcher) ----------

_API_KEY_RE = re.compile(r"API Key invalid, dropping transaction for (?P<url>\S+)")
_REJECTED_RE = re.compile(
    r'Error code "(?P<status>\d{3}[^"]*)" received while sending transaction to '
    r'"(?P<url>[^"]*)": (?P<body>.*?)(?:, dropping it)?\s*$'
)
_HTTP_ERROR_RE = re.compile(
    r'error "(?P<status>\d{3}[^"]*)" while sending transaction to "(?P<url>[^"]*)"'
)
_BLOCKED_RE = re.compile(r"Too many errors for endpoint '(?P<url>[^']*)': retrying later")
_SUCCESS_RE = re.compile(r'Successfully posted payload to "(?P<url>[^"]*)"')
_BATCHER_RE = re.compile(r"error in SendJSONToV1Intake: (?P<detail>.*)")
_SEND_ERROR_RE = re.compile(r"Error while processing transaction: (?P<detail>.*)")
# A message that speaks for the forwarder even when its location is not shown.
_FORWARDER_CONTEXT_RE = re.compile(
    r"transaction|Too many errors for endpoint|TLS Handshake failure|DNS Lookup failure|"
    r"Connection failure|SendJSONToV1Intake|Successfully posted payload"
)

# Why a transaction failed, in priority order (Go net/http and crypto/tls wording).
CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (TIMEOUT, re.compile(r"TLS handshake timeout")),
    (DNS, re.compile(
        r"DNS Lookup failure: .*|lookup [^\s:]+(?: on [^\s]+)?: (?:no such host|server misbehaving|"
        r"Temporary failure in name resolution|i/o timeout|no such host)|no such host"
    )),
    (TLS, re.compile(
        r"TLS Handshake failure: .*|x509: [^\"]+|tls: [a-z][\w .'-]*|"
        r"certificate (?:signed by unknown authority|has expired|is not valid)"
    )),
    (REFUSED, re.compile(r"connect(?:ion)? refused|No connection could be made")),
    (TIMEOUT, re.compile(
        r"context deadline exceeded(?: \(Client\.Timeout exceeded[^)]*\))?|"
        r"Client\.Timeout exceeded[^)]*|i/o timeout|timeout awaiting response headers"
    )),
    (NETWORK, re.compile(
        r"no route to host|network is unreachable|connection reset by peer|broken pipe|"
        r"proxyconnect [^:]+|\bEOF\b"
    )),
)

# --- check messages (pkg/collector/worker, runner; check command and status output) -----

_CHECK_ERROR_RE = re.compile(r"Error running check(?: (?P<name>[A-Za-z0-9_.:-]+))?: (?P<msg>.*)")
_RUNNING_RE = re.compile(
    r"(?P<done>Done r|R)unning check(?:\.\.\.|,| '?(?P<name>[A-Za-z0-9_.-]+)'?)?"
)
_TRIGGER_RE = re.compile(
    r"transaction|Too many errors|TLS Handshake|DNS Lookup|Connection failure|Successfully posted|"
    r"SendJSONToV1Intake|unning check|API Key"
)
_SECTION_RE = re.compile(r"^=== (?P<name>[A-Za-z][A-Za-z ]*?) ===$")
_TITLE_RE = re.compile(r"^[A-Za-z][\w .()/'-]*$")
_INSTANCE_RE = re.compile(
    r"Instance ID: (?P<id>(?P<name>[A-Za-z0-9_.-]+)(?::\S.*?)?) \[(?P<state>[A-Z]+)\]"
)
_SAMPLES_RE = re.compile(r"Metric Samples: Last Run: (?P<last>[\d,]+), Total: (?P<total>[\d,]+)")
_ERROR_LINE_RE = re.compile(r"^\s*Error: (?P<msg>\S.*)$")
_COUNT_RE = re.compile(r"^\s*(?P<key>[A-Za-z][\w ]*?|\d{3}): (?P<value>[\d,]+)\s*$")
_API_KEY_STATUS_RE = re.compile(r"API key ending with (?P<end>\S+): (?P<state>API Key (?P<word>\w+).*)$")
_JSON_KEY_RE = re.compile(
    r'"(?P<key>metric|type|host|check|status|message|msg_title|CheckName|MetricSamples|LastError)"'
    r'\s*:\s*(?P<value>"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|null|true|false)'
)
JSON_SECTIONS = frozenset({"series", "service checks", "events", "json"})
_COLLECTOR_BLOCKS = frozenset(
    {"collector", "running checks", "check initialization errors", "loading errors",
     "config errors", "python checks loading errors"}
)
_ERROR_BLOCKS = frozenset(
    {"check initialization errors", "loading errors", "config errors", "python checks loading errors"}
)
_FORWARDER_BLOCKS = frozenset(
    {"forwarder", "transactions", "transaction successes", "transaction errors", "api keys status"}
)
_ERROR_TYPE_KEYS = frozenset(
    {"DNSErrors", "TLSErrors", "ConnectionErrors", "SentRequestErrors", "WroteRequestErrors"}
)


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
        if key in self or len(self) < self.limit:
            self[key] += n
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
    api_keys: list[tuple[str, bool]]  # `status`: (last 5 characters, valid)

    def finding(self, kind: str) -> Finding | None:
        return self.findings.get(kind)

    def count(self, kind: str) -> int:
        f = self.findings.get(kind)
        return f.total if f else 0


# --- the scanner -------------------------------------------------------------------------


class AgentScan:
    """Feed lines in order (``feed(n, text)``), then ``finish()`` for a :class:`ScanResult`.

    ``window`` (start, end epoch seconds) limits what is judged to log records dated
    inside it; lines that continue a record share its date, and lines with no date at
    all are judged. ``secrets`` are replaced in every quoted line, on top of the
    patterns in stsdebug.redact, before match spans are computed.
    """

    def __init__(
        self,
        *,
        window: tuple[float, float] | None = None,
        secrets: Iterable[str] = (),
        name_problem: Callable[[str], str | None] | None = None,
        type_problem: Callable[[str], str | None] | None = None,
    ) -> None:
        self.window = window
        self._redactor = Redactor(secrets)
        self._name_problem = name_problem
        self._type_problem = type_problem
        self.findings: dict[str, Finding] = {}
        self.lines = 0
        self.in_window = 0
        self.before = 0
        self.after = 0
        self.log_lines = 0
        self.components = BoundedCounter(20)
        self._detail_cache: dict[str, str] = {}
        self.undated_zones = BoundedCounter(20)
        self.oldest: float | None = None
        self.newest: float | None = None
        self.newest_in: float | None = None
        self.checks_seen: dict[str, int] = {}
        self.check_samples: dict[str, CheckSamples] = {}
        self.check_runs: dict[str, CheckRuns] = {}
        self.metric_names = BoundedCounter()
        self.metric_hosts = BoundedCounter(200)
        self.series_entries = 0
        self.series_sections = 0
        self.service_checks = 0
        self.events = 0
        self.forwarder_counts: dict[str, int] = {}
        self.api_keys: list[tuple[str, bool]] = []
        self._checked_names: dict[str, tuple[str | None, str | None]] = {}
        # state
        self._skipping = False  # inside a record dated outside the window
        self._skipped_before = False  # ... and that record was before it (else after)
        self._record_check: str | None = None
        self._prev = ""  # previous stripped plain line
        self._section: str | None = None  # a === JSON === section
        self._section_hit: Hit | None = None
        self._section_entries = 0
        self._block: str | None = None  # a status-style block (Collector, Forwarder, ...)
        self._blocks_seen: set[str] = set()
        self._block_check: str | None = None
        self._block_error_done: set[str] = set()
        self._metric_open = False
        self._metric_typed = False
        self._sc: dict[str, object] | None = None  # pending service check
        self._json_check: str | None = None
        self._tb: dict[str, object] | None = None  # open traceback
        self._sections_seen = 0
        self._run_once_seen = False
        self._instances_seen = 0

    # -- entry points ---------------------------------------------------------------

    def feed(self, n: int, text: str) -> None:
        self.lines += 1
        if "\x1b" in text:
            text = strip_ansi(text)
        rec = parse_line(text)
        if rec is not None:
            if rec.level:  # a new record ends any open traceback
                self._close_traceback()
            if rec.ts is None and rec.level:
                self.undated_zones.note(rec.tz)
            if rec.ts is not None:
                self._date(rec.ts)
                if self.window is not None and not (self.window[0] <= rec.ts <= self.window[1]):
                    self._skipping = True
                    self._skipped_before = rec.ts < self.window[0]
                    if self._skipped_before:
                        self.before += 1
                    else:
                        self.after += 1
                    return
            self._skipping = False
            self.in_window += 1
            if not rec.level:  # a container-prefixed line without the agent header
                self._plain(n, text, text[rec.msg_start :], rec.ts)
                return
            self.log_lines += 1
            self.components.note(rec.component)
            if rec.ts is not None:
                self.newest_in = rec.ts if self.newest_in is None else max(self.newest_in, rec.ts)
            self._record_check = rec.check
            self._record(n, text, rec)
            return
        if self._skipping:
            # A continuation of a record dated outside the window.
            if self._skipped_before:
                self.before += 1
            else:
                self.after += 1
            return
        self.in_window += 1
        self._plain(n, text, text, None)

    def finish(self) -> ScanResult:
        self._close_traceback()
        self._end_section()
        self._close_sc()
        for finding in self.findings.values():
            finding.samples.map(self._display)
        return ScanResult(
            findings=self.findings,
            lines=self.lines,
            lines_in_window=self.in_window,
            lines_before_window=self.before,
            lines_after_window=self.after,
            log_lines=self.log_lines,
            components=self.components,
            undated_zones=self.undated_zones,
            oldest_ts=self.oldest,
            newest_ts=self.newest,
            newest_in_window=self.newest_in,
            shape=self._shape(),
            checks_seen=self.checks_seen,
            check_samples=self.check_samples,
            check_runs=self.check_runs,
            metric_names=self.metric_names,
            metric_hosts=self.metric_hosts,
            series_entries=self.series_entries,
            series_sections=self.series_sections,
            service_checks=self.service_checks,
            events=self.events,
            forwarder_counts=self.forwarder_counts,
            api_keys=self.api_keys,
        )

    # -- helpers ----------------------------------------------------------------------

    def _date(self, ts: float) -> None:
        self.oldest = ts if self.oldest is None else min(self.oldest, ts)
        self.newest = ts if self.newest is None else max(self.newest, ts)

    def _add(
        self,
        kind: str,
        n: int,
        text: str,
        span: tuple[int, int] | None,
        *,
        ts: float | None = None,
        check: str | None = None,
        detail: str = "",
        context: tuple[Hit, ...] = (),
    ) -> None:
        finding = self.findings.get(kind)
        if finding is None:
            finding = self.findings[kind] = Finding(kind)
        text, span = _keep(text, span)
        finding.samples.add(Hit(n, text, span, ts, check, detail, context))
        if detail:
            finding.details.note(self._redacted(detail[:300]))
        if check:
            finding.checks.note(check)

    def _redacted(self, text: str) -> str:
        out = self._detail_cache.get(text)
        if out is None:
            out = self._redactor.text(text)
            if len(self._detail_cache) < 1000:
                self._detail_cache[text] = out
        return out

    def _runs(self, name: str | None) -> CheckRuns | None:
        if not name:
            return None
        runs = self.check_runs.get(name)
        if runs is None and len(self.check_runs) < 500:
            runs = self.check_runs[name] = CheckRuns(name)
        return runs

    def _saw_check(self, name: str | None, n: int) -> None:
        if name and name not in self.checks_seen and len(self.checks_seen) < 500:
            self.checks_seen[name] = n

    def _display(self, hit: Hit) -> Hit:
        """Redact, then cut to DISPLAY_CHARS around the match (spans follow the text)."""
        text, span = _redact_with_span(self._redactor, hit.text, hit.span)
        text, span = _crop(text, span, DISPLAY_CHARS)
        context = tuple(self._display(c) for c in hit.context)
        detail = self._redacted(hit.detail) if hit.detail else ""
        return Hit(hit.n, text, span, hit.ts, hit.check, detail, context)

    def _shape(self) -> str:
        if self.lines == 0:
            return "empty"
        if self._blocks_seen & _FORWARDER_BLOCKS or self.api_keys:
            return "status"
        if self._sections_seen or self._run_once_seen or self._instances_seen:
            return "check"
        return "log" if self.log_lines else "text"

    # -- log records ------------------------------------------------------------------

    def _record(self, n: int, text: str, rec: LogRecord) -> None:
        start = rec.msg_start
        msg = text[start:]
        if rec.check:
            self._saw_check(rec.check, n)
        if not _TRIGGER_RE.search(msg) and not (rec.check and rec.level in ("ERROR", "CRITICAL", "CRIT")):
            return
        ts = rec.ts

        def span(m: re.Match[str], group: str | int = 0) -> tuple[int, int]:
            return (start + m.start(group), start + m.end(group))

        m = _CHECK_ERROR_RE.search(msg)
        if m:
            check = m.group("name") or rec.check
            self._saw_check(check, n)
            self._run_error(check)
            self._add(CHECK_ERROR, n, text, span(m, "msg"), ts=ts, check=check,
                      detail=_error_of_json(m.group("msg")))
            return
        m = _RUNNING_RE.search(msg)
        if m and "forwarder" not in rec.location:
            check = m.group("name") or rec.check
            self._saw_check(check, n)
            runs = self._runs(check)
            if runs is not None:
                if m.group("done") == "Done r":
                    if not runs.failing:
                        runs.clean += 1
                        runs.last_clean_n = n
                    runs.failing = False
                else:
                    runs.runs += 1
                    runs.failing = False
            self._add(CHECK_RAN, n, text, span(m), ts=ts, check=check,
                      detail="done" if m.group("done") == "Done r" else "started")
            return
        m = _API_KEY_RE.search(msg)
        if m:
            self._add(API_KEY, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        m = _REJECTED_RE.search(msg)
        if m:
            status = m.group("status")
            body = m.group("body").strip() or "(no message from the receiver)"
            body_span = span(m, "body") if m.group("body").strip() else span(m, "status")
            self._add(REJECTED, n, text, body_span, ts=ts, detail=f"{status}: {body}")
            return
        m = _SUCCESS_RE.search(msg)
        if m:
            self._add(SUCCESS, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        m = _BLOCKED_RE.search(msg)
        if m:
            self._add(BLOCKED, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        forwarder = "forwarder" in rec.location or "batcher" in rec.location
        if forwarder or _FORWARDER_CONTEXT_RE.search(msg):
            m = _HTTP_ERROR_RE.search(msg)
            if m:
                self._add(HTTP_ERROR, n, text, span(m, "status"), ts=ts, detail=m.group("status"))
                return
            for kind, pattern in CAUSES:
                c = pattern.search(msg)
                if c:
                    self._add(kind, n, text, span(c), ts=ts, detail=_url_of(msg))
                    return
            m = _BATCHER_RE.search(msg)
            if m:
                self._add(BATCHER, n, text, span(m, "detail"), ts=ts, detail=_first_line(m.group("detail")))
                return
            m = _SEND_ERROR_RE.search(msg)
            if m and rec.level in ("ERROR", "WARN", "WARNING", "CRITICAL", "CRIT"):
                self._add(SEND_ERROR, n, text, span(m, "detail"), ts=ts, detail=_first_line(m.group("detail")))
                return
            return
        if rec.check and rec.level in ("ERROR", "CRITICAL", "CRIT"):
            # A Python check's own error message: `mysql:1a2b... | (mysql.py:239) | ...`.
            body = re.match(r"[^|]*\| (?:\([^)]*\) \| )?", msg)
            b = body.end() if body else 0
            self._add(CHECK_ERROR, n, text, (start + b, len(text)), ts=ts, check=rec.check,
                      detail=_first_line(msg[b:]))
            self._run_error(rec.check)

    def _run_error(self, check: str | None) -> None:
        runs = self._runs(check)
        if runs is not None:
            runs.errors += 1
            runs.failing = True

    # -- plain lines: tracebacks, check and status output ------------------------------

    def _plain(self, n: int, text: str, body: str, ts: float | None) -> None:
        stripped = body.strip()
        if self._tb is not None and self._traceback_line(n, text, body, stripped):
            return
        if stripped.startswith("Traceback (most recent call last)"):
            i = text.index("Traceback")
            check = self._block_check if self._block in _COLLECTOR_BLOCKS else self._record_check
            start = Hit(n, text, (i, i + len("Traceback (most recent call last):")), ts, check)
            self._tb = {"start": start, "indent": len(body) - len(body.lstrip()), "frames": 0}
            self._prev = stripped
            return
        sec = _SECTION_RE.match(stripped)
        if sec:
            self._end_section()
            self._sections_seen += 1
            self._section = sec.group("name").lower()
            i = text.index("===")
            self._section_hit = Hit(n, text, (i, i + len(stripped)))
            self._section_entries = 0
            self._block = None
            if self._section == "series":
                self.series_sections += 1
            self._prev = stripped
            return
        if stripped and stripped.strip("=") == "" and len(stripped) >= 3:
            if _TITLE_RE.match(self._prev) and self._prev.strip("=") != "":
                self._end_section()
                self._start_block(self._prev.lower())
            self._prev = stripped
            return
        if self._section in JSON_SECTIONS:
            self._json_line(n, text)
        elif self._section is None:
            self._status_line(n, text, stripped)
        if stripped.startswith("Check has run only once"):
            self._run_once_seen = True
        self._prev = stripped

    def _traceback_line(self, n: int, text: str, body: str, stripped: str) -> bool:
        tb = self._tb
        assert tb is not None
        if not stripped:
            return True
        indent = len(body) - len(body.lstrip())
        if indent > int(tb["indent"]) or stripped.startswith("File "):  # type: ignore[call-overload]
            tb["frames"] = int(tb["frames"]) + 1  # type: ignore[call-overload]
            return True
        if stripped.startswith(
            ("During handling of the above exception", "The above exception was the direct cause",
             "Traceback (most recent call last)")
        ):
            return True
        start = tb["start"]
        assert isinstance(start, Hit)
        i = text.index(stripped[0]) if stripped else 0
        self._add(TRACEBACK, n, text, (i, i + len(stripped)), ts=start.ts, check=start.check,
                  detail=stripped[:300], context=(start,))
        self._tb = None
        return True

    def _close_traceback(self) -> None:
        tb, self._tb = self._tb, None
        if tb is not None:
            start = tb["start"]
            assert isinstance(start, Hit)
            # It ended without an exception line (cut off): cite its first line.
            self._add(TRACEBACK, start.n, start.text, start.span, ts=start.ts, check=start.check,
                      detail="Traceback (cut off before the exception line)")

    # -- status-style blocks -------------------------------------------------------------

    def _start_block(self, title: str) -> None:
        self._blocks_seen.add(title)
        self._block = title
        if title in ("collector", "forwarder"):
            self._block_check = None

    def _status_line(self, n: int, text: str, stripped: str) -> None:
        block = self._block
        if block in _COLLECTOR_BLOCKS or block is None:
            if stripped and stripped.strip("-") == "" and len(stripped) >= 3 and self._prev:
                # "    mysql (1.4.0)" over a line of dashes names the check block.
                name = self._prev.split(" ")[0]
                if re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                    self._block_check = name
                return
            m = _INSTANCE_RE.search(text)
            if m:
                self._instances_seen += 1
                self._block_check = m.group("name")
                self._saw_check(self._block_check, n)
                state = m.group("state")
                self._add(CHECK_RAN, n, text, (m.start("state") - 1, m.end("state") + 1),
                          check=self._block_check, detail=state)
                return
            m = _SAMPLES_RE.search(text)
            if m:
                last, total = _int(m.group("last")), _int(m.group("total"))
                check = self._block_check or "?"
                self.check_samples[check] = CheckSamples(check, last, total, n)
                if last == 0:
                    self._add(ZERO_SAMPLES, n, text, (m.start(), m.end("last")), check=check,
                              detail="Metric Samples: Last Run: 0")
                return
            m = _ERROR_LINE_RE.match(text)
            if m:
                msg = m.group("msg")
                check = self._block_check
                cm = re.match(r"(?:invalid config for|could not load) (?P<name>[A-Za-z0-9_.-]+)", msg)
                if cm:
                    check = cm.group("name")
                self._add(CHECK_ERROR, n, text, (m.start("msg"), m.end("msg")), check=check,
                          detail=_first_line(msg))
                if check:
                    self._block_error_done.add(check)
                return
            if block in _ERROR_BLOCKS and stripped and self._block_check and text[:1] == " ":
                if self._block_check not in self._block_error_done:
                    self._block_error_done.add(self._block_check)
                    i = len(text) - len(text.lstrip())
                    self._add(CHECK_ERROR, n, text, (i, len(text.rstrip())),
                              check=self._block_check, detail=stripped[:300])
                return
        if block in _FORWARDER_BLOCKS:
            m = _API_KEY_STATUS_RE.search(text)
            if m:
                valid = m.group("word").lower() == "valid"
                self.api_keys.append((m.group("end")[-5:], valid))
                if not valid:
                    self._add(API_KEY, n, text, (m.start("state"), m.end("state")), detail="status")
                return
            m = _COUNT_RE.match(text)
            if m:
                key, value = m.group("key").strip(), _int(m.group("value"))
                if block == "transaction successes" and key == "Total number":
                    key = "Success"
                elif block == "transaction errors" and key == "Total number":
                    key = "Errors"
                if key in ("Success", "Errors", "Dropped", "DroppedOnInput", "Requeued", "Retried") or (
                    key in _ERROR_TYPE_KEYS or key.isdigit()
                ):
                    self.forwarder_counts[key] = self.forwarder_counts.get(key, 0) + value
                    span = (m.start("key"), m.end("value"))
                    if key == "Success" and value > 0:
                        self._add(STATUS_POSTED, n, text, span, detail=str(value))
                    elif value > 0 and (key == "Errors" or key in _ERROR_TYPE_KEYS or key.isdigit()):
                        self._add(STATUS_ERRORS, n, text, span, detail=key)

    # -- JSON sections -------------------------------------------------------------------

    def _end_section(self) -> None:
        if self._section is None:
            return
        self._close_sc()
        if self._section == "series" and self._section_entries == 0 and self._section_hit:
            h = self._section_hit
            self._add(ZERO_SAMPLES, h.n, h.text, h.span, detail="empty Series section")
        self._section = None
        self._section_hit = None
        self._metric_open = False

    def _close_sc(self) -> None:
        sc, self._sc = self._sc, None
        if not sc:
            return
        status = sc.get("status")
        if isinstance(status, int) and status in (1, 2, 3):
            hit = sc["hit"]
            assert isinstance(hit, Hit)
            label = SERVICE_CHECK_STATUS[status]
            message = str(sc.get("message") or "")
            detail = f"{sc['name']}: {label}" + (f" ({message[:200]})" if message else "")
            # The service check's own name (mysql.can_connect) says whose it is.
            name_hit = sc.get("name_hit")
            context = (name_hit,) if isinstance(name_hit, Hit) and name_hit.n != hit.n else ()
            self._add(SERVICE_CHECK, hit.n, hit.text, hit.span, check=str(sc["name"]),
                      detail=detail, context=context)

    def _json_line(self, n: int, text: str) -> None:
        if '"' not in text:
            return
        for m in _JSON_KEY_RE.finditer(text):
            key, raw = m.group("key"), m.group("value")
            value = _json_value(raw)
            vspan = (m.start("value") + 1, m.end("value") - 1) if raw.startswith('"') else (
                m.start("value"), m.end("value"))
            if key == "metric" and isinstance(value, str):
                self._close_sc()
                self._metric_open, self._metric_typed = True, False
                self.series_entries += 1
                self._section_entries += 1
                self.metric_names.note(value)
                problem = self._problem(value, None)[0]
                if problem:
                    self._add(BAD_NAME, n, text, vspan, check=self._json_check, detail=f"{value}: {problem}")
            elif key == "type" and self._metric_open and not self._metric_typed and isinstance(value, str):
                self._metric_typed = True
                problem = self._problem(None, value)[1]
                if problem:
                    self._add(BAD_TYPE, n, text, vspan, check=self._json_check, detail=problem)
            elif key == "host" and self._metric_open and isinstance(value, str):
                self.metric_hosts.note(value)
            elif key == "check" and isinstance(value, str):
                self._close_sc()
                self._metric_open = False
                self.service_checks += 1
                self._section_entries += 1
                self._sc = {"name": value, "status": None, "hit": None,
                            "name_hit": Hit(n, *_keep(text, vspan))}
            elif key == "status" and self._sc is not None and self._sc["status"] is None:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._sc["status"] = int(value)
                    self._sc["hit"] = Hit(n, text, (m.start(), m.end()))
            elif key == "message" and self._sc is not None and isinstance(value, str):
                self._sc["message"] = value
            elif key == "msg_title":
                self.events += 1
                self._section_entries += 1
                self._metric_open = False
            elif key == "CheckName" and isinstance(value, str):
                self._json_check = value
                self._saw_check(value, n)
                self._instances_seen += 1
            elif key == "MetricSamples" and isinstance(value, (int, float)):
                check = self._json_check or "?"
                if check not in self.check_samples:
                    self.check_samples[check] = CheckSamples(check, int(value), int(value), n)
                    if int(value) == 0:
                        self._add(ZERO_SAMPLES, n, text, (m.start(), m.end()), check=check,
                                  detail="MetricSamples: 0")
            elif key == "LastError" and isinstance(value, str) and value.strip():
                self._add(CHECK_ERROR, n, text, vspan, check=self._json_check,
                          detail=_error_of_json(value))

    def _problem(self, name: str | None, mtype: str | None) -> tuple[str | None, str | None]:
        key = f"{name}\x00{mtype}"
        cached = self._checked_names.get(key)
        if cached is not None:
            return cached
        result = (
            self._name_problem(name) if (name is not None and self._name_problem) else None,
            self._type_problem(mtype) if (mtype is not None and self._type_problem) else None,
        )
        if len(self._checked_names) < DISTINCT_LIMIT:
            self._checked_names[key] = result
        return result


# --- small pure helpers ------------------------------------------------------------------


def _int(text: str) -> int:
    try:
        return int(text.replace(",", ""))
    except ValueError:
        return 0


def _first_line(text: str) -> str:
    text = text.replace("\\n", "\n")
    return text.strip().split("\n", 1)[0][:300]


def _url_of(msg: str) -> str:
    m = re.search(r'(?:Post|Get|sending transaction to) "?(?P<url>[a-z]+://[^"\s]+)', msg)
    return m.group("url") if m else ""


def _json_value(raw: str) -> object:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        return None


def _error_of_json(value: str) -> str:
    """The message of a LastError string, which may itself be JSON [{message, traceback}]."""
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return _first_line(value)
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return _first_line(str(data[0].get("message", "")))
    return _first_line(value)


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
