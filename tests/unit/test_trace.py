"""The trace engine with fake stages: ordering, verdict, blocked, errors, budget, redaction."""

import threading
import time

from stsdebug.errors import SourceError
from stsdebug.model import StageResult, Status
from stsdebug.settings import Settings
from stsdebug.stages.base import Context, Stage
from stsdebug.trace import StageFinished, Trace, TraceFinished, exit_code


def fixed(status: Status, summary: str = "s", missing: bool = False):
    def run(ctx: Context) -> StageResult:
        return ctx.result(status, summary, missing_data=missing)

    return run


def stages(*specs):
    return [Stage(f"s{i}", f"Stage {i}", run) for i, run in enumerate(specs)]


def settings(**kw):
    return Settings(integration="mysql", es="http://x", timeout=1.0, **kw)


def test_all_pass_verdict_and_exit_zero():
    t = Trace(settings(), stages=stages(fixed(Status.PASS), fixed(Status.SKIP))).run()
    assert t.verdict.status is Status.PASS and t.verdict.stage is None
    assert "1 skipped" in t.verdict.sentence
    assert exit_code(t) == 0


def test_first_fail_is_the_verdict_and_later_missing_data_is_blocked():
    t = Trace(
        settings(),
        stages=stages(fixed(Status.PASS), fixed(Status.FAIL, "no data"), fixed(Status.FAIL, "none here", True), fixed(Status.FAIL, "real", False)),
    ).run()
    assert t.verdict.stage == "s1" and t.verdict.status is Status.FAIL
    assert "Stage 1" in t.verdict.sentence
    assert [s.status for s in t.stages] == [Status.PASS, Status.FAIL, Status.BLOCKED, Status.FAIL]
    assert exit_code(t) == 1


def test_missing_data_without_earlier_failure_stays_fail():
    t = Trace(settings(), stages=stages(fixed(Status.PASS), fixed(Status.FAIL, "x", True))).run()
    assert t.stages[1].status is Status.FAIL


def test_error_alone_exits_three_and_warn_respects_fail_on():
    t = Trace(settings(), stages=stages(fixed(Status.WARN), fixed(Status.ERROR))).run()
    assert t.verdict.status is Status.ERROR and exit_code(t) == 3
    t = Trace(settings(), stages=stages(fixed(Status.WARN))).run()
    assert exit_code(t) == 0 and exit_code(t, "warn") == 1


def test_all_skipped_is_not_a_pass():
    t = Trace(settings(), stages=stages(fixed(Status.SKIP))).run()
    assert t.verdict.status is Status.SKIP and exit_code(t) == 3


def test_exceptions_become_the_stage_error_and_the_trace_goes_on():
    def boom(ctx):
        raise RuntimeError("kaboom")

    def unreachable(ctx):
        raise SourceError("Cannot connect to Kafka at 127.0.0.1:1: connection refused")

    t = Trace(settings(), stages=stages(boom, unreachable, fixed(Status.PASS))).run()
    assert t.stages[0].status is Status.ERROR and "kaboom" in t.stages[0].summary
    assert t.stages[1].summary == "Cannot connect to Kafka at 127.0.0.1:1: connection refused."
    assert t.stages[2].status is Status.PASS


def test_a_hanging_stage_is_cut_off_by_its_budget():
    def hang(ctx):
        time.sleep(30)

    s = [Stage("slow", "Slow", hang, budget_calls=1.0)]
    t0 = time.monotonic()
    t = Trace(Settings(es="x", timeout=0.5), stages=s).run()
    assert time.monotonic() - t0 < 7
    assert t.stages[0].status is Status.ERROR and "Did not finish" in t.stages[0].summary


def test_cancel_skips_stages_that_had_not_started_and_ends_running_ones():
    cancel = threading.Event()
    underway = threading.Event()

    def first(ctx):
        underway.wait(5)
        cancel.set()
        return ctx.result(Status.PASS, "ok")

    def running(ctx):
        underway.set()
        time.sleep(30)  # ended by the cancel, not by its budget

    s = [
        Stage("s0", "Stage 0", first),
        Stage("s1", "Stage 1", fixed(Status.PASS), after=("s0",)),  # waits for s0: never starts
        Stage("s2", "Stage 2", running),
    ]
    t0 = time.monotonic()
    t = Trace(settings(), stages=s, cancel=cancel).run()
    assert time.monotonic() - t0 < 3
    assert t.stages[0].status is Status.PASS
    assert t.stages[1].status is Status.SKIP and "Cancelled before" in t.stages[1].summary
    assert t.stages[2].status is Status.ERROR and "Cancelled while running" in t.stages[2].summary


