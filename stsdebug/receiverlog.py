"""StackState receiver logs: parse, group and classify, streaming. Pure: no I/O.

The receiver logs through logback in one of two layouts (both confirmed in
StackVista's helm charts and packages):

* Linux package:        ``%date [%thread] %-5level %logger{60} - %msg%n``
* Kubernetes stdout:    ``%date %-5level %logger{60} - %msg%n``

``%date`` is logback's ISO8601 form ``2024-01-15 10:23:45,123`` and carries no
zone; it is read in the zone given to ``parse_tz`` (default: the local zone of
the machine running stsdebug). A zone written after the time (``Z``, ``+02:00``,
``+0200``) and the RFC 3339 prefix ``kubectl logs --timestamps`` adds are honoured.

An *entry* is a header line plus the lines after it that do not start a new
header: Java/Scala stack traces (``\\tat ...``, ``Caused by: ...``,
``... 12 more``) and multi-line messages stay with their entry.

Only WARN and ERROR entries are classified (and lines before the first header,
whose level is unknown): the receiver's charts keep its request logger at WARN,
so rejections and producer failures appear at those levels. ``PATTERNS`` is the
ordered, extensible list of what stsdebug recognises; docs/stages/receiver.md
describes it and how to add to it.

The scanner is built for big logs: it works on bytes in large chunks, finds
candidate entries with two substring searches (``ERROR``, ``WARN``) and runs
regexes only on those entries. Everything else is only counted.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

# --- limits -----------------------------------------------------------------------

LINE_TEXT_CAP = 4096  # characters of a line kept for samples and classification
MAX_LINE_BYTES = 1 << 20  # a line longer than this is cut to LINE_TEXT_CAP; the rest is skipped
MAX_CARRY = 4 << 20  # an entry longer than this is split (its tail is read as a headless entry)
SAMPLES_HEAD = 3  # samples kept per category: the first few ...
SAMPLES_TAIL = 3  # ... and the last few
MAX_REASONS = 200  # distinct reasons kept per category; the rest are counted as "(other reasons)"
OTHER_REASONS = "(other reasons)"

LEVELS_CLASSIFIED = frozenset({"WARN", "ERROR", None})  # None: no header (level unknown)

# --- header ----------------------------------------------------------------------

_ANSI_B = rb"(?:\x1b\[[0-9;]*m)*"
_SEP = rb"(?:\x1b\[[0-9;]*m)*(?: (?:\x1b\[[0-9;]*m)*)+"  # spaces, colour codes between them
_KTS = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d) "


def _header_pattern(named: bool) -> bytes:
    def g(name: str, body: bytes) -> bytes:
        return (b"(?P<" + name.encode() + b">" if named else b"(?:") + body + b")"

    return (
        b"(?:" + g("kts", _KTS[:-1]) + b" )?"
        + _ANSI_B
        + g("date", rb"\d{4}-\d\d-\d\d") + rb"[ T]" + g("time", rb"\d\d:\d\d:\d\d")
        + rb"(?:[,.]" + g("frac", rb"\d{1,9}") + rb")?"
        + rb"(?: ?" + g("zone", rb"Z|[+-]\d\d:?\d\d") + rb")?"
        + _SEP
        + rb"(?:\[" + g("thread", rb"[^\]\n]*") + rb"\]" + _SEP + rb")?"
        + g("level", rb"TRACE|DEBUG|INFO|WARN|ERROR")
        + rb"\b"
    )


HEADER_START = re.compile(_header_pattern(named=False))
_HEADER = re.compile(
    _header_pattern(named=True) + _SEP + rb"(?P<logger>[^\s\x1b]+)" + rb"(?:" + _SEP + rb"- ?(?P<msg>[^\n]*))?"
)
_NEXT_HEADER = re.compile(rb"\n(?=" + _header_pattern(named=False) + rb")")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")

_NEEDLES = (b"ERROR", b"WARN")


@dataclass(frozen=True)
class Header:
    ts: float | None
    zoned: bool  # the timestamp carried its zone
    thread: str | None
    level: str
    logger: str
    message: str


def parse_header(line: bytes | str, clock: Clock | None = None) -> Header | None:
    """Parse one header line of either layout; None if the line does not start an entry."""
    raw = line.encode("utf-8", "replace") if isinstance(line, str) else line
    m = _HEADER.match(raw)
    if m is None:
        return None
    clock = clock or Clock(None)
    ts, zoned = clock.epoch(m)
    thread = m.group("thread")
    return Header(
        ts=ts,
        zoned=zoned,
        thread=_text(thread) if thread is not None else None,
        level=m.group("level").decode("ascii"),
        logger=_text(m.group("logger")),
        message=clean(_text(m.group("msg") or b"")),
    )


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def clean(text: str) -> str:
    """Drop colour codes and a trailing CR; cap the length."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    text = text.rstrip("\r")
    return text[:LINE_TEXT_CAP]


