"""The Kafka stage against real brokers: noida-db and Tansu (every test runs on both).

Data is seeded with kafka-python's producer the way the receiver writes it (MultiMetric
JSON, CreateTime timestamps, batched), and mm2es's position with committed offsets of a
consumer group. The two brokers answer offset questions differently (Tansu's ListOffsets
and offsets_for_times are wrong, see docs/test-servers.md); the stage must give the same
figures on both, and say which method it used.
"""

from __future__ import annotations

import threading
import time

import pytest

from stsdebug.model import StageResult, Status
from stsdebug.settings import Settings
from stsdebug.sources.kafka import KafkaSource
from stsdebug.stages import topic_read
from stsdebug.stages.base import Context, Stage, load_stage
from stsdebug.trace import Trace
from tests.integration import kafka_support as sup
from tests.integration.kafka_support import Series

pytestmark = pytest.mark.wire

MYSQL = {"mysql.performance.queries": 12.0, "mysql.net.connections": 3.0}
SYSTEM = {"system.load.norm": 0.4}


def _broker(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["kafka_server"])


def _seed(bootstrap: str, series: list[Series], *, partitions: int = 1, now: float) -> str:
    topic = sup.unique()
    sup.create_topic(bootstrap, topic, partitions)
    sup.produce(bootstrap, topic, [r for s in series for r in s.records(now)], partitions=partitions)
    return topic


class CountingSource:
    """The real KafkaSource, counting the reads (to show scope and kafka share one)."""

    def __init__(self, real: KafkaSource) -> None:
        self.real = real
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> object:
        attr = getattr(self.real, name)
        if callable(attr):
            def counted(*args: object, **kwargs: object) -> object:
                self.calls[name] = self.calls.get(name, 0) + 1
                return attr(*args, **kwargs)
            return counted
        return attr


def test_pass_with_census_partitions_and_a_caught_up_group(
    kafka_server: str, request: pytest.FixtureRequest
) -> None:
    now = time.time()
    old = Series("db-old", MYSQL, 40, step=10, newest_age=3600)  # before the window
    topic = _seed(
        kafka_server,
        [Series("db1", MYSQL, 20, step=10, newest_age=2), Series("web1", SYSTEM, 15, step=20), old],
        now=now,
    )
    group = sup.unique("mm2es")
    sup.commit(kafka_server, group, topic, {0: 75})
    s = sup.settings(kafka=kafka_server, topic=topic)
    real = KafkaSource(kafka_server, timeout=3)
    counting = CountingSource(real)
    trace = sup.Trace(s, stages=[sup.load_stage("scope"), sup.load_stage("kafka")], sources={"kafka": counting},
                      now=now).run()
    result = sup.stage(trace)

    assert result.status is Status.PASS, result.summary
    assert "20 mysql records" in result.summary
    figs = sup.figures(result)
    assert figs["records in window"] == 35
    assert figs["mysql records (of those decoded)"] == 20
    assert figs["records decoded"] == 35
    assert 1.5 <= figs["newest mysql record age"] <= 10
    assert figs["mysql reporting interval"] == pytest.approx(10.0, abs=0.5)
    parts = sup.table(result, "Partitions of")
    assert sup.column(parts, "records in window") == [35]
    assert sup.column(parts, "end offset") == [75]
    assert sup.column(parts, "leader") == [kafka_server]
    # All 75 records fit the read: the window is counted there, nothing looked up.
    assert sup.column(parts, "records in window counted by") == ["counted on the timestamps of all 75 records"]
    if _broker(request) == "tansu":
        # Tansu's ListOffsets answers the start of the last batch + 1: the fetch's mark wins.
        assert "fetch high-water mark (ListOffsets answered" in (parts.note or "")
    else:
        assert parts.note == "End offsets: ListOffsets, confirmed by the fetch high-water mark."
    prefixes = sup.table(result, "Metric prefixes")
    assert dict(zip(sup.column(prefixes, "metric prefix"), sup.column(prefixes, "records"), strict=True)) == {
        "mysql.": 20, "system.": 15,
    }
    lag = sup.table(result, "Consumer groups reading")
    assert sup.column(lag, "group") == [group]
    assert sup.column(lag, "lag") == [0]
    assert sup.figures(result)[group] == "caught up"
    # The scope stage read the census first; the Kafka stage reused it.
    scope = sup.stage(trace, "scope")
    assert sup.figures(scope)["Kafka: mysql records"] == 20
    assert counting.calls.get("read_window") == 1
    assert counting.calls.get("describe_topic") == 1