def test_events_start_before_finish_and_finish_in_pipeline_order():
    events = []
    release = threading.Event()

    def slow(ctx):
        release.wait(5)
        return ctx.result(Status.PASS, "slow")

    def quick(ctx):
        release.set()  # the first stage can finish only after this one ran
        return ctx.result(Status.WARN, "quick")

    Trace(settings(), stages=stages(slow, quick), on_event=events.append).run()
    finished = [e.index for e in events if isinstance(e, StageFinished)]
    assert finished == [0, 1]
    for index in (0, 1):
        kinds = [type(e).__name__ for e in events if getattr(e, "index", None) == index]
        assert kinds == ["StageStarted", "StageFinished"]
    # Both were running at once: the second started before the first finished.
    order = [(type(e).__name__, getattr(e, "index", None)) for e in events]
    assert order.index(("StageStarted", 1)) < order.index(("StageFinished", 0))
    assert type(events[0]).__name__ == "PlanDecided"  # first, before any stage starts
    assert isinstance(events[-1], TraceFinished)


def test_independent_stages_run_at_the_same_time():
    barrier = threading.Barrier(3, timeout=5)

    def meet(ctx):
        barrier.wait()  # raises BrokenBarrierError unless all three run at once
        return ctx.result(Status.PASS, ctx.stage_id)

    t = Trace(settings(), stages=stages(meet, meet, meet)).run()
    assert [s.status for s in t.stages] == [Status.PASS] * 3
    # Each stage's result carries its own id and title, though they share one context.
    assert [(s.id, s.title, s.summary) for s in t.stages] == [(f"s{i}", f"Stage {i}", f"s{i}") for i in range(3)]


def test_a_stage_that_reads_an_earlier_result_waits_for_it_as_reported():
    seen = {}

    def failing(ctx):
        time.sleep(0.2)
        return ctx.result(Status.FAIL, "no data", missing_data=True)

    def reader(ctx):
        seen["s1"] = ctx.results["s1"].status  # as reported: blocked, after s0's fail
        return ctx.result(Status.PASS, "read")

    s = [
        Stage("s0", "Stage 0", fixed(Status.FAIL, "first")),
        Stage("s1", "Stage 1", failing),
        Stage("s2", "Stage 2", reader, after=("s1",)),
    ]
    t = Trace(settings(), stages=s).run()
    assert seen == {"s1": Status.BLOCKED}
    assert [r.status for r in t.stages] == [Status.FAIL, Status.BLOCKED, Status.PASS]


def test_budgets_hold_for_each_stage_while_others_run():
    def hang(ctx):
        time.sleep(30)

    s = [Stage("slow", "Slow", hang, budget_calls=1.0), Stage("ok", "Ok", fixed(Status.PASS))]
    t0 = time.monotonic()
    t = Trace(Settings(es="x", timeout=0.5), stages=s).run()
    assert time.monotonic() - t0 < 7
    assert t.stages[0].status is Status.ERROR and "Did not finish" in t.stages[0].summary
    assert t.stages[1].status is Status.PASS and t.stages[1].duration_ms < 4000


def test_a_usage_error_ends_the_run_and_later_stages_do_not_start():
    from stsdebug.errors import UsageError

    started = []

    def bad(ctx):
        raise UsageError("--agent-log x: no such file")

    def later(ctx):
        started.append(1)
        return ctx.result(Status.PASS, "x")

    s = [Stage("s0", "Stage 0", bad), Stage("s1", "Stage 1", later, after=("s0",))]
    import pytest

    with pytest.raises(UsageError):
        Trace(settings(), stages=s).run()
    time.sleep(0.2)
    assert started == []


def test_linger_waits_only_while_other_stages_run():
    waited = {}
    release = threading.Event()

    def lingering(ctx):
        release.wait(5)  # the other stage is running
        waited["with others"] = ctx.linger(10)  # returns when the other stage ends
        waited["alone"] = ctx.linger(10)  # nothing else runs: returns at once
        return ctx.result(Status.PASS, "x")

    def other(ctx):
        release.set()
        time.sleep(0.3)
        return ctx.result(Status.PASS, "y")

    t0 = time.monotonic()
    Trace(settings(), stages=stages(lingering, other)).run()
    assert time.monotonic() - t0 < 5
    assert 0.2 < waited["with others"] < 5
    assert waited["alone"] < 0.2


