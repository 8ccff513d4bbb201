"""Validation of StackState receiver intake payloads: metrics, events, service checks, health.

The receiver (``/stsAgent/intake``) takes one "common JSON object" per POST::

    {"collection_timestamp": 1548857167, "internalHostname": "host1",
     "metrics": [...], "events": {...}, "service_checks": [...],
     "health": [...], "topologies": [...]}

Everything here is pure: callers pass the text (or an already parsed object) and,
optionally, the current time. Nothing reads files; the clock is read only when ``now``
is not given. Callers holding bytes decode them first with :func:`decode_payload`
(UTF-8 with ``errors="replace"``), so invalid UTF-8 shows up as U+FFFD characters that
:func:`validate_text` reports, instead of an exception.

Severities:

- ``error``: the receiver rejects the payload (``400 Bad Request``, "Failed to
  deserialize JSON on fields: ..., with message: ...") or the data is dropped further
  on (reserved metric names, health synchronization errors such as
  ``SubStreamRepeatIntervalTooHigh``).
- ``warning``: accepted, but probably not what the sender meant (stale or future
  timestamps, misspelt optional members, values that differ only in case).

Decisions (every rule, its source and severity are in :data:`RULES` and docs/validate.md;
"seed 002" is StackState's "Send telemetry" page of the 4.x docs, "seed 003" the 5.0
"Send telemetry data over HTTP" page, "seed 004" the "Repeat Snapshots JSON" page):

- Top level: only ``internalHostname`` is required. The receiver's own error
  "Object is missing required member 'internalHostname'" confirms it, and the
  StackState agent sends no ``collection_timestamp``, ``events`` or ``service_checks``
  at all (its batcher posts internalHostname, topologies, health and metrics).
- Events: a missing ``msg_title`` or ``msg_text`` is an **error**. The StackState 5.0
  page (seed 003) calls both required, the older page (seed 002) optional; stsdebug
  targets 5.x, and the agent always sends both. ``timestamp`` is an error too (listed
  without "Optional" in both pages). Reserved prefixes apply to the event *name*, the
  key of the ``events`` object, which is what both pages call the event name.
- Timestamps are epoch seconds. Values of 1e11 and more are read as milliseconds (or
  finer) and are errors for metrics and events: the data lands thousands of years in
  the future. Age is a warning, because the receiver's cut-off is installation
  configuration ("depending on your StackState configuration, received metrics or
  events that are too old will be ignored"). The defaults, 1 hour in the past and
  10 minutes in the future, are the limits of the Datadog intake the StackState agent
  and receiver protocol descend from; callers can pass their own.
  When ``collection_timestamp`` is present, points are compared with it, and with the
  current time only where the collection time itself does not already explain the
  age; so a payload captured last week gives one warning, not one per metric.
- Health: ``consistency_model`` may be absent (the agent never sends it); the model is
  then read from the blocks present. Health state values are accepted in any case:
  the documentation's own example sends ``"critical"`` and the agent sends
  ``"CRITICAL"``.
- Service checks are not described by the StackState pages; the checks follow the
  Datadog format the agent uses (check, host_name, status 0-3) and are warnings only.
"""

from __future__ import annotations

import codecs
import difflib
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from stsdebug.jsontext import (
    JsonSyntaxError,
    excerpt,
    line_col,
    locate,
    newline_offsets,
    parse_json_marked,
    quote,
)

RESERVED_METRIC_PREFIXES: tuple[str, ...] = (
    "host",
    "labels",
    "name",
    "tags",
    "timeReceived",
    "timestamp",
    "values",
)
RESERVED_EVENT_PREFIXES: tuple[str, ...] = (
    "eventType",
    "host",
    "labels",
    "message",
    "name",
    "tags",
    "timeReceived",
    "timestamp",
    "title",
)
METRIC_TYPES: frozenset[str] = frozenset({"gauge", "count", "rate", "counter", "raw"})
EVENT_CATEGORIES: frozenset[str] = frozenset(
    {"Activities", "Alerts", "Anomalies", "Changes", "Others"}
)
HEALTH_STATES: frozenset[str] = frozenset({"Clear", "Deviating", "Critical"})
CONSISTENCY_MODELS: frozenset[str] = frozenset(
    {"REPEAT_SNAPSHOTS", "REPEAT_STATES", "TRANSACTIONAL_INCREMENTS"}
)
MAX_REPEAT_INTERVAL_S = 1800
DEFAULT_MAX_AGE_S = 3600.0
DEFAULT_MAX_FUTURE_S = 600.0

INTAKE_MEMBERS: tuple[str, ...] = (
    "apiKey",
    "collection_timestamp",
    "events",
    "health",
    "internalHostname",
    "metrics",
    "service_checks",
    "topologies",
)
COUNT_KEYS: tuple[str, ...] = (
    "metrics",
    "events",
    "service_checks",
    "health_snapshots",
    "check_states",
    "topologies",
)

ERROR = "error"
WARNING = "warning"

# Display order of the documented lists, as the seeds write them.
_METRIC_TYPE_LIST = "gauge, count, rate, counter or raw"
_CATEGORY_LIST = "Activities, Alerts, Anomalies, Changes or Others"
_HEALTH_LIST = "Clear, Deviating or Critical"
_MODEL_LIST = "REPEAT_SNAPSHOTS, REPEAT_STATES or TRANSACTIONAL_INCREMENTS"
_REJECTED = "the receiver rejects the payload with 400 Bad Request"
_TRANSFORMER = "health synchronization drops it (SubStreamTransformerError)"

# Seconds since 1970 stay below 1e11 until the year 5138; anything larger is a finer unit.
_UNITS: tuple[tuple[float, float, str], ...] = (
    (1e11, 1e3, "milliseconds"),
    (1e14, 1e6, "microseconds"),
    (1e17, 1e9, "nanoseconds"),
)
_TOO_LARGE_TS = 1e20


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    source: str
    summary: str


def _rules(*rows: tuple[str, str, str, str]) -> dict[str, Rule]:
    return {row[0]: Rule(*row) for row in rows}


