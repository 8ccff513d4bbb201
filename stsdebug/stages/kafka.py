"""Stage `kafka`: did the integration's data reach the ``sts_multi_metrics`` topic, and is
mm2es reading it?

Runbook (Troubleshooting step 2 / Kafka): "Check the messages on the Kafka topic ... If
there are recent messages on the Kafka bus, then you know that metrics have been
retrieved and the issue is not in the data collection."

What it does, at a cost that does not grow with the topic (see bench/README.md):

- the topic exists; its partitions and their leaders;
- per partition: the end offset, the newest record and its age, and the number of
  records in the window, found from the end of the partition (never by scanning from
  the beginning); the source says how each figure was established;
- the newest ``CAP`` in-window records per partition are decoded (JSON ``MultiMetric``,
  with or without the wrapper) into a census by metric prefix, and matched against the
  integration (``ctx.matcher``: prefixes, hosts, tags);
- the committed offsets of the mm2es group (``--mm2es-group``, or the groups found
  reading the topic), sampled twice ``LAG_SAMPLE_S`` apart: is it moving, how far
  behind is it.

Through ``--kafka`` (kafka-python, read-only) or, when Kafka cannot be reached from here,
``--sts-api`` (the StackState topic API): the same evidence either way, except the
group lag, which only Kafka shows.

``census(ctx)`` is shared with the scope stage (which runs first): the read happens once
per trace and is cached in ``ctx.cache`` together with any ``SourceError``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.integrations import prefix_of
from stsdebug.model import Figures, Hint, StageResult, Status, Table, Text
from stsdebug.sources.kafka import (
    GroupOffsets,
    PartitionTail,
    Record,
    TopicInfo,
    TopicSource,
    decode_value,
)
from stsdebug.stages.base import Context

TITLE = "Kafka topic"
# Worst case in per-call timeouts: connect, metadata, the window read (two), then the lag:
# group listing, two end-offset and committed-offset samples, group states and the
# lookup of where the group stands; plus the pause between the samples.
BUDGET_CALLS = 11.0
RUNBOOK = "Troubleshooting step 2 / Kafka"

CAP = 2000  # records decoded per partition, newest first
DEFAULT_INTERVAL_S = 60.0  # when the data does not show how often the integration reports
MIN_STALE_S = 60.0  # never call data younger than this stale
LAG_SAMPLE_S = 2.0  # between the two group samples (at most half the timeout)
BEHIND_WARN_S = 60.0  # a group this far behind the newest record it has not read yet is lagging
PAYLOAD_DELAY_NOTE_S = 300.0  # payload timestamps this much older than Kafka's: worth saying
FUTURE_SKEW_S = 300.0
SHOWN_PREFIXES = 15
SHOWN_GROUPS = 5
# Group names that look like the Kafka-to-Elasticsearch mover (StackState's `mm2es`,
# image stackstate-kafka-to-es); inferred, so any group reading the topic is shown.
MM2ES_NAMES = ("mm2es", "kafka-to-es", "kafka2es", "kafkatoes", "kafka_to_es", "multi-metrics", "multi_metrics")

CACHE_READ = "kafka.read"
CACHE_CENSUS = "kafka.census"


# --- the read shared with the scope stage -----------------------------------------------


@dataclass
class TopicRead:
    source: TopicSource
    access: str  # "Kafka" | "StackState topic API"
    endpoint: str
    topic: TopicInfo
    tails: list[PartitionTail] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # partitions without a leader: not read
    notes: list[str] = field(default_factory=list)


def _inputs(ctx: Context) -> bool:
    return bool(ctx.settings.kafka or ctx.settings.sts_api)


def read(ctx: Context) -> TopicRead | None:
    """The topic as read once per trace: Kafka first, then the topic API; None without either."""
    if not _inputs(ctx):
        return None
    return ctx.once(CACHE_READ, lambda: _read(ctx))


def _must_read(ctx: Context) -> TopicRead:
    topic_read = read(ctx)
    assert topic_read is not None  # callers check _inputs first
    return topic_read


def _read(ctx: Context) -> TopicRead:
    s = ctx.settings
    notes: list[str] = []
    if s.kafka:
        try:
            return _read_with(ctx, ctx.source("kafka"), notes)
        except SourceError as exc:
            if not s.sts_api:
                raise
            notes.append(
                f"Kafka could not be read ({str(exc).rstrip('.')}); the topic was read through the "
                "StackState topic API instead."
            )
            try:
                return _read_with(ctx, ctx.source("topic_api"), notes)
            except SourceError as api_exc:
                raise SourceError(
                    f"{str(exc).rstrip('.')}; and the StackState topic API failed too: "
                    f"{_lower(str(api_exc))}",
                    system="Kafka",
                    cause=exc.cause,
                ) from None
    return _read_with(ctx, ctx.source("topic_api"), notes)


def _read_with(ctx: Context, source: TopicSource, notes: list[str]) -> TopicRead:
    topic = source.describe_topic(ctx.settings.topic)
    result = TopicRead(source, source.access, source.endpoint, topic, notes=notes)
    if not topic.exists:
        return result
    readable = [p.partition for p in topic.partitions if p.leader is not None or not source.shows_leaders]
    result.skipped = [p.partition for p in topic.partitions if p.partition not in readable]
    result.tails = source.read_window(topic.name, readable, ctx.window.start, CAP)
    return result


def census(ctx: Context) -> Census | None:
    """Records in the window per metric prefix; None when neither --kafka nor --sts-api is given.

    Raises SourceError when the topic cannot be read (cached: not retried).
    """
    if not _inputs(ctx):
        return None
    return ctx.once(CACHE_CENSUS, lambda: analyse(ctx, _must_read(ctx)).census)


# --- what the records say ---------------------------------------------------------------


@dataclass
class Analysis:
    census: Census
    undecoded: int = 0
    future: int = 0  # records dated more than FUTURE_SKEW_S after now
    interval_s: float | None = None  # how often the integration reports, from its records
    payload_delay_s: float | None = None  # median of Kafka timestamp - payload timestamp (matched)
    total_exact: bool = True


def _ts(record: Record, payload_ts: float | None) -> float | None:
    return record.timestamp if record.timestamp is not None else payload_ts


def analyse(ctx: Context, topic_read: TopicRead) -> Analysis:
    w = ctx.window
    c = Census("kafka", w.start, w.end)
    a = Analysis(c)
    per_host: dict[str, set[float]] = {}
    delays: list[float] = []
    for tail in topic_read.tails:
        if tail.in_window is not None:
            c.total += tail.in_window
        a.total_exact = a.total_exact and tail.exact and tail.in_window is not None
        if tail.newest is not None and tail.newest.timestamp is not None:
            c.newest = max(c.newest or 0.0, tail.newest.timestamp)
        for record in tail.records:
            c.examined += 1
            mm = decode_value(record.value)
            payload_ts = mm.timestamp if mm else None
            ts = _ts(record, payload_ts)
            if ts is not None and ts > ctx.now + FUTURE_SKEW_S:
                a.future += 1
            if mm is None:
                a.undecoded += 1
                continue
            for prefix in sorted({prefix_of(m) for m in mm.metrics}):
                c.prefix(prefix).see(ts)
            if ctx.matcher.matches(mm.metrics, mm.host, mm.tags):
                c.matched += 1
                if ts is not None and (c.matched_newest is None or ts > c.matched_newest):
                    c.matched_newest = ts
                if payload_ts is not None:
                    per_host.setdefault(mm.host or "", set()).add(round(payload_ts, 3))
                    if record.timestamp is not None:
                        delays.append(record.timestamp - payload_ts)
    c.sampled = c.examined < c.total or not a.total_exact
    c.decoded = not (c.examined > 0 and a.undecoded == c.examined)
    a.interval_s = _interval(per_host)
    if delays:
        a.payload_delay_s = statistics.median(delays)
    notes = []
    if not topic_read.topic.exists:
        notes.append(f"topic {topic_read.topic.name} does not exist")
    if c.sampled:
        notes.append(f"the newest {CAP:,} records per partition were decoded")
    if a.undecoded and c.decoded:
        notes.append(f"{a.undecoded:,} of {c.examined:,} records were not JSON MultiMetric messages")
    if not c.decoded:
        notes.append("the records are not JSON: counts and ages only")
    c.note = "; ".join(notes)
    return a


def _interval(per_host: dict[str, set[float]]) -> float | None:
    """Median reporting interval: per host, the median gap between distinct payload timestamps."""
    medians = []
    for stamps in per_host.values():
        ordered = sorted(stamps)
        gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False) if b - a > 0]
        if len(gaps) >= 2:
            medians.append(statistics.median(gaps))
    if not medians:
        return None
    return min(max(statistics.median(medians), 5.0), 3600.0)


# --- the stage ----------------------------------------------------------------------


def run(ctx: Context) -> StageResult:
    if not _inputs(ctx):
        return ctx.skip(
            "No --kafka or --sts-api given, so the sts_multi_metrics topic was not read.",
            "Give --kafka BOOTSTRAP (e.g. stackstate-kafka-headless:9092 through a port-forward) or "
            "--sts-api URL with a token in STSDEBUG_STS_API_TOKEN.",
        )
    try:
        topic_read = read(ctx)
    except SourceError as exc:
        return ctx.result(Status.ERROR, _sentence(str(exc)), hints=_error_hints(exc))
    assert topic_read is not None
    name = ctx.integration.name
    topic = topic_read.topic
    access = Text(
        "How the topic was read",
        f"{topic_read.access} at {topic_read.endpoint}, topic {topic.name}."
        + "".join(f" {n}" for n in topic_read.notes)
        + (f" {topic.note}" if topic.note else ""),
    )
    if not topic.exists:
        return ctx.result(
            Status.FAIL,
            f"Topic {topic.name} does not exist on {topic_read.access} at {topic_read.endpoint}.",
            [access, _brokers_table(topic)],
            [
                Hint(
                    "The receiver creates the topic when it first produces to it: check the "
                    "receiver stage, and that --topic names the topic StackState uses "
                    "(sts_multi_metrics).",
                    RUNBOOK,
                )
            ],
        )

    if topic_read.skipped and not topic_read.tails:
        return ctx.result(
            Status.FAIL,
            f"No partition of {topic.name} has a leader, so the topic accepts no records and "
            "none could be read.",
            [access, _partition_table(ctx, topic_read), _brokers_table(topic)],
            [Hint("Check the Kafka brokers: every partition of the topic is offline.", RUNBOOK)],
        )

    a = analyse(ctx, topic_read)
    c = a.census
    if CACHE_CENSUS not in ctx.cache:
        ctx.cache[CACHE_CENSUS] = c
    evidence: list[Figures | Table | Text] = [access]
    figures = Figures("Topic in the window")
    evidence.append(figures)
    evidence.append(_partition_table(ctx, topic_read))
    hints: list[Hint] = []
    warnings: list[str] = []

    if topic_read.skipped:
        warnings.append(
            f"partition{'s' if len(topic_read.skipped) > 1 else ''} "
            f"{', '.join(map(str, topic_read.skipped))} of {topic.name} "
            f"{'have' if len(topic_read.skipped) > 1 else 'has'} no leader"
        )
        hints.append(Hint("A partition without a leader accepts no records: check the Kafka brokers.",
                          RUNBOOK))

    total_text = f"{c.total:,}" if a.total_exact else f"at least {c.total:,}"
    figures.add("records in window", c.total if a.total_exact else f"≥ {c.total:,}")
    figures.add("newest record age", _age(ctx, c.newest), "s")

    # 1. Nothing at all in the window.
    if c.total == 0:
        newest = (
            f"the newest record is {_ago(ctx, c.newest)} old"
            if c.newest is not None
            else "the topic holds no records"
        )
        hints.append(
            Hint(
                "Nothing reaches the topic: look at the receiver (its health and its log for "
                "Kafka producer errors) and at the agent before it. "
                f"`sts topic describe --name {topic.name}` shows the same messages.",
                RUNBOOK,
            )
        )
        return ctx.result(
            Status.FAIL,
            f"No records at all on {topic.name} in the last {ctx.window.spec} ({newest}).",
            evidence,
            hints,
            missing_data=True,
        )

    # 2. Records, but not JSON: counts and ages only.
    if not c.decoded:
        evidence.append(Text("Record format", _format_note(topic_read)))
        hints.append(
            Hint(
                "The records are not JSON, so stsdebug cannot tell whose they are. "
                f"`sts topic describe --name {topic.name}` (or --sts-api) shows them decoded.",
                RUNBOOK,
            )
        )
        _lag(ctx, topic_read, evidence, hints, warnings)
        return ctx.result(
            Status.WARN,
            f"{total_text} records on {topic.name} in the last {ctx.window.spec} (newest "
            f"{_ago(ctx, c.newest)} old), but they are not JSON, so whether any are {name}'s "
            "cannot be checked" + (f"; also {'; '.join(warnings)}." if warnings else "."),
            evidence,
            hints,
        )

    figures.add(f"{name} records (of those decoded)", c.matched)
    figures.add("records decoded", c.examined)
    figures.add(f"newest {name} record age", _age(ctx, c.matched_newest), "s")
    interval = a.interval_s or DEFAULT_INTERVAL_S
    figures.add(
        f"{name} reporting interval" + ("" if a.interval_s else " (assumed)"), round(interval, 1), "s"
    )
    if a.payload_delay_s is not None and a.payload_delay_s > PAYLOAD_DELAY_NOTE_S:
        figures.add("payload timestamps behind Kafka's (median)", round(a.payload_delay_s, 1), "s")
        hints.append(
            Hint(
                f"{name}'s records carry timestamps {_duration(a.payload_delay_s)} older than when "
                "Kafka received them: the agent's clock is off, or it sends buffered data late. "
                "Elasticsearch files them under their own (old) time.",
                RUNBOOK,
            )
        )
    if a.future:
        evidence.append(
            Text(
                "Clock skew",
                f"{a.future:,} records are dated more than {FUTURE_SKEW_S:.0f} s in the future.",
            )
        )
    evidence.append(_prefix_table(ctx, c))

    # 3. Records, none of them the integration's.
    if c.matched == 0:
        among = f"none of the {c.examined:,} newest decoded" if c.sampled else "none of them"
        hints.append(
            Hint(
                f"Other data arrives but not {name}'s ({ctx.matcher.describe()}): check StackState "
                "Agent next — its log, and `stackstate-agent check <check> -l debug` for what it "
                "collects. If the metrics are named differently, pass --metric-prefix, --host or --tag.",
                RUNBOOK,
            )
        )
        return ctx.result(
            Status.FAIL,
            f"{total_text} records on {topic.name} in the last {ctx.window.spec}, {among} are "
            f"{name}'s ({ctx.matcher.describe()}).",
            evidence,
            hints,
            missing_data=True,
        )

    # 4. The integration's data is there: fresh? read by mm2es?
    stale_after = max(MIN_STALE_S, 2 * interval)
    age = ctx.now - (c.matched_newest or ctx.now)
    if c.matched_newest is not None and age > stale_after:
        warnings.append(
            f"the newest {name} record is {_duration(age)} old, more than twice its reporting "
            f"interval ({_duration(interval)})"
        )
        hints.append(
            Hint(
                f"{name}'s data has stopped or slowed down: check the agent's check schedule and "
                "its log for errors around the time of the newest record.",
                RUNBOOK,
            )
        )
    _lag(ctx, topic_read, evidence, hints, warnings)
    sampled = " (of those decoded)" if c.sampled else ""
    base = (
        f"{c.matched:,} {name} records{sampled} on {topic.name} in the last {ctx.window.spec}, "
        f"the newest {_ago(ctx, c.matched_newest)} old"
    )
    if warnings:
        return ctx.result(Status.WARN, f"{base}, but {'; '.join(warnings)}.", evidence, hints)
    return ctx.result(Status.PASS, f"{base}.", evidence, hints)


# --- mm2es lag ----------------------------------------------------------------------


@dataclass
class _GroupLag:
    group: str
    rows: list[list[object]]
    lag1: int
    lag2: int
    moved: int
    arrived: int
    behind_s: float | None
    state: str | None
    members: int | None
    verdict: str
    problem: str | None


def _lag(
    ctx: Context,
    topic_read: TopicRead,
    evidence: list[Figures | Table | Text],
    hints: list[Hint],
    warnings: list[str],
) -> bool:
    """Append the mm2es evidence; add a warning when it is stuck or falling behind."""
    source = topic_read.source
    topic = topic_read.topic.name
    if not source.supports_groups:
        evidence.append(
            Text("mm2es lag", "Not checked: the StackState topic API does not show consumer groups.")
        )
        return False
    partitions = [t.partition for t in topic_read.tails]
    if not partitions:
        return False
    try:
        return _sample_lag(ctx, source, topic, topic_read.tails, evidence, hints, warnings)
    except SourceError as exc:
        evidence.append(Text("mm2es lag", f"Not checked: {_sentence(str(exc))}"))
        return False


def _sample_lag(
    ctx: Context,
    source: Any,  # a KafkaSource (or a test's wrapper of one): supports_groups is True
    topic: str,
    tails: list[PartitionTail],
    evidence: list[Figures | Table | Text],
    hints: list[Hint],
    warnings: list[str],
) -> bool:
    partitions = [t.partition for t in tails]
    wanted = ctx.settings.mm2es_group
    if wanted:
        first = source.group_offsets([wanted], topic)
        first = [g for g in first if g.committed]
        if not first:
            warnings.append(f"consumer group {wanted} has no committed offsets on {topic}")
            hints.append(_mm2es_hint(f"The group {wanted} (--mm2es-group) has never committed on {topic}: "
                                     "mm2es is not reading it, or it uses another group name."))
            return True
    else:
        found = source.groups_reading(topic)
        if not found:
            warnings.append(f"no consumer group has committed offsets on {topic}, so mm2es is not reading it")
            hints.append(_mm2es_hint(
                "No consumer group reads the topic: mm2es (the Kafka-to-Elasticsearch mover) is not "
                "running, or this user may not see groups (then give --mm2es-group)."
            ))
            return True
        named = [g for g in found if any(n in g.group.lower() for n in MM2ES_NAMES)]
        first = (named or found)[:SHOWN_GROUPS]
    groups = [g.group for g in first]
    known = {t.partition: t.end for t in tails if t.end}
    ends1 = source.end_offsets(topic, partitions, known)
    pause = min(LAG_SAMPLE_S, ctx.settings.timeout / 2)
    if ctx.cancel.wait(pause):
        return False
    second = {g.group: g for g in source.group_offsets(groups, topic)}
    ends2 = source.end_offsets(topic, partitions, known)
    states = source.group_states(groups)
    # Where each group stands: the age of the next record it has not read yet.
    positions = {
        p: min(
            (second[g].committed.get(p) for g in groups
             if second.get(g) and second[g].committed.get(p) is not None),
            default=None,
        )
        for p in partitions
    }
    lookups = {p: o for p, o in positions.items() if o is not None and o < ends2.get(p, 0)}
    stamps = source.timestamps_at(topic, lookups) if lookups else {}

    results = []
    for g1 in first:
        g2 = second.get(g1.group) or GroupOffsets(g1.group, {})
        state, members = states.get(g1.group, (None, None))
        results.append(_judge(ctx, g1, g2, ends1, ends2, stamps, pause, state, members))

    rows = [row for r in results for row in r.rows]
    evidence.append(
        Table(
            f"Consumer groups reading {topic} (two samples {pause:g} s apart)",
            ["group", "partition", "committed", "end", "lag", "moved", "next unread record age (s)"],
            rows,
            note=None if wanted else "Groups found by their committed offsets on the topic.",
        )
    )
    lag_fig = Figures("mm2es")
    for r in results:
        lag_fig.add(f"{r.group}: lag", r.lag2, "records")
        lag_fig.add(f"{r.group}: moved", r.moved, "records")
        if r.behind_s is not None:
            lag_fig.add(f"{r.group}: behind the newest record by", round(r.behind_s, 1), "s")
        if r.state or r.members is not None:
            lag_fig.add(f"{r.group}: state", f"{r.state or 'unknown'}, {r.members} member(s)"
                        if r.members is not None else r.state)
        lag_fig.add(f"{r.group}", r.verdict)
    evidence.append(lag_fig)
    problems = [r for r in results if r.problem]
    # Healthy when any mm2es-like group keeps up: others may be idle tools.
    if problems and len(problems) == len(results):
        for r in problems:
            warnings.append(f"consumer group {r.group} {r.problem}")
        hints.append(_mm2es_hint(
            "mm2es moves records from Kafka to Elasticsearch; when it is stuck, Elasticsearch "
            "stops getting data although Kafka has it. Check the <release>-mm2es pod: logs, "
            "restarts, and whether Elasticsearch refuses its writes (the next stage)."
        ))
        return True
    return False


def _judge(
    ctx: Context,
    g1: GroupOffsets,
    g2: GroupOffsets,
    ends1: dict[int, int],
    ends2: dict[int, int],
    stamps: dict[int, float | None],
    pause: float,
    state: str | None,
    members: int | None,
) -> _GroupLag:
    rows: list[list[object]] = []
    lag1 = lag2 = moved = arrived = 0
    behind: list[float] = []
    for p in sorted(set(g1.committed) | set(g2.committed)):
        c1, c2 = g1.committed.get(p), g2.committed.get(p)
        e1, e2 = ends1.get(p, 0), ends2.get(p, 0)
        arrived += max(0, e2 - e1)
        if c1 is not None:
            lag1 += max(0, e1 - c1)
        if c2 is not None:
            lag2 += max(0, e2 - c2)
        step = (c2 - c1) if c1 is not None and c2 is not None else 0
        moved += max(0, step)
        age = None
        if c2 is not None and c2 < e2 and stamps.get(p) is not None:
            age = max(0.0, ctx.now - float(stamps[p] or 0.0))
            behind.append(age)
        rows.append([g1.group, p, c2, e2, max(0, e2 - c2) if c2 is not None else None, step,
                     round(age, 1) if age is not None else None])
    behind_s = max(behind) if behind else (0.0 if lag2 == 0 else None)
    problem = None
    if lag2 == 0:
        verdict = "caught up"
    elif moved > 0 and lag2 <= lag1:
        verdict = "moving, keeping up"
    elif moved > 0:
        verdict = "moving, but falling behind"
        if behind_s is not None and behind_s > BEHIND_WARN_S:
            problem = f"is falling behind ({lag2:,} records, {_duration(behind_s)} behind)"
    else:
        verdict = f"did not move in {pause:g} s"
        if behind_s is not None and behind_s > BEHIND_WARN_S:
            problem = f"is not moving ({lag2:,} records behind, the oldest unread is {_duration(behind_s)} old)"
        elif behind_s is None and arrived > 0:
            problem = f"is not moving while records arrive ({lag2:,} records behind)"
        else:
            verdict += " (only seconds behind: it may commit periodically)"
    if problem and members == 0 and moved == 0:
        problem = "has no members and " + problem
    return _GroupLag(g1.group, rows, lag1, lag2, moved, arrived, behind_s, state, members, verdict, problem)


def _mm2es_hint(text: str) -> Hint:
    return Hint(text, RUNBOOK)


# --- evidence helpers -----------------------------------------------------------------


def _partition_table(ctx: Context, topic_read: TopicRead) -> Table:
    leaders = {p.partition: p for p in topic_read.topic.partitions}
    rows: list[list[object]] = []
    for t in topic_read.tails:
        info = leaders.get(t.partition)
        leader = topic_read.topic.brokers.get(info.leader, str(info.leader)) if info and info.leader is not None else None
        rows.append([
            t.partition,
            leader if topic_read.source.shows_leaders else "-",
            t.earliest,
            t.end,
            (t.in_window if t.exact else f"≥ {t.in_window:,}") if t.in_window is not None else None,
            _age(ctx, t.newest.timestamp if t.newest else None),
            t.window_method,
        ])
    for p in topic_read.skipped:
        info = leaders.get(p)
        rows.append([p, "none" + (f" ({info.error})" if info and info.error else ""), None, None, None, None,
                     "not read: no leader"])
    methods = sorted({t.end_method for t in topic_read.tails})
    return Table(
        f"Partitions of {topic_read.topic.name}",
        ["partition", "leader", "earliest offset", "end offset", "records in window",
         "newest record age (s)", "records in window counted by"],
        rows,
        note=("End offsets: " + "; ".join(methods) + ".") if methods else None,
    )


def _brokers_table(topic: TopicInfo) -> Table:
    return Table(
        "Brokers",
        ["node", "advertised address"],
        [[node, addr] for node, addr in sorted(topic.brokers.items())],
    )


def _prefix_table(ctx: Context, c: Census) -> Table:
    ranked = sorted(c.prefixes.values(), key=lambda pc: (-pc.records, pc.prefix))
    rows = [
        [pc.prefix, pc.records, _age(ctx, pc.newest), "yes" if ctx.matcher.name_matches(pc.prefix) and
         ctx.matcher.prefixes else ""]
        for pc in ranked[:SHOWN_PREFIXES]
    ]
    more = len(ranked) - SHOWN_PREFIXES
    note_parts = []
    if c.note:
        note_parts.append(c.note[:1].upper() + c.note[1:] + ".")
    if more > 0:
        note_parts.append(f"{more} more prefixes not shown.")
    return Table(
        "Metric prefixes in the window",
        ["metric prefix", "records", "newest age (s)", f"{ctx.integration.name} prefix"],
        rows,
        note=" ".join(note_parts) or None,
    )


def _format_note(topic_read: TopicRead) -> str:
    sizes = [r.size for t in topic_read.tails for r in t.records if r.size]
    sample = next((r.value for t in topic_read.tails for r in t.records if r.value is not None), None)
    start = ""
    if isinstance(sample, (bytes, bytearray)):
        start = f" The newest starts with {bytes(sample[:16]).hex(' ')}."
    size = f" Median size {int(statistics.median(sizes))} bytes." if sizes else ""
    return (
        "The records are not JSON MultiMetric messages (perhaps a binary encoding); counts and "
        f"ages come from Kafka's own offsets and timestamps.{size}{start}"
    )


def _error_hints(exc: SourceError) -> list[Hint]:
    cause = exc.cause
    if cause in ("refused", "dns", "timeout", "unreachable", "network"):
        text = (
            "Kafka is usually not reachable from outside the cluster: port-forward it "
            "(kubectl port-forward svc/stackstate-kafka-headless 9092) and mind that clients then "
            "connect to the broker's advertised name; or use --sts-api with the StackState API."
        )
    elif cause == "tls":
        text = "Check kafka_security_protocol and kafka_ssl_cafile against the broker's listener."
    elif cause == "auth":
        text = (
            "Check kafka_security_protocol, kafka_sasl_mechanism and the user's credentials, or, "
            "for the topic API, the token in STSDEBUG_STS_API_TOKEN."
        )
    else:
        return []
    return [Hint(text, RUNBOOK)]


def _age(ctx: Context, ts: float | None) -> float | None:
    return None if ts is None else round(max(0.0, ctx.now - ts), 1)


def _ago(ctx: Context, ts: float | None) -> str:
    return "unknown" if ts is None else _duration(max(0.0, ctx.now - ts))


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _lower(text: str) -> str:
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]

