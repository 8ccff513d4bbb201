"""The TUI's plain modules: run state, display helpers, evidence filter, files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from stsdebug.errors import UsageError
from stsdebug.model import Figure, Figures, LogLine, LogSample, StageResult, Status, Table, Text
from stsdebug.tui import display, evidence_filter, files
from stsdebug.tui.run_state import RunView
from stsdebug.tui.widgets.detail import MATCH_STYLE, log_line
from tests import factories

PLAN = [("scope", "Scale of impact"), ("agent", "StackState Agent"), ("kafka", "Kafka topic")]


def result(sid: str, status: Status, summary: str = "s", ms: float = 5.0) -> StageResult:
    return StageResult(sid, sid.title(), status, summary, duration_ms=ms)


# --- run state ---------------------------------------------------------------------


def test_rows_follow_events_with_elapsed_time() -> None:
    view = RunView()
    view.start(PLAN, "kubernetes")
    assert [r.status for r in view.stages] == ["pending"] * 3
    view.stage_started(0, "scope", "Scale of impact", now=10.0)
    assert view.stages[0].status == "running"
    assert view.stages[0].elapsed_ms(now=12.5) == 2500
    view.stage_finished(0, result("scope", Status.PASS, ms=7.0))
    assert view.stages[0].status == "pass" and view.stages[0].elapsed_ms(now=99) == 7.0
    assert view.running and view.banner().word == "RUNNING"


def test_a_stage_outside_the_plan_gets_a_row() -> None:
    view = RunView()
    view.start([], "custom")
    view.stage_started(0, "extra", "Extra stage", now=0)
    assert [r.id for r in view.stages] == ["extra"]


def test_cancel_marks_unfinished_stages_and_keeps_them_cancelled() -> None:
    view = RunView()
    view.start(PLAN, "kubernetes")
    view.stage_started(0, "scope", "Scale of impact", now=0)
    view.stage_finished(0, result("scope", Status.PASS))
    view.stage_started(1, "agent", "StackState Agent", now=0)
    assert view.cancel() is True
    assert [r.status for r in view.stages] == ["pass", "cancelled", "cancelled"]
    # The trace then reports what it did for them; they stay cancelled.
    cancelled = result("agent", Status.ERROR, "Cancelled while running.")
    view.stage_finished(1, cancelled)
    skipped = result("kafka", Status.SKIP, "Cancelled before this stage ran.")
    trace = replace(
        factories.kafka_fail(), stages=[result("scope", Status.PASS), cancelled, skipped]
    )
    view.trace_finished(trace)
    assert [r.id for r in view.stages] == ["scope", "agent", "kafka"]
    assert [r.status for r in view.stages] == ["pass", "cancelled", "cancelled"]
    assert view.stages[1].status == "cancelled"
    assert view.stages[1].result is not None and view.stages[1].result.summary == "Cancelled while running."
    b = view.banner()
    assert b.word == "CANCELLED" and "during StackState Agent" in b.sentence
    assert view.cancel() is False  # nothing running any more


def test_cancelled_banner_keeps_a_failure_found_before_the_cancel() -> None:
    view = RunView()
    view.start(PLAN, "kubernetes")
    view.stage_finished(0, result("scope", Status.FAIL, "nothing arrives"))
    view.stage_started(1, "agent", "StackState Agent", now=0)
    view.cancel()
    assert "So far: Data for kubernetes stops at Scope: nothing arrives" in view.banner().sentence


def test_banner_of_a_finished_trace_is_its_verdict() -> None:
    view = RunView.loaded(factories.with_error())
    b = view.banner()
    assert (b.status, b.word) == ("error", "ERROR")
    assert b.sentence.startswith("Could not check Kafka topic")


def test_runner_failure() -> None:
    view = RunView()
    view.start(PLAN, "kubernetes")
    view.runner_failed("boom")
    assert not view.running and view.banner().sentence == "The trace could not run: boom"


# --- display -------------------------------------------------------------------------


def test_printable_removes_control_sequences_and_bidi_overrides() -> None:
    assert display.printable("a\x1b[31mb\u202ec\x07") == "abc"
    assert display.printable("x\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\\r\n") == "xlink\n"
    assert display.printable("tab\there") == "tab    here"
    assert display.printable(None) == "—"
    assert display.one_line("a\nb") == "a b"


@pytest.mark.parametrize(
    ("ms", "text"), [(None, ""), (0.4, "0 ms"), (12.5, "12 ms"), (4200, "4.2 s"), (65_000, "1m05s")]
)
def test_elapsed(ms: float | None, text: str) -> None:
    assert display.elapsed(ms) == text


def test_ascii_marks_on_the_linux_console() -> None:
    assert display.use_ascii({"TERM": "linux"})
    assert display.use_ascii({"TERM": "xterm-256color", "STSDEBUG_ASCII": "1"})
    assert not display.use_ascii({"TERM": "xterm-256color"})
    marks = display.marks(True)
    assert all(m.isascii() for m in marks.values()) and all(display.spinner(True).isascii() for _ in "x")
    # Every status, live state included, has a mark and a word.
    for key in [*(s.value for s in Status), "pending", "running", "cancelled"]:
        assert key in display.UNICODE_MARKS and key in display.ASCII_MARKS and key in display.WORDS


def test_header_parts_name_version_integration_window_target_and_origin() -> None:
    trace = factories.kafka_fail()
    parts = display.header_parts(
        trace, integration="kubernetes", kind="push", window="15m", version="0.1.0",
        target=trace.target, source="run.json",
    )
    assert parts[0] == "stsdebug 0.1.0"
    assert parts[1] == "kubernetes (push)"
    assert parts[2] == "window 15m to 2026-11-21 08:33 UTC"
    assert parts[3] == "kafka 127.0.0.1:9092 · es http://127.0.0.1:9200"
    assert "<redacted>" not in " ".join(parts)  # the api key is not a target endpoint
    assert parts[4] == "loaded run.json (read-only)"
    assert display.target_text({"profile": "sandbox"}) == "profile sandbox"
    assert display.target_text({}) == "no target"


# --- evidence filter -------------------------------------------------------------------


def test_filter_tables_logs_and_figures_case_insensitively() -> None:
    table = Table("t", ["a", "b"], [["system.", 1], ["Docker.", 2], [None, "docker-x"]])
    got = evidence_filter.apply(table, "DOCKER")
    assert got.evidence.rows == [["Docker.", 2], [None, "docker-x"]]  # type: ignore[union-attr]
    assert (got.shown, got.total) == (2, 3)
    assert table.rows[0] == ["system.", 1]  # the original is untouched
    log = LogSample("l", "f", [LogLine(1, "ERROR x"), LogLine(2, "INFO y")])
    assert [ln.n for ln in evidence_filter.apply(log, "error").evidence.lines] == [1]  # type: ignore[union-attr]
    figs = Figures("f", [Figure("lag", 5), Figure("age", 3, "s")])
    assert evidence_filter.apply(figs, "lag").shown == 1
    assert evidence_filter.apply(Text("t", "x"), "zzz").shown is None
    assert evidence_filter.apply(table, "  ").shown is None


# --- log highlight ----------------------------------------------------------------------


def test_log_line_highlights_exactly_the_match() -> None:
    text = log_line(LogLine(3, "before MATCH after", (7, 12)))
    assert text.plain == "before MATCH after"
    spans = [(s.start, s.end, str(s.style)) for s in text.spans]
    assert spans == [(7, 12, MATCH_STYLE)]
    # Offsets past the end are clamped, never an exception.
    assert log_line(LogLine(1, "short", (3, 99))).plain == "short"


# --- files -------------------------------------------------------------------------------


def test_default_name_is_stable_for_a_trace() -> None:
    trace = factories.kafka_fail()
    assert files.default_name(trace, "json") == "stsdebug-kubernetes-20261121-083320.json"
    trace.integration = "../../etc/x y"
    assert "/" not in files.default_name(trace, "html")


def test_write_atomic_refuses_the_loaded_file_and_directories(tmp_path: Path) -> None:
    loaded = tmp_path / "run.json"
    loaded.write_text("original")
    with pytest.raises(UsageError, match="refusing to overwrite"):
        files.write_atomic(loaded, "new", [loaded])
    assert loaded.read_text() == "original"
    with pytest.raises(UsageError, match="is a directory"):
        files.write_atomic(tmp_path, "x")
    with pytest.raises(UsageError, match="cannot write"):
        files.write_atomic(tmp_path / "missing-dir" / "x.json", "x")
    out = files.write_atomic(tmp_path / "out.json", "data")
    assert out.read_text() == "data" and not list(tmp_path.glob(".*stsdebug-tmp"))


def test_saved_files_are_the_outputs_of_check_and_report() -> None:
    # The TUI saves and exports through the same output layer as the command line.
    from stsdebug.render import output

    trace = factories.kafka_fail()
    assert files.as_json(trace) == output.render(trace, output.Format.json) == trace.to_json() + "\n"
    assert files.as_html(trace) == output.html(trace)
