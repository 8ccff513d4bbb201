"""Saved traces that cannot crash a renderer (issue 15, item 7).

``report`` and ``tui --load`` read files anyone may have edited. Anything that is not a
trace with the model's types and sane ranges is exit 2 with one line; anything accepted
renders in every format (text, JSON, JUnit, HTML) and in the TUI. A property test mutates
real traces field by field to hold that, and a hand-edited secret is redacted on the way out.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.model import TraceFormatError, TraceResult
from stsdebug.redact import redact_trace
from stsdebug.render import output
from stsdebug.tui.app import StsdebugApp, run_tui
from tests.tui.fakes import drive

runner = CliRunner()
TRACES = Path(__file__).resolve().parents[2] / "fixtures" / "traces"
BASES = {p.name: json.loads(p.read_text()) for p in sorted(TRACES.glob("*.json"))}
BASE = BASES["with_probe.json"]


def edited(path: tuple[Any, ...], value: Any, base: dict[str, Any] = BASE) -> dict[str, Any]:
    data = copy.deepcopy(base)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


CASES = {
    "started_at 1e300": (edited(("started_at",), 1e300), "started_at: 1e+300 is not a time"),
    "started_at NaN": (edited(("started_at",), math.nan), "started_at: nan is not a time"),
    "started_at negative": (edited(("started_at",), -1), "started_at: -1 is not a time"),
    "window end infinite": (edited(("window", "end"), math.inf), "window.end: inf is not a time"),
    "negative duration": (edited(("stages", 0, "duration_ms"), -5), "stages[0].duration_ms: -5 is not a duration"),
    "summary a list": (edited(("stages", 1, "summary"), ["a"]), "stages[1].summary: ['a'] is not a string"),
    "status unknown": (edited(("stages", 0, "status"), "great"), "stages[0].status: 'great' is not a status"),
    "evidence not an object": (edited(("stages", 0, "evidence"), [1]), "stages[0].evidence[0]: 1 is not an object"),
    "figure value an object": (
        edited(("stages", 0, "evidence"), [{"kind": "figures", "title": "t", "items": [{"label": "x", "value": {}}]}]),
        "stages[0].evidence[0].items[0].value: {} is not a string, a finite number",
    ),
    "log match backwards": (
        edited(("stages", 0, "evidence"), [{"kind": "log", "title": "t", "source": "s",
                                             "lines": [{"n": 1, "text": "abc", "match": [3, 1]}]}]),
        "match: [3, 1] is not a [start, end] range",
    ),
    "line number a bool": (
        edited(("stages", 0, "evidence"), [{"kind": "log", "title": "t", "source": "s",
                                             "lines": [{"n": True, "text": "abc"}]}]),
        "lines[0].n: True is not a count",
    ),
    "hop time negative": (
        edited(("stages", 0, "evidence"), [{"kind": "timeline", "title": "t", "probe_id": "p",
                                             "hops": [{"name": "kafka", "status": "pass", "at_ms": -3}]}]),
        "hops[0].at_ms: -3 is not a time in milliseconds",
    ),
    "table cell nested": (
        edited(("stages", 0, "evidence"), [{"kind": "table", "title": "t", "columns": ["a"], "rows": [[[1]]]}]),
        "rows[0][0]: [1] is not a string",
    ),
    "verdict missing": ({k: v for k, v in BASE.items() if k != "verdict"}, "missing key 'verdict'"),
    "labels nested": (edited(("labels",), {"fault": {"a": 1}}), "labels.fault"),
    "deep nesting": (edited(("target",), {"x": json.loads("[" * 500 + "]" * 500)}), "nested more than 100"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["report", "tui --load"])
def test_a_trace_with_wrong_types_or_absurd_values_is_exit_2_in_one_line(
    case: str, command: str, tmp_path: Path
) -> None:
    data, says = CASES[case]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))  # NaN and Infinity as Python writes them
    r = runner.invoke(app, [*command.split(), str(path)])
    assert r.exit_code == 2, (r.exit_code, r.output)
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("<html><body>hello</body></html>", "an HTML file without an embedded trace"),
        ('<html><script type="application/json" id="stsdebug-trace">{"schema": 1}</script>',
         "no 'schema'"),
        ('<html><script type="application/json" id="stsdebug-trace">' + "[" * 5000, "nested more than"),
        ("\ufeff", "invalid JSON"),
        ("null", "top level is not a JSON object"),
    ],
    ids=["not a report", "embedded junk", "embedded deep nesting", "a BOM only", "null"],
)
def test_html_or_text_that_is_not_a_report(text: str, says: str, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(text)
    for command in (["report"], ["tui", "--load"]):
        r = runner.invoke(app, [*command, str(path)])
        assert r.exit_code == 2 and says in r.output and len(r.output.strip().splitlines()) == 1, r.output


# --- what is accepted renders everywhere ---------------------------------------------------------


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at] if at else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*at, i))
    return out


ODD_VALUES = [
    1e300, -1e300, math.nan, math.inf, -1, 0, 10**40, 253402300799, 253402300800, True, None, "", "x" * 5000,
    "\x1b]0;owned\x07\u202e", [], {}, [[[]]], {"a": {"b": {}}}, 1.5, "pass", "fail", "error", [0, 10**9],
]


def render_all(trace: TraceResult) -> None:
    for fmt in output.Format:
        assert output.render(trace, fmt)
    assert "<html" in output.html(trace)
    redact_trace(trace)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(BASES)), st.data(), st.sampled_from(ODD_VALUES))
def test_a_mutated_trace_is_refused_or_renders_in_every_format(name: str, data: st.DataObject, value: Any) -> None:
    base = BASES[name]
    path = data.draw(st.sampled_from(_paths(base)))
    mutated = edited(path, copy.deepcopy(value), base)
    try:
        trace = TraceResult.from_json(json.dumps(mutated))
    except TraceFormatError as exc:
        assert "\n" not in str(exc)
        return
    render_all(trace)


def test_extreme_but_valid_values_render_in_the_tui() -> None:
    data = edited(("started_at",), 253402300799.0)
    data["window"] = {"start": 0, "end": 253402300799, "spec": "30d"}
    data["stages"][0]["duration_ms"] = 1e12
    data["stages"][0]["evidence"] = [{"kind": "log", "title": "t", "source": "s",
                                      "lines": [{"n": 10**30, "text": "\x1b[2J" + "a" * 3000, "match": [5, 10**9]}]}]
    trace = TraceResult.from_dict(data)
    render_all(trace)
    app = StsdebugApp(None, trace)

    async def scenario(pilot: Any) -> None:
        for _ in range(len(trace.stages)):
            await pilot.press("down")
            await pilot.pause()
        await pilot.press("q")

    drive(app, scenario, size=(120, 40))
    assert app.return_code == 0


def test_the_tui_never_exits_0_after_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """textual catches a crash, shows it and returns None from run(): the exit code must say so.
    (run() is replaced: a real crash needs a terminal this test does not have.)"""

    def crashed(self: StsdebugApp, *args: Any, **kwargs: Any) -> None:
        self._return_code = 1  # what textual's _handle_exception sets
        return None

    monkeypatch.setattr(StsdebugApp, "run", crashed)
    assert run_tui(None, TraceResult.from_dict(BASE)) == 1


def test_a_hand_edited_secret_is_redacted_on_the_way_out(tmp_path: Path) -> None:
    data = edited(("stages", 0, "summary"),
                  "Sent with api_key=0123456789abcdef0123 and Authorization: Basic dXNlcjpodW50ZXIy")
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    html = tmp_path / "out.html"
    for args in (["report", str(path)], ["report", str(path), "-f", "json"], ["report", str(path), "-f", "junit"],
                 ["report", str(path), "--html", str(html)]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
        written = r.output + (html.read_text() if html.exists() else "")
        assert "0123456789abcdef0123" not in written and "dXNlcjpodW50ZXIy" not in written, args
    manifest = json.loads(runner.invoke(app, ["report", str(path), "-f", "json"]).output)["redactions"]
    assert any(m["where"].startswith("report") for m in manifest)


def test_tui_load_redacts_a_hand_edited_secret_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stsdebug.commands.tui_saved as tui_saved
    import stsdebug.tui.app as tui_app

    data = edited(("stages", 0, "summary"), "Sent with api_key=0123456789abcdef0123")
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    shown: list[TraceResult] = []
    monkeypatch.setattr(tui_saved, "need_terminal", lambda: None)  # CliRunner has no terminal
    monkeypatch.setattr(tui_app, "run_tui", lambda settings, trace, **kw: shown.append(trace) or 0)
    r = runner.invoke(app, ["tui", "--load", str(path)])
    assert r.exit_code == 0, r.output
    assert "0123456789abcdef0123" not in shown[0].to_json()
