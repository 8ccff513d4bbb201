"""Text output, doctor style, laid out by Rich for the width it is given.

The first screen answers the question: one line per stage (cut with an ellipsis, never
wrapped), the verdict and the next step. Then the stage where the data stops, in full
(its evidence and what to do), and the other stages that warn or could not look, one
short block each. Stages ``blocked`` by an earlier failure stay one line: their advice
does not apply. ``verbose`` shows every stage with all its evidence.

Colour only reinforces: every status has its mark and its word. Every data string
(summaries, log lines, cells) passes through ``safe.clean`` before Rich lays it out, so
nothing from a log or a server can drive the terminal, and Rich never reads data as
markup.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table as RichTable
from rich.text import Text as RichText

from stsdebug.model import (
    Evidence,
    Figures,
    Hint,
    LogLine,
    LogSample,
    StageResult,
    Status,
    Table,
    Timeline,
    TraceResult,
)
from stsdebug.render import picture, values
from stsdebug.render.safe import clean
from stsdebug.status_words import STATUS_WORDS
from stsdebug.tracediff import StageChange

MAX_ROWS = 8  # table rows shown without --verbose
MAX_LOG_LINES = 6  # log lines shown without --verbose (first and last)
MAX_ROWS_VERBOSE = 50
INDENT = 2

STYLES: dict[str, str] = {
    "pass": "green",
    "warn": "yellow",
    "fail": "bold red",
    "error": "bold magenta",
    "skip": "dim",
    "blocked": "dim yellow",
}


def _s(value: Any) -> str:
    """Data, safe for a terminal."""
    return clean(value if isinstance(value, str) else str(value))


def mark(status: Status | str, ascii_only: bool = False) -> str:
    words = STATUS_WORDS[status.value if isinstance(status, Status) else status]
    return words.ascii if ascii_only else words.mark


def status_text(status: Status, ascii_only: bool = False) -> RichText:
    """"✘ FAIL" in the status's style (the mark and word carry it without colour)."""
    out = RichText()
    out.append(f"{mark(status, ascii_only)} {status.word}", style=STYLES.get(status.value, ""))
    return out


def console(width: int, color: bool) -> tuple[Console, io.StringIO]:
    """A Rich console writing to a string: ``width`` columns, colour or none at all."""
    buf = io.StringIO()
    con = Console(
        file=buf,
        width=width,
        color_system="standard" if color else None,
        force_terminal=color,
        no_color=not color,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
        legacy_windows=False,
        _environ={},
    )
    return con, buf


def render(
    trace: TraceResult,
    *,
    verbose: bool = False,
    width: int = 100,
    color: bool = False,
    ascii_only: bool = False,
) -> str:
    con, buf = console(width, color)
    for part in parts(trace, verbose=verbose, ascii_only=ascii_only, width=width):
        con.print(part)
    return tidy(buf.getvalue())


# Rich pads table cells to their column's width; those trailing blanks are noise in a pipe.
_TAIL = re.compile(r"(?:[ ]|\x1b\[[0-9;]*m)+$")
_CODE = re.compile(r"\x1b\[[0-9;]*m")


def tidy(text: str) -> str:
    """``text`` without trailing blanks on any line (colour codes among them kept)."""
    lines = []
    for line in text.split("\n"):
        m = _TAIL.search(line)
        if m is not None:
            line = line[: m.start()] + "".join(_CODE.findall(m.group()))
        lines.append(line)
    return "\n".join(lines)


def parts(
    trace: TraceResult,
    *,
    verbose: bool = False,
    ascii_only: bool = False,
    width: int = 100,
    changed: Mapping[str, StageChange] | None = None,
    details: bool = True,
) -> list[RenderableType]:
    """Everything ``render`` prints, in order. Watch mode passes ``changed`` (stages whose
    status changed since the run before, marked in the list) and may leave the details out."""
    out: list[RenderableType] = [
        header(trace), RichText(""), stage_list(trace, ascii_only, changed or {}), RichText("")
    ]
    out += verdict_block(trace, ascii_only)
    probe = probe_block(trace.stages, ascii_only)
    if probe is not None:
        out += [RichText(""), probe]
    if details:
        out += stage_details(trace, verbose=verbose, ascii_only=ascii_only, width=width)
    out += [RichText(""), footer(trace, verbose)]
    return out


