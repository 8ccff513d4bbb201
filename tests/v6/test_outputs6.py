"""Every output shows the StackState 6 pipeline with its own stage names and picture, read
from the trace (fixtures/traces/v6_*.json are traces of the StackState 6 sandbox), and the
TUI's strip follows the plan the trace decides."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from stsdebug import bundle
from stsdebug.model import StageResult, Status, TraceResult
from stsdebug.render import html, junit, text
from stsdebug.settings import Settings
from stsdebug.trace import PlanDecided, StageFinished, StageStarted
from stsdebug.tui.app import StsdebugApp
from stsdebug.tui.run_state import RunView
from stsdebug.tui.widgets.pipeline import Segment
from tests.tui.fakes import drive

TRACES = Path(__file__).parents[2] / "fixtures" / "traces"
PATH6 = "StackState Agent → StackState receiver → vmagent → VictoriaMetrics → Metric bindings"


def v6(name: str = "v6_vm_unreachable") -> TraceResult:
    return TraceResult.load(TRACES / f"{name}.json")


def with_outside(trace: TraceResult) -> TraceResult:
    """The trace as if --kafka had been given too: a skipped stage outside the plan."""
    trace.stages.append(StageResult("kafka", "Kafka topic", Status.SKIP, "Not part of the target's metrics path"))
    return trace


def test_text_names_the_version_and_the_path() -> None:
    out = text.render(v6(), width=200)
    assert f"StackState 6 (SUSE Observability): {PATH6}" in out
    assert re.search(r"✘ FAIL\s+vmagent\s+vmagent cannot deliver to VictoriaMetrics", out)
    old = text.render(TraceResult.load(TRACES / "kafka_fail.json"), width=200)
    assert "StackState 5: StackState Agent → StackState receiver → Kafka topic" in old


def test_junit_carries_the_version_and_one_case_per_stage() -> None:
    xml = junit.render(v6())
    assert '<property name="sts_version" value="StackState 6 (SUSE Observability)" />' in xml
    assert xml.count("<testcase ") == 6 and 'name="victoriametrics: VictoriaMetrics"' in xml


def test_html_draws_the_v6_pipeline_and_lists_what_is_off_it() -> None:
    page = html.render(with_outside(v6()))
    assert f"StackState 6 (SUSE Observability): {PATH6}, checked in this order" in page
    assert "--victoria-metrics was given: a StackState 6 endpoint." not in page  # given by the profile
    assert "StackState 6 was given" in page
    nodes = re.findall(r'<a href="#stage-([a-z]+)" class="node', page)
    assert nodes[:6] == ["scope", "agent", "receiver", "vmagent", "victoriametrics", "bindings"]
    assert "kafka" not in nodes  # outside the path: not in the picture ...
    assert 'Given but not on this path, so not judged: <a href="#stage-kafka">Kafka topic</a>' in page  # ... named
    embedded = re.search(r'id="stsdebug-trace">(.*?)</script>', page, re.S)
    assert embedded and json.loads(embedded.group(1).replace("\\u005c", "\\\\"))["sts_version"] == "6"


def test_the_tui_strip_and_header_show_the_v6_stages() -> None:
    trace = v6("v6_binding_wrong_label")
    app = StsdebugApp(None, trace, loaded_from=TRACES / "v6_binding_wrong_label.json")

    async def scenario(pilot: Any) -> None:
        labels = [s.content.plain.strip()[2:] for s in app.query(Segment)]
        assert labels == ["scope", "agent", "receiver", "vmagent", "VictoriaMetrics", "bindings"]
        assert "mysql (push, StackState 6)" in app.query_one("#header").content.plain  # type: ignore[attr-defined]
        await pilot.press("q")

    drive(app, scenario, size=(160, 40))


def test_the_strip_follows_the_plan_the_trace_decides() -> None:
    view = RunView()
    view.start([("scope", "Scale"), ("agent", "Agent"), ("receiver", "Receiver"), ("kafka", "Kafka"),
                ("elasticsearch", "ES"), ("streams", "Streams")], "system")
    view.replan([("scope", "Scale"), ("agent", "Agent"), ("receiver", "Receiver"), ("vmagent", "vmagent"),
                 ("victoriametrics", "VictoriaMetrics"), ("bindings", "Metric bindings")])
    assert [r.id for r in view.stages] == ["scope", "agent", "receiver", "vmagent", "victoriametrics", "bindings"]


def test_the_live_tui_replans_from_the_trace() -> None:
    """A runner that guessed StackState 5 but whose trace decided 6 (the API answered)."""
    from tests.tui.fakes import settings as tui_settings

    trace = v6("v6_binding_wrong_label")

    class Runner:
        def plan(self, s: Settings) -> list[tuple[str, str]]:
            return [("scope", "Scale of impact"), ("kafka", "Kafka topic"), ("elasticsearch", "Elasticsearch")]

        def __call__(self, s: Settings, on_event: Any, cancel: Any) -> TraceResult:
            on_event(PlanDecided("6", "asked", tuple((st.id, st.title) for st in trace.stages)))
            for i, st in enumerate(trace.stages):
                on_event(StageStarted(i, st.id, st.title))
                on_event(StageFinished(i, st))
            return trace

    app = StsdebugApp(tui_settings(), None, runner=Runner())

    async def scenario(pilot: Any) -> None:
        for _ in range(50):
            await pilot.pause()
            if app.view.trace is not None:
                break
        assert [r.id for r in app.view.stages] == [st.id for st in trace.stages]
        await pilot.press("q")

    drive(app, scenario, size=(160, 40))


def test_the_bundle_copies_the_bindings_file(tmp_path: Path) -> None:
    f = tmp_path / "bindings.sty"
    f.write_text("nodes:\n- _type: MetricBinding\n  name: x\n  queries:\n  - expression: up\n")
    made = bundle.build(v6(), Settings(bindings_file=str(f)))
    path = bundle.write(made, tmp_path / "b.zip")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        copied = [n for n in names if n.endswith("bindings.sty")]
        assert copied and "expression: up" in z.read(copied[0]).decode()
        assert json.loads(z.read("trace.json"))["plan"][-1] == "bindings"
