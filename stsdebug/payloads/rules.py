"""The intake rules: the documented lists, every rule with its source and severity, and
the report types. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

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


