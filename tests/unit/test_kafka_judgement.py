"""Judgement of the Kafka stage on situations no test broker can be put in on demand.

A fake TopicSource stands in for Kafka here, and only here: a partition without a
leader, records dated in the future, a read that fails in the scope stage and must not
be retried. Everything a real broker can show is tested against noida-db and Tansu in
tests/integration/test_kafka_*.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.model import Figures, Status, Table, Text
from stsdebug.settings import Settings
from stsdebug.sources.topic import (
    GroupOffsets,
    PartitionInfo,
    PartitionTail,
    Record,
    TopicInfo,
    TopicSource,
)
from stsdebug.stages import kafka_lag
from stsdebug.stages.base import Context, Sources
from stsdebug.trace import Trace

NOW = 1_800_000_000.0


def _value(metric: str, host: str = "db1") -> bytes:
    return json.dumps({"MultiMetric": {"host": host, "values": {metric: 1.0}, "timestamp": 0}}).encode()


class FakeKafka(TopicSource):
    access = "Kafka"
    endpoint = "kafka:9092"
    supports_groups = True
    shows_leaders = True

    def __init__(self, topic: TopicInfo, tails: list[PartitionTail], fail: SourceError | None = None) -> None:
        self.topic, self.tails, self.fail = topic, tails, fail
        self.reads = 0

    def describe_topic(self, topic: str) -> TopicInfo:
        self.reads += 1
        if self.fail:
            raise self.fail
        return self.topic

    def read_window(self, topic: str, partitions: list[int], start: float, cap: int) -> list[PartitionTail]:
        return [t for t in self.tails if t.partition in partitions]

    def groups_reading(self, topic: str) -> list[GroupOffsets]:
        return [GroupOffsets("mm2es", {0: 10})]

    def group_offsets(self, groups: list[str], topic: str) -> list[GroupOffsets]:
        return [GroupOffsets(g, {0: 10}) for g in groups]

    def end_offsets(self, topic: str, partitions: list[int], known: dict[int, int] | None = None) -> dict[int, int]:
        return {p: 10 for p in partitions}

    def group_states(self, groups: list[str]) -> dict[str, tuple[str | None, int | None]]:
        return {g: ("Stable", 1) for g in groups}

    def timestamps_at(self, topic: str, offsets: dict[int, int]) -> dict[int, float | None]:
        return {}


def _tail(partition: int, records: list[Record]) -> PartitionTail:
    return PartitionTail(partition, 0, 10, "ListOffsets", len(records), True, "offsets_for_times", records[-1] if
                         records else None, records, 0)


def _records(partition: int, n: int, *, age: float = 5.0, step: float = 10.0, metric: str = "mysql.q") -> list[Record]:
    return [
        Record(partition, i, NOW - age - (n - 1 - i) * step, b"k", _value(metric))
        for i in range(n)
    ]


def _trace(source: TopicSource, **settings: Any) -> Any:
    s = Settings(integration="mysql", kafka="kafka:9092", timeout=2.0, **settings)
    return Trace(s, stages=[stage_obj("scope"), stage_obj("kafka")], sources={"kafka": source}, now=NOW).run()


def stage_obj(stage_id: str) -> Any:
    from stsdebug.stages.base import load_stage

    return load_stage(stage_id)


def test_a_partition_without_a_leader_is_not_read_and_warns() -> None:
    topic = TopicInfo("sts_multi_metrics", True, [PartitionInfo(0, 1), PartitionInfo(1, None, error="LeaderNotAvailableError")],
                      {1: "kafka-0:9092"})
    source = FakeKafka(topic, [_tail(0, _records(0, 10))])
    result = _trace(source).stage("kafka")

    assert result.status is Status.WARN
    assert "partition 1 of sts_multi_metrics has no leader" in result.summary
    rows = next(e for e in result.evidence if isinstance(e, Table) and e.title.startswith("Partitions")).rows
    assert rows[0][1] == "kafka-0:9092"
    assert rows[1][:2] == [1, "none (LeaderNotAvailableError)"]
    assert rows[1][-1] == "not read: no leader"


def test_a_topic_without_any_leader_fails() -> None:
    topic = TopicInfo("sts_multi_metrics", True, [PartitionInfo(0, None), PartitionInfo(1, None)], {})
    result = _trace(FakeKafka(topic, [])).stage("kafka")

    assert result.status is Status.FAIL
    assert not result.missing_data  # a cause, not an absence
    assert result.summary.startswith("No partition of sts_multi_metrics has a leader")


def test_records_from_the_future_are_reported() -> None:
    topic = TopicInfo("sts_multi_metrics", True, [PartitionInfo(0, 1)])
    records = _records(0, 10) + [Record(0, 10, NOW + 3600, b"k", _value("mysql.q"))]
    result = _trace(FakeKafka(topic, [_tail(0, records)])).stage("kafka")

    text = next(e for e in result.evidence if isinstance(e, Text) and e.title == "Clock skew")
    assert text.text == "1 records are dated more than 300 s in the future."


def test_a_failed_read_is_cached_for_the_kafka_stage() -> None:
    err = SourceError("Cannot connect to Kafka at kafka:9092: connection refused.", cause="refused")
    source = FakeKafka(TopicInfo("t", True), [], fail=err)
    trace = _trace(source)

    assert source.reads == 1  # the scope stage tried once; the Kafka stage did not retry
    assert trace.stage("kafka").status is Status.ERROR
    assert trace.stage("kafka").summary == str(err)
    assert any("port-forward" in h.text for h in trace.stage("kafka").hints)


def test_census_is_none_without_inputs_and_cached_with_them() -> None:
    s = Settings(integration="mysql")
    ctx = Context(s, None, None, None, NOW, Sources(s))  # type: ignore[arg-type]
    assert ctx.census.kafka() is None

    topic = TopicInfo("sts_multi_metrics", True, [PartitionInfo(0, 1)])
    source = FakeKafka(topic, [_tail(0, _records(0, 4) + _records(0, 3, metric="system.load"))])
    trace = Trace(Settings(integration="mysql", kafka="k:1"), sources={"kafka": source}, now=NOW)
    ctx = Context(trace.settings, trace.integration, trace.matcher, trace.window, NOW, Sources(trace.settings,
                  {"kafka": source}))
    first = ctx.census.kafka()
    assert isinstance(first, Census)
    assert ctx.census.kafka() is first
    assert source.reads == 1
    assert (first.total, first.examined, first.matched) == (7, 7, 4)
    assert {p: c.records for p, c in first.prefixes.items()} == {"mysql.": 4, "system.": 3}
    assert not first.sampled and first.decoded


def _ctx() -> Context:
    s = Settings(integration="mysql")
    return Context(s, None, None, None, NOW, Sources(s))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("c1", "c2", "e1", "e2", "stamp", "gap", "verdict", "problem"),
    [
        (10, 10, 10, 10, None, None, "caught up", None),
        (2, 8, 10, 12, NOW - 5, 0.3, "moving, keeping up", None),
        (2, 4, 10, 20, NOW - 600, 0.3, "moving, but falling behind", "is falling behind (16 records, 10 min behind)"),
        # Samples at least one commit interval (5 s) apart: standing still means something.
        (5, 5, 10, 10, NOW - 20, 6.0, "did not move in 6.0 s (only seconds behind: it may commit periodically)", None),
        (5, 5, 10, 10, NOW - 3600, 6.0, "did not move in 6.0 s",
         "is not moving (5 records behind, the oldest unread is 60 min old)"),
        (5, 5, 10, 14, None, 6.0, "did not move in 6.0 s", "is not moving while records arrive (9 records behind)"),
        # Closer than the commit interval: a group committing on a timer is not called stalled.
        (5, 5, 10, 10, NOW - 20, 0.2,
         "no commit seen in 0.2 s, less than its commit interval (5 s): too close to tell whether it moves", None),
        (5, 5, 10, 14, None, 0.2,
         "no commit seen in 0.2 s, less than its commit interval (5 s): too close to tell whether it moves", None),
        # ... but a group an hour behind is behind, whether it moves or not.
        (5, 5, 10, 10, NOW - 3600, 0.2,
         "no commit seen in 0.2 s, less than its commit interval (5 s): too close to tell whether it moves",
         "is 60 min behind (5 records; whether it moves could not be told: the samples were 0.2 s apart, "
         "less than its 5 s commit interval)"),
    ],
)
def test_group_judgement(
    c1: int, c2: int, e1: int, e2: int, stamp: float | None, gap: float | None, verdict: str, problem: str | None
) -> None:
    lag = kafka_lag._judge(
        _ctx(), GroupOffsets("g", {0: c1}), GroupOffsets("g", {0: c2}), {0: e1}, {0: e2},
        {0: stamp} if stamp else {}, gap, "Stable", 1, 5.0,
    )
    assert lag.verdict == verdict
    assert lag.problem == problem


def test_a_stuck_group_without_members_says_so() -> None:
    lag = kafka_lag._judge(_ctx(), GroupOffsets("g", {0: 1}), GroupOffsets("g", {0: 1}), {0: 9}, {0: 9},
                           {0: NOW - 900}, 6.0, "Empty", 0, 5.0)
    assert lag.problem == "has no members and is not moving (8 records behind, the oldest unread is 15 min old)"
    # Closer samples: a consumer that commits without joining the group (manual assignment)
    # shows no members either, so only how far behind it is counts.
    lag = kafka_lag._judge(_ctx(), GroupOffsets("g", {0: 1}), GroupOffsets("g", {0: 1}), {0: 9}, {0: 9},
                           {0: NOW - 900}, 0.1, "Empty", 0, 5.0)
    assert lag.problem == (
        "has no members and is 15 min behind (8 records; whether it moves could not be told: the samples "
        "were 0.1 s apart, less than its 5 s commit interval)"
    )


def test_figures_say_how_many_were_decoded() -> None:
    topic = TopicInfo("sts_multi_metrics", True, [PartitionInfo(0, 1)])
    tail = _tail(0, _records(0, 10))
    tail.in_window = 5000  # far more in the window than were read
    result = _trace(FakeKafka(topic, [tail])).stage("kafka")
    figs = {f.label: f.value for e in result.evidence if isinstance(e, Figures) for f in e.items}
    assert figs["records in window"] == 5000
    assert figs["records decoded"] == 10
    assert "(of those decoded)" in result.summary