def test_window_is_counted_past_the_read_cap_and_the_census_is_sampled(
    kafka_server: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topic_read, "CAP", 40)
    now = time.time()
    topic = _seed(
        kafka_server,
        [Series("db1", MYSQL, 300, step=2, newest_age=1), Series("db-old", MYSQL, 100, step=2, newest_age=1800)],
        now=now,
    )
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now))

    figs = sup.figures(result)
    assert figs["records in window"] == 300  # exact although only 40 were read
    assert figs["records decoded"] == 40
    assert figs["mysql records (of those decoded)"] == 40
    assert "(of those decoded)" in result.summary
    parts = sup.table(result, "Partitions of")
    method = sup.column(parts, "records in window counted by")[0]
    if _broker(request) == "tansu":
        # Tansu's offsets_for_times answers offset 0: caught by the check, searched instead.
        assert method.startswith("searched on record timestamps"), method
        assert "offsets_for_times answer failed the timestamp check" in method
    else:
        assert method == "offsets_for_times (checked against record timestamps)"
    assert "newest 2,000" not in (sup.table(result, "Metric prefixes").note or "")
    assert "newest 40 records per partition were decoded" in (sup.table(result, "Metric prefixes").note or "")


def test_every_partition_is_read_with_its_leader(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 30, step=5)], partitions=3, now=now)
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now))

    parts = sup.table(result, "Partitions of")
    assert sup.column(parts, "partition") == [0, 1, 2]
    assert sup.column(parts, "records in window") == [10, 10, 10]
    assert sup.column(parts, "leader") == [kafka_server] * 3
    assert sup.figures(result)["mysql records (of those decoded)"] == 30


def test_no_records_in_the_window_fails_as_missing_data(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 10, step=10, newest_age=3600)], now=now)
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now))

    assert result.status is Status.FAIL
    assert result.missing_data
    assert "No records at all" in result.summary
    assert "60 min old" in result.summary  # the newest record, found near the end
    assert sup.figures(result)["records in window"] == 0
    assert sup.column(sup.table(result, "Partitions of"), "end offset") == [10]


def test_other_data_but_not_the_integrations_fails_with_the_census(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("web1", SYSTEM, 12, step=10), Series("k8s", {"kubernetes.cpu": 1}, 5)],
                  now=now)
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now))

    assert result.status is Status.FAIL
    assert result.missing_data
    assert "none of them are mysql's" in result.summary
    prefixes = sup.table(result, "Metric prefixes")
    assert sup.column(prefixes, "metric prefix") == ["system.", "kubernetes."]
    assert sup.column(prefixes, "records") == [12, 5]
    assert all(age is not None for age in sup.column(prefixes, "newest age (s)"))
    assert any("StackState Agent" in h.text for h in result.hints)


def test_records_that_are_not_json_are_counted_and_aged_only(kafka_server: str) -> None:
    now = time.time()
    topic = sup.unique()
    sup.create_topic(kafka_server, topic)
    sup.produce(kafka_server, topic, [(now - 60 + i, b"\x0a\x08binary\x12" + bytes([i])) for i in range(25)])
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now))

    assert result.status is Status.WARN
    assert "not JSON" in result.summary
    assert "25 records" in result.summary
    assert sup.figures(result)["records in window"] == 25
    assert "0a 08 62 69" in sup.text(result, "Record format")


def test_stale_integration_data_fails_whatever_the_window(kafka_server: str) -> None:
    # mysql reports every 10 s and stopped 400 s ago: stopped, although 20 of its records
    # are in a 15m window and all of them in a 1h one.
    now = time.time()
    topic = _seed(
        kafka_server,
        [Series("db1", MYSQL, 20, step=10, newest_age=400), Series("web1", SYSTEM, 10, step=10)],
        now=now,
    )
    for window in ("15m", "1h"):
        result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic, window=window), now=now))

        assert result.status is Status.FAIL, result.summary
        assert result.missing_data
        assert "mysql's data stopped reaching" in result.summary
        assert "it reports every 10 s (measured on Kafka records)" in result.summary
        assert 395 <= sup.figures(result)["newest mysql record age"] <= 420