RULES: dict[str, Rule] = _rules(
    ("json.empty", ERROR, "RFC 8259", "The payload is empty or only whitespace."),
    ("json.syntax", ERROR, "RFC 8259; receiver 400 (STACKSTATE.md); seed 002 examples",
     "The text is not valid JSON (comments, trailing commas, missing commas or brackets)."),
    ("json.too-deep", ERROR, "Jackson default nesting limit (inferred)",
     "Arrays and objects are nested too deeply for a JSON parser to accept."),
    ("json.non-finite", ERROR, "RFC 8259",
     "NaN, Infinity or a number too large for a 64-bit float."),
    ("json.not-json", ERROR, "RFC 8259",
     "A value that has no JSON form (validate_obj only)."),
    ("json.non-string-key", ERROR, "RFC 8259",
     "An object member name that is not a string (validate_obj only)."),
    ("json.duplicate-member", WARNING, "RFC 8259 (names SHOULD be unique)",
     "The same member name appears twice in one object."),
    ("json.bom", WARNING, "RFC 8259 section 8.1",
     "The text starts with a byte order mark."),
    ("json.replacement-char", WARNING, "RFC 8259 section 8.1 (UTF-8)",
     "U+FFFD characters: the original bytes were not valid UTF-8."),
    ("intake.not-object", ERROR, "seed 002/003 common JSON object",
     "The payload is not the common JSON object."),
    ("intake.missing-member", ERROR, "receiver error quoted in STACKSTATE.md (confirmed)",
     "internalHostname is missing."),
    ("intake.member-type", ERROR, "seed 002/003 common JSON object",
     "A top-level member has the wrong JSON type (metrics not an array, events not an object, ...)."),
    ("intake.hostname-empty", WARNING, "seed 002/003",
     "internalHostname is an empty string."),
    ("intake.unknown-member", WARNING, "inferred",
     "An unknown top-level member that looks like a misspelt known one; it is ignored."),
    ("intake.no-data", WARNING, "seed 002/003",
     "No metrics, events, service checks, health or topologies in the payload."),
    ("intake.api-key-in-body", WARNING, "seed 004 example; STACKSTATE.md endpoints",
     "An apiKey member in the body: the receiver authenticates with the api_key URL parameter."),
    ("timestamp.not-number", ERROR, "seed 002/003",
     "A timestamp that is not a JSON number."),
    ("timestamp.non-positive", ERROR, "seed 003 (epoch seconds)",
     "A timestamp of zero or less."),
    ("timestamp.not-seconds", ERROR, "seed 003 (epoch seconds)",
     "A metric or event timestamp in milliseconds, microseconds or nanoseconds."),
    ("timestamp.collection-not-seconds", WARNING, "seed 003 (epoch seconds)",
     "collection_timestamp in milliseconds or finer."),
    ("timestamp.stale", WARNING, "seed 002/003 ('too old will be ignored'); default 1 h",
     "Older than the allowed age, against collection_timestamp or the current time."),
    ("timestamp.future", WARNING, "inferred (clock skew); default 10 min",
     "Later than collection_timestamp or the current time by more than the allowed skew."),
    ("metric.shape", ERROR, "seed 002/003 list form",
     "A metric that is not [name, timestamp, value, {hostname, type, tags}]."),
    ("metric.name-type", ERROR, "seed 002/003", "A metric name that is not a string."),
    ("metric.name-empty", ERROR, "seed 002/003", "An empty metric name."),
    ("metric.reserved-name", ERROR, "seed 002/003",
     "A metric name starting with host, labels, name, tags, timeReceived, timestamp or values."),
    ("metric.value", ERROR, "seed 002/003 (double)", "A metric value that is not a number."),
    ("metric.meta", ERROR, "seed 002/003",
     "The fourth element of a metric is not an object."),
    ("metric.type", ERROR, "seed 002/003",
     "A metric type other than gauge, count, rate, counter or raw."),
    ("metric.type-missing", WARNING, "seed 002/003; agent source",
     "No type in the metric object (the agent always sends one)."),
    ("metric.hostname-missing", WARNING, "seed 002/003; agent source",
     "No hostname in the metric object (the agent always sends one)."),
    ("metric.member-type", ERROR, "seed 002/003",
     "hostname not a string, or tags not an array of strings."),
    ("event.shape", ERROR, "seed 002/003",
     "An event name whose value is not an array of event objects."),
    ("event.reserved-name", ERROR, "seed 002/003",
     "An event name starting with eventType, host, labels, message, name, tags, "
     "timeReceived, timestamp or title."),
    ("event.name-empty", WARNING, "seed 002/003", "An empty event name."),
    ("event.missing-member", ERROR, "seed 003 (msg_text, msg_title required); seed 002/003",
     "msg_title, msg_text or timestamp missing; or context without category, "
     "element_identifiers or source; or a source link without title or url."),
    ("event.member-type", ERROR, "seed 002/003; agent source",
     "An event member with the wrong JSON type."),
    ("event.category", ERROR, "seed 002/003",
     "A context category other than Activities, Alerts, Anomalies, Changes or Others."),
    ("event.category-case", WARNING, "seed 002/003",
     "A category that differs from a documented one only in case."),
    ("event.source-id", WARNING, "seed 002 vs seed 003 and agent source",
     "context.source_id (older docs) instead of context.source_identifier."),
    ("event.source-links-null", WARNING, "agent source",
     "context.source_links is null; the agent always sends an array."),
    ("service-check.shape", ERROR, "Datadog service check format (inferred)",
     "A service check that is not an object."),
    ("service-check.missing-member", WARNING, "Datadog service check format (inferred)",
     "A service check without check, host_name or status."),
    ("service-check.member-type", WARNING, "Datadog service check format (inferred)",
     "A service check member with the wrong JSON type."),
    ("service-check.status", WARNING, "Datadog service check format (inferred)",
     "A status other than 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN)."),
    ("health.shape", ERROR, "seed 004",
     "A health entry or check state that is not an object."),
    ("health.consistency-model", ERROR, "seed 004; health docs 5.x",
     "consistency_model other than REPEAT_SNAPSHOTS, REPEAT_STATES or TRANSACTIONAL_INCREMENTS."),
    ("health.consistency-model-case", WARNING, "seed 004",
     "consistency_model that differs from a documented one only in case."),
    ("health.model-mismatch", WARNING, "seed 004; health docs 5.x",
     "A block that belongs to another consistency model (ignored)."),
    ("health.missing-member", ERROR, "seed 004; health docs 5.x (SubStreamTransformerError)",
     "stream, stream.urn, repeat_interval_s, increment/checkpoint/offset, or a check "
     "state member (checkStateId, health, topologyElementIdentifier, name) is missing."),
    ("health.member-type", ERROR, "seed 004",
     "A health member with the wrong JSON type."),
    ("health.repeat-interval", ERROR, "seed 004 (max 1800); SubStreamRepeatIntervalTooHigh",
     "repeat_interval_s above 1800 seconds, or not positive."),
    ("health.expiry-required", ERROR, "seed 004",
     "expiry_interval_s missing while stream.sub_stream_id is set."),
    ("health.expiry-shorter", WARNING, "seed 004 (inferred from the definitions)",
     "expiry_interval_s shorter than repeat_interval_s: check states expire between repeats."),
    ("health.urn", ERROR, "seed 004", "A stream urn not of the form urn:health:<sourceId>:<streamId>."),
    ("health.state", ERROR, "seed 004", "A health value other than Clear, Deviating or Critical."),
    ("health.duplicate-check-state", WARNING, "seed 004",
     "The same checkStateId twice in one health entry."),
    ("health.check-states-missing", WARNING, "seed 004", "A health entry without check_states."),
    ("health.sub-stream-empty", WARNING, "seed 004", "sub_stream_id is an empty string."),
    ("health.delete-outside-increments", WARNING, "health docs 5.x (transactional increments)",
     "A delete flag on a check state outside TRANSACTIONAL_INCREMENTS."),
)