# --- the first screen ------------------------------------------------------------------------


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def header(trace: TraceResult) -> RichText:
    end = datetime.fromtimestamp(trace.window.end, tz=timezone.utc)
    start = datetime.fromtimestamp(trace.window.start, tz=timezone.utc)
    same_day = start.date() == end.date()
    span = (
        f"{start:%Y-%m-%d %H:%M:%S}–{end:%H:%M:%S} UTC"
        if same_day
        else f"{_ts(trace.window.start)} – {_ts(trace.window.end)} UTC"
    )
    text = RichText(f"stsdebug {_s(trace.version)}", style="bold")
    text.append(f" · {_s(trace.integration)} ({_s(trace.kind)}) · last {_s(trace.window.spec)}, {span}")
    # Which StackState and which path: 5 and 6 differ, and the stages' titles say it.
    text.append(f"\n{picture.version_label(trace)}: {_s(picture.path_text(trace))}", style="dim")
    return text


def row_summary(stage: StageResult, stages: Sequence[StageResult]) -> str:
    """The one line a stage gets in the list: a blocked stage says only where the data stops."""
    if stage.status is Status.BLOCKED:
        first = next((s for s in stages if s.status is Status.FAIL), None)
        where = f" at {first.title}" if first is not None else " upstream"
        return f"no data, as expected: it already stops{where}"
    return _s(stage.summary).replace("\n", " ")


CHANGE_STYLES = {"worse": "bold red", "better": "green", "unchecked": "yellow"}


def _was(change: StageChange, ascii_only: bool) -> RichText:
    """"was ✔ pass": how a stage read in the run before, styled by the direction it moved."""
    before = change.before
    word = f"was {mark(before, ascii_only)} {before.word}" if before is not None else "new"
    return RichText(word, style=CHANGE_STYLES.get(change.change, ""))


def stage_list(
    trace: TraceResult, ascii_only: bool = False, changed: Mapping[str, StageChange] | None = None
) -> RenderableType:
    changed = changed or {}
    grid = RichTable.grid(padding=(0, 2), pad_edge=False, expand=True)
    # Columns beside a ratio column need their widths spelled out, or Rich squeezes them.
    grid.add_column(no_wrap=True, width=max((len(s.status.word) + 2 for s in trace.stages), default=4))
    grid.add_column(no_wrap=True, width=max((len(_s(s.id)) for s in trace.stages), default=4))
    if changed:
        was = {sid: _was(c, ascii_only) for sid, c in changed.items()}
        grid.add_column(no_wrap=True, width=max(len(t.plain) for t in was.values()))
    grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    for s in trace.stages:
        quiet = s.status in (Status.SKIP, Status.BLOCKED)
        cells: list[RenderableType] = [
            status_text(s.status, ascii_only),
            RichText(_s(s.id), style="dim" if quiet else "bold"),
        ]
        if changed:
            cells.append(was.get(s.id, RichText("")))
        cells.append(RichText(row_summary(s, trace.stages), style="dim" if quiet else "",
                              overflow="ellipsis", no_wrap=True))
        grid.add_row(*cells)
    return Padding(grid, (0, 0, 0, 1))


def verdict_block(trace: TraceResult, ascii_only: bool = False) -> list[RenderableType]:
    v = trace.verdict
    grid = RichTable.grid(padding=(0, 1), pad_edge=False, expand=True)
    grid.add_column(no_wrap=True, justify="right", width=len("Next step:"))
    grid.add_column(ratio=1, overflow="fold")
    grid.add_row(RichText("Verdict:", style="bold"), _verdict_line(v.status, v.sentence, ascii_only))
    if v.next_step:
        grid.add_row(RichText("Next step:", style="bold"), RichText(_s(v.next_step)))
    return [grid]


def _verdict_line(status: Status, sentence: str, ascii_only: bool) -> RichText:
    text = status_text(status, ascii_only)
    text.append("  ")
    text.append(_s(sentence))
    return text


def probe_block(stages: Sequence[StageResult], ascii_only: bool = False) -> RenderableType | None:
    """The probe's hops, once (the trace attaches its timeline to every stage it touches)."""
    timeline = next((e for s in stages for e in s.evidence if isinstance(e, Timeline)), None)
    if timeline is None:
        return None
    ats = [f"+{values.duration_ms(h.at_ms)}" if h.at_ms is not None else "not seen" for h in timeline.hops]
    grid = RichTable.grid(padding=(0, 2), pad_edge=False, expand=True)
    grid.add_column(no_wrap=True, width=max((len(h.status.word) + 2 for h in timeline.hops), default=4))
    grid.add_column(no_wrap=True, width=max((len(_s(h.name)) for h in timeline.hops), default=4))
    grid.add_column(no_wrap=True, justify="right", width=max((len(a) for a in ats), default=4))
    grid.add_column(ratio=1, overflow="fold")
    for h, at in zip(timeline.hops, ats, strict=True):
        grid.add_row(status_text(h.status, ascii_only), RichText(_s(h.name), style="bold"),
                     RichText(at), RichText(_s(h.detail)))
    title = RichText(f"{_s(timeline.title)} · probe {_s(timeline.probe_id)}", style="bold")
    return Group(title, Padding(grid, (0, 0, 0, INDENT)))


