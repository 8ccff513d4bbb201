"""Freshness by reporting interval, host clocks, and window counts on interleaved timestamps (pure)."""

from __future__ import annotations

import pytest

from stsdebug.census import HostClock
from stsdebug.sources.topic import Record, boundary_in, count_window
from stsdebug.stages import clocks, freshness
from stsdebug.stages.freshness import Cadence, Measured

NOW = 1_715_680_000.0


def test_interval_is_the_median_gap_per_series() -> None:
    assert freshness.interval({"a": [0.0, 10.0, 20.0, 30.0], "b": [0.0, 60.0, 120.0]}) == 35.0
    assert freshness.interval({"a": [0.0, 10.0]}) is None  # one gap says nothing
    assert freshness.interval({"a": [0.0, 0.001, 0.002]}) == 1.0  # clamped
    # Repeated timestamps (several records of one batch) are one point.
    assert freshness.interval({"a": [0.0, 0.0, 15.0, 15.0, 30.0, 30.0]}) == 15.0


def test_cadence_prefers_measured_then_catalog_then_assumed() -> None:
    measured = freshness.cadence([None, Measured(300.0, "Kafka records")], 15.0)
    assert measured.seconds == 300.0 and measured.measured and "Kafka records" in measured.basis
    assert freshness.cadence([Measured(None, "x")], 15.0, "the catalog").basis == "the catalog"
    assumed = freshness.cadence([], None)
    assert assumed.seconds == freshness.DEFAULT_INTERVAL_S and "assumed" in assumed.basis


@pytest.mark.parametrize(
    ("interval", "age", "state"),
    [
        (10.0, 7 * 60, "stale"),  # the mover stopped 7 min ago, data every 10 s
        (15.0, 20 * 60, "stale"),
        (300.0, 180, "fresh"),  # a batch check every 5 min, 3 min old
        (300.0, 16 * 60, "stale"),
        (15.0, 50, "fresh"),  # never stale under a minute: batching, mm2es, refresh
    ],
)
def test_judge_by_interval(interval: float, age: float, state: str) -> None:
    f = freshness.judge(NOW - age, NOW, Cadence(interval, "x"))
    assert f.state == state
    assert freshness.judge(None, NOW, Cadence(interval, "x")).state == "unseen"


def test_the_window_is_no_argument_of_judge() -> None:
    # The verdict on freshness cannot depend on --window: judge does not take it.
    import inspect

    assert "window" not in inspect.signature(freshness.judge).parameters


def test_a_sample_covers_a_cadence_only_when_it_reaches_back_three_intervals() -> None:
    assert not freshness.covers(5.0, Cadence(300.0, "x"))
    assert freshness.covers(1000.0, Cadence(300.0, "x"))
    assert not freshness.covers(None, Cadence(15.0, "x"))


def _rec(offset: int, age: float | None) -> Record:
    return Record(0, offset, None if age is None else NOW - age, None, b"{}")


def test_interleaved_old_and_new_records_are_counted_on_timestamps() -> None:
    # 300 records a minute old interleaved with 300 three-hour-old ones, the whole partition read.
    tail = [_rec(i, 30.0 if i % 2 == 0 else 3 * 3600.0) for i in range(600)]
    c = count_window(tail, NOW - 900, earliest=0, lo=0, end=600)
    assert (c.count, c.exact) == (300, True)
    assert "interleave" in c.method
    assert len(c.records) == 300


def test_interleaved_beyond_the_read_is_estimated_and_says_so() -> None:
    tail = [_rec(i, 30.0 if i % 2 == 0 else 3 * 3600.0) for i in range(1000, 1200)]
    c = count_window(tail, NOW - 900, earliest=0, lo=1000, end=1200, first=800, how="offsets_for_times")
    assert not c.exact and c.count == 100 + 100  # half of the 200 before the read, at the read's rate
    assert c.method.startswith("estimated")
    # Without a lookup, the records read give a lower bound only.
    lower = count_window(tail, NOW - 900, earliest=0, lo=1000, end=1200)
    assert not lower.exact and lower.count == 100 and lower.method.startswith("at least")


def test_timestamps_in_order_cut_at_the_window_start() -> None:
    tail = [_rec(i, 2000.0 - i) for i in range(1500, 2000)]  # ages 500 .. 1 s
    assert boundary_in(tail, NOW - 300)
    c = count_window(tail, NOW - 300, earliest=0, lo=1500, end=2000)
    assert (c.count, c.exact) == (300, True)


def test_every_record_in_the_window_with_a_checked_start_is_exact() -> None:
    tail = [_rec(i, 10.0) for i in range(900, 1000)]
    c = count_window(tail, NOW - 900, earliest=0, lo=900, end=1000, first=400, how="offsets_for_times")
    assert (c.count, c.exact) == (600, True)


def _clock(host: str, behind: float) -> HostClock:
    return HostClock(host, 40, behind)


def test_a_host_whose_every_point_is_late_has_a_clock_behind() -> None:
    c = Cadence(15.0, "x")
    skewed = clocks.clock_skew([_clock("web-01", 7200.0), _clock("db-01", 2.0)], c)
    assert [h.host for h in skewed] == ["web-01"]
    summary, hint = clocks.clock_finding(skewed, 2, "system", "reach Kafka", "Kafka's record timestamps")
    assert "The clock of host web-01 runs about 2.0 h behind" in summary
    assert "NTP" in hint


def test_every_host_off_alike_points_at_the_receiving_clock_too() -> None:
    c = Cadence(15.0, "x")
    skewed = clocks.clock_skew([_clock("a", -3600.0), _clock("b", -3590.0)], c)
    summary, _ = clocks.clock_finding(skewed, 2, "system", "reach Kafka", "Kafka's record timestamps")
    assert "every system host" in summary and "ahead" in summary


def test_delivery_delay_is_not_a_clock() -> None:
    # Two minutes late (batching, retries) is delivery; a Splunk search's own lag is within two intervals.
    assert not clocks.clock_skew([_clock("web-01", 120.0)], Cadence(15.0, "x"))
    assert not clocks.clock_skew([_clock("splunk", 500.0)], Cadence(300.0, "x"))