# --- time ------------------------------------------------------------------------


def parse_tz(spec: str | None) -> tzinfo | None:
    """'local'/None -> None (the local zone), 'UTC', '+02:00', '-0530', or an IANA name.

    Raises ValueError with a one-line explanation for anything else.
    """
    if spec is None or spec.strip().lower() in ("", "local"):
        return None
    s = spec.strip()
    if s.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    m = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d\d):?(\d\d)", s, re.I)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3))
        if minutes >= 24 * 60:
            raise ValueError(f"time zone {spec!r}: offset out of range")
        return timezone((-1 if m.group(1) == "-" else 1) * timedelta(minutes=minutes))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(s)
    except Exception:  # noqa: BLE001 - zoneinfo raises several types for bad names
        raise ValueError(
            f"time zone {spec!r} is not known; use local, UTC, an offset like +02:00,"
            " or a name like Europe/Amsterdam"
        ) from None


def describe_tz(tz: tzinfo | None) -> str:
    if tz is None:
        offset = datetime.now().astimezone().strftime("%z")
        return f"local time (UTC{offset[:3]}:{offset[3:]})"
    return str(tz)


class Clock:
    """Turns header timestamps into epoch seconds, caching per hour (DST-safe enough)."""

    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz
        self._hours: dict[tuple[bytes, bytes, bytes | None], float | None] = {}
        self._seconds: dict[tuple[bytes, bytes, bytes | None], float | None] = {}

    def epoch(self, m: re.Match[bytes]) -> tuple[float | None, bool]:
        kts, date, hms, frac, zone = m.group("kts", "date", "time", "frac", "zone")
        if kts is not None:  # kubectl --timestamps: RFC 3339 with a zone; more reliable
            return self._epoch(kts[:10], kts[11:19], _frac_of(kts[19:]), _zone_of(kts[19:])), True
        return self._epoch(date, hms, frac, zone), zone is not None

    def _epoch(self, date: bytes, hms: bytes, frac: bytes | None, zone: bytes | None) -> float | None:
        # Entries come many to a second: remember whole seconds.
        key = (date, hms, zone)
        value = self._seconds.get(key, -1.0)
        if value == -1.0:
            value = self._second_epoch(date, hms, zone)
            if len(self._seconds) > 4096:
                self._seconds.clear()
            self._seconds[key] = value
        if value is None:
            return None
        if frac:
            value += int(frac) / (10 ** len(frac))
        return value

    def _second_epoch(self, date: bytes, hms: bytes, zone: bytes | None) -> float | None:
        key = (date, hms[:2], zone)
        base = self._hours.get(key, -1.0)
        if base == -1.0:
            base = self._hour_epoch(date, hms[:2], zone)
            if len(self._hours) > 4096:
                self._hours.clear()
            self._hours[key] = base
        if base is None:
            return None
        minute, second = int(hms[3:5]), int(hms[6:8])
        if minute > 59 or second > 60:
            return None
        return base + minute * 60 + second

    def _hour_epoch(self, date: bytes, hour: bytes, zone: bytes | None) -> float | None:
        try:
            y, mo, d, h = int(date[:4]), int(date[5:7]), int(date[8:10]), int(hour)
            if zone is not None:
                tz: tzinfo | None = _offset(zone)
            else:
                tz = self.tz
            dt = datetime(y, mo, d, h, tzinfo=tz)
            return dt.timestamp()  # naive (tz None) -> local time
        except (ValueError, OverflowError, OSError):
            return None


def _frac_of(rest: bytes) -> bytes | None:
    if rest.startswith(b"."):
        end = 1
        while end < len(rest) and rest[end : end + 1].isdigit():
            end += 1
        return rest[1:end] or None
    return None


