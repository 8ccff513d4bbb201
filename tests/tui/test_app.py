"""Pilot-driven tests of the TUI: each state (running, all pass, fail, error,
cancelled, loaded) and each key. No network: stages are fake functions run by the
real Trace, or a fixture trace replayed as events (see fakes.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, OptionList, Static

from stsdebug.model import Status, TraceResult
from stsdebug.tui import files
from stsdebug.tui.app import StsdebugApp
from stsdebug.tui.display import UNICODE_SPINNER
from stsdebug.tui.screens import ConfirmScreen, HelpScreen, IntegrationScreen, PromptScreen
from stsdebug.tui.widgets.detail import DetailPane
from stsdebug.tui.widgets.pipeline import Segment
from stsdebug.tui.widgets.stage_list import StageList
from stsdebug.tui.widgets.verdict import VerdictBanner
from tests import factories
from tests.tui.fakes import (
    PlanRunner,
    ScriptedRunner,
    drive,
    gated,
    passing,
    settings,
    trace_runner,
    wait_for,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "traces"


def rows(app: StsdebugApp) -> list[tuple[str, str, str, str]]:
    """(mark, word, title, elapsed) of each stage row, as shown."""
    return [
        (r.mark.content.plain, r.word.content.plain, r.title_label.content.plain, r.elapsed.content.plain)
        for r in app.query_one(StageList)._rows
    ]


def banner(app: StsdebugApp) -> str:
    return app.query_one(VerdictBanner).content.plain


def detail_text(app: StsdebugApp) -> str:
    out = []
    for w in app.query_one(DetailPane).query(Static):
        content = w.content
        if hasattr(content, "plain"):
            out.append(content.plain)
    return "\n".join(out)


def notices(app: StsdebugApp) -> str:
    return "\n".join(n.message for n in app._notifications)


def done(app: StsdebugApp) -> bool:
    return not app.view.running and app.view.trace is not None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- states -----------------------------------------------------------------------


def test_running_stage_shows_spinner_and_elapsed_then_its_result() -> None:
    gate = threading.Event()
    clock = Clock()
    runner = trace_runner(
        ("scope", "Scale of impact", passing()),
        ("agent", "StackState Agent", gated(gate)),
        ("kafka", "Kafka topic", passing()),
    )
    app = StsdebugApp(settings(), runner=runner, clock=clock)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: rows(app)[1][1] == "running")
        clock.now += 2.5
        await pilot.pause(0.25)  # a few spinner ticks
        mark, word, title, elapsed = rows(app)[1]
        assert mark in UNICODE_SPINNER and word == "running" and title == "StackState Agent"
        assert elapsed == "2.5 s"
        # The Kafka stage started with the trace; its result waits for the agent's (pipeline order).
        assert rows(app)[2][1] == "running"
        assert banner(app).startswith(tuple(UNICODE_SPINNER))
        assert "RUNNING" in banner(app) and "StackState Agent (2 of 3)" in banner(app)
        assert app.query_one(VerdictBanner).has_class("-running")
        gate.set()
        await wait_for(pilot, lambda: done(app))
        assert [r[1] for r in rows(app)] == ["pass", "pass", "pass"]
        assert "PASS" in banner(app) and "kubernetes was seen at every checked stage" in banner(app)

    drive(app, scenario)


def test_all_pass_colours_every_segment_and_exits_0() -> None:
    runner = PlanRunner()
    app = StsdebugApp(settings(integration="aws"), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        segments = list(app.query(Segment))
        # The pull path: scope | source -> elasticsearch -> streams.
        assert [s.content.plain.split()[-1] for s in segments] == [
            "scope", "source", "Elasticsearch", "streams"
        ]
        assert all(s.has_class("-pass") for s in segments)
        assert all(s.content.plain.strip().startswith("✔") for s in segments)
        await pilot.press("q")

    drive(app, scenario)
    assert app.return_value == 0


def test_a_fail_selects_the_failing_stage_and_downstream_is_blocked() -> None:
    def agent_fails(ctx: Any) -> Any:
        return ctx.result(Status.FAIL, "The receiver rejected 14 payloads.").hint(
            "Fix the payload.", "Troubleshooting step 2 / Agent"
        )

    def no_data(ctx: Any) -> Any:
        return ctx.result(Status.FAIL, "No records on the topic.", missing_data=True)

    runner = trace_runner(
        ("scope", "Scale of impact", passing()),
        ("agent", "StackState Agent", agent_fails),
        ("kafka", "Kafka topic", no_data),
    )
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        assert [r[1] for r in rows(app)] == ["pass", "FAIL", "blocked"]
        assert app.query_one(StageList).selected_id == "agent"
        text = detail_text(app)
        assert "The receiver rejected 14 payloads." in text
        assert "Fix the payload." in text and "runbook: Troubleshooting step 2 / Agent" in text
        assert "FAIL" in banner(app) and "stops at StackState Agent" in banner(app)
        assert app.query_one(VerdictBanner).has_class("-fail")
        await pilot.press("q")

    drive(app, scenario)
    assert app.return_value == 1


def test_an_exception_in_a_stage_is_that_stages_error_not_a_crash() -> None:
    def boom(ctx: Any) -> Any:
        raise KeyError("values")

    runner = trace_runner(("scope", "Scale of impact", passing()), ("kafka", "Kafka topic", boom))
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        assert [r[1] for r in rows(app)] == ["pass", "ERROR"]
        assert rows(app)[1][0] == "?"
        assert "Internal error in the kafka stage: KeyError" in detail_text(app)
        assert "ERROR" in banner(app)
        assert app.is_running

    drive(app, scenario)


def test_a_stage_that_times_out_shows_error_with_its_reason_not_a_spinner() -> None:
    never = threading.Event()
    # budget 0 calls: the trace allows the minimum, 5 s, then gives up on the stage.
    runner = trace_runner(("kafka", "Kafka topic", gated(never)), budget=0)
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app), timeout=9)
        mark, word, _, _ = rows(app)[0]
        assert (mark, word) == ("?", "ERROR")
        assert "Did not finish within 5 s" in detail_text(app)
        never.set()

    drive(app, scenario)


def test_a_runner_that_raises_shows_in_the_banner() -> None:
    from stsdebug.errors import SourceError

    def broken(s: Any, on_event: Any, cancel: Any) -> Any:
        raise SourceError("Cannot read the plan")

    app = StsdebugApp(settings(), runner=broken)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: not app.view.running)
        assert "ERROR" in banner(app) and "The trace could not run: Cannot read the plan" in banner(app)

    drive(app, scenario)


def test_escape_cancels_the_run_and_stages_show_cancelled() -> None:
    runner = ScriptedRunner(factories.kafka_fail(), hold=2)
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, runner.holding.is_set)
        await wait_for(pilot, lambda: rows(app)[2][1] == "running")
        await pilot.press("escape")
        assert runner.cancel_seen.wait(5), "the runner's cancel Event was not set"
        await wait_for(pilot, lambda: app.view.trace is not None)
        words = [r[1] for r in rows(app)]
        assert words[:2] == ["pass", "FAIL"]
        assert words[2:] == ["cancelled"] * 4
        assert all(r[0] == "⊗" for r in rows(app)[2:])
        assert "CANCELLED" in banner(app) and "during StackState receiver" in banner(app)
        # What finished before the cancel still counts.
        assert "So far: Data for kubernetes stops at StackState Agent" in banner(app)
        app.query_one(StageList).select("kafka")
        await pilot.pause()
        assert "Cancelled before this stage ran." in detail_text(app)

    drive(app, scenario)


def test_loaded_trace_is_read_only() -> None:
    path = FIXTURES / "kafka_fail.json"
    app = StsdebugApp(None, TraceResult.load(path), loaded_from=path)

    async def scenario(pilot: Any) -> None:
        header = app.query_one("#header", Static).content.plain
        assert "stsdebug 0.1.0" in header and "kubernetes (push)" in header
        assert "loaded kafka_fail.json (read-only)" in header
        assert [r[1] for r in rows(app)] == ["pass", "FAIL", "warn", "FAIL", "blocked", "skip"]
        assert rows(app)[0][3] == "12 ms"
        assert app.query_one(StageList).selected_id == "agent"
        for key in "riwp":
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, (IntegrationScreen, PromptScreen, ConfirmScreen))
        assert notices(app).count("loaded from a file and is read-only") == 4
        assert app.run_id == 0
        await pilot.press("q")

    drive(app, scenario, size=(120, 40))
    assert app.return_value == 0


def test_evidence_tables_are_data_tables_and_logs_highlight_the_match() -> None:
    app = StsdebugApp(None, factories.kafka_fail())

    async def scenario(pilot: Any) -> None:
        app.query_one(StageList).select("kafka")
        await pilot.pause()
        table = app.query_one(DetailPane).query_one(DataTable)
        assert [c.label.plain for c in table.columns.values()][:2] == ["partition", "leader"]
        assert table.row_count == 1

    drive(app, scenario)


def test_terminal_too_small_shows_a_message_not_a_broken_layout() -> None:
    app = StsdebugApp(None, factories.kafka_fail())

    async def scenario(pilot: Any) -> None:
        message = app.query_one("#too-small", Static)
        assert message.display and "Terminal too small: 50x14" in message.content.plain
        assert not app.query_one("#main").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not message.display and app.query_one("#main").display

    drive(app, scenario, size=(50, 14))


def test_markup_is_shown_literally_and_control_sequences_are_removed() -> None:
    trace = factories.kafka_fail()
    trace.stages[1].summary = "metric [bold red]x[/] \x1b[2J\u202eevil\x1b]0;title\x07"
    app = StsdebugApp(None, trace)

    async def scenario(pilot: Any) -> None:
        text = detail_text(app)
        assert "metric [bold red]x[/] evil" in text
        assert "\x1b" not in text and "\u202e" not in text

    drive(app, scenario)


# --- keys -------------------------------------------------------------------------


def test_r_reruns_and_drops_events_of_the_replaced_run() -> None:
    first_gate = threading.Event()
    calls: list[int] = []
    gate_fn = gated(first_gate)

    def maybe_gated(ctx: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # only the first run waits
            return gate_fn(ctx)
        return ctx.result(Status.PASS, "Second run.")

    runner = trace_runner(("scope", "Scale of impact", maybe_gated))
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: rows(app)[0][1] == "running")
        first_cancel = app.cancel_event
        await pilot.press("r")
        assert first_cancel is not None and first_cancel.is_set()
        await wait_for(pilot, lambda: done(app))
        assert app.run_id == 2 and len(calls) == 2
        assert "Second run." in detail_text(app)
        # Once finished, r starts a fresh run again.
        await pilot.press("r")
        await wait_for(pilot, lambda: app.run_id == 3 and done(app))
        assert len(calls) == 3

    drive(app, scenario)


def test_i_picks_another_integration_and_reruns_its_plan() -> None:
    runner = PlanRunner()
    app = StsdebugApp(settings(integration="kubernetes"), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, IntegrationScreen))
        options = app.screen.query_one(OptionList)
        assert options.option_count > 5
        await pilot.press("a", "w", "s")
        assert options.option_count == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(runner.calls) == 2 and done(app))
        assert runner.calls[-1].integration == "aws"
        assert [r[2] for r in rows(app)] == [t for _, t in runner.plan(runner.calls[-1])]
        assert app.query_one(StageList).ids == ["scope", "source", "elasticsearch", "streams"]
        assert "aws (pull)" in app.query_one("#header", Static).content.plain

    drive(app, scenario)


def test_without_an_integration_the_picker_opens_and_nothing_runs_until_one_is_picked() -> None:
    runner = PlanRunner()
    app = StsdebugApp(settings(integration=None), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, IntegrationScreen))
        assert runner.calls == []  # no silent "custom" trace
        await pilot.press("m", "y", "s", "q", "l", "enter")
        await wait_for(pilot, lambda: len(runner.calls) == 1 and done(app))
        assert runner.calls[0].integration == "mysql"

    drive(app, scenario)


def test_i_escape_keeps_the_integration() -> None:
    runner = PlanRunner()
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, IntegrationScreen))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, IntegrationScreen) and len(runner.calls) == 1

    drive(app, scenario)


def test_w_changes_the_window_and_refuses_a_bad_one() -> None:
    runner = PlanRunner()
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        box = app.screen.query_one(Input)
        assert box.value == "15m"
        box.value = "soon"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        assert "expected a duration like 30s" in app.screen.query_one("#prompt-error", Static).content.plain
        box.value = "2h"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(runner.calls) == 2 and done(app))
        assert runner.calls[-1].window == "2h"
        assert "window 2h" in app.query_one("#header", Static).content.plain

    drive(app, scenario)


def test_p_asks_first_and_probes_only_that_run() -> None:
    runner = PlanRunner()
    app = StsdebugApp(settings(receiver="http://127.0.0.1:7077"), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        message = app.screen.query_one("#confirm-message", Static).content.plain
        assert "WRITES to the system being diagnosed" in message and "127.0.0.1:7077" in message
        assert app.screen.focused is not None and app.screen.focused.id == "no"
        await pilot.press("enter")  # the focused, safe answer
        await pilot.pause()
        assert len(runner.calls) == 1
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(runner.calls) == 2 and done(app))
        assert runner.calls[-1].probe is True
        await pilot.press("r")
        await wait_for(pilot, lambda: len(runner.calls) == 3 and done(app))
        assert runner.calls[-1].probe is False

    drive(app, scenario)


def test_p_without_a_receiver_says_the_probe_is_not_available() -> None:
    runner = PlanRunner()
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        await pilot.press("p")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert "give --receiver URL" in notices(app)

    drive(app, scenario)


def test_s_saves_the_json_trace_and_asks_before_overwriting(tmp_path: Path) -> None:
    path = FIXTURES / "kafka_fail.json"
    app = StsdebugApp(None, TraceResult.load(path), loaded_from=path, cwd=tmp_path)

    async def scenario(pilot: Any) -> None:
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        box = app.screen.query_one(Input)
        assert box.value == "stsdebug-kubernetes-20261121-083320.json"
        box.value = "run.json"
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "run.json").exists())
        saved = TraceResult.load(tmp_path / "run.json")
        assert saved.to_dict() == app.loaded.to_dict()
        (tmp_path / "run.json").write_text("old")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "run.json"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause()
        assert (tmp_path / "run.json").read_text() == "old"
        # Never over the trace that was loaded.
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "refusing to overwrite" in notices(app))

    drive(app, scenario)
    assert TraceResult.load(path).to_dict() == factories.kafka_fail().to_dict()


def test_s_before_any_trace_finished_says_so() -> None:
    runner = ScriptedRunner(factories.kafka_fail(), hold=0)
    app = StsdebugApp(settings(), runner=runner)

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, runner.holding.is_set)
        await pilot.press("s")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        assert "No finished trace yet" in notices(app)

    drive(app, scenario)


def test_e_when_the_report_cannot_be_rendered_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(trace: TraceResult) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(files, "as_html", broken)
    app = StsdebugApp(None, factories.kafka_fail())

    async def scenario(pilot: Any) -> None:
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        assert "HTML export failed: RuntimeError: template exploded" in notices(app)

    drive(app, scenario)


def test_e_exports_the_html_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[TraceResult] = []

    def render(trace: TraceResult) -> str:
        seen.append(trace)
        return "<html>report</html>"

    # The real renderer is tested with the report; here only the TUI's part.
    monkeypatch.setattr(files, "as_html", render)
    trace = factories.kafka_fail()
    app = StsdebugApp(None, trace, cwd=tmp_path)

    async def scenario(pilot: Any) -> None:
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        name = app.screen.query_one(Input).value
        assert name.endswith(".html")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / name).exists())
        assert (tmp_path / name).read_text() == "<html>report</html>"
        assert seen == [trace]

    drive(app, scenario)


def test_e_with_the_real_renderer_writes_a_report_that_embeds_the_trace(tmp_path: Path) -> None:
    trace = factories.kafka_fail()
    app = StsdebugApp(None, trace, cwd=tmp_path)

    async def scenario(pilot: Any) -> None:
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "report.html"
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "report.html").exists())

    drive(app, scenario)
    # The report embeds the trace; reading it back gives the same trace.
    assert TraceResult.load(tmp_path / "report.html").to_dict() == trace.to_dict()


def test_slash_filters_the_evidence_and_escape_clears_it() -> None:
    app = StsdebugApp(None, factories.kafka_fail())

    async def scenario(pilot: Any) -> None:
        app.query_one(StageList).select("scope")
        await pilot.pause()
        table = app.query_one(DetailPane).query_one(DataTable)
        assert table.row_count == 3
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "filter"
        await pilot.press(*"docker")
        await pilot.pause()
        table = app.query_one(DetailPane).query_one(DataTable)
        assert table.row_count == 1
        assert "(filter 'docker': 1 of 3)" in detail_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.query_text == "" and not app.query_one("#filter").display
        assert app.query_one(DetailPane).query_one(DataTable).row_count == 3

    drive(app, scenario)


def test_question_mark_shows_help_with_every_key() -> None:
    app = StsdebugApp(None, factories.kafka_fail())

    async def scenario(pilot: Any) -> None:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = "\n".join(w.content.plain for w in app.screen.query(Static) if hasattr(w.content, "plain"))
        for key, what in [("r", "Run the trace again"), ("i", "integration"), ("w", "window"),
                          ("e", "HTML report"), ("s", "JSON"), ("p", "probe"), ("/", "Filter"),
                          ("q", "Quit"), ("Escape", "Cancel")]:
            assert any(line.strip().startswith(key) and what in line for line in text.splitlines()), key
        assert "blocked" in text and "cancelled" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)

    drive(app, scenario)


def test_footer_lists_the_keys() -> None:
    app = StsdebugApp(settings(), runner=PlanRunner())

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))
        keys = {b.binding.key for b in app.active_bindings.values() if b.binding.show and b.enabled}
        assert {"q", "r", "i", "w", "p", "s", "e", "slash", "question_mark"} <= keys

    drive(app, scenario, size=(80, 24))


def test_command_palette_runs_each_action() -> None:
    from stsdebug.tui.palette import COMMANDS

    app = StsdebugApp(None, factories.kafka_fail())
    assert {a for _, a, _ in COMMANDS} >= {
        "rerun", "integration", "window", "probe", "save", "export", "filter", "help", "quit", "cancel"
    }

    async def scenario(pilot: Any) -> None:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Show the keys")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))

    drive(app, scenario)


def test_q_quits_with_the_exit_code_of_the_last_trace() -> None:
    app = StsdebugApp(None, factories.with_error())

    async def scenario(pilot: Any) -> None:
        await pilot.press("q")

    drive(app, scenario)
    assert app.return_value == 0  # viewing a file is not a check


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_every_fixture_trace_shows_every_stage(name: str) -> None:
    path = FIXTURES / f"{name}.json"
    trace = TraceResult.load(path)
    app = StsdebugApp(None, trace, loaded_from=path)

    async def scenario(pilot: Any) -> None:
        stages = app.query_one(StageList)
        for stage in trace.stages:
            stages.select(stage.id)
            await pilot.pause()
            text = detail_text(app)
            assert stage.title.split("<")[0][:10] in text
            assert "\x1b" not in text and "\u202e" not in text
        assert app.is_running

    drive(app, scenario, size=(80, 24))


def test_a_live_trace_starts_after_the_first_frame() -> None:
    """The run (planning, the trace's imports, every stage) starts once the screen has been
    laid out and drawn, so the first frame never waits for any of it."""
    seen: dict[str, Any] = {}

    class Recording:
        def __call__(self, s: Any, on_event: Any, cancel: threading.Event) -> Any:
            return inner(s, on_event, cancel)

        def plan(self, s: Any) -> list[tuple[str, str]]:
            stage_list = app.query_one(StageList)
            # Laid out (and so drawn) before the plan was asked for.
            seen["laid out"] = stage_list.size.width > 0 and stage_list.size.height > 0
            return inner.plan(s)

    inner = trace_runner(("scope", "Scale of impact", passing()))
    app = StsdebugApp(settings(), runner=Recording())

    async def scenario(pilot: Any) -> None:
        await wait_for(pilot, lambda: done(app))

    drive(app, scenario)
    assert seen == {"laid out": True}