@dataclass(frozen=True)
class Problem:
    path: str  # JSON path: $.metrics[3][0], $.events["http_check"][0].context.category
    message: str  # one sentence: what is wrong and what is allowed
    severity: str  # ERROR (receiver rejects/drops) or WARNING (accepted but suspicious)
    line: int | None = None
    column: int | None = None
    excerpt: str | None = None  # syntax errors: the offending line and a caret line
    rule: str = ""  # key of RULES


@dataclass
class ValidationReport:
    kind: str  # "intake" | "health" | "unknown"
    problems: list[Problem]
    counts: dict[str, int]  # COUNT_KEYS: what was seen

    @property
    def valid(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def error_count(self) -> int:
        return sum(1 for p in self.problems if p.severity == ERROR)

    @property
    def warning_count(self) -> int:
        return sum(1 for p in self.problems if p.severity == WARNING)


class PayloadSyntaxError(ValueError):
    """The text is not JSON the receiver can parse; line and column are 1-based."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None,
        column: int | None,
        excerpt: str | None,
        rule: str = "json.syntax",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.excerpt = excerpt
        self.rule = rule


# ---------------------------------------------------------------------------------------
# Public entry points


def decode_payload(data: bytes) -> str:
    """Decode a request body as a JSON parser would: UTF-8, or UTF-16/32 when a BOM says so.

    Invalid bytes become U+FFFD (``errors="replace"``) so that validation reports them
    instead of failing; a UTF-8 BOM is kept for validate_text to mention.
    """
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


def parse_payload(text: str) -> Any:
    """Parse intake JSON; raise PayloadSyntaxError with line, column and a caret excerpt.

    NaN/Infinity literals and numbers too large for a double are let through as marked
    floats, and repeated member names as a marked dict, so validation can point at them.
    """
    return _parse(text)[0]


def _parse(text: str) -> tuple[Any, bool]:
    try:
        return parse_json_marked(text)
    except JsonSyntaxError as exc:
        if exc.rule == "json.empty":
            message = "the payload is empty; the receiver expects a JSON object"
        elif exc.rule == "json.syntax":
            message = f"invalid JSON: {exc.message}; {_REJECTED}"
        else:
            message = f"{exc.message}; {_REJECTED}"
        line, column = line_col(newline_offsets(text), exc.pos)
        raise PayloadSyntaxError(
            message,
            line=line,
            column=column,
            excerpt=None if exc.rule == "json.empty" else excerpt(text, exc.pos),
            rule=exc.rule,
        ) from None


def validate_text(
    text: str,
    *,
    now: float | None = None,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    max_future_s: float = DEFAULT_MAX_FUTURE_S,
) -> ValidationReport:
    """Validate intake JSON text. Never raises: syntax errors become a Problem at ``$``."""
    try:
        obj, marked = _parse(text)
    except PayloadSyntaxError as exc:
        problem = Problem(
            "$", exc.message, RULES[exc.rule].severity, exc.line, exc.column, exc.excerpt,
            exc.rule,
        )
        return ValidationReport("unknown", [problem], dict.fromkeys(COUNT_KEYS, 0))
    checker = _Checker(now, max_age_s, max_future_s)
    start = 0
    if text.startswith("\ufeff"):
        start = 1
        checker.add(
            "json.bom", (),
            "the text starts with a byte order mark (U+FEFF); the receiver's parser skips it, "
            "but other JSON tools may not",
            at=0,
        )
    bad = text.count("\ufffd")
    if bad:
        checker.add(
            "json.replacement-char", (),
            f"the text contains {bad} U+FFFD replacement character{_s(bad)}: the original bytes "
            "were probably not valid UTF-8, which the receiver rejects",
            at=text.index("\ufffd"),
        )
    # Parsed text holds only JSON types; the walk matters only when the parser marked
    # something (NaN, Infinity, overflowing numbers, repeated member names).
    kind = checker.run(obj, walk=marked)
    return checker.report(kind, text, start)


def validate_obj(
    obj: object,
    *,
    now: float | None = None,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    max_future_s: float = DEFAULT_MAX_FUTURE_S,
) -> ValidationReport:
    """Validate an already parsed payload (dicts, lists, str, numbers, bool, None)."""
    checker = _Checker(now, max_age_s, max_future_s)
    kind = checker.run(obj)
    return checker.report(kind, None, 0)


def metric_name_problem(name: str) -> str | None:
    """Why the receiver refuses this metric name, or None when it is acceptable."""
    found = _metric_name_issue(name)
    return found[1] if found else None


def metric_type_problem(mtype: str) -> str | None:
    """Why the receiver refuses this metric type, or None when it is one of METRIC_TYPES."""
    if not isinstance(mtype, str):
        return f"metric type must be a string ({_METRIC_TYPE_LIST}), got {_kind(mtype)}"
    if mtype in METRIC_TYPES:
        return None
    if mtype.lower() in METRIC_TYPES:
        return f"metric type {quote(mtype)} must be lower case: {_METRIC_TYPE_LIST}"
    return f"metric type {quote(mtype)} is not one of {_METRIC_TYPE_LIST}{_suggest(mtype, METRIC_TYPES)}"


def format_path(path: Iterable[Any]) -> str:
    """``$`` followed by ``.member``, ``["user key"]`` and ``[index]`` segments."""
    out = ["$"]
    for seg in path:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif isinstance(seg, _Key) or not _IDENT.fullmatch(seg):
            out.append(f"[{quote(seg, 60)}]")
        else:
            out.append("." + seg)
    return "".join(out)


# ---------------------------------------------------------------------------------------
# Helpers


class _Key(str):
    """A key chosen by the sender (an event name), always shown as ["key"] in paths."""

    __slots__ = ()


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return f"a Python {type(value).__name__}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return quote(value, 60)
    if isinstance(value, bool) or value is None:
        return _kind(value)
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 256 else "a very large integer"
    if isinstance(value, float):
        return repr(value)
    return _kind(value)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return _show(ts)


_SPANS = (("year", 365 * 86400.0), ("day", 86400.0), ("hour", 3600.0), ("minute", 60.0))


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    for name, size in _SPANS:
        if seconds >= size:
            n = round(seconds / size, 1)
            text = str(int(n)) if n == int(n) else str(n)
            return f"{text} {name}{'' if n == 1 else 's'}"
    n = int(round(seconds))
    return f"{n} second{_s(n)}"


_MAX_GUESSES = 200


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _guess(name: str, candidates: Iterable[str]) -> str | None:
    """A known member the sender probably meant: same letters ignoring case and _, or close."""
    if len(name) > 64:
        return None
    cands = list(candidates)
    wanted = _norm(name)
    for cand in cands:
        if _norm(cand) == wanted:
            return cand
    close = difflib.get_close_matches(name, cands, n=1, cutoff=0.8)
    return close[0] if close else None


def _suggest(value: str, choices: Iterable[str]) -> str:
    """`` (did you mean "X"?)`` for a near miss, else nothing."""
    if len(value) > 64:
        return ""
    ordered = sorted(choices)
    lowered = {c.lower(): c for c in ordered}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.75)
    return f" (did you mean {quote(lowered[close[0]])}?)" if close else ""


def _missing(obj: dict[Any, Any], member: str, consequence: str) -> str:
    """The receiver's wording for a missing member, plus the near miss that is present."""
    keys = [k for k in obj if isinstance(k, str) and k != member][:_MAX_GUESSES]
    near = next((k for k in keys if _guess(k, (member,))), None)
    hint = f" (found {quote(near, 40)}; member names are case-sensitive)" if near else ""
    return f"Object is missing required member '{member}'{hint}; {consequence}"


def _metric_name_issue(name: Any) -> tuple[str, str] | None:
    if not isinstance(name, str):
        return "metric.name-type", f"metric name must be a string, got {_kind(name)}"
    if not name:
        return "metric.name-empty", "metric name is empty"
    prefix = next((p for p in RESERVED_METRIC_PREFIXES if name.startswith(p)), None)
    if prefix is None:
        return None
    return (
        "metric.reserved-name",
        f"metric name {quote(name)} starts with the reserved prefix {quote(prefix)}; "
        "metric names must not start with host, labels, name, tags, timeReceived, "
        "timestamp or values",
    )



# ---------------------------------------------------------------------------------------
# The checker

_Path = tuple[Any, ...]
_ARRAYS = (list, tuple)
# Values the walk has nothing to say about (exact types: marked floats are subclasses).
_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})
_EVENTS_PATH: _Path = ("events",)