def test_linger_ends_at_cancel():
    cancel = threading.Event()
    waited = {}

    def lingering(ctx):
        threading.Timer(0.2, cancel.set).start()
        waited["s"] = ctx.linger(10)
        return ctx.result(Status.PASS, "x")

    def other(ctx):
        time.sleep(30)

    Trace(settings(), stages=stages(lingering, other), cancel=cancel).run()
    assert waited["s"] < 2


def test_results_are_redacted_with_a_manifest():
    def leaky(ctx):
        return ctx.result(Status.FAIL, "POST https://r/stsAgent/intake?api_key=live-key-123 rejected; key live-key-123")

    t = Trace(settings(api_key="live-key-123"), stages=stages(leaky)).run()
    assert "live-key-123" not in t.to_json()
    assert t.target["api_key"] == "<redacted>"
    rules = {(m["rule"], m["where"]) for m in t.redactions}
    assert ("secret setting", "target.api_key") in rules
    assert any(where == "stages.s0" for _, where in rules)


def test_stage_sees_earlier_results_and_shared_cache():
    seen = {}

    def a(ctx):
        ctx.cache["x"] = 1
        return ctx.result(Status.PASS, "a")

    def b(ctx):
        seen["prev"] = ctx.results["s0"].status
        seen["cache"] = ctx.cache["x"]
        return ctx.result(Status.PASS, "b")

    s = [Stage("s0", "Stage 0", a), Stage("s1", "Stage 1", b, after=("s0",))]
    Trace(settings(), stages=s).run()
    assert seen == {"prev": Status.PASS, "cache": 1}


def test_fake_sources_are_used():
    class FakeKafka:
        closed = False

        def close(self):
            FakeKafka.closed = True

    def uses(ctx):
        assert isinstance(ctx.kafka, FakeKafka)
        return ctx.result(Status.PASS, "ok")

    t = Trace(settings(), stages=stages(uses), sources={"kafka": FakeKafka()}).run()
    assert t.stages[0].status is Status.PASS and FakeKafka.closed


def test_once_shares_a_result_and_a_source_error_between_stages():
    calls = []
    made = []

    def failing():
        calls.append(1)
        time.sleep(0.1)  # both stages ask while the read is under way
        raise SourceError("Cannot connect to Elasticsearch at x:1: connection refused")

    def make():
        made.append(1)
        time.sleep(0.1)
        return 42

    seen = []

    def both(ctx):
        assert ctx.once("k", make) == 42
        try:
            ctx.once("e", failing)
        except SourceError as exc:
            seen.append(str(exc))
        return ctx.result(Status.PASS, "a")

    t = Trace(settings(), stages=stages(both, both)).run()
    assert [r.status for r in t.stages] == [Status.PASS, Status.PASS]
    assert len(made) == 1 and len(calls) == 1 and len(seen) == 2


# --- labels and what runs beside the stages ---------------------------------------------------


def test_labels_are_recorded_redacted_and_round_trip():
    from stsdebug.model import TraceResult

    s = settings(labels={"ticket": "1234", "note": "key sk-secret-1"}, api_key="sk-secret-1")
    t = Trace(s, stages=stages(fixed(Status.PASS)), labels={"run": "nightly"}).run()
    assert t.labels["ticket"] == "1234" and t.labels["run"] == "nightly"
    assert "sk-secret-1" not in t.to_json()
    assert TraceResult.from_json(t.to_json()).labels == t.labels
    # No labels: no key, so traces without them read exactly as before.
    assert "labels" not in Trace(settings(), stages=stages(fixed(Status.PASS))).run().to_dict()


class Recorder:
    """An augment: prepared once before the stages, merged into each result."""

    def __init__(self):
        self.calls: list[str] = []

    def prepare(self, ctx):
        self.calls.append("prepare")

    def merge(self, result):
        self.calls.append(f"merge {result.id}")
        result.summary += " (seen beside)"
        return result


def test_augments_prepare_once_then_merge_into_every_result():
    rec = Recorder()
    t = Trace(settings(), stages=stages(fixed(Status.PASS), fixed(Status.WARN)), augments=[rec]).run()
    assert rec.calls == ["prepare", "merge s0", "merge s1"]
    assert all(s.summary.endswith("(seen beside)") for s in t.stages)


def test_the_probe_is_planned_only_when_asked():
    from stsdebug.stages.probe import ProbeStep
    from stsdebug.trace import plan_augments

    assert plan_augments(settings()) == []
    assert [type(a) for a in plan_augments(settings(probe=True))] == [ProbeStep]
