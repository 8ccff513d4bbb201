"""The mm2es lag, for the Kafka stage: the committed offsets of the Kafka-to-Elasticsearch
mover's consumer group (``--mm2es-group``, or the groups found reading the topic): is it
moving, and how far behind is it?

No fixed pause. The first sample is taken as soon as the topic has been read (the stage
starts with the trace). When every judged group's committed offsets are at the end
offsets there is nothing to wait for: one sample. Otherwise the stage lingers while the
other stages of the trace still run (``ctx.linger``: free time), at most until the
samples are one commit interval apart (``--mm2es-commit-interval``), and takes the
second. A group that commits on a timer shows no movement between samples closer than
that interval, so such samples are judged as too close to tell, never as a stall; the
tables say how far apart the samples were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stsdebug.errors import SourceError
from stsdebug.model import Figures, Hint, Table, Text
from stsdebug.sources.errors import sentence
from stsdebug.sources.topic import GroupOffsets, PartitionTail
from stsdebug.stages.phrases import age_text
from stsdebug.stages.topic_read import TopicRead

if TYPE_CHECKING:
    from stsdebug.stages.base import Context

RUNBOOK = "Troubleshooting step 2 / Kafka"
BEHIND_WARN_S = 60.0  # a group this far behind the newest record it has not read yet is lagging
SHOWN_GROUPS = 5
# Group names that look like the Kafka-to-Elasticsearch mover (StackState's `mm2es`,
# image stackstate-kafka-to-es); inferred, so any group reading the topic is shown.
MM2ES_NAMES = ("mm2es", "kafka-to-es", "kafka2es", "kafkatoes", "kafka_to_es", "multi-metrics", "multi_metrics")


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


def check_lag(
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
        evidence.append(Text("mm2es lag", f"Not checked: {sentence(str(exc))}"))
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
    sampled_at = time.monotonic()
    groups = [g.group for g in first]
    known = {t.partition: t.end for t in tails if t.end}
    ends1 = source.end_offsets(topic, partitions, known)
    interval = ctx.settings.mm2es_commit_interval
    if all(_lag(g, ends1) == 0 for g in first):
        # Committed offsets at the end offsets: caught up, nothing to wait for.
        second, ends2, gap = {g.group: g for g in first}, ends1, None
    else:
        # The second sample as late as the trace allows for free, at most one commit
        # interval after the first (capped by the timeout, so it fits the stage's budget).
        ctx.linger(min(interval, max(1.0, ctx.settings.timeout)) - (time.monotonic() - sampled_at))
        if ctx.cancel.is_set():
            return False
        second = {g.group: g for g in source.group_offsets(groups, topic)}
        gap = time.monotonic() - sampled_at
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
        results.append(_judge(ctx, g1, g2, ends1, ends2, stamps, gap, state, members, interval))

    rows = [row for r in results for row in r.rows]
    samples = (
        "one sample: committed offsets at the end offsets" if gap is None
        else f"two samples {gap:.1f} s apart"
    )
    evidence.append(
        Table(
            f"Consumer groups reading {topic} ({samples})",
            ["group", "partition", "committed", "end", "lag", "moved", "next unread record age (s)"],
            rows,
            note=None if wanted else "Groups found by their committed offsets on the topic.",
        )
    )
    lag_fig = Figures("mm2es")
    lag_fig.add("committed offsets sampled", 1 if gap is None else 2)
    if gap is not None:
        lag_fig.add("between the samples", round(gap, 2), "s")
        lag_fig.add("commit interval assumed", interval, "s")
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


def _lag(group: GroupOffsets, ends: dict[int, int]) -> int:
    """Records after the group's committed offsets (partitions it never committed on do not count)."""
    return sum(max(0, ends.get(p, 0) - c) for p, c in group.committed.items() if c is not None)


def _judge(
    ctx: Context,
    g1: GroupOffsets,
    g2: GroupOffsets,
    ends1: dict[int, int],
    ends2: dict[int, int],
    stamps: dict[int, float | None],
    gap: float | None,
    state: str | None,
    members: int | None,
    interval: float,
) -> _GroupLag:
    """One group's verdict; ``gap`` is the seconds between its two samples (None: one sample)."""
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
        rows.append([g1.group, p, c2, e2, max(0, e2 - c2) if c2 is not None else None,
                     step if gap is not None else None, round(age, 1) if age is not None else None])
    behind_s = max(behind) if behind else (0.0 if lag2 == 0 else None)
    problem = None
    far_behind = behind_s is not None and behind_s > BEHIND_WARN_S
    if lag2 == 0:
        verdict = "caught up"
    elif moved > 0:
        if lag2 <= lag1:
            verdict = "moving, keeping up"
        else:
            verdict = "moving, but falling behind"
            if far_behind:
                problem = f"is falling behind ({lag2:,} records, {age_text(behind_s or 0.0)} behind)"
    elif gap is not None and gap >= interval:
        # Far enough apart for a commit on the group's timer to show.
        verdict = f"did not move in {gap:.1f} s"
        if far_behind:
            problem = f"is not moving ({lag2:,} records behind, the oldest unread is {age_text(behind_s or 0.0)} old)"
        elif behind_s is None and arrived > 0:
            problem = f"is not moving while records arrive ({lag2:,} records behind)"
        else:
            verdict += " (only seconds behind" + (")" if members == 0 else ": it may commit periodically)")
    else:
        # Samples closer than the commit interval: standing still proves nothing.
        close = f"{gap:.1f} s" if gap is not None else "one sample"
        verdict = (
            f"no commit seen in {close}, less than its commit interval ({interval:g} s): "
            "too close to tell whether it moves"
        )
        if far_behind:
            problem = (
                f"is {age_text(behind_s or 0.0)} behind ({lag2:,} records; whether it moves could not be "
                f"told: the samples were {close} apart, less than its {interval:g} s commit interval)"
            )
    if problem and members == 0 and moved == 0:
        problem = "has no members and " + problem
    return _GroupLag(g1.group, rows, lag1, lag2, moved, arrived, behind_s, state, members, verdict, problem)


def _mm2es_hint(text: str) -> Hint:
    return Hint(text, RUNBOOK)