def _zone_of(rest: bytes) -> bytes:
    i = 0
    while i < len(rest) and rest[i : i + 1] not in (b"Z", b"+", b"-"):
        i += 1
    return rest[i:]


def _offset(zone: bytes) -> tzinfo:
    z = zone.strip()
    if z == b"Z":
        return timezone.utc
    sign = -1 if z[:1] == b"-" else 1
    digits = z[1:].replace(b":", b"")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or b"0")))


# --- patterns --------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """One kind of receiver problem stsdebug recognises.

    ``needles`` are lower-case substrings; an entry is tested with ``regex`` only
    when one of them occurs in it (a cheap prefilter). ``regex`` runs on each
    line of the entry; its named group ``reason`` (or the whole match) becomes the
    grouping reason after ``normalize_reason``. ``severity`` is ``fail`` when the
    problem alone means data stops at the receiver, ``warn`` otherwise.
    """

    id: str
    category: str  # deserialization | kafka | auth | payload | stale
    severity: str  # fail | warn
    title: str
    needles: tuple[str, ...]
    regex: re.Pattern[str]
    reason: Callable[[re.Match[str]], str] | None = None
    partial: bool = False  # the receiver dropped part of a payload it otherwise accepted


def _r(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _deser_reason(m: re.Match[str]) -> str:
    reason = m.group("reason").strip() or "(no message)"
    fields = m.group("fields").strip()
    return f"{reason} (fields: {fields})" if fields else reason


def _broker_reason(m: re.Match[str]) -> str:
    addr = f" ({m.group('addr')})" if m.group("addr") else ""
    return f"Connection to node {m.group('node')}{addr} could not be established; broker may not be available"


CATEGORY_TITLES = {
    "deserialization": "JSON deserialization errors",
    "kafka": "Kafka producer problems",
    "auth": "API key and authorization rejections",
    "payload": "Payloads too large",
    "stale": "Data points dropped as too old",
    "error": "Other errors",
    "warning": "Other warnings",
}

# Ordered: the first pattern that matches an entry classifies it.
PATTERNS: list[Pattern] = [
    # JSON deserialization: the receiver refused an intake payload, or part of one.
    Pattern(
        "receiver-dropped-item",
        "deserialization",
        "warn",
        "Receiver: Dropped <item> ...: Failed to deserialize JSON on fields: ... (part of a payload; inferred wording)",
        ("failed to deserialize json",),
        _r(
            r"\b[Dd]ropped\b[^:]{0,120}:\s*Failed to deserialize JSON on fields: (?P<fields>.*?), "
            r"with message: (?P<reason>.*)"
        ),
        _deser_reason,
        partial=True,
    ),
    Pattern(
        "receiver-deserialize",
        "deserialization",
        "warn",
        "Receiver: Failed to deserialize JSON on fields: <fields>, with message: <reason>",
        ("failed to deserialize json",),
        _r(r"Failed to deserialize JSON on fields: (?P<fields>.*?), with message: (?P<reason>.*)"),
        _deser_reason,
    ),
    Pattern(
        "jackson-parse",
        "deserialization",
        "warn",
        "Jackson JsonParseException (not valid JSON)",
        ("jsonparseexception",),
        _r(r"(?:[\w$]+\.)*JsonParseException:?\s*(?P<reason>.*)"),
    ),
    Pattern(
        "jackson-mismatched-input",
        "deserialization",
        "warn",
        "Jackson MismatchedInputException (JSON of the wrong shape)",
        ("mismatchedinputexception",),
        _r(r"(?:[\w$]+\.)*MismatchedInputException:?\s*(?P<reason>.*)"),
    ),
    Pattern(
        "jackson-mapping",
        "deserialization",
        "warn",
        "Jackson JsonMappingException and its kinds (InvalidFormat, UnrecognizedProperty, ...)",
        ("jsonmappingexception", "invalidformatexception", "unrecognizedpropertyexception",
         "invaliddefinitionexception", "valueinstantiationexception"),
        _r(
            r"(?:[\w$]+\.)*(?:JsonMapping|InvalidFormat|UnrecognizedProperty|InvalidDefinition|"
            r"ValueInstantiation)Exception:?\s*(?P<reason>.*)"
        ),
    ),
    Pattern(
        "spray-deserialization",
        "deserialization",
        "warn",
        "spray-json DeserializationException / ParsingException (e.g. missing required member)",
        ("deserializationexception", "parsingexception"),
        _r(r"(?:[\w$]+\.)*(?:Deserialization|JsonParser\$Parsing|Parsing)Exception:?\s*(?P<reason>.*)"),
    ),
    Pattern(
        "malformed-request-content",
        "deserialization",
        "warn",
        "akka/pekko-http MalformedRequestContentRejection",
        ("malformedrequestcontent",),
        _r(r"MalformedRequestContent(?:Rejection)?\(?\s*(?P<reason>[^,)]*)"),
    ),
    # Kafka producer: the receiver cannot put messages on the bus.
    Pattern(
        "kafka-not-leader",
        "kafka",
        "warn",
        "Kafka NotLeaderForPartition / NotLeaderOrFollower (retried; normal during leader elections)",
        ("notleaderforpartition", "notleaderorfollower", "not the leader for that topic-partition"),
        _r(
            r"(?P<reason>(?:[\w$]+\.)*NotLeader(?:ForPartition|OrFollower)Exception|"
            r"This server is not the leader for that topic-partition)"
        ),
    ),
    Pattern(
        "kafka-record-too-large",
        "kafka",
        "warn",
        "Kafka RecordTooLargeException (that message is dropped; others flow)",
        ("recordtoolargeexception",),
        _r(r"RecordTooLargeException:?\s*(?P<reason>.*)"),
    ),
    Pattern(
        "kafka-metadata",
        "kafka",
        "fail",
        "Kafka: Failed to update metadata / topic not present in metadata",
        ("failed to update metadata", "not present in metadata"),
        _r(r"(?P<reason>Failed to update metadata after \d+ ms|Topic \S+ not present in metadata after \d+ ms)"),
    ),
    Pattern(
        "kafka-broker-unavailable",
        "kafka",
        "fail",
        "Kafka: Connection to node N could not be established. Broker may not be available",
        ("broker may not be available",),
        _r(
            r"Connection to node (?P<node>-?\d+)(?: \((?P<addr>[^)]*)\))? could not be established\."
            r" Broker may not be available"
        ),
        _broker_reason,
    ),
    Pattern(
        "kafka-bootstrap-disconnected",
        "kafka",
        "fail",
        "Kafka: Bootstrap broker disconnected",
        ("bootstrap broker",),
        _r(r"(?P<reason>Bootstrap broker \S+ \(id: -?\d+ rack: [^)]*\) disconnected)"),
    ),
    Pattern(
        "kafka-timeout",
        "kafka",
        "fail",
        "Kafka TimeoutException (e.g. Expiring N record(s) ... since batch creation)",
        ("kafka.common.errors.timeoutexception",),
        _r(r"org\.apache\.kafka\.common\.errors\.TimeoutException:?\s*(?P<reason>.*)"),
    ),
    Pattern(
        "kafka-network",
        "kafka",
        "fail",
        "Kafka NetworkException",
        ("networkexception",),
        _r(r"(?:[\w$]+\.)*NetworkException:?\s*(?P<reason>.*)"),
    ),
    Pattern(
        "kafka-other",
        "kafka",
        "fail",
        "Any other org.apache.kafka exception in a WARN/ERROR entry",
        ("org.apache.kafka",),
        _r(r"(?P<reason>org\.apache\.kafka\.[\w.$]*(?:Exception|Error)\b:?\s*.*)"),
    ),
    Pattern(
        "receiver-kafka-send",
        "kafka",
        "fail",
        "Receiver: failed to send/produce/publish to Kafka (inferred wording)",
        ("kafka",),
        _r(
            r"(?P<reason>\b(?:failed|unable|could not|cannot|error)\b[^.]{0,60}?"
            r"\b(?:send|sending|produce|producing|publish|publishing|write|writing)\b[^.]{0,40}?\bkafka\b.*)",
            re.I,
        ),
    ),
    # API key and authorization: the receiver refused the sender.
    Pattern(
        "api-key",
        "auth",
        "warn",
        "Invalid, unknown or missing API key (inferred wording)",
        ("api key", "api_key", "apikey", "api-key"),
        _r(
            r"(?P<reason>\b(?:invalid|unknown|missing|wrong|expired|unauthori[sz]ed|bad|no)\b[^.]{0,30}?"
            r"\bapi[ _-]?key\b|\bapi[ _-]?key\b[^.]{0,30}?\b(?:invalid|unknown|missing|not valid|not found|"
            r"rejected|expired|does not exist)\b)",
            re.I,
        ),
    ),
    Pattern(
        "auth-rejection",
        "auth",
        "warn",
        "akka/pekko-http AuthenticationFailed / AuthorizationFailed rejections; HTTP 401/403",
        ("rejection", "401", "403", "unauthorized", "forbidden"),
        _r(
            r"(?P<reason>Authentication(?:Failed)?Rejection|AuthorizationFailedRejection|"
            r"\b401 Unauthorized\b|\b403 Forbidden\b)"
        ),
    ),
    # Data the receiver accepted but dropped because it is too old.
    Pattern(
        "points-too-old",
        "stale",
        "warn",
        "Metric points ignored/dropped as older than the receiver accepts (inferred wording)",
        ("older than",),
        _r(r"(?P<reason>\b(?:ignored|dropped|discarded|rejected|skipped)\b.{0,80}?\bolder than\b.*)", re.I),
    ),
    # Payload size: the receiver refused an oversized request.
    Pattern(
        "entity-too-large",
        "payload",
        "warn",
        "akka/pekko-http EntityStreamSizeException, HTTP 413, payload too large",
        ("entitystreamsizeexception", "413", "too large", "content length limit"),
        _r(
            r"(?P<reason>EntityStreamSizeException.*|\b413\b.*|(?:request )?(?:payload|entity) too large.*|"
            r".*exceeded content length limit.*)",
            re.I,
        ),
    ),
]


_NORMALIZE = [
    (re.compile(r"\s+at \[Source:.*$"), ""),  # Jackson's location suffix
    (re.compile(r"\[Source: [^\]]*\]"), "[Source: …]"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b[0-9a-f]{16,}\b", re.I), "<id>"),
    (re.compile(r"\b\d+(\s*ms)\b"), r"N\1"),
    (re.compile(r"\b\d+( record\(s\))"), r"N\1"),
    (re.compile(r"(line|column): \d+"), r"\1: N"),
    (re.compile(r"\s+"), " "),
]
_DIGITS = re.compile(r"\d+")


def normalize_reason(text: str, *, digits: bool = False) -> str:
    """A reason fit for grouping: variable parts (ids, durations, positions) replaced."""
    out = clean(text)
    for rx, repl in _NORMALIZE:
        out = rx.sub(repl, out)
    if digits:
        out = _DIGITS.sub("N", out)
    out = out.strip().rstrip(".")
    return (out[:200] + "…") if len(out) > 200 else out or "(no message)"


@dataclass(frozen=True)
class Classified:
    category: str
    severity: str  # fail | warn | info
    pattern: str  # pattern id, or "level"
    reason: str
    line: int  # index of the matching line within the entry
    span: tuple[int, int] | None
    partial: bool = False  # only part of an accepted payload was dropped


def classify(lines: list[str], level: str | None, logger: str = "", message: str | None = None) -> Classified | None:
    """Classify one entry (its lines, ANSI-free). None for entries that are not problems."""
    if level not in LEVELS_CLASSIFIED:
        return None
    lowered: str | None = None
    for pat in PATTERNS:
        if lowered is None:
            lowered = "\n".join(lines).lower()
        if not any(n in lowered for n in pat.needles):
            continue
        for i, line in enumerate(lines):
            m = pat.regex.search(line)
            if m is None:
                continue
            if pat.reason is not None:
                reason = pat.reason(m)
            else:
                reason = m.groupdict().get("reason") or m.group(0)
            return Classified(pat.category, pat.severity, pat.id, normalize_reason(reason), i, m.span(), pat.partial)
    if level is None:
        return None
    msg = message if message is not None else (lines[0] if lines else "")
    short = logger.rsplit(".", 1)[-1] if logger else ""
    reason = normalize_reason(f"{short}: {msg}" if short else msg, digits=True)
    if level == "ERROR":
        return Classified("error", "warn", "level", reason, 0, None)
    return Classified("warning", "info", "level", reason, 0, None)


# --- results ---------------------------------------------------------------------


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
    lines = [clean(x) for x in _text(block).split("\n")]
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    head = None if level is None else parse_header(block.split(b"\n", 1)[0])
    c = classify(lines, level, head.logger if head else "", head.message if head else None)
    if c is None:  # cannot happen for a counted entry; keep the header line
        return Sample(source, ts, "", [SampleLine(n, lines[0] if lines else "")])
    out = [SampleLine(n, lines[0], c.span if c.line == 0 else None)]
    if c.line > 0:
        out.append(SampleLine(n + c.line, lines[c.line], c.span))
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
    first: float | None = None
    last: float | None = None

    def add(self, c: Classified, ts: float | None, sample: RawSample | Sample) -> None:
        # The scanner's hot path: ReasonStat.add inlined.
        self.count += 1
        if c.severity == "fail":
            self.fail_count += 1
        if c.partial:
            self.partial_count += 1
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


# --- scanner ---------------------------------------------------------------------

CHUNK = 8 << 20  # bytes read at a time
_CACHE_MAX = 4096  # classifications remembered (entries repeat, bar timestamp and thread)
_CACHE_BODY_MAX = 2048  # only entries up to this size are remembered
_NOT_A_PROBLEM = Classified("", "", "", "", 0, None)


class Scanner:
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
        result: ScanResult | None = None,
        line_base: int = 0,
    ) -> None:
        self.window = window
        self.clock = Clock(tz)
        self.result = result if result is not None else ScanResult()
        self.stats = SourceStats(source)
        self.result.sources.append(self.stats)
        self._line = line_base  # lines processed so far (absolute)
        self._buf = bytearray(CHUNK + MAX_CARRY)
        self._len = 0  # valid bytes in _buf; they are the carry: the unfinished last entry
        self._skipping = False  # inside an over-long line, discarding bytes up to its end
        self._prev_ts: float | None = None  # timestamp of the last entry processed
        self._prev_counted = False  # the last entry was a problem (its split tail is not counted again)
        self._cache: dict[tuple[bytes, bytes], Classified] = {}

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
            n = self._candidates(lo, hi, -1, -1)
            n += 0 if ends_nl else 1
            self._line += n
            self.stats.lines += n
            self.result.lines[self._part(self._prev_ts)] += n
            return
        self.stats.headers = True
        last = max(_last_header_start(buf, lo, hi), first)
        t_first = self._header_ts(first, hi)
        t_last = self._header_ts(last, hi) if last != first else t_first
        before_first = buf.count(b"\n", lo, first)
        n = self._candidates(lo, hi, first, last) + (0 if ends_nl else 1)
        if before_first:
            self.result.lines[self._part(self._prev_ts)] += before_first
        self._count_window(first, hi, n - before_first, t_first, t_last)
        self._line += n
        self.stats.lines += n
        self._prev_ts = t_last

    def _header_ts(self, pos: int, hi: int) -> float | None:
        m = _HEADER.match(self._buf, pos, hi)
        if m is None:
            return None
        ts, zoned = self.clock.epoch(m)
        if zoned:
            self.result.zoned_ts = True
        else:
            self.result.naive_ts = True
        if ts is not None:
            self.result._see(ts)
            st = self.stats
            if st.first is None or ts < st.first:
                st.first = ts
            if st.last is None or ts > st.last:
                st.last = ts
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
        w = self.window
        lines = self.result.lines
        if t0 is not None and t1 is not None and t0 <= t1:
            # Entries within one chunk are taken to be in time order; only a chunk that
            # straddles a window edge (or is out of order) is checked entry by entry.
            if w is None or (t0 >= w[0] and t1 <= w[1]):
                lines["in"] += n
                return
            if t1 < w[0]:
                lines["before"] += n
                return
            if t0 > w[1]:
                lines["after"] += n
                return
        if t0 is not None and t1 is not None and t0 <= t1 and w is not None:
            # In order but straddling an edge: find the edges by bisection.
            a = self._first_at_or_after(first, hi, w[0], strict=False)
            b = self._first_at_or_after(a, hi, w[1], strict=True)
            buf = self._buf
            before = buf.count(b"\n", first, a)
            inside = buf.count(b"\n", a, b)
            if b == hi and buf[hi - 1] != 10:  # an unterminated last line
                if a < hi:
                    inside += 1
                else:
                    before += 1
            lines["before"] += before
            lines["in"] += inside
            lines["after"] += n - before - inside
            return
        self._count_entries(first, hi)

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

    def _count_entries(self, first: int, hi: int) -> None:
        """Out of order: each entry by its own time."""
        buf = self._buf
        lines = self.result.lines
        starts = [first] + [m.start() + 1 for m in _NEXT_HEADER.finditer(buf, first, hi)]
        starts.append(hi)
        ends_nl = buf[hi - 1] == 10
        for a, b in zip(starts, starts[1:], strict=False):
            if a >= b:
                continue
            cnt = buf.count(b"\n", a, b) + (0 if b < hi or ends_nl else 1)
            m = _HEADER.match(buf, a, hi)
            lines[self._part(self.clock.epoch(m)[0] if m else None)] += cnt

    # -- candidates: entries that mention ERROR or WARN --------------------------
    def _candidates(self, lo: int, hi: int, first: int, last: int) -> int:
        """Classify the entries in buf[lo:hi] that mention a needle; return its line ends.

        ``first``/``last``: offsets of the first and last header (-1: none, the
        whole run continues the previous entry).
        """
        buf = self._buf
        positions: list[int] = []
        for needle in _NEEDLES:
            positions.extend(find_all(buf, needle, lo, hi))
        positions.sort()
        counted_last = False  # was the entry at ``last`` counted?
        entry_end = -1
        cnt_pos, cnt_line = lo, self._line  # incremental line numbering
        header = _HEADER.match
        next_header = _NEXT_HEADER.search
        for pos in positions:
            if pos < entry_end:
                continue
            headless = first < 0 or pos < first
            m = None
            if headless:
                start = lo
            else:
                # Usually the needle is the header's own level: try its line first.
                start = buf.rfind(b"\n", lo, pos) + 1
                m = header(buf, start, hi)
                if m is None:
                    start = _entry_start(buf, pos, first)
                    m = header(buf, start, hi)
            nm = next_header(buf, pos, hi)
            entry_end = nm.start() + 1 if nm else hi
            cnt_line += buf.count(b"\n", cnt_pos, start)
            cnt_pos = start
            counted = self._entry(start, entry_end, cnt_line + 1, m, headless)
            if headless and counted:
                self._prev_counted = True
            if start == last:
                counted_last = counted
        if first >= 0:
            # The next run may begin with the tail of this run's last entry.
            self._prev_counted = counted_last
        return cnt_line - self._line + buf.count(b"\n", cnt_pos, hi)

    def _entry(self, start: int, end: int, n: int, m: re.Match[bytes] | None, headless: bool) -> bool:
        """Classify one entry buf[start:end] (m: its header); True if it was counted as a problem."""
        buf = self._buf
        if headless:
            if self._prev_counted:
                return False  # the tail of an entry already counted
            ts, level, lv, body_start = self._prev_ts, None, b"", start
        else:
            if m is None:
                return False
            lv = m.group("level")
            if lv != b"ERROR" and lv != b"WARN":
                return False
            level = "ERROR" if lv == b"ERROR" else "WARN"
            ts = self.clock.epoch(m)[0]
            body_start = m.start("logger")
        key = None
        c: Classified | None = None
        if end - body_start <= _CACHE_BODY_MAX:
            key = (lv, bytes(buf[body_start:end]))
            c = self._cache.get(key)
        if c is None:
            c = self._classify(bytes(buf[start:end]), level, headless)
            if key is not None:
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()
                self._cache[key] = c
        if c is _NOT_A_PROBLEM:
            return False
        w = self.window
        if ts is None:
            where = "untimed"
        elif w is None or w[0] <= ts <= w[1]:
            where = "in"
        else:
            where = "before" if ts < w[0] else "after"
        part = self.result.problems[where]
        bucket = part.get(c.category)
        if bucket is None:
            bucket = part[c.category] = Bucket()
        bucket.add(c, ts, (self.stats.name, n, ts, bytes(buf[start:end]), level))
        return True

    @staticmethod
    def _classify(block: bytes, level: str | None, headless: bool) -> Classified:
        lines = [clean(x) for x in _text(block).split("\n")]
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()
        logger, msg = "", None
        if not headless:
            head = _HEADER.match(block)
            if head is not None:
                logger = _text(head.group("logger"))
                msg = clean(_text(head.group("msg") or b""))
        return classify(lines, level, logger, msg) or _NOT_A_PROBLEM


_SAMPLE = 1 << 18  # bytes looked at to choose how to search a chunk


def find_all(buf: bytes | bytearray, needle: bytes, lo: int = 0, hi: int | None = None) -> list[int]:
    """Offsets of ``needle`` in buf[lo:hi].

    When one byte of the needle is rare in this stretch of the log (``W`` of
    ``WARN`` usually is), searching for that byte alone uses memchr and is several
    times faster than searching for the whole needle; each hit is then checked.
    """
    hi = len(buf) if hi is None else hi
    out: list[int] = []
    if hi - lo <= 0:
        return out
    sample_end = min(hi, lo + _SAMPLE)
    span = sample_end - lo
    best, best_count = -1, span  # index in needle of the rarest byte
    for k in range(len(needle)):
        cnt = buf.count(needle[k : k + 1], lo, sample_end)
        if cnt < best_count:
            best, best_count = k, cnt
    m = len(needle)
    # A memchr pass plus ~0.15 us per hit beats a full-needle search below ~1 hit in 200 bytes.
    if best >= 0 and best_count * 200 < span:
        anchor = needle[best : best + 1]
        i = buf.find(anchor, lo + best, hi)
        while i >= 0:
            start = i - best
            if start + m <= hi and buf.startswith(needle, start):
                out.append(start)
            i = buf.find(anchor, i + 1, hi)
        return out
    i = buf.find(needle, lo, hi)
    while i >= 0:
        out.append(i)
        i = buf.find(needle, i + 1, hi)
    return out


def _next_header(buf: bytes | bytearray, pos: int, hi: int | None = None) -> int:
    m = _NEXT_HEADER.search(buf, pos, len(buf) if hi is None else hi)
    return m.start() + 1 if m else -1


def _last_header_start(buf: bytes | bytearray, lo: int, hi: int, max_lines: int = 5000) -> int:
    """Offset of the last line in buf[lo:hi] that starts an entry; -1 if none is near the end."""
    end = hi
    if end > lo and buf[end - 1] == 10:
        end -= 1
    for _ in range(max_lines):
        ls = buf.rfind(b"\n", lo, end) + 1
        if ls == 0:
            ls = lo
        if HEADER_START.match(buf, ls, hi):
            return ls
        if ls <= lo:
            return -1
        end = ls - 1
    return -1


def _entry_start(buf: bytes | bytearray, pos: int, first_header: int, max_lines: int = 5000) -> int:
    """Start of the header line of the entry holding ``pos`` (pos >= first_header)."""
    end = pos
    for _ in range(max_lines):
        ls = buf.rfind(b"\n", first_header, end) + 1
        if ls <= first_header:
            return first_header
        if HEADER_START.match(buf, ls):
            return ls
        end = ls - 1
    return buf.rfind(b"\n", 0, pos) + 1


def find_entry_start(data: bytes) -> int:
    """Offset of the first line in ``data`` that starts an entry (for splitting a file), or -1."""
    if HEADER_START.match(data):
        return 0
    return _next_header(data, 0)


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


def parse_entries(text: str, tz: tzinfo | None = None) -> list[tuple[Header | None, list[str], int]]:
    """Group a small log into entries: (header or None, lines, 1-based line number of the first).

    For tests and small inputs; the scanner does the same grouping on bytes.
    """
    clock = Clock(tz)
    out: list[tuple[Header | None, list[str], int]] = []
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        b = line.encode("utf-8", "replace")
        head = parse_header(b, clock) if HEADER_START.match(b) else None
        if head is not None or not out:
            out.append((head, [clean(line)], n))
        else:
            out[-1][1].append(clean(line))
    if out and out[-1][1] == [""] and out[-1][0] is None:
        out.pop()
    while out and out[-1][1] and out[-1][1][-1] == "" and len(out[-1][1]) > 1:
        out[-1][1].pop()
    return out
