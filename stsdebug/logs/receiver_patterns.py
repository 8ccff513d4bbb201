"""What stsdebug recognises in a receiver log entry, and how it groups reasons. Pure.

``PATTERNS`` is the ordered, extensible list (docs/stages/receiver.md describes it and
how to add to it): the first pattern that matches any line of an entry classifies it.
Only WARN and ERROR entries (and lines before the first header, whose level is
unknown) are classified: the receiver's charts keep its request logger at WARN, so
rejections and producer failures appear at those levels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stsdebug.logs.receiver_format import _HEADER
from stsdebug.logs.text import clean, decode

LEVELS_CLASSIFIED = frozenset({"WARN", "ERROR", None})  # None: no header (level unknown)


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
    inferred: bool = False  # the wording was not found in a public source (docs/stages/receiver.md)


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
    "stopped": "Receiver stopping",
    "deserialization": "JSON deserialization errors",
    "kafka": "Kafka producer problems",
    "auth": "API key and authorization rejections",
    "payload": "Oversized payloads (HTTP 413)",
    "stale": "Data points dropped as too old",
    "error": "Other errors",
    "warning": "Other warnings",
}

# Ordered: the first pattern that matches an entry classifies it.
PATTERNS: list[Pattern] = [
    # The component stops: nothing it should receive gets through until it is restarted.
    Pattern(
        "missing-kafka-topics",
        "stopped",
        "fail",
        "StsKafkaAdminClient$MissingKafkaTopics: the Kafka topics the receiver needs do not exist",
        ("missingkafkatopics",),
        _r(r"(?:[\w$]+\.)*StsKafkaAdminClient\$MissingKafkaTopics:?\s*(?P<reason>.*)"),
        inferred=True,
    ),
    Pattern(
        "stopping-app",
        "stopped",
        "fail",
        "Stopping <app> app[. <why>] (a StackState server component shutting itself down)",
        ("stopping",),
        _r(r"(?P<reason>\bStopping (?:the )?[\w.-]+ app\b.*)"),
        inferred=True,
    ),
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
        inferred=True,
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
        inferred=True,
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
        inferred=True,
    ),
    Pattern(
        "auth-rejection",
        "auth",
        "warn",
        "akka/pekko-http AuthenticationFailed / AuthorizationFailed rejections; HTTP 401/403",
        ("rejection", "unauthorized", "forbidden"),
        _r(
            r"(?P<reason>Authentication(?:Failed)?Rejection|AuthorizationFailedRejection|"
            r"\b(?:HTTP[ /]\S* )?\d{3} Unauthorized\b|\b(?:HTTP[ /]\S* )?\d{3} Forbidden\b)"
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
        inferred=True,
    ),
    # Payload size: the receiver refused an oversized request.
    Pattern(
        "entity-too-large",
        "payload",
        "warn",
        "akka/pekko-http EntityStreamSizeException, HTTP 413, payload too large",
        ("entitystreamsizeexception", "too large", "content length limit"),
        _r(
            r"(?P<reason>EntityStreamSizeException.*|\b\d{3} (?:Payload|Request Entity) Too Large\b.*|"
            r"(?:request )?(?:payload|entity) too large.*|.*exceeded content length limit.*)",
            re.I,
        ),
    ),
]


_NORMALIZE = [
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
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


def normalize_reason(text: str) -> str:
    """A reason fit for grouping: variable parts (ids, numbers, durations, positions) replaced."""
    out = clean(text)
    for rx, repl in _NORMALIZE:
        out = rx.sub(repl, out)
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
    inferred: bool = False  # recognised by a pattern whose wording is inferred


# Lines that say the Kafka producer is connected again (any level): a problem before one
# of them has recovered. Configurable like PATTERNS; kafka-clients' wording.
RECOVERY: list[tuple[str, bytes, re.Pattern[str]]] = [
    ("kafka", b"Connected", re.compile(r"\bConnected\b(?! to the receiver)")),
    ("kafka", b"Cluster ID: ", re.compile(r"\bCluster ID: \S+")),
]


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
            return Classified(pat.category, pat.severity, pat.id, normalize_reason(reason), i, m.span(), pat.partial,
                              pat.inferred)
    if level is None:
        return None
    msg = message if message is not None else (lines[0] if lines else "")
    short = logger.rsplit(".", 1)[-1] if logger else ""
    reason = normalize_reason(f"{short}: {msg}" if short else msg)
    if level == "ERROR":
        return Classified("error", "warn", "level", reason, 0, None)
    return Classified("warning", "info", "level", reason, 0, None)



# --- templates ---------------------------------------------------------------------
#
# Entries are classified by template: the entry's bytes with every digit read as 0 (the
# same length, so match spans still fit the real text) and ids (UUIDs, hex strings of
# 16 or more) read as ``<id>``. Numbers, durations, hosts like ``host-413`` and ids vary
# from line to line; the template does not, so the classification of one entry serves
# every entry of its template. Patterns therefore never depend on a number's value:
# ``413`` alone means nothing, ``Payload Too Large`` does.

_ZERO = bytes.maketrans(b"123456789", b"000000000")
_IDS = re.compile(
    rb"(?<![0-9A-Za-z])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})"
    rb"(?![0-9A-Za-z])",
    re.I,
)


def template(block: bytes) -> bytes:
    """The entry with every digit read as 0 (same length)."""
    return block.translate(_ZERO)


# Hex digits (and ``-``) as ``h``: a run of 8 is where an id can be (a UUID starts with one,
# a hex id is one), found by one C-level search instead of a regex tried at every byte.
_HEXISH = bytes(104 if chr(i) in "0123456789abcdefABCDEF" else 45 if i == 45 else 32 for i in range(256))
_RUN = b"hhhhhhhh"
_HEX_RUN = re.compile(rb"[h-]+")
_UUID_SHAPE = b"hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh"


def id_template(zeroed: bytes) -> bytes:
    """A template with its ids read as ``<id>``.

    The same as ``_IDS.sub(b"<id>", zeroed)``: an id lies inside a run of hex digits and
    dashes, and its look-arounds read only the byte on each side of that run, so the regex
    runs on each run holding 8 hex digits in a row (with one byte either side) instead of
    being tried at every byte of the entry.
    """
    mapped = zeroed.translate(_HEXISH)
    i = mapped.find(_RUN)
    if i < 0:
        return zeroed
    out: list[bytes] = []
    done = 0
    n = len(zeroed)
    while i >= 0:
        a = i
        while a > done and mapped[a - 1] in b"h-":
            a -= 1
        m = _HEX_RUN.match(mapped, i)
        b = m.end() if m is not None else i + 8
        out.append(zeroed[done:a])
        run = mapped[a:b]
        if (run == _UUID_SHAPE or (b - a >= 16 and b"-" not in run)) and not (
                zeroed[a - 1 : a].isalnum() or zeroed[b : b + 1].isalnum()):
            out.append(b"<id>")  # the common shapes, without the regex
        else:
            lo, hi = max(a - 1, 0), min(b + 1, n)
            part = _IDS.sub(b"<id>", zeroed[lo:hi])  # the bytes either side are never part of an id
            out.append(part[a - lo : len(part) - (hi - b)])
        done = b
        i = mapped.find(_RUN, b)
    out.append(zeroed[done:])
    return b"".join(out)


def entry_lines(block: bytes) -> list[str]:
    """An entry's lines as text: decoded, colour codes and CR dropped, capped."""
    lines = [clean(x) for x in decode(block).split("\n")]
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def classify_template(t: bytes, level: str | None, headless: bool) -> Classified | None:
    """Classify an entry given as its template (see :func:`template`)."""
    logger, msg = "", None
    if not headless:
        head = _HEADER.match(t)
        if head is not None:
            logger = decode(head.group("logger"))
            msg = clean(decode(head.group("msg") or b""))
    return classify(entry_lines(t), level, logger, msg)


def classify_block(block: bytes, level: str | None, headless: bool) -> Classified | None:
    """Classify one entry (its raw bytes, header line first unless ``headless``)."""
    return classify_template(id_template(template(block)), level, headless)
