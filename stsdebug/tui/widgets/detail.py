"""The detail pane: the selected stage's summary, evidence, log samples and hints.

Everything shown comes from a trace and may contain attacker-controlled text
(metric names, log lines), so it is put on screen as plain content: never parsed
as markup, with control and bidi characters made visible.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table as RichTable
from rich.text import Text as RichText
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import DataTable, Static

from stsdebug.model import Figures, LogLine, LogSample, Table, Text, Timeline
from stsdebug.tui import evidence_filter
from stsdebug.tui.display import (
    CANCELLED,
    PENDING,
    RUNNING,
    WORDS,
    elapsed,
    one_line,
    printable,
)
from stsdebug.tui.run_state import StageView

MATCH_STYLE = "bold reverse"  # reverse video shows the match even without colour


def _cell(value: object) -> RichText:
    return RichText(one_line(value), no_wrap=True, end="")


def log_text(sample: LogSample) -> RichTable:
    """Numbered lines with the matching part highlighted; wrapped lines stay indented."""
    grid = RichTable.grid(padding=(0, 1))
    grid.add_column(justify="right", style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for line in sample.lines:
        grid.add_row(RichText(f"{line.n} │"), log_line(line))
    return grid


def log_line(line: LogLine) -> RichText:
    text = line.text
    out = RichText(end="")
    if line.match:
        start, end = line.match
        start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
        out.append(printable(text[:start]))
        out.append(printable(text[start:end]), style=MATCH_STYLE)
        out.append(printable(text[end:]))
    else:
        out.append(printable(text))
    return out


def figures_table(fig: Figures) -> RichTable:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    for item in fig.items:
        value = one_line(item.value) + (f" {one_line(item.unit)}" if item.unit else "")
        grid.add_row(RichText(one_line(item.label)), RichText(value))
    return grid


def data_table(columns: list[str], rows: Sequence[Sequence[object]]) -> DataTable[RichText]:
    table: DataTable[RichText] = DataTable(
        classes="evidence-table", zebra_stripes=True, cursor_type="row", show_cursor=False
    )
    table.add_columns(*[_cell(c) for c in columns])
    for row in rows:
        cells = [_cell(v) for v in row]
        cells += [_cell("")] * (len(columns) - len(cells))
        table.add_row(*cells[: len(columns)] if columns else cells)
    return table


class DetailPane(VerticalScroll):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._key: tuple[object, ...] | None = None

    def show(self, view: StageView | None, query: str, marks: dict[str, str]) -> None:
        """Rebuild the pane when the stage, its result or the filter changed."""
        key = (
            id(view),
            view.status if view else None,
            id(view.result) if view else None,
            query,
        )
        if key == self._key:
            return
        self._key = key
        self.remove_children()
        self.scroll_home(animate=False)
        self.mount_all(self._widgets(view, query, marks))

    def _widgets(self, view: StageView | None, query: str, marks: dict[str, str]) -> list[Widget]:
        if view is None:
            return [Static(Content("No stage selected."), classes="summary")]
        status = view.status
        result = view.result
        meta = [view.id]
        if result is not None:
            meta.append(elapsed(result.duration_ms))
        title = Static(
            Content.assemble(
                (f" {marks.get(status, '?')} {WORDS.get(status, status)} ", "bold"),
                "  ",
                (one_line(view.title), "bold"),
                (f"  ({' · '.join(meta)})", "dim"),
            ),
            classes=f"detail-title -{status}",
        )
        out: list[Widget] = [title]
        if result is None:
            waiting = {
                PENDING: "Waiting for the stages before it.",
                RUNNING: "Running…",
                CANCELLED: "Cancelled before it finished.",
            }
            out.append(Static(Content(waiting.get(status, "")), classes="summary"))
            return out
        out.append(Static(Content(printable(result.summary)), classes="summary"))
        if result.next_step:
            out.append(Static(Content.assemble(("Next step ", "bold"), Content(printable(result.next_step))),
                              classes="next"))
        if status == CANCELLED:
            out.append(
                Static(Content("The run was cancelled; this stage was not checked."), classes="note")
            )
        for ev in result.evidence:
            out.extend(self._evidence(ev, query))
        if result.hints:
            out.append(Static(Content("What to do"), classes="section"))
            for hint in result.hints:
                parts: list[Content | tuple[str, str] | str] = ["→ ", Content(printable(hint.text))]
                if hint.runbook:
                    parts.append((f"\n  runbook: {one_line(hint.runbook)}", "dim italic"))
                out.append(Static(Content.assemble(*parts), classes="hint"))
        return out

    def _evidence(self, ev: object, query: str) -> list[Widget]:
        filtered = evidence_filter.apply(ev, query)  # type: ignore[arg-type]
        shown = filtered.evidence
        heading = one_line(getattr(ev, "title", ""))
        if filtered.shown is not None:
            heading += f"  (filter {query.strip()!r}: {filtered.shown} of {filtered.total})"
        out: list[Widget] = [Static(Content(heading), classes="section")]
        if isinstance(shown, Table):
            if shown.rows or not query:
                out.append(data_table(shown.columns, shown.rows))
            if shown.note:
                out.append(Static(Content(printable(shown.note)), classes="note"))
        elif isinstance(shown, LogSample):
            source = f"from {one_line(shown.source)}"
            if shown.total_matches and shown.total_matches > len(ev.lines):  # type: ignore[attr-defined]
                source += f" · {shown.total_matches} matching lines, {len(ev.lines)} shown"  # type: ignore[attr-defined]
            out.append(Static(Content(source), classes="note"))
            if shown.lines:
                out.append(Static(log_text(shown), classes="log"))
        elif isinstance(shown, Figures):
            if shown.items:
                out.append(Static(figures_table(shown), classes="figures"))
        elif isinstance(shown, Timeline):
            out.append(Static(Content(f"probe {one_line(shown.probe_id)}"), classes="note"))
            rows = [
                [h.name, h.status.value, elapsed(h.at_ms) or "—", h.detail] for h in shown.hops
            ]
            if rows or not query:
                out.append(data_table(["hop", "status", "after", "detail"], rows))
        elif isinstance(shown, Text):
            out.append(Static(Content(printable(shown.text)), classes="text"))
        return out

    def focus_first_table(self) -> bool:
        tables = self.query(DataTable)
        if tables:
            tables.first().focus()
            return True
        return False

