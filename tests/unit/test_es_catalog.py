"""Which indices a window reads, and today's index name (pure)."""

from __future__ import annotations

from datetime import datetime, timezone

from stsdebug.stages.es_catalog import _today_index, _window_indices

DAYS = [f"sts_multi_metrics-2026.11.{d:02d}" for d in range(1, 22)]


def ts(day: int, hour: int = 12) -> float:
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc).timestamp()


def test_window_reads_its_days_plus_one_either_side() -> None:
    assert _window_indices(DAYS, ts(21, 10), ts(21, 11)) == DAYS[-2:]  # 20 and 21 (22 absent)
    assert _window_indices(DAYS, ts(10), ts(12)) == DAYS[8:13]  # 9..13


def test_a_pattern_with_an_undated_index_is_searched_whole() -> None:
    assert _window_indices([*DAYS, "sts_multi_metrics-current"], ts(21, 10), ts(21, 11)) == []
    assert _window_indices(["sts_multi_metrics-2026.13.45"], ts(21), ts(21)) == []


def test_todays_index_follows_utc_and_needs_a_daily_pattern() -> None:
    late = datetime(2026, 11, 21, 23, 59, tzinfo=timezone.utc).timestamp()
    assert _today_index("sts_multi_metrics-*", late, DAYS) == "sts_multi_metrics-2026.11.21"
    assert _today_index("sts_multi_metrics-*", late + 120, DAYS) == "sts_multi_metrics-2026.11.22"
    assert _today_index("sts_multi_metrics-*", late, []) == "sts_multi_metrics-2026.11.21"
    assert _today_index("sts_multi_metrics", late, DAYS) is None
    assert _today_index("a-*,b-*", late, DAYS) is None
    assert _today_index("metrics-*", late, ["metrics-current"]) is None