def test_a_slow_series_outside_a_narrow_window_is_on_time(kafka_server: str) -> None:
    # A batch check every 5 min, its newest point 3 min old, checked with a 2 min window.
    now = time.time()
    topic = _seed(
        kafka_server,
        [Series("batch1", {"batch.jobs": 4}, 12, step=300, newest_age=180), Series("web1", SYSTEM, 30, step=10)],
        now=now,
    )
    sup.commit(kafka_server, sup.unique("mm2es"), topic, {0: 42})
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic, window="2m",
                                            metric_prefix=["batch."]), now=now))

    assert result.status is Status.PASS, result.summary
    assert "reports every 5 min (measured on Kafka records)" in result.summary
    assert "on time" in result.summary


def test_a_stuck_mm2es_group_warns(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 30, step=10)], now=now)
    group = sup.unique("mm2es")
    sup.commit(kafka_server, group, topic, {0: 10})
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now))

    assert result.status is Status.WARN, result.summary
    # Nothing else runs, so the samples are close: it is judged by how far behind it is.
    assert f"consumer group {group} has no members and is 3 min behind (20 records;" in result.summary
    lag = sup.table(result, "Consumer groups reading")
    assert sup.column(lag, "committed") == [10]
    assert sup.column(lag, "lag") == [20]
    assert sup.column(lag, "moved") == [0]
    # The next record it has to read is the 11th of 30, written 190 s before the newest.
    assert 185 <= sup.column(lag, "next unread record age (s)")[0] <= 230


def _neighbour(seconds: float) -> Stage:
    """A stage that keeps the trace busy for ``seconds``: the time the Kafka stage may linger."""
    def run(ctx: Context) -> StageResult:
        time.sleep(seconds)
        return ctx.result(Status.PASS, "busy")

    return Stage("neighbour", "Neighbour", run)


def _run_beside(settings: Settings, neighbour_s: float, now: float, source: object = None) -> StageResult:
    stages = [load_stage("kafka"), _neighbour(neighbour_s)]
    sources = {"kafka": source} if source is not None else None
    return sup.stage(Trace(settings, stages=stages, sources=sources, now=now).run())


def _mover(bootstrap: str, group: str, topic: str, every: float, step: int, stop: threading.Event) -> None:
    """Commits forward every ``every`` seconds, as mm2es does while it works."""
    offset = 0
    while not stop.is_set():
        offset += step
        sup.commit(bootstrap, group, topic, {0: offset})
        stop.wait(every)


def test_a_moving_mm2es_group_passes(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 600, step=1)], now=now)
    group = sup.unique("mm2es")
    sup.commit(kafka_server, group, topic, {0: 0})
    stop = threading.Event()
    thread = threading.Thread(target=_mover, args=(kafka_server, group, topic, 0.1, 3, stop), daemon=True)
    thread.start()
    try:
        # The other stage runs 1.5 s: the second sample comes one commit interval (1 s) after the first.
        s = sup.settings(kafka=kafka_server, topic=topic, mm2es_commit_interval=1.0)
        result = _run_beside(s, 1.5, now)
    finally:
        stop.set()
        thread.join(10)

    assert result.status is Status.PASS, result.summary
    assert sup.column(sup.table(result, "Consumer groups reading"), "moved")[0] > 0
    figures = sup.figures(result)
    assert figures[group] in ("moving, keeping up", "moving, but falling behind")
    assert figures["committed offsets sampled"] == 2
    assert 0.9 <= figures["between the samples"] < 1.5


def test_a_caught_up_group_is_sampled_once_and_nothing_waits(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 30, step=10)], now=now)
    group = sup.unique("mm2es")
    sup.commit(kafka_server, group, topic, {0: 30})
    source = CountingSource(KafkaSource(kafka_server, timeout=3.0))
    try:
        # A long-running neighbour: a stage that waited for a second sample would wait for it.
        result = _run_beside(sup.settings(kafka=kafka_server, topic=topic), 3.0, now, source)
    finally:
        source.real.close()

    assert result.status is Status.PASS, result.summary
    assert sup.figures(result)[group] == "caught up"
    assert sup.figures(result)["committed offsets sampled"] == 1
    assert "(one sample: committed offsets at the end offsets)" in sup.table(result, "Consumer groups reading").title
    assert source.calls.get("group_offsets", 0) == 0  # discovery read the offsets; no second look
    assert source.calls["groups_reading"] == 1


