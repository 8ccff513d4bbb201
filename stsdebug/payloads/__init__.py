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
from typing import Any

from stsdebug.jsontext import (
    JsonSyntaxError,
    excerpt,
    line_col,
    newline_offsets,
    parse_json_marked,
)
from stsdebug.payloads.checker import Checker
from stsdebug.payloads.helpers import _s, format_path, metric_name_problem, metric_type_problem
from stsdebug.payloads.rules import (
    _REJECTED,
    CONSISTENCY_MODELS,
    COUNT_KEYS,
    DEFAULT_MAX_AGE_S,
    DEFAULT_MAX_FUTURE_S,
    ERROR,
    EVENT_CATEGORIES,
    HEALTH_STATES,
    INTAKE_MEMBERS,
    MAX_REPEAT_INTERVAL_S,
    METRIC_TYPES,
    RESERVED_EVENT_PREFIXES,
    RESERVED_METRIC_PREFIXES,
    RULES,
    WARNING,
    PayloadSyntaxError,
    Problem,
    Rule,
    ValidationReport,
)

__all__ = [
    "CONSISTENCY_MODELS", "COUNT_KEYS", "DEFAULT_MAX_AGE_S", "DEFAULT_MAX_FUTURE_S", "ERROR",
    "EVENT_CATEGORIES", "HEALTH_STATES", "INTAKE_MEMBERS", "MAX_REPEAT_INTERVAL_S", "METRIC_TYPES",
    "RESERVED_EVENT_PREFIXES", "RESERVED_METRIC_PREFIXES", "RULES", "WARNING", "PayloadSyntaxError",
    "Problem", "Rule", "ValidationReport", "decode_payload", "format_path", "metric_name_problem",
    "metric_type_problem", "parse_payload", "validate_obj", "validate_text",
]

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
    checker = Checker(now, max_age_s, max_future_s)
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
    checker = Checker(now, max_age_s, max_future_s)
    kind = checker.run(obj)
    return checker.report(kind, None, 0)


