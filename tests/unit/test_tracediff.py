"""What `stsdebug diff` finds between two traces: stage changes, figures that moved, where the
verdict went, and whether AFTER is worse."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stsdebug.errors import UsageError
from stsdebug.model import Figure, Figures, Status, TraceResult, Verdict
from stsdebug.tracediff import compare
from tests import factories


def with_status(t: TraceResult, stage: str, status: Status, **figures: float | None) -> TraceResult:
    t = TraceResult.from_dict(t.to_dict())
    s = t.stage(stage)
    assert s is not None
    s.status = status
    if figures:
        s.evidence = [Figures("Topic in the window", [Figure(k.replace("_", " "), v, "s" if "age" in k else None)
                                                      for k, v in figures.items()])]
    return t


def test_a_fix_clears_the_verdict_and_every_failing_stage_got_better() -> None:
    before = factories.kafka_fail()
    after = factories.all_pass()
    after.integration, after.kind = before.integration, before.kind
    after.stages = [replace(s, status=Status.PASS) for s in before.stages]
    after.verdict = Verdict(Status.PASS, None, "seen everywhere")
    d = compare(before, after)
    assert d.verdict_move == "cleared" and not d.worse
    assert d.sentence.startswith("Fixed: the verdict went from FAIL at StackState Agent to pass.")
    changes = {c.id: c.change for c in d.stages}
    assert changes == {"scope": "same", "agent": "better", "receiver": "better", "kafka": "better",
                       "elasticsearch": "better", "streams": "better"}
    # The reverse is worse, and says so.
    back = compare(after, before)
    assert back.worse and back.verdict_move == "appeared" and back.sentence.startswith("Worse:")


def test_the_verdict_moving_downstream_is_progress_upstream_is_worse() -> None:
    before = factories.kafka_fail()  # stops at the agent
    later = TraceResult.from_dict(before.to_dict())
    later.stage("agent").status = Status.PASS  # type: ignore[union-attr]
    later.verdict = Verdict(Status.FAIL, "kafka", "stops at Kafka")
    d = compare(before, later)
    assert d.verdict_move == "downstream" and not d.worse
    assert "The data gets further" in d.sentence
    up = compare(later, before)
    assert up.verdict_move == "upstream" and up.worse


def test_a_stage_that_got_worse_makes_the_whole_diff_worse_even_when_the_verdict_holds() -> None:
    before = factories.kafka_fail()
    after = with_status(before, "scope", Status.WARN)
    d = compare(before, after)
    assert d.verdict_move == "same" and d.worse
    assert "But scope (pass → warn) got worse." in d.sentence


def test_a_stage_no_longer_checked_is_not_worse_but_the_fix_is_not_proven() -> None:
    before = factories.kafka_fail()  # stops at the agent
    after = with_status(before, "agent", Status.SKIP)
    after.verdict = Verdict(Status.FAIL, "kafka", "stops at Kafka")
    d = compare(before, after)
    agent = next(c for c in d.stages if c.id == "agent")
    assert agent.change == "unchecked"
    assert "Not proven: StackState Agent, where the data stopped before, was not checked this time." in d.sentence


def test_figures_that_moved_with_their_direction_and_the_noise_left_out() -> None:
    before = with_status(factories.kafka_fail(), "kafka", Status.FAIL, records_in_window=0,
                         newest_record_age=900.0, mm2es_lag=5000, sample=100)
    after = with_status(factories.kafka_fail(), "kafka", Status.PASS, records_in_window=1200,
                        newest_record_age=4.0, mm2es_lag=40000, sample=105)
    moves = {m.label: m.change for m in compare(before, after).figures}
    assert moves == {"records in window": "better", "newest record age": "better", "mm2es lag": "worse"}
    # Ages that stay fresh, and small moves, are the noise of two runs a minute apart.
    a = with_status(factories.kafka_fail(), "kafka", Status.PASS, newest_record_age=3.0, records_in_window=1000)
    b = with_status(factories.kafka_fail(), "kafka", Status.PASS, newest_record_age=9.0, records_in_window=1040)
    assert compare(a, b).figures == []
    # An age that appears is data that arrived.
    c = with_status(factories.kafka_fail(), "kafka", Status.FAIL, newest_record_age=None)
    d = with_status(factories.kafka_fail(), "kafka", Status.PASS, newest_record_age=12.0)
    assert [m.change for m in compare(c, d).figures] == ["better"]


def test_two_integrations_cannot_be_compared() -> None:
    with pytest.raises(UsageError, match="BEFORE traces kubernetes and AFTER traces aws"):
        compare(factories.kafka_fail(), factories.all_pass())


def test_the_json_form_names_both_sides_and_each_change() -> None:
    d = compare(factories.kafka_fail(), factories.with_error())
    data = d.to_dict()
    assert data["schema"] == "stsdebug.diff/1" and data["integration"] == "kubernetes"
    assert data["before"]["verdict"]["stage"] == "agent" and data["after"]["verdict"]["stage"] == "kafka"
    assert data["verdict_move"] == "downstream" and data["worse"] is False
    assert {c["id"]: (c["before"], c["after"], c["change"]) for c in data["stages"]}["kafka"] == ("fail", "error", "better")