def test_samples_closer_than_the_commit_interval_are_too_close_to_tell(kafka_server: str) -> None:
    now = time.time()
    # Fresh records the group has not committed yet: a timer-committing mover between commits.
    topic = _seed(kafka_server, [Series("db1", MYSQL, 30, step=1, newest_age=0.5)], now=now)
    group = sup.unique("mm2es")
    sup.commit(kafka_server, group, topic, {0: 28})
    s = sup.settings(kafka=kafka_server, topic=topic, mm2es_commit_interval=5.0)
    result = sup.stage(sup.run(s, now=now))  # nothing else runs: the samples come back to back

    assert result.status is Status.PASS, result.summary
    verdict = sup.figures(result)[group]
    assert "too close to tell whether it moves" in verdict and "commit interval (5 s)" in verdict
    assert sup.figures(result)["between the samples"] < 5.0
    assert "two samples" in sup.table(result, "Consumer groups reading").title


def test_a_group_committing_on_a_timer_is_not_stalled(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 600, step=1, newest_age=0.5)], now=now)
    group = sup.unique("mm2es")
    sup.commit(kafka_server, group, topic, {0: 590})
    stop = threading.Event()

    def timer() -> None:  # commits once every 2 s, as auto-commit does: 2 s of records at a time
        offset = 590
        while not stop.wait(2.0):
            offset = min(600, offset + 2)
            sup.commit(kafka_server, group, topic, {0: offset})

    thread = threading.Thread(target=timer, daemon=True)
    thread.start()
    try:
        # The neighbour keeps the trace busy 0.5 s: the samples are closer than the 2 s timer.
        s = sup.settings(kafka=kafka_server, topic=topic, mm2es_commit_interval=2.0)
        result = _run_beside(s, 0.5, now)
    finally:
        stop.set()
        thread.join(10)

    assert result.status is Status.PASS, result.summary
    assert "consumer group" not in result.summary
    assert "too close to tell" in sup.figures(result)[group] or "moving" in sup.figures(result)[group]


def test_no_group_reading_the_topic_warns(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 10, step=10)], now=now)
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now))

    assert result.status is Status.WARN
    assert "no consumer group has committed offsets" in result.summary


def test_mm2es_group_flag_names_the_group_to_judge(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 30, step=10)], now=now)
    mover, idle = sup.unique("mover"), sup.unique("debugtool")
    sup.commit(kafka_server, mover, topic, {0: 30})
    sup.commit(kafka_server, idle, topic, {0: 1})  # someone's old group, far behind

    named = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic, mm2es_group=mover), now=now))
    assert named.status is Status.PASS, named.summary
    assert sup.column(sup.table(named, "Consumer groups reading"), "group") == [mover]

    missing = sup.stage(sup.run(
        sup.settings(kafka=kafka_server, topic=topic, mm2es_group="nobody-" + mover), now=now
    ))
    assert missing.status is Status.WARN
    assert f"consumer group nobody-{mover} has no committed offsets on {topic}" in missing.summary


def test_missing_topic_fails_and_is_not_created(kafka_server: str) -> None:
    topic = sup.unique("absent")
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic)))

    assert result.status is Status.FAIL
    assert f"Topic {topic} does not exist" in result.summary
    assert not result.missing_data
    assert topic not in sup.topics(kafka_server)


def test_the_stage_is_read_only(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 30, step=10)], now=now)
    group = sup.unique("mm2es")
    sup.commit(kafka_server, group, topic, {0: 12})
    before = sup.groups(kafka_server)

    sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now)

    assert sup.groups(kafka_server) == before  # no group of our own, ever
    source = KafkaSource(kafka_server, timeout=3)
    try:
        assert source.group_offsets([group], topic)[0].committed == {0: 12}  # nothing committed
    finally:
        source.close()


