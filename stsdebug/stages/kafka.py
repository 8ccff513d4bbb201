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
  reading the topic): caught up (one sample), or, sampled again while the other stages
  still run, is it moving and how far behind is it (``kafka_lag``).

Through ``--kafka`` (kafka-python, read-only) or, when Kafka cannot be reached from here,
``--sts-api`` (the StackState topic API): the same evidence either way, except the
group lag, which only Kafka shows.

The read itself (``topic_read``) is shared with the census service, which the scope stage
uses first: it happens once per trace. The mm2es lag is in ``kafka_lag``.
"""

from __future__ import annotations

import statistics

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.model import Figures, Hint, StageResult, Status, Table, Text
from stsdebug.sources.errors import sentence
from stsdebug.sources.topic import TopicInfo
from stsdebug.stages import freshness
from stsdebug.stages.base import Context
from stsdebug.stages.census import cadence_of
from stsdebug.stages.clocks import clock_finding, clock_skew, clock_table
from stsdebug.stages.freshness import FRESH, STALE
from stsdebug.stages.kafka_lag import check_lag
from stsdebug.stages.phrases import age, age_text, ago
from stsdebug.stages.topic_read import (
    CACHE_CENSUS,
    FUTURE_SKEW_S,
    TopicRead,
    analyse,
    given,
    read,
)

TITLE = "Kafka topic"
# Worst case in per-call timeouts: connect, metadata, the window read (two), then the lag:
# group listing, two end-offset and committed-offset samples, group states and the
# lookup of where the group stands; plus the wait for the second sample (at most one
# commit interval, capped by the timeout).
BUDGET_CALLS = 11.0
RUNBOOK = "Troubleshooting step 2 / Kafka"

PAYLOAD_DELAY_NOTE_S = 300.0  # payload timestamps this much older than Kafka's: worth saying
SHOWN_PREFIXES = 15



# --- the stage ----------------------------------------------------------------------


def run(ctx: Context) -> StageResult:
    if not given(ctx):
        return ctx.skip(
            "No --kafka or --sts-api given, so the sts_multi_metrics topic was not read.",
            "Give --kafka BOOTSTRAP (e.g. stackstate-kafka-headless:9092 through a port-forward) or "
            "--sts-api URL with a token in STSDEBUG_STS_API_TOKEN.",
        )
    try:
        topic_read = read(ctx)
    except SourceError as exc:
        return ctx.result(Status.ERROR, sentence(str(exc)), hints=_error_hints(exc))
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

    estimated = any(t.window_method.startswith("estimated") for t in topic_read.tails)
    approx, mark = ("about", "≈") if estimated else ("at least", "≥")
    total_text = f"{c.total:,}" if a.total_exact else f"{approx} {c.total:,}"
    figures.add("records in window", c.total if a.total_exact else f"{mark} {c.total:,}")
    figures.add("newest record age", age(ctx.now, c.newest), "s")

    cad = cadence_of(ctx, c)
    fresh = freshness.judge(c.matched_newest, ctx.now, cad)
    span = None if a.read_since is None else ctx.now - a.read_since

    # 1. Nothing at all in the window, and nothing of the integration's that is on time.
    if c.total == 0 and not (c.decoded and fresh.state == FRESH):
        if c.newest is not None:
            newest = f"the newest record is {ago(ctx.now, c.newest)} old"
        elif a.probes:
            newest = "only stsdebug's own probe arrived in it"
        else:
            newest = "the topic holds no records"
        tail = f"; {name}: {fresh.clause('record')}" if c.matched_newest is not None else ""
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
            f"No records at all on {topic.name} in the last {ctx.window.spec} ({newest}{tail}).",
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
        check_lag(ctx, topic_read, evidence, hints, warnings)
        return ctx.result(
            Status.WARN,
            f"{total_text} records on {topic.name} in the last {ctx.window.spec} (newest "
            f"{ago(ctx.now, c.newest)} old), but they are not JSON, so whether any are {name}'s "
            "cannot be checked" + (f"; also {'; '.join(warnings)}." if warnings else "."),
            evidence,
            hints,
        )

    figures.add(f"{name} records (of those decoded)", c.matched)
    figures.add("records decoded", c.examined)
    figures.add(f"newest {name} record age", age(ctx.now, c.matched_newest), "s")
    figures.add(f"{name} reporting interval", round(cad.seconds, 1), "s")
    figures.add(f"{name} reporting interval from", cad.basis)
    if a.read:
        reach = f"back to {age_text(span or 0.0)} ago" if span is not None else "no timestamps"
        figures.add("records read near the end", f"{a.read:,} ({reach})")
    if a.payload_delay_s is not None and abs(a.payload_delay_s) > PAYLOAD_DELAY_NOTE_S:
        figures.add("payload timestamps behind Kafka's (median)", round(a.payload_delay_s, 1), "s")
    if a.future:
        evidence.append(
            Text(
                "Clock skew",
                f"{a.future:,} records are dated more than {FUTURE_SKEW_S:.0f} s in the future.",
            )
        )
    evidence.append(_prefix_table(ctx, c))

    # 3. The clocks of the integration's hosts: points received now but stamped long ago
    #    are filed in the past, where no chart shows them.
    skewed = clock_skew(c.clocks, cad)
    if skewed:
        evidence.append(clock_table(skewed, "Kafka received them"))
        summary, hint = clock_finding(skewed, len(c.clocks), name, "reach Kafka", "Kafka's record timestamps")
        hints.append(Hint(hint, RUNBOOK))
        return ctx.result(Status.FAIL, summary, evidence, hints)

    # 4. None of the integration's records in the window.
    if c.matched == 0:
        if fresh.state == FRESH:
            check_lag(ctx, topic_read, evidence, hints, warnings)
            base = (
                f"No {name} record in the last {ctx.window.spec}, but {fresh.clause(f'{name} record')}: "
                "on time"
            )
            if warnings:
                return ctx.result(Status.WARN, f"{base}; but {'; '.join(warnings)}.", evidence, hints)
            return ctx.result(Status.PASS, f"{base}.", evidence, hints)
        if fresh.state == STALE:
            hints.append(_stopped_hint(name, ctx.matcher.describe()))
            return ctx.result(
                Status.FAIL,
                f"{name}'s data stopped reaching {topic.name}: {fresh.clause(f'{name} record')} "
                f"({fresh.missed:,} reports missed), while other records arrive ({total_text} in the last "
                f"{ctx.window.spec}).",
                evidence,
                hints,
                missing_data=True,
            )
        among = f"none of the {c.examined:,} newest decoded" if c.sampled else "none of them"
        if not (a.whole or freshness.covers(span, cad)):
            hints.append(
                Hint(
                    f"The records read reach back {age_text(span or 0.0)} only, less than three of "
                    f"{name}'s reporting intervals: look at the Elasticsearch stage, which sees the whole "
                    "window, or narrow the read with --host.",
                    RUNBOOK,
                )
            )
            return ctx.result(
                Status.WARN,
                f"{total_text} records on {topic.name} in the last {ctx.window.spec}, {among} are {name}'s; "
                f"they reach back {age_text(span or 0.0)} only and {name} reports {cad.text()}, so this "
                "sample cannot tell whether its data stopped.",
                evidence,
                hints,
            )
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

    # 5. The integration's data is there: still coming? read by mm2es?
    if fresh.state == STALE:
        hints.append(_stopped_hint(name, ctx.matcher.describe()))
        return ctx.result(
            Status.FAIL,
            f"{name}'s data stopped reaching {topic.name}: {fresh.clause(f'{name} record')} "
            f"({fresh.missed:,} reports missed); the {c.matched:,} earlier {name} records in the last "
            f"{ctx.window.spec} do not make it fresh.",
            evidence,
            hints,
            missing_data=True,
        )
    check_lag(ctx, topic_read, evidence, hints, warnings)
    sampled = " (of those decoded)" if c.sampled else ""
    base = (
        f"{c.matched:,} {name} records{sampled} on {topic.name} in the last {ctx.window.spec}, "
        f"the newest {ago(ctx.now, c.matched_newest)} old"
    )
    if not a.total_exact:
        base += f" ({total_text} records in all: {'an estimate' if estimated else 'a lower bound'}, see the partitions)"
    if warnings:
        return ctx.result(Status.WARN, f"{base}, but {'; '.join(warnings)}.", evidence, hints)
    return ctx.result(Status.PASS, f"{base}.", evidence, hints)


def _stopped_hint(name: str, described: str) -> Hint:
    return Hint(
        f"{name}'s data stopped before Kafka while other data arrives: look at the agent that sends "
        f"it ({described}) — its log around the time of the newest record, and "
        "`stackstate-agent check <check> -l debug` — and at the receiver's log for its payloads.",
        RUNBOOK,
    )


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
            (t.in_window if t.exact else f"{'≈' if t.window_method.startswith('estimated') else '≥'} {t.in_window:,}")
            if t.in_window is not None else None,
            age(ctx.now, t.newest.timestamp if t.newest else None),
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
        [pc.prefix, pc.records, age(ctx.now, pc.newest), "yes" if ctx.matcher.name_matches(pc.prefix) and
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
