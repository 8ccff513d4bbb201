"""Stage `receiver`: the table that turns what the log scan found into findings.

One row per kind of finding: which bucket it reads, which of the bucket's entries it
counts, when it applies, its status, its sentence and its hint. The stage walks the
rows in order; the first `fail` (else the first `warn`) leads the summary and the
others are listed after it as "also ...". docs/stages/receiver.md has the same table
in the user's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stsdebug.logs.receiver_result import Bucket
from stsdebug.model import Hint, Status
from stsdebug.stages.recovery import PERSISTENT, RECOVERED, Recovery

RUNBOOK = "StackState receiver"


@dataclass(frozen=True)
class Facts:
    """What a row may look at besides its bucket."""

    bucket: Bucket
    steady: bool  # whole payloads refused in every whole minute of the window the log covers
    where: str  # "in the window", or "in the log (no timestamps, ...)"
    last: str  # the time of the bucket's last entry, formatted
    top: str  # the most frequent reason, quoted, "and N other reasons"
    recovery: Recovery | None = None  # Kafka: transient or persistent (stages.recovery)
    recovered: str = ""  # when it recovered, formatted ("" when no recovery line was seen)
    first: str = ""  # the time of the bucket's first entry, formatted
    clock: str = ""  # too-old points: whose clock, how far behind (stages.clocks.too_old_clause)


@dataclass(frozen=True)
class Rule:
    category: str
    status: Status
    headline: str  # str.format fields: n (the counted entries with their noun), where, first, last, top,
    # partial, recovered, why (the recovery's reason)
    noun: tuple[str, str]  # the counted entries: singular, plural
    short: tuple[str, str]  # how "also ..." names them: singular, plural
    hint: tuple[str, str] | None = None  # text, runbook step
    count: Callable[[Bucket], int] = lambda b: b.count
    when: Callable[[Facts], bool] = lambda f: True
    short_count: Callable[[Bucket], int] | None = None  # what "also ..." counts (default: count)


def _whole(b: Bucket) -> int:
    return b.count - b.partial_count


_DESER_HINT = (
    "Find the sender and the payload: the agent logs each refused payload as 'Error code \"400 Bad "
    "Request\" received while sending transaction to ...: Failed to deserialize JSON ...'. "
    "Check a captured payload with `stsdebug validate payload.json`.",
    RUNBOOK,
)
_DESER_SHORT = ("JSON deserialization error", "JSON deserialization errors")

_KAFKA_HINT = (
    "The receiver cannot write to Kafka: check that the Kafka brokers are up and reachable from the "
    "receiver (Kubernetes: the <release>-kafka pods, stackstate-kafka-headless:9092), then check "
    "the topic with --kafka.",
    "Kafka",
)


_STALE_HINT = (
    "The receiver ignores points older than it accepts, whatever the payload says: fix the clock of the "
    "host that sends them (NTP: timedatectl, chronyc tracking; `stackstate-agent status` shows the NTP offset "
    "under Clocks), or find what buffers its data that long. Points already ignored are not resent.",
    RUNBOOK,
)


def _state(f: Facts) -> str:
    return f.recovery.state if f.recovery is not None else PERSISTENT


RULES: tuple[Rule, ...] = (
    Rule(
        "stopped", Status.FAIL,
        "The receiver is stopping itself: {n} {where}, the last at {last} ({top})",
        ("stop message", "stop messages"), ("stop message", "stop messages"),
        ("A StackState component that logs 'Stopping ... app' has shut itself down; the reason follows "
         "it (MissingKafkaTopics: the Kafka topics it needs do not exist). Create the topics (or let the "
         "Kafka topic-create job finish), check Kafka, then restart the receiver pod or service.",
         RUNBOOK),
    ),
    Rule(
        "kafka", Status.FAIL,
        "The receiver cannot put messages on Kafka: {n} {where}, the last at {last} ({top})",
        ("Kafka producer failure", "Kafka producer failures"),
        ("Kafka producer failure", "Kafka producer failures"),
        _KAFKA_HINT,
        count=lambda b: b.fail_count,
        when=lambda f: _state(f) == PERSISTENT,
    ),
    Rule(
        "kafka", Status.WARN,
        "The receiver's Kafka producer failed ({n} {where}, {first} to {last}) and recovered{recovered}: "
        "{why} ({top})",
        ("Kafka producer failure", "Kafka producer failures"),
        ("Kafka producer failure, recovered", "Kafka producer failures, recovered"),
        count=lambda b: b.fail_count,
        when=lambda f: _state(f) == RECOVERED,
    ),
    Rule(
        "kafka", Status.WARN,
        "The receiver's Kafka producer failed ({n} {where}, {first} to {last}) and has been quiet since: "
        "{why}; the recovery is unconfirmed ({top})",
        ("Kafka producer failure", "Kafka producer failures"),
        ("Kafka producer failure, quiet since", "Kafka producer failures, quiet since"),
        _KAFKA_HINT,
        count=lambda b: b.fail_count,
        when=lambda f: _state(f) not in (PERSISTENT, RECOVERED),
    ),
    Rule(
        "deserialization", Status.FAIL,
        "The receiver refused intake payloads in every minute of the window it logged: {n} ({top})",
        _DESER_SHORT, _DESER_SHORT, _DESER_HINT,
        when=lambda f: _whole(f.bucket) > 0 and f.steady,
    ),
    Rule(
        "deserialization", Status.WARN,
        "The receiver refused {n} with JSON deserialization errors {where}{partial} ({top})",
        ("intake payload", "intake payloads"), _DESER_SHORT, _DESER_HINT,
        count=_whole,
        when=lambda f: not f.steady,
        short_count=lambda b: b.count,
    ),
    Rule(
        "deserialization", Status.WARN,
        "The receiver dropped {n} from accepted payloads with JSON deserialization errors {where} ({top})",
        ("item", "items"), _DESER_SHORT, _DESER_HINT,
        when=lambda f: _whole(f.bucket) == 0,
    ),
    Rule(
        "kafka", Status.WARN,
        "The receiver logged {n} {where} (retried or single dropped records; data still flows)",
        ("Kafka producer warning", "Kafka producer warnings"),
        ("Kafka producer warning", "Kafka producer warnings"),
        count=lambda b: b.count - b.fail_count,
    ),
    Rule(
        "auth", Status.WARN,
        "The receiver rejected {n} for the API key or authorization {where} ({top})",
        ("request", "requests"), ("API key rejection", "API key rejections"),
        ("Compare the API key the agent sends (stackstate.yaml api_key, or STS_API_KEY) with the "
         "receiver's; the agent log says 'API Key invalid, dropping transaction'.", "StackState Agent"),
    ),
    Rule(
        "payload", Status.WARN,
        "The receiver refused {n} as too large {where} ({top})",
        ("payload", "payloads"), ("oversized payload", "oversized payloads"),
        ("The receiver refused oversized requests (HTTP 413); the agent drops those transactions. "
         "Send smaller batches or raise the receiver's request size limit.", RUNBOOK),
    ),
    Rule(
        "stale", Status.FAIL,
        "The receiver ignores points as too old: {n} {where}, the last at {last}; {clock} ({top})",
        ("time", "times"), ("drop of too-old points", "drops of too-old points"),
        _STALE_HINT,
        when=lambda f: _state(f) == PERSISTENT,
    ),
    Rule(
        "stale", Status.WARN,
        "The receiver ignored points as too old {n} {where} ({first} to {last}) and has not since: {why}; "
        "{clock} ({top})",
        ("time", "times"), ("drop of too-old points, stopped", "drops of too-old points, stopped"),
        _STALE_HINT,
        when=lambda f: _state(f) != PERSISTENT,
    ),
    Rule(
        "error", Status.WARN,
        "The receiver logged {n} {where} ({top})",
        ("other ERROR entry", "other ERROR entries"), ("other error", "other errors"),
    ),
)


def n_of(count: int, noun: tuple[str, str]) -> str:
    return f"{count:,} {noun[0] if count == 1 else noun[1]}"


@dataclass(frozen=True)
class Found:
    status: Status
    headline: str
    short: str
    hint: Hint | None
    inferred: tuple[str, ...] = ()  # ids of inferred patterns behind it (docs/stages/receiver.md)


def apply(rule: Rule, facts: Facts) -> Found | None:
    """The finding one row makes of its bucket, or None when it does not apply."""
    b = facts.bucket
    counted = rule.count(b)
    if counted <= 0 or not rule.when(facts):
        return None
    partial = ""
    if rule.category == "deserialization" and b.partial_count and _whole(b):
        partial = f" and dropped {n_of(b.partial_count, ('item', 'items'))} from others"
    why = facts.recovery.reason if facts.recovery is not None else ""
    headline = rule.headline.format(
        n=n_of(counted, rule.noun), where=facts.where, first=facts.first, last=facts.last, top=facts.top,
        partial=partial, recovered=facts.recovered, why=why, clock=facts.clock,
    )
    short = n_of((rule.short_count or rule.count)(b), rule.short)
    hint = Hint(*rule.hint) if rule.hint else None
    return Found(rule.status, headline, short, hint, tuple(sorted(b.inferred)))