class _Checker:
    def __init__(self, now: float | None, max_age_s: float, max_future_s: float) -> None:
        self.now = time.time() if now is None else float(now)
        self.max_age_s = float(max_age_s)
        self.max_future_s = float(max_future_s)
        self.found: list[tuple[str, _Path, str, int | None]] = []
        self.counts = dict.fromkeys(COUNT_KEYS, 0)
        self.collection: float | None = None

    def add(self, rule: str, path: _Path, message: str, *, at: int | None = None) -> None:
        self.found.append((rule, path, message, at))

    # -- report ---------------------------------------------------------------------

    def report(self, kind: str, text: str | None, start: int) -> ValidationReport:
        offsets: dict[_Path, int] = {}
        newlines: list[int] = []
        if text is not None and self.found:
            offsets = locate(text, start, {f[1] for f in self.found if f[3] is None})
            newlines = newline_offsets(text)
        problems: list[Problem] = []
        for rule, path, message, at in self.found:
            line = column = None
            if text is not None:
                if at is None:
                    at = next(
                        (offsets[path[:i]] for i in range(len(path), -1, -1) if path[:i] in offsets),
                        None,
                    )
                if at is not None:
                    line, column = line_col(newlines, at)
            problems.append(
                Problem(format_path(path), message, RULES[rule].severity, line, column, None, rule)
            )
        if text is not None:
            problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        return ValidationReport(kind, problems, dict(self.counts))

    # -- whole document -------------------------------------------------------------

    def run(self, obj: Any, *, walk: bool = True) -> str:
        if walk:
            self._walk(obj)
        if isinstance(obj, dict):
            return self._intake(obj)
        if isinstance(obj, _ARRAYS):
            return self._bare_array(obj)
        self.add(
            "intake.not-object", (),
            "the payload must be a JSON object (the common intake object with internalHostname, "
            f"metrics, events, health, ...), got {_kind(obj)}",
        )
        return "unknown"

    def _walk(self, root: Any) -> None:
        """Problems anywhere in the document: non-finite numbers, duplicate or odd keys."""
        stack: list[tuple[Any, _Path]] = [(root, ())]
        seen: set[int] = set()
        while stack:
            node, path = stack.pop()
            if isinstance(node, float):
                if not math.isfinite(node):
                    self.add("json.non-finite", path, _non_finite_message(node))
            elif isinstance(node, dict):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                for key in getattr(node, "duplicates", ()):
                    self.add(
                        "json.duplicate-member", path + (_member(path, key),),
                        f"member {quote(key, 60)} appears more than once in this object; only "
                        "the last one is checked here, and other parsers may keep another",
                    )
                children = []
                for key, value in node.items():
                    if isinstance(key, str):
                        if type(value) not in _PLAIN_SCALARS:
                            children.append((value, path + (_member(path, key),)))
                    else:
                        self.add(
                            "json.non-string-key", path + (_Key(_show(key)),),
                            f"member name {_show(key)} is not a string; JSON member names are "
                            "always strings",
                        )
                stack.extend(reversed(children))
            elif isinstance(node, _ARRAYS):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                stack.extend(
                    reversed(
                        [(v, path + (i,)) for i, v in enumerate(node) if type(v) not in _PLAIN_SCALARS]
                    )
                )
            elif not (node is None or isinstance(node, (str, int))):
                self.add(
                    "json.not-json", path,
                    f"{_kind(node)} has no JSON form; only objects, arrays, strings, numbers, "
                    "true, false and null can be sent",
                )

    def _bare_array(self, arr: list[Any] | tuple[Any, ...]) -> str:
        first = next((x for x in arr if x is not None), None)
        if isinstance(first, _ARRAYS):
            what = "metrics"
        elif isinstance(first, dict) and any(
            k in first for k in ("stream", "check_states", "start_snapshot", "consistency_model")
        ):
            what = "health"
        else:
            self.add(
                "intake.not-object", (),
                "the payload must be a JSON object (the common intake object with "
                "internalHostname, metrics, events, health, ...), got an array",
            )
            return "unknown"
        self.add(
            "intake.not-object", (),
            f"the payload is a bare array of {what}; the receiver expects the common object "
            f"around it: {{\"internalHostname\": \"...\", \"{what}\": [...]}}",
        )
        for i, item in enumerate(arr):
            if what == "metrics":
                self.counts["metrics"] += 1
                self._metric(item, (i,))
            else:
                self._health_entry(item, (i,))
        return "intake" if what == "metrics" else "health"

    # -- common object ----------------------------------------------------------------

    def _intake(self, obj: dict[Any, Any]) -> str:
        known = [k for k in INTAKE_MEMBERS if k in obj]
        unknown = [k for k in obj if isinstance(k, str) and k not in INTAKE_MEMBERS]
        # Guessing costs a fuzzy match per key; a few hundred keys are plenty for typos.
        for key in unknown[:_MAX_GUESSES]:
            guess = _guess(key, INTAKE_MEMBERS)
            if guess and guess not in obj and guess != "internalHostname":
                self.add(
                    "intake.unknown-member", (key,),
                    f"unknown member {quote(key, 40)} is ignored by the receiver; did you "
                    f"mean {quote(guess)}?",
                )

        if "internalHostname" not in obj:
            self.add(
                "intake.missing-member", ("internalHostname",),
                _missing(obj, "internalHostname", _REJECTED),
            )
        elif not isinstance(obj["internalHostname"], str):
            self.add(
                "intake.member-type", ("internalHostname",),
                f"internalHostname must be a string, got {_kind(obj['internalHostname'])}; "
                f"{_REJECTED}",
            )
        elif not obj["internalHostname"].strip():
            self.add(
                "intake.hostname-empty", ("internalHostname",),
                "internalHostname is empty; it should name the host sending the data",
            )

        if "apiKey" in obj:
            self.add(
                "intake.api-key-in-body", ("apiKey",),
                "the payload carries an apiKey member; the receiver authenticates with the "
                "api_key URL parameter, and this file now holds a secret",
            )

        if "collection_timestamp" in obj:
            path = ("collection_timestamp",)
            ts = self._timestamp(obj["collection_timestamp"], path, "collection_timestamp", strict=False)
            if ts is not None:
                self._age(ts, path, "collection_timestamp", against_collection=False)
                self.collection = ts

        self._member_array(obj, "metrics", self._metric, "metrics")
        self._events(obj)
        self._member_array(obj, "service_checks", self._service_check, "service_checks")
        self._member_array(obj, "health", self._health_entry, None)
        self._member_array(obj, "topologies", None, "topologies")

        def has(member: str) -> bool:
            value = obj.get(member)
            return isinstance(value, (list, tuple, dict)) and len(value) > 0

        if not known:
            return "unknown"
        telemetry = any(has(m) for m in ("metrics", "events", "service_checks", "topologies"))
        if not telemetry and not has("health"):
            self.add(
                "intake.no-data", (),
                "the payload carries no metrics, events, service_checks, health or topologies; "
                "the receiver accepts it but there is nothing to store",
            )
        return "health" if has("health") and not telemetry else "intake"

    def _member_array(
        self, obj: dict[Any, Any], member: str, check: Any, count_key: str | None
    ) -> None:
        if member not in obj or obj[member] is None:
            return
        value = obj[member]
        if not isinstance(value, _ARRAYS):
            self.add(
                "intake.member-type", (member,),
                f"{member} must be an array, got {_kind(value)}; {_REJECTED}",
            )
            return
        for i, item in enumerate(value):
            if count_key:
                self.counts[count_key] += 1
            if check is not None:
                check(item, (member, i))

    # -- timestamps -----------------------------------------------------------------

    def _timestamp(self, value: Any, path: _Path, what: str, *, strict: bool) -> float | None:
        """Check an epoch-seconds timestamp; return it when it is usable for age checks."""
        if not _is_number(value):
            self.add(
                "timestamp.not-number", path,
                f"{what} must be a number of epoch seconds, got {_show(value)}",
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None  # reported by the document walk
        if value <= 0:
            self.add(
                "timestamp.non-positive", path,
                f"{what} {_show(value)} is not a positive number of epoch seconds",
            )
            return None
        if value < _UNITS[0][0]:
            return float(value)
        rule = "timestamp.not-seconds" if strict else "timestamp.collection-not-seconds"
        if value >= _TOO_LARGE_TS:
            self.add(rule, path, f"{what} {_show(value)} is far too large for epoch seconds")
            return None
        unit, divisor = next((u, d) for low, d, u in reversed(_UNITS) if value >= low)
        self.add(
            rule, path,
            f"{what} {_show(value)} looks like {unit} ({_iso(value / divisor)} when read so); "
            "the receiver expects epoch seconds",
        )
        return None

    def _age(self, ts: float, path: _Path, what: str, *, against_collection: bool) -> None:
        """Stale or future against collection_timestamp, else against now (see module doc)."""
        now, coll = self.now, (self.collection if against_collection else None)
        limit, skew = self.max_age_s, self.max_future_s
        if coll is not None and ts < coll - limit:
            self._stale(ts, path, what, coll, "the payload's collection_timestamp")
        elif ts < now - limit and not (coll is not None and coll < now - limit):
            self._stale(ts, path, what, now, "the current time")
        if coll is not None and ts > coll + skew:
            self._future(ts, path, what, coll, "the payload's collection_timestamp")
        elif ts > now + skew and not (coll is not None and coll > now + skew):
            self._future(ts, path, what, now, "the current time")

    def _stale(self, ts: float, path: _Path, what: str, ref: float, ref_name: str) -> None:
        self.add(
            "timestamp.stale", path,
            f"{what} {_iso(ts)} is {_span(ref - ts)} before {ref_name} ({_iso(ref)}); data "
            f"older than the receiver's configured limit is ignored (checked: {_span(self.max_age_s)})",
        )

    def _future(self, ts: float, path: _Path, what: str, ref: float, ref_name: str) -> None:
        self.add(
            "timestamp.future", path,
            f"{what} {_iso(ts)} is {_span(ts - ref)} after {ref_name} ({_iso(ref)}); check the "
            f"sender's clock (allowed skew: {_span(self.max_future_s)})",
        )

    def _event_or_metric_time(self, value: Any, path: _Path, what: str) -> None:
        ts = self._timestamp(value, path, what, strict=True)
        if ts is not None:
            self._age(ts, path, what, against_collection=True)

    # -- metrics --------------------------------------------------------------------

    def _metric(self, m: Any, path: _Path) -> None:
        shape = "[name, timestamp, value, {hostname, type, tags}]"
        if not isinstance(m, _ARRAYS):
            hint = ""
            if isinstance(m, dict) and ("metric" in m or "points" in m):
                hint = " (this looks like the agent's series format {metric, points, ...})"
            self.add(
                "metric.shape", path,
                f"a metric must be an array {shape}, got {_kind(m)}{hint}; {_REJECTED}",
            )
            return
        if len(m) != 4:
            self.add(
                "metric.shape", path,
                f"a metric array has {len(m)} element{_s(len(m))}, the receiver expects 4: {shape}",
            )
        if len(m) > 0:
            issue = _metric_name_issue(m[0])
            if issue:
                self.add(issue[0], path + (0,), issue[1])
        if len(m) > 1:
            self._event_or_metric_time(m[1], path + (1,), "metric timestamp")
        if len(m) > 2 and not _is_number(m[2]):
            hint = " (a number in quotes is a string)" if _numeric_string(m[2]) else ""
            self.add(
                "metric.value", path + (2,),
                f"metric value must be a number, got {_show(m[2])}{hint}",
            )
        if len(m) > 3:
            self._metric_meta(m[3], path + (3,))

    def _metric_meta(self, meta: Any, path: _Path) -> None:
        if not isinstance(meta, dict):
            self.add(
                "metric.meta", path,
                f"the 4th metric element must be an object {{hostname, type, tags}}, got {_kind(meta)}",
            )
            return
        if "hostname" not in meta:
            self.add(
                "metric.hostname-missing", path + ("hostname",),
                "metric has no hostname; the StackState agent always sets one, and streams that "
                "filter on host will not find this metric",
            )
        elif not isinstance(meta["hostname"], str):
            self.add(
                "metric.member-type", path + ("hostname",),
                f"metric hostname must be a string, got {_kind(meta['hostname'])}",
            )
        if "type" not in meta:
            self.add(
                "metric.type-missing", path + ("type",),
                f"metric has no type; the StackState agent always sends one of {_METRIC_TYPE_LIST}",
            )
        else:
            problem = metric_type_problem(meta["type"])
            if problem:
                self.add("metric.type", path + ("type",), problem)
        self._string_list(meta, "tags", path, "metric.member-type", "metric tags")

    def _string_list(
        self, obj: dict[Any, Any], member: str, path: _Path, rule: str, what: str,
        *, allow_null: bool = True,
    ) -> None:
        if member not in obj or (obj[member] is None and allow_null):
            return
        value = obj[member]
        if not isinstance(value, _ARRAYS):
            self.add(rule, path + (member,), f"{what} must be an array of strings, got {_kind(value)}")
            return
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.add(rule, path + (member, i), f"{what} must be strings, got {_show(item)}")

    # -- events ---------------------------------------------------------------------

    def _events(self, obj: dict[Any, Any]) -> None:
        if "events" not in obj or obj["events"] is None:
            return
        events = obj["events"]
        if not isinstance(events, dict):
            hint = (
                ' (e.g. {"http_check": [{...}, ...]}, not a plain array)'
                if isinstance(events, _ARRAYS) else ""
            )
            self.add(
                "intake.member-type", _EVENTS_PATH,
                f"events must be an object that maps an event name to an array of events{hint}, "
                f"got {_kind(events)}; {_REJECTED}",
            )
            return
        for name, items in events.items():
            if not isinstance(name, str):
                continue  # reported by the document walk
            path = _EVENTS_PATH + (_Key(name),)
            prefix = next((p for p in RESERVED_EVENT_PREFIXES if name.startswith(p)), None)
            if prefix:
                self.add(
                    "event.reserved-name", path,
                    f"event name {quote(name)} starts with the reserved prefix {quote(prefix)}; "
                    "event names must not start with eventType, host, labels, message, name, "
                    "tags, timeReceived, timestamp or title",
                )
            elif not name:
                self.add("event.name-empty", path, "event name is empty")
            if not isinstance(items, _ARRAYS):
                self.add(
                    "event.shape", path,
                    f"the events under an event name must be an array of event objects, got "
                    f"{_kind(items)}; {_REJECTED}",
                )
                continue
            for i, event in enumerate(items):
                self.counts["events"] += 1
                self._event(event, path + (i,))

    def _event(self, event: Any, path: _Path) -> None:
        if not isinstance(event, dict):
            self.add("event.shape", path, f"an event must be an object, got {_kind(event)}; {_REJECTED}")
            return
        for member in ("msg_title", "msg_text"):
            if member not in event:
                self.add(
                    "event.missing-member", path + (member,),
                    _missing(event, member, "StackState 5.x requires msg_title and msg_text on every event"),
                )
        if "timestamp" not in event:
            self.add(
                "event.missing-member", path + ("timestamp",),
                _missing(event, "timestamp", "every event needs its epoch-seconds timestamp"),
            )
        else:
            self._event_or_metric_time(event["timestamp"], path + ("timestamp",), "event timestamp")
        for member in ("msg_title", "msg_text", "event_type", "source_type_name", "host"):
            if member in event and not isinstance(event[member], str):
                self.add(
                    "event.member-type", path + (member,),
                    f"{member} must be a string, got {_kind(event[member])}",
                )
        self._string_list(event, "tags", path, "event.member-type", "event tags")
        context = event.get("context")
        if context is None:
            return  # optional: events without a context become a log stream
        cpath = path + ("context",)
        if not isinstance(context, dict):
            self.add("event.member-type", cpath, f"context must be an object, got {_kind(context)}")
            return
        self._event_context(context, cpath)

    def _event_context(self, ctx: dict[Any, Any], path: _Path) -> None:
        for member in ("category", "element_identifiers", "source"):
            if member not in ctx:
                self.add(
                    "event.missing-member", path + (member,),
                    _missing(ctx, member, "an event context needs category, element_identifiers and source"),
                )
        if "category" in ctx:
            category = ctx["category"]
            if not isinstance(category, str):
                self.add(
                    "event.category", path + ("category",),
                    f"category must be one of {_CATEGORY_LIST}, got {_kind(category)}",
                )
            elif category not in EVENT_CATEGORIES:
                match = next((c for c in EVENT_CATEGORIES if c.lower() == category.lower()), None)
                if match:
                    self.add(
                        "event.category-case", path + ("category",),
                        f"category {quote(category)} differs from {quote(match)} only in case; "
                        f"the documented values are {_CATEGORY_LIST}",
                    )
                else:
                    self.add(
                        "event.category", path + ("category",),
                        f"category {quote(category)} is not one of {_CATEGORY_LIST}"
                        f"{_suggest(category, EVENT_CATEGORIES)}",
                    )
        self._string_list(
            ctx, "element_identifiers", path, "event.member-type", "element_identifiers",
            allow_null=False,
        )
        for member in ("source", "source_identifier"):
            if member in ctx and not isinstance(ctx[member], str):
                self.add(
                    "event.member-type", path + (member,),
                    f"context.{member} must be a string, got {_kind(ctx[member])}",
                )
        if "data" in ctx and not isinstance(ctx["data"], dict) and ctx["data"] is not None:
            self.add(
                "event.member-type", path + ("data",),
                f"context.data must be an object of key/value details, got {_kind(ctx['data'])}",
            )
        if "source_id" in ctx and "source_identifier" not in ctx:
            self.add(
                "event.source-id", path + ("source_id",),
                "context.source_id is the older documentation's name; StackState 5.x and the "
                "agent use source_identifier, so this value is ignored",
            )
        self._source_links(ctx, path)

    def _source_links(self, ctx: dict[Any, Any], path: _Path) -> None:
        if "source_links" not in ctx:
            return
        links, lpath = ctx["source_links"], path + ("source_links",)
        if links is None:
            self.add(
                "event.source-links-null", lpath,
                "context.source_links is null; send an array (the StackState agent sends [] "
                "when there are no links)",
            )
            return
        if not isinstance(links, _ARRAYS):
            self.add(
                "event.member-type", lpath,
                f"context.source_links must be an array of {{title, url}} objects, got {_kind(links)}",
            )
            return
        for i, link in enumerate(links):
            if not isinstance(link, dict):
                self.add(
                    "event.member-type", lpath + (i,),
                    f"a source link must be an object {{title, url}}, got {_kind(link)}",
                )
                continue
            for member in ("title", "url"):
                if member not in link:
                    self.add(
                        "event.missing-member", lpath + (i, member),
                        _missing(link, member, "a source link needs a title and a url"),
                    )
                elif not isinstance(link[member], str):
                    self.add(
                        "event.member-type", lpath + (i, member),
                        f"source link {member} must be a string, got {_kind(link[member])}",
                    )

    # -- service checks -------------------------------------------------------------

    def _service_check(self, check: Any, path: _Path) -> None:
        if not isinstance(check, dict):
            self.add(
                "service-check.shape", path,
                f"a service check must be an object {{check, host_name, status, ...}}, got {_kind(check)}",
            )
            return
        for member in ("check", "host_name", "status"):
            if member not in check:
                self.add(
                    "service-check.missing-member", path + (member,),
                    _missing(check, member, "service checks carry check, host_name and status"),
                )
        for member in ("check", "host_name", "message"):
            if member in check and not isinstance(check[member], str):
                self.add(
                    "service-check.member-type", path + (member,),
                    f"service check {member} must be a string, got {_kind(check[member])}",
                )
        if "timestamp" in check and not _is_number(check["timestamp"]):
            self.add(
                "service-check.member-type", path + ("timestamp",),
                f"service check timestamp must be a number of epoch seconds, got {_show(check['timestamp'])}",
            )
        if "status" in check:
            status = check["status"]
            if not (_is_number(status) and status in (0, 1, 2, 3)) and not _non_finite(status):
                self.add(
                    "service-check.status", path + ("status",),
                    f"service check status must be 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 "
                    f"(UNKNOWN), got {_show(status)}",
                )
        self._string_list(check, "tags", path, "service-check.member-type", "service check tags")

    # -- health ---------------------------------------------------------------------

    def _health_entry(self, entry: Any, path: _Path) -> None:
        self.counts["health_snapshots"] += 1
        if not isinstance(entry, dict):
            self.add(
                "health.shape", path,
                f"a health entry must be an object {{consistency_model, stream, check_states, ...}}, "
                f"got {_kind(entry)}",
            )
            return
        model = self._consistency_model(entry, path)
        sub_stream = self._stream(entry, path)
        if model == "REPEAT_SNAPSHOTS":
            self._foreign_blocks(entry, path, model, ("expiry", "increment"))
            for block in ("start_snapshot", "stop_snapshot"):
                value = entry.get(block)
                if value is not None and not isinstance(value, dict):
                    self.add(
                        "health.member-type", path + (block,),
                        f"{block} must be an object, got {_kind(value)}",
                    )
            if isinstance(entry.get("start_snapshot"), dict):
                self._intervals(entry["start_snapshot"], path + ("start_snapshot",), sub_stream)
        elif model == "REPEAT_STATES":
            self._foreign_blocks(entry, path, model, ("start_snapshot", "stop_snapshot", "increment"))
            expiry = entry.get("expiry")
            if expiry is not None:
                if isinstance(expiry, dict):
                    self._intervals(expiry, path + ("expiry",), sub_stream)
                else:
                    self.add("health.member-type", path + ("expiry",), f"expiry must be an object, got {_kind(expiry)}")
        else:
            self._foreign_blocks(entry, path, model, ("start_snapshot", "stop_snapshot", "expiry"))
            self._increment(entry, path)
        self._check_states(entry, path, model)

    def _consistency_model(self, entry: dict[Any, Any], path: _Path) -> str:
        if "consistency_model" not in entry:
            # The agent never sends it; the blocks present say which model is meant.
            if "increment" in entry:
                return "TRANSACTIONAL_INCREMENTS"
            return "REPEAT_STATES" if "expiry" in entry else "REPEAT_SNAPSHOTS"
        model, mpath = entry["consistency_model"], path + ("consistency_model",)
        if not isinstance(model, str):
            self.add(
                "health.consistency-model", mpath,
                f"consistency_model must be one of {_MODEL_LIST}, got {_kind(model)}",
            )
            return "REPEAT_SNAPSHOTS"
        if model in CONSISTENCY_MODELS:
            return model
        if model.upper() in CONSISTENCY_MODELS:
            self.add(
                "health.consistency-model-case", mpath,
                f"consistency_model {quote(model)} should be written {quote(model.upper())}",
            )
            return model.upper()
        self.add(
            "health.consistency-model", mpath,
            f"consistency_model {quote(model)} is not one of {_MODEL_LIST}"
            f"{_suggest(model, CONSISTENCY_MODELS)}",
        )
        return "REPEAT_SNAPSHOTS"

    def _foreign_blocks(
        self, entry: dict[Any, Any], path: _Path, model: str, blocks: tuple[str, ...]
    ) -> None:
        for block in blocks:
            if block in entry:
                self.add(
                    "health.model-mismatch", path + (block,),
                    f"{block} does not belong to the {model} consistency model and is ignored",
                )

    def _stream(self, entry: dict[Any, Any], path: _Path) -> str | None:
        """Check ``stream``; return its sub_stream_id when one is set."""
        spath = path + ("stream",)
        if "stream" not in entry:
            self.add("health.missing-member", spath, _missing(entry, "stream", _TRANSFORMER))
            return None
        stream = entry["stream"]
        if not isinstance(stream, dict):
            self.add(
                "health.member-type", spath,
                f"stream must be an object {{urn, sub_stream_id}}, got {_kind(stream)}",
            )
            return None
        if "urn" not in stream:
            self.add("health.missing-member", spath + ("urn",), _missing(stream, "urn", _TRANSFORMER))
        elif not isinstance(stream["urn"], str):
            self.add(
                "health.member-type", spath + ("urn",),
                f"stream urn must be a string urn:health:<sourceId>:<streamId>, got {_kind(stream['urn'])}",
            )
        elif not _URN.fullmatch(stream["urn"]):
            self.add(
                "health.urn", spath + ("urn",),
                f"stream urn {quote(stream['urn'])} does not match urn:health:<sourceId>:<streamId>",
            )
        if "sub_stream_id" not in stream or stream["sub_stream_id"] is None:
            return None
        sub = stream["sub_stream_id"]
        if not isinstance(sub, str):
            self.add(
                "health.member-type", spath + ("sub_stream_id",),
                f"sub_stream_id must be a string, got {_kind(sub)}",
            )
            return None
        if not sub:
            self.add(
                "health.sub-stream-empty", spath + ("sub_stream_id",),
                "sub_stream_id is empty; leave it out when the stream has no sub streams",
            )
            return None
        return sub

    def _intervals(self, block: dict[Any, Any], path: _Path, sub_stream: str | None) -> None:
        repeat = block.get("repeat_interval_s")
        rpath, epath = path + ("repeat_interval_s",), path + ("expiry_interval_s",)
        if "repeat_interval_s" not in block:
            self.add("health.missing-member", rpath, _missing(block, "repeat_interval_s", _TRANSFORMER))
            repeat = None
        elif not _is_number(repeat) or _non_finite(repeat):
            if not isinstance(repeat, float):
                self.add(
                    "health.member-type", rpath,
                    f"repeat_interval_s must be a number of seconds, got {_show(repeat)}",
                )
            repeat = None
        elif repeat <= 0 or repeat > MAX_REPEAT_INTERVAL_S:
            self.add(
                "health.repeat-interval", rpath,
                f"repeat_interval_s {_show(repeat)} is outside 1..{MAX_REPEAT_INTERVAL_S} seconds; "
                "health synchronization refuses it (SubStreamRepeatIntervalTooHigh above 1800)",
            )
            repeat = None
        expiry = block.get("expiry_interval_s")
        if expiry is not None and (
            not _is_number(expiry) or _non_finite(expiry)
        ):
            if not isinstance(expiry, float):
                self.add(
                    "health.member-type", epath,
                    f"expiry_interval_s must be a number of seconds, got {_show(expiry)}",
                )
            return
        if sub_stream is not None and not expiry:
            self.add(
                "health.expiry-required", epath,
                f"expiry_interval_s is required when stream.sub_stream_id is set "
                f"(sub stream {quote(sub_stream, 40)})",
            )
        elif expiry and repeat is not None and 0 < expiry < repeat:
            self.add(
                "health.expiry-shorter", epath,
                f"expiry_interval_s {_show(expiry)} is shorter than repeat_interval_s "
                f"{_show(repeat)}; check states expire before the next repeat arrives",
            )

    def _increment(self, entry: dict[Any, Any], path: _Path) -> None:
        ipath = path + ("increment",)
        if "increment" not in entry:
            self.add(
                "health.missing-member", ipath,
                _missing(entry, "increment", "TRANSACTIONAL_INCREMENTS needs one on every message"),
            )
            return
        inc = entry["increment"]
        if not isinstance(inc, dict):
            self.add("health.member-type", ipath, f"increment must be an object, got {_kind(inc)}")
            return
        for block in ("checkpoint", "previous_checkpoint"):
            if block not in inc or (inc[block] is None and block == "previous_checkpoint"):
                if block == "checkpoint":
                    self.add(
                        "health.missing-member", ipath + (block,),
                        _missing(inc, block, "an increment needs the checkpoint of its check states"),
                    )
                continue
            cp, cpath = inc[block], ipath + (block,)
            if not isinstance(cp, dict):
                self.add("health.member-type", cpath, f"{block} must be an object, got {_kind(cp)}")
                continue
            if "offset" not in cp:
                self.add("health.missing-member", cpath + ("offset",), _missing(cp, "offset", _TRANSFORMER))
            for member in ("offset", "batch_index"):
                if member in cp and not _is_number(cp[member]):
                    self.add(
                        "health.member-type", cpath + (member,),
                        f"{member} must be a number, got {_show(cp[member])}",
                    )

    def _check_states(self, entry: dict[Any, Any], path: _Path, model: str) -> None:
        cpath = path + ("check_states",)
        if "check_states" not in entry:
            self.add(
                "health.check-states-missing", cpath,
                "the health entry has no check_states; send an array, empty when there is nothing to report",
            )
            return
        states = entry["check_states"]
        if states is None:
            return  # what the agent sends for an empty Go slice
        if not isinstance(states, _ARRAYS):
            self.add(
                "health.member-type", cpath,
                f"check_states must be an array of check state objects, got {_kind(states)}",
            )
            return
        seen: set[str] = set()
        for i, state in enumerate(states):
            self.counts["check_states"] += 1
            spath = cpath + (i,)
            if not isinstance(state, dict):
                self.add("health.shape", spath, f"a check state must be an object, got {_kind(state)}")
                continue
            state_id = state.get("checkStateId")
            if isinstance(state_id, str):
                if state_id in seen:
                    self.add(
                        "health.duplicate-check-state", spath + ("checkStateId",),
                        f"checkStateId {quote(state_id, 60)} appears more than once in this "
                        "health entry; the later one replaces the earlier",
                    )
                seen.add(state_id)
            self._check_state(state, spath, model)

    def _check_state(self, state: dict[Any, Any], path: _Path, model: str) -> None:
        delete = state.get("delete")
        if "delete" in state and not isinstance(delete, bool):
            self.add("health.member-type", path + ("delete",), f"delete must be true or false, got {_show(delete)}")
        required: tuple[str, ...] = ("checkStateId", "health", "topologyElementIdentifier", "name")
        if delete is True:
            if model != "TRANSACTIONAL_INCREMENTS":
                self.add(
                    "health.delete-outside-increments", path + ("delete",),
                    f"delete is only understood by TRANSACTIONAL_INCREMENTS, not {model}; "
                    "leave the check state out of the next snapshot instead",
                )
            required = ("checkStateId",)
        for member in required:
            if member not in state:
                self.add("health.missing-member", path + (member,), _missing(state, member, _TRANSFORMER))
            elif not isinstance(state[member], str):
                self.add(
                    "health.member-type", path + (member,),
                    f"{member} must be a string, got {_kind(state[member])}",
                )
        if "message" in state and state["message"] is not None and not isinstance(state["message"], str):
            self.add(
                "health.member-type", path + ("message",),
                f"message must be a string (markdown), got {_kind(state['message'])}",
            )
        value = state.get("health")
        if "health" in required and isinstance(value, str) and value.lower() not in _HEALTH_LOWER:
            self.add(
                "health.state", path + ("health",),
                f"health {quote(value)} is not one of {_HEALTH_LIST}",
            )


_URN = re.compile(r"urn:health:([^:]+):(.+)", re.S)
_HEALTH_LOWER = frozenset(s.lower() for s in HEALTH_STATES)


def _member(path: _Path, key: str) -> str:
    # Keys of the events object are event names chosen by the sender: shown as ["name"].
    return _Key(key) if path == _EVENTS_PATH else key


def _numeric_string(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 64:
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _non_finite_message(value: float) -> str:
    literal = getattr(value, "literal", None)
    if literal is not None:
        return f"{literal} is not valid JSON; {_REJECTED}"
    text = getattr(value, "text", None)
    if text is not None:
        shown = text if len(text) <= 24 else text[:20] + "…"
        return f"number {shown} is too large for a 64-bit float; {_REJECTED}"
    name = "NaN" if math.isnan(value) else ("-Infinity" if value < 0 else "Infinity")
    return f"{name} cannot be written as JSON; {_REJECTED}"
