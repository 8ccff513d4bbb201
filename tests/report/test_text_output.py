"""The text output: snapshots at 80 and 120 columns, with and without colour, and the rules
every layout keeps (fits the width, the answer first, blocked stages one line, no escape
codes without colour).

The snapshots are in tests/report/text_snapshots/; after an intended change rewrite them with
``UPDATE_TEXT_SNAPSHOTS=1 pytest tests/report/test_text_output.py``. Traces: the
hand-built fixtures (tests/factories.py) and two recorded from the sandbox
(fixtures/traces/sandbox_*.json, see fixtures/traces/README.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from stsdebug.model import Status, TraceResult
from stsdebug.render import text
from stsdebug.render.output import Format, render
from stsdebug.render.terminal import Terminal
from tests import words

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "traces"
SNAPSHOTS = Path(__file__).resolve().parent / "text_snapshots"
NAMES = ["kafka_fail", "with_error", "all_pass", "with_probe", "sandbox_kafka_down", "sandbox_healthy"]
ESC = re.compile(r"\x1b\[[0-9;]*m")


def load(name: str) -> TraceResult:
    return TraceResult.load(FIXTURES / f"{name}.json")


def snapshot(name: str, body: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_TEXT_SNAPSHOTS") == "1" or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(body, encoding="utf-8")
    assert body == path.read_text(encoding="utf-8"), f"{name} changed (see the module docstring to update it)"


@pytest.mark.parametrize("color", [False, True], ids=["plain", "colour"])
@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", NAMES)
def test_snapshot(name: str, width: int, color: bool) -> None:
    out = text.render(load(name), width=width, color=color)
    snapshot(f"{name}-{width}{'-colour' if color else ''}.txt", out)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", NAMES)
def test_every_line_fits_the_width_and_colour_changes_nothing_but_colour(name: str, width: int) -> None:
    trace = load(name)
    plain = text.render(trace, width=width)
    coloured = text.render(trace, width=width, color=True)
    assert "\x1b" not in plain
    assert ESC.search(coloured)
    assert ESC.sub("", coloured) == plain
    too_long = [line for line in plain.splitlines() if len(line) > width]
    assert not too_long
    assert not [line for line in plain.splitlines() if line != line.rstrip()]  # no trailing blanks


@pytest.mark.parametrize("name", ["kafka_fail", "with_error", "sandbox_kafka_down"])
def test_the_first_screen_holds_every_stage_the_verdict_and_the_next_step(name: str) -> None:
    trace = load(name)
    first = text.render(trace, width=80).splitlines()[:24]
    screen = "\n".join(first)
    for s in trace.stages:
        row = next((line for line in first if re.match(rf"^ \S+ +\S+ +{re.escape(s.id)} ", line)), None)
        assert row is not None, f"{s.id} is not on the first screen"
        assert s.status.word in row
    assert "Verdict:" in screen and trace.verdict.status.word in screen
    assert trace.verdict.next_step
    assert "Next step:" in screen
    assert trace.verdict.next_step.split()[0] in screen


def test_blocked_stages_are_one_line_and_verbose_shows_everything() -> None:
    trace = load("sandbox_kafka_down")
    blocked = [s for s in trace.stages if s.status is Status.BLOCKED]
    assert blocked
    short = text.render(trace, width=120)
    full = text.render(trace, width=120, verbose=True)
    for s in blocked:
        assert f"  {s.title} ({s.id}," not in short  # no detail block
        assert f"  {s.title} ({s.id}," in full
        assert s.hints and s.hints[0].text.split(":")[0] not in short.split("Verdict:")[1]
    for s in trace.stages:
        assert f"  {s.title} ({s.id}," in full
    assert "-v shows every stage's evidence" in short and "-v shows" not in full


def test_the_probe_is_shown_once() -> None:
    trace = load("sandbox_kafka_down")
    timelines = [e for s in trace.stages for e in s.evidence if getattr(e, "kind", "") == "timeline"]
    assert len(timelines) >= 2  # the trace attaches it to every stage it touches
    for verbose in (False, True):
        out = text.render(trace, width=120, verbose=verbose)
        assert out.count(f"· probe {timelines[0].probe_id}") == 1


@pytest.mark.parametrize("name", NAMES)
def test_words_and_units(name: str) -> None:
    assert words.problems(text.render(load(name), width=200, verbose=True)) == []


def test_the_word_checks_catch_what_they_are_for() -> None:
    bad = "1 records in window\nnewest age: None s\nAll 1 stream draw data\nholds e.g. x in the window in the window\nurllib3 said so"
    assert len(words.problems(bad)) >= 5
    assert words.problems("  812 │ Traceback (most recent call last): 1 records") == []  # quoted data


def test_a_missing_figure_reads_unknown_without_its_unit() -> None:
    out = text.render(load("sandbox_kafka_down"), width=120, verbose=True)
    assert "None s" not in out and "— s" not in out and "None" not in out
    assert re.search(r"newest system document age +unknown\n", out)


def test_long_cells_end_with_an_ellipsis_and_short_columns_stay_whole() -> None:
    out = text.render(load("sandbox_kafka_down"), width=80)
    table = out[out.index("Other receiver problems"):]
    rows = table.splitlines()[3:5]
    assert all("…" in r for r in rows)
    assert all(re.search(r" (150|30) ", r) for r in rows)  # the count column is never cut


def test_output_layer_plain_in_a_file_or_pipe_and_colour_only_on_a_terminal(tmp_path: Path) -> None:
    trace = load("kafka_fail")
    piped = render(trace, Format.text, terminal=Terminal.of(None))
    assert "\x1b" not in piped and max(map(len, piped.splitlines())) <= 100

    class Tty:
        def isatty(self) -> bool:
            return True

        def fileno(self) -> int:
            raise OSError("not a real terminal")

    on_tty = Terminal.of(Tty(), {"TERM": "xterm-256color", "COLUMNS": "80"})  # type: ignore[arg-type]
    assert on_tty.color and on_tty.width == 80
    assert ESC.search(render(trace, Format.text, terminal=on_tty))
    no_color = Terminal.of(Tty(), {"TERM": "xterm", "NO_COLOR": "1", "COLUMNS": "80"})  # type: ignore[arg-type]
    assert not no_color.color
    assert "\x1b" not in render(trace, Format.text, terminal=no_color)
    assert not Terminal.of(Tty(), {"TERM": "dumb"}).color  # type: ignore[arg-type]
    assert Terminal.of(Tty(), {"TERM": "linux"}).ascii  # type: ignore[arg-type]