def footer(trace: TraceResult, verbose: bool) -> RichText:
    counts = [(st, sum(1 for s in trace.stages if s.status is st)) for st in Status]
    shown = ", ".join(f"{n} {st.value}" for st, n in counts if n)
    took = sum(s.duration_ms for s in trace.stages)
    tip = "" if verbose else " · -v shows every stage's evidence"
    return RichText(
        f"{values.plural(len(trace.stages), 'stage')}: {shown} · {values.duration_ms(took)}{tip}",
        style="dim",
    )


# --- details ---------------------------------------------------------------------------------


def stage_details(
    trace: TraceResult, *, verbose: bool = False, ascii_only: bool = False, width: int = 100
) -> list[RenderableType]:
    out: list[RenderableType] = []
    if verbose:
        for s in trace.stages:
            lead = s.id == trace.verdict.stage
            out += [RichText(""), *stage_block(s, full=True, verbose=True, ascii_only=ascii_only,
                                               width=width, lead=lead)]
        return out
    first = trace.stage(trace.verdict.stage) if trace.verdict.stage else None
    if first is not None:
        out += [RichText(""), *stage_block(first, full=True, ascii_only=ascii_only, width=width, lead=True)]
    others = [s for s in trace.stages if s is not first and s.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    for s in others:
        out += [RichText(""), *stage_block(s, full=False, ascii_only=ascii_only)]
    return out


def stage_block(
    s: StageResult,
    *,
    full: bool,
    verbose: bool = False,
    ascii_only: bool = False,
    width: int = 100,
    lead: bool = False,
) -> list[RenderableType]:
    """A stage's block: ``full`` with its evidence and hints, else its summary and next step.
    ``lead``: the verdict's stage, whose next step the verdict already gave."""
    title = status_text(s.status, ascii_only)
    title.append(f"  {_s(s.title)} ", style="bold")
    title.append(f"({_s(s.id)}, {values.duration_ms(s.duration_ms)}) ", style="dim")
    body: list[RenderableType] = [RichText(_s(s.summary))]
    if full:
        for ev in s.evidence:
            if isinstance(ev, Timeline):
                continue  # shown once, above the details
            body.append(evidence(ev, verbose, width - INDENT))
        body += hints(s.hints)
        if s.next_step and not lead:
            body.append(_labelled("Next step", s.next_step))
    else:
        step = s.next_step or (s.hints[0].text if s.hints else None)
        if step:
            body.append(_labelled("Next step", step))
    return [Rule(title, align="left", style="dim", characters="─"), Padding(Group(*body), (0, 0, 0, INDENT))]


def _labelled(label: str, text: str) -> RichText:
    out = RichText(f"{label}: ", style="bold")
    out.append(_s(text))
    return out


def hints(items: Iterable[Hint]) -> list[RenderableType]:
    out: list[RenderableType] = []
    for h in items:
        grid = RichTable.grid(padding=(0, 1), pad_edge=False, expand=True)
        grid.add_column(no_wrap=True, width=1)
        grid.add_column(ratio=1)
        line = RichText(_s(h.text))
        if h.runbook:
            line.append(f"  [runbook: {_s(h.runbook)}]", style="dim")
        grid.add_row(RichText("→"), line)
        out.append(grid)
    return out


def evidence(ev: Evidence, verbose: bool = False, width: int = 100) -> RenderableType:
    """One evidence item laid out for ``width`` columns (its body is indented by INDENT)."""
    if isinstance(ev, Figures):
        return _figures(ev)
    if isinstance(ev, Table):
        return _table(ev, verbose, width - INDENT)
    if isinstance(ev, LogSample):
        return _log(ev, verbose)
    if isinstance(ev, Timeline):
        body = probe_block([StageResult("", "", Status.PASS, "", evidence=[ev])])
        return body if body is not None else RichText("")
    return Group(RichText(_s(ev.title), style="bold"), Padding(RichText(_s(ev.text)), (0, 0, 0, INDENT)))


def _figures(ev: Figures) -> RenderableType:
    grid = RichTable.grid(padding=(0, 2), pad_edge=False)
    grid.add_column(style="dim", overflow="fold", max_width=40)
    grid.add_column(overflow="fold")
    for f in ev.items:
        grid.add_row(RichText(_s(f.label)), RichText(_s(values.figure(f.value, f.unit))))
    return Group(RichText(_s(ev.title), style="bold"), Padding(grid, (0, 0, 0, INDENT)))


def fit(natural: Sequence[int], available: int) -> list[int]:
    """Column widths that fit ``available``: the widest columns give way first, so short
    columns (counts, statuses) stay whole and long text is cut with an ellipsis."""
    if sum(natural) <= available or not natural:
        return list(natural)
    lo, hi = 1, max(natural)
    while lo < hi:  # the largest cap with sum(min(w, cap)) <= available
        cap = (lo + hi + 1) // 2
        if sum(min(w, cap) for w in natural) <= available:
            lo = cap
        else:
            hi = cap - 1
    return [min(w, lo) for w in natural]


def _table(ev: Table, verbose: bool, width: int = 100) -> RenderableType:
    limit = MAX_ROWS_VERBOSE if verbose else MAX_ROWS
    rows = ev.rows[:limit]
    columns = [_s(c) for c in ev.columns]
    cells = []
    for r in rows:
        row = [_s(values.cell(c)).replace("\n", " ") for c in r[: len(columns)]]
        cells.append(row + [""] * (len(columns) - len(row)))
    natural = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    gaps = 2 * max(0, len(columns) - 1)
    widths = fit(natural, max(len(columns) * 3, width - INDENT - gaps))
    t = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1),
                  header_style="bold", expand=False)
    for i, col in enumerate(columns):
        numeric = any(values.is_number(r[i]) for r in rows if i < len(r)) and all(
            values.is_number(r[i]) or r[i] is None for r in rows if i < len(r)
        )
        t.add_column(col, justify="right" if numeric else "left", width=widths[i],
                     no_wrap=not verbose, overflow="fold" if verbose else "ellipsis")
    for row in cells:
        t.add_row(*row)
    parts: list[RenderableType] = [RichText(_s(ev.title), style="bold"), Padding(t, (0, 0, 0, INDENT))]
    notes = []
    if len(ev.rows) > limit:
        more = len(ev.rows) - limit
        notes.append(f"{values.plural(more, 'more row')} not shown ({'--format json' if verbose else '-v'} shows them).")
    if ev.note:
        notes.append(_s(ev.note))
    if notes:
        parts.append(Padding(RichText(" ".join(notes), style="dim"), (0, 0, 0, INDENT)))
    return Group(*parts)


