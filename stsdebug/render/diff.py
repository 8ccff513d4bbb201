"""``stsdebug diff`` and watch mode as text: which stages changed, which figures moved, where
the verdict went. The same Rich layout and terminal rules as the trace's text output."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table as RichTable
from rich.text import Text as RichText

from stsdebug.model import Status
from stsdebug.render import values
from stsdebug.render.safe import clean
from stsdebug.render.text import console, status_text, tidy
from stsdebug.tracediff import FigureMove, StageChange, TraceDiff

CHANGE_STYLE = {"better": "green", "worse": "bold red", "unchecked": "yellow", "added": "", "removed": "dim"}
MAX_FIGURES = 12


def render(d: TraceDiff, *, width: int = 100, color: bool = False, ascii_only: bool = False,
           labels: tuple[str, str] = ("before", "after")) -> str:
    con, buf = console(width, color)
    for part in parts(d, ascii_only=ascii_only, labels=labels):
        con.print(part)
    return tidy(buf.getvalue())


def to_json(d: TraceDiff, files: tuple[str, str] | None = None) -> str:
    data = d.to_dict()
    if files:
        data["before"]["file"], data["after"]["file"] = files
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def parts(d: TraceDiff, *, ascii_only: bool = False, labels: tuple[str, str] = ("before", "after"),
          heading: bool = True) -> list[RenderableType]:
    out: list[RenderableType] = []
    if heading:
        head = RichText(f"stsdebug diff · {clean(d.after.integration)} ({clean(d.after.kind)})", style="bold")
        out += [head, _sides(d, ascii_only, labels), RichText("")]
    out.append(RichText(clean(d.sentence), style="bold red" if d.worse else "bold"))
    changed = d.changed
    if changed:
        out += [RichText(""), RichText("Stages that changed", style="bold"), Padding(stage_table(changed, ascii_only), (0, 0, 0, 2))]
    same = len(d.stages) - len(changed)
    if same:
        out.append(RichText(f"  {values.plural(same, 'stage')} unchanged", style="dim"))
    if d.figures:
        out += [RichText(""), RichText("Figures that moved", style="bold"), Padding(figure_table(d.figures), (0, 0, 0, 2))]
        if len(d.figures) > MAX_FIGURES:
            out.append(RichText(f"  {values.plural(len(d.figures) - MAX_FIGURES, 'more figure')} moved "
                                "(--format json lists them all)", style="dim"))
    return out


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _sides(d: TraceDiff, ascii_only: bool, labels: tuple[str, str]) -> RenderableType:
    grid = RichTable.grid(padding=(0, 2), pad_edge=False)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    for label, t in zip(labels, (d.before, d.after), strict=True):
        where = RichText()
        where.append_text(status_text(t.verdict.status, ascii_only))
        stage = t.stage(t.verdict.stage) if t.verdict.stage else None
        if stage is not None:
            where.append(f" at {clean(stage.title)}")
        grid.add_row(RichText(clean(label), style="bold"), RichText(f"{_when(t.started_at)}, last {clean(t.window.spec)}"), where)
    return Padding(grid, (0, 0, 0, 2))


def _status(s: Status | None, ascii_only: bool) -> RichText:
    return status_text(s, ascii_only) if s is not None else RichText("—", style="dim")


def stage_table(changes: list[StageChange], ascii_only: bool = False) -> RichTable:
    grid = RichTable.grid(padding=(0, 2), pad_edge=False)
    for _ in range(5):
        grid.add_column(no_wrap=True)
    for c in changes:
        arrow = RichText("->" if ascii_only else "→", style="dim")
        word = {"unchecked": "no longer checked"}.get(c.change, c.change)
        grid.add_row(RichText(clean(c.id), style="bold"), _status(c.before, ascii_only), arrow,
                     _status(c.after, ascii_only), RichText(word, style=CHANGE_STYLE.get(c.change, "")))
    return grid


def figure_table(moves: list[FigureMove]) -> RichTable:
    grid = RichTable.grid(padding=(0, 2), pad_edge=False)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    for m in moves[:MAX_FIGURES]:
        span = f"{values.figure(m.before, m.unit)} → {values.figure(m.after, m.unit)}"
        grid.add_row(RichText(clean(m.stage), style="bold"), RichText(clean(m.label)), RichText(span), RichText(""),
                     RichText(m.change, style=CHANGE_STYLE.get(m.change, "")))
    return grid
