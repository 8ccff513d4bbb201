"""Watch mode's loop and the progress line, with fake runs and a fake terminal."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.commands.progress import CLEAR, Progress, waits_for
from stsdebug.commands.watch import Sinks, Watch, interval_seconds, optional_value
from stsdebug.errors import UsageError
from stsdebug.model import Hop, Status, TraceResult
from stsdebug.render.output import Format
from stsdebug.render.terminal import Terminal
from stsdebug.settings import Settings
from stsdebug.trace import ProbeProgress, StageFinished, StageStarted, TraceFinished
from tests import factories


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Runs:
    """Hands out traces in turn; Ctrl-C once they run out."""

    def __init__(self, *traces: TraceResult) -> None:
        self.traces = list(traces)
        self.active = 0
        self.overlap = False

    def __call__(self, settings: Settings) -> TraceResult:
        if not self.traces:
            raise KeyboardInterrupt
        self.active += 1
        self.overlap = self.overlap or self.active > 1
        try:
            return self.traces.pop(0)
        finally:
            self.active -= 1


def code(t: TraceResult) -> int:
    return {Status.PASS: 0, Status.FAIL: 1, Status.ERROR: 3}.get(t.verdict.status, 0)


def watch(fake: Runs, sinks: Sinks | None = None, **kw: object) -> tuple[Watch, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()
    w = Watch(Settings(integration="kubernetes", es="http://x"), 2.0, fake, code, sinks or Sinks(),
              stdout=out, stderr=err, stop=stop, clock=lambda: 0.0, **kw)  # type: ignore[arg-type]
    w.wait_until = lambda when: None  # type: ignore[method-assign]
    return w, out, err


def test_ctrl_c_exits_with_the_last_finished_runs_code_and_says_so() -> None:
    w, out, err = watch(Runs(factories.kafka_fail(), factories.with_error()))
    assert w.loop() == 3  # with_error's verdict: could not check
    assert "watch stopped after 2 runs; exit 3, the code of the last run" in err.getvalue()
    text = out.getvalue()
    assert text.count("run 1 ·") == 1 and text.count("run 2 ·") == 1
    assert "Since the previous run" in text and "\x1b" not in text  # not a terminal: appended, plain


def test_interrupted_before_any_run_finished_is_130() -> None:
    w, _out, err = watch(Runs())
    assert w.loop() == 130
    assert "after 0 runs" in err.getvalue()


def test_json_lines_one_per_run_with_the_changes_since_the_one_before(tmp_path: Path) -> None:
    html = tmp_path / "latest.html"
    w, out, _ = watch(Runs(factories.kafka_fail(), factories.with_error()),
                      Sinks(fmt=Format.json, html=str(html)))
    w.loop()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["watch"] == {"run": 1, "changes": None}
    assert second["watch"]["run"] == 2 and second["watch"]["changes"]["verdict_move"] == "downstream"
    # --html is rewritten after every run: it holds the latest, with what changed.
    assert TraceResult.load(html).verdict.stage == "kafka" and 'id="diff"' in html.read_text()


def test_changed_stages_are_marked_in_the_list() -> None:
    w, out, _ = watch(Runs(factories.kafka_fail(), factories.with_error()))
    w.loop()
    second = out.getvalue().split("run 2 ·")[1]
    agent = next(line for line in second.splitlines() if " agent " in line)
    assert "was ✘ FAIL" in agent


def test_watch_is_read_only_and_one_run_at_a_time() -> None:
    with pytest.raises(UsageError, match="read-only"):
        Watch(Settings(integration="aws", probe=True), 30, Runs(), code, Sinks())
    with pytest.raises(UsageError, match="junit"):
        Watch(Settings(integration="aws"), 30, Runs(), code, Sinks(fmt=Format.junit))
    runs = Runs(*(factories.kafka_fail() for _ in range(4)))
    w, _, _ = watch(runs, runs=3)
    assert w.loop() == 1 and not runs.overlap and w.count == 3


def test_interval_and_the_optional_value_of_watch() -> None:
    assert interval_seconds("30s") == 30 and interval_seconds("2m") == 120 and interval_seconds("10") == 10
    for bad in ("soon", "1s", "2d", ""):
        with pytest.raises(UsageError):
            interval_seconds(bad)
    assert optional_value(["--watch", "--es", "x"], "--watch", "30s") == ["--watch", "30s", "--es", "x"]
    assert optional_value(["--es", "x", "--watch"], "--watch", "30s") == ["--es", "x", "--watch", "30s"]
    assert optional_value(["--watch", "10s"], "--watch", "30s") == ["--watch", "10s"]
    assert optional_value(["--watch", "soon"], "--watch", "30s") == ["--watch", "soon"]  # refused by name


def test_check_refuses_a_bad_interval_and_watch_with_probe_in_one_line() -> None:
    r = CliRunner().invoke(app, ["check", "-i", "system", "--es", "http://127.0.0.1:1", "--watch", "fast"])
    assert r.exit_code == 2 and "--watch 'fast'" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["check", "-i", "system", "--receiver", "http://127.0.0.1:1", "--probe", "--watch"])
    assert r.exit_code == 2 and "read-only" in r.output


# --- progress ------------------------------------------------------------------------------------


def test_no_progress_at_all_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    with Progress(Settings(integration="aws", es="http://x"), stream, total=4) as p:
        p(StageStarted(0, "scope", "Scale of impact"))
        p(StageFinished(0, factories.all_pass().stages[0]))
        p(TraceFinished(factories.all_pass()))
    assert stream.getvalue() == ""


def test_the_live_line_names_the_stage_its_place_what_it_reads_and_the_probe_countdown() -> None:
    now = [100.0]
    stream = FakeTty()
    s = Settings(integration="system", kafka="127.0.0.1:9092", es="http://es:9200")
    p = Progress(s, stream, terminal=Terminal(width=60, tty=True), total=6, clock=lambda: now[0])
    p(ProbeProgress("p1", "receiver", 10.0, 0.0))
    p(ProbeProgress("p1", "receiver", hop=Hop("receiver", Status.PASS, 124.0, "HTTP 200")))
    p(ProbeProgress("p1", "kafka", 30.0, 0.0))
    now[0] += 12
    assert "probe p1: ✔ receiver +124 ms → waiting at kafka, 18 s left" in p.line()
    p(StageStarted(3, "kafka", "Kafka topic"))
    now[0] += 1.5
    line = p.line()
    assert "Kafka topic (4 of 6) · 1.5 s · reading sts_multi_metrics at 127.0.0.1:9092" in line
    frames = stream.getvalue().split(CLEAR)
    assert all(len(f) <= 59 for f in frames)  # one terminal row: cut with an ellipsis
    assert any(f.endswith("…") for f in frames)
    p.close()
    assert stream.getvalue().endswith(CLEAR)


def test_what_a_stage_waits_for_never_shows_a_secret() -> None:
    s = Settings(integration="system", es="http://user:hunter2@es:9200", api_key="k")
    assert "hunter2" not in waits_for("elasticsearch", s)
    assert waits_for("a-stage-of-another-version", s) == ""


def test_stages_running_side_by_side_are_counted_behind_the_first() -> None:
    now = [0.0]
    p = Progress(Settings(integration="system", es="http://es:9200"), FakeTty(),
                 terminal=Terminal(width=200, tty=True), total=6, clock=lambda: now[0])
    p(StageStarted(3, "kafka", "Kafka topic"))
    p(StageStarted(4, "elasticsearch", "Elasticsearch"))
    now[0] = 2.0
    assert "Kafka topic (4 of 6) (+1 more running) · 2.0 s" in p.line()
    p(StageFinished(3, factories.kafka_fail().stages[3]))
    assert "Elasticsearch (5 of 6) · 2.0 s · asking Elasticsearch at http://es:9200" in p.line()
    assert p.line().startswith("✘ ")  # the finished stage's mark leads the line
    p.close()