def _log(ev: LogSample, verbose: bool) -> RenderableType:
    lines = ev.lines
    shown: list[LogLine | None] = list(lines)
    if not verbose and len(lines) > MAX_LOG_LINES:
        half = MAX_LOG_LINES // 2
        shown = [*lines[:half], None, *lines[-half:]]
    head = RichText(_s(ev.title), style="bold")
    more = ""
    if ev.total_matches:
        more = f", {values.plural(ev.total_matches, 'matching line')} in all"
    head.append(f" ({_s(ev.source)}{more})", style="dim")
    grid = RichTable.grid(padding=(0, 1), pad_edge=False, expand=True)
    grid.add_column(no_wrap=True, justify="right", style="dim",
                    width=max((len(f"{ln.n} │") for ln in lines), default=3))
    grid.add_column(ratio=1, no_wrap=not verbose, overflow="fold" if verbose else "ellipsis")
    for ln in shown:
        if ln is None:
            grid.add_row(RichText("…"), RichText(f"{len(lines) - 2 * (MAX_LOG_LINES // 2)} more lines (-v shows them)", style="dim"))
            continue
        grid.add_row(RichText(f"{ln.n} │"), _log_line(ln, verbose))
    return Group(head, Padding(grid, (0, 0, 0, INDENT)))


def _log_line(ln: LogLine, verbose: bool) -> RichText:
    text = ln.text
    out = RichText(no_wrap=not verbose, overflow="fold" if verbose else "ellipsis")
    if ln.match:
        start, end = (max(0, min(int(v), len(text))) for v in ln.match[:2])
        if end > start:
            out.append(_s(text[:start]))
            out.append(_s(text[start:end]), style="bold reverse")
            out.append(_s(text[end:]))
            return out
    out.append(_s(text))
    return out


# --- plain lines (JUnit's failure bodies) ------------------------------------------------------


def evidence_lines(ev: Evidence) -> list[str]:
    """An evidence item as plain lines without layout, for JUnit XML."""
    con, buf = console(100, False)
    con.print(evidence(ev, verbose=True))
    return buf.getvalue().rstrip("\n").split("\n")