def test_payload_variants_decode_alike(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(
        kafka_server,
        [
            Series("db1", MYSQL, 10, step=10, wrapper=False, payload_ms=False),
            Series("db2", MYSQL, 10, step=10, tags={"env": "prod"}),
        ],
        now=now,
    )
    s = sup.settings(kafka=kafka_server, topic=topic, tag=["env:prod"])
    result = sup.stage(sup.run(s, now=now))
    assert sup.figures(result)["mysql records (of those decoded)"] == 10  # only db2 has the tag

    s = sup.settings(kafka=kafka_server, topic=topic, host=["db1"])
    result = sup.stage(sup.run(s, now=now))
    figs = sup.figures(result)
    assert figs["mysql records (of those decoded)"] == 10  # bare objects with seconds decode too
    assert figs["mysql reporting interval"] == pytest.approx(10.0, abs=0.5)


def test_delayed_payload_timestamps_are_shown(kafka_server: str) -> None:
    now = time.time()
    topic = _seed(kafka_server, [Series("db1", MYSQL, 10, step=10, payload_offset=-1800)], now=now)
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic), now=now))

    assert sup.figures(result)["payload timestamps behind Kafka's (median)"] == pytest.approx(1800, abs=2)
    assert result.status is Status.FAIL and not result.missing_data, result.summary
    assert "The clock of host db1 runs about 30 min behind" in result.summary
    clocks = sup.table(result, "Host clocks")
    assert sup.column(clocks, "host") == ["db1"]


def test_backfilled_points_next_to_live_ones_are_not_a_clock(kafka_server: str) -> None:
    # A Splunk check catching up: its old points arrive now, beside live ones of the same host.
    now = time.time()
    topic = _seed(
        kafka_server,
        [Series("web1", SYSTEM, 30, step=10, payload_offset=-3 * 3600), Series("web1", SYSTEM, 30, step=10)],
        now=now,
    )
    sup.commit(kafka_server, sup.unique("mm2es"), topic, {0: 60})
    result = sup.stage(sup.run(sup.settings(kafka=kafka_server, topic=topic, metric_prefix=["system."]),
                               now=now))

    assert result.status is Status.PASS, result.summary
    assert "clock" not in result.summary


def _interleaved(bootstrap: str, now: float, new: int, old: int) -> str:
    """`new` records of the last minute and `old` three-hour-old ones, one of each in turn on
    one partition (several producers, or a Splunk check backfilling history)."""
    recent = Series("web1", SYSTEM, new, step=60.0 / new, newest_age=1).records(now)
    backfill = Series("web1", SYSTEM, old, step=60.0 / old, newest_age=3 * 3600).records(now)
    mixed = [r for pair in zip(recent, backfill, strict=False) for r in pair]
    mixed += recent[len(backfill):] + backfill[len(recent):]
    topic = sup.unique()
    sup.create_topic(bootstrap, topic)
    sup.produce(bootstrap, topic, mixed, as_given=True)
    sup.commit(bootstrap, sup.unique("mm2es"), topic, {0: len(mixed)})
    return topic


def test_interleaved_old_and_new_records_are_counted_on_their_timestamps(kafka_server: str) -> None:
    now = time.time()
    topic = _interleaved(kafka_server, now, 300, 300)
    s = sup.settings(kafka=kafka_server, topic=topic, integration="system")
    result = sup.stage(sup.run(s, now=now))

    assert result.status is Status.PASS, result.summary
    assert sup.figures(result)["records in window"] == 300
    assert sup.figures(result)["system records (of those decoded)"] == 300
    method = sup.column(sup.table(result, "Partitions of"), "records in window counted by")[0]
    assert method.startswith("counted on the timestamps of all 600 records") and "interleave" in method


def test_interleaved_beyond_the_read_is_an_estimate_that_says_so(
    kafka_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the newest 100 of 600 interleaved records are read: the window count is an
    # estimate (or a lower bound where the broker cannot say where the window starts), and
    # never "no records".
    monkeypatch.setattr(topic_read, "CAP", 100)
    now = time.time()
    topic = _interleaved(kafka_server, now, 300, 300)
    s = sup.settings(kafka=kafka_server, topic=topic, integration="system")
    result = sup.stage(sup.run(s, now=now))

    assert result.status is Status.PASS, result.summary
    counted = sup.figures(result)["records in window"]
    assert isinstance(counted, str) and counted[0] in "≈≥", counted
    assert 50 <= int(counted[1:].strip().replace(",", "")) <= 350
    method = sup.column(sup.table(result, "Partitions of"), "records in window counted by")[0]
    assert method.startswith(("estimated", "at least")), method
    assert ("an estimate, see the partitions" if counted[0] == "≈" else "a lower bound") in result.summary
