"""The stage list: one row per stage with its mark, status word, title and elapsed time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, ListItem, ListView

from stsdebug.tui.display import RUNNING, WORDS, elapsed, one_line
from stsdebug.tui.run_state import StageView
from stsdebug.tui.widgets.verdict import STATUS_CLASSES

if TYPE_CHECKING:  # tracediff itself is needed only by watch mode
    from stsdebug.tracediff import StageChange

CHANGE_CLASSES = ("-changed-worse", "-changed-better", "-changed-changed", "-changed-unchecked",
                  "-changed-added", "-changed-removed")


class StageRow(ListItem):
    def __init__(self, stage_id: str) -> None:
        super().__init__(classes="stage-row")
        self.stage_id = stage_id
        self.mark = Label(classes="mark")
        self.word = Label(classes="word")
        self.title_label = Label(classes="title")
        self.elapsed = Label(classes="elapsed")
        # Shown on wide terminals only (see app.tcss): the stage's one-sentence summary.
        self.summary = Label(classes="summary-line")
        self._status = ""
        self._change = ""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row-line"):
            yield self.mark
            yield self.word
            yield self.title_label
            yield self.elapsed
        yield self.summary

    def show(
        self, view: StageView, mark: str, elapsed_ms: float | None, change: StageChange | None = None
    ) -> None:
        status = view.status
        if status != self._status:  # restyling is costly: only when it changed
            self._status = status
            self.remove_class(*STATUS_CLASSES)
            self.add_class(f"-{status}")
        moved = change.change if change is not None else ""
        if moved != self._change:
            self._change = moved
            self.remove_class(*CHANGE_CLASSES)
            if moved:
                self.add_class(f"-changed-{moved}")
        self.mark.update(Content(mark))
        self.word.update(Content(WORDS.get(status, status)))
        self.title_label.update(Content(one_line(view.title)))
        if change is not None and change.before is not None:
            # Watch mode: what it was in the run before, in place of the time it took.
            self.elapsed.update(Content(f"was {WORDS.get(change.before.value, change.before.value)}"))
        else:
            self.elapsed.update(Content(elapsed(elapsed_ms)))
        self.summary.update(Content(one_line(view.result.summary) if view.result else ""))


class StageList(ListView):
    """Rows follow the run's stages; the highlighted row picks what the detail pane shows."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._rows: list[StageRow] = []

    @property
    def ids(self) -> list[str]:
        return [r.stage_id for r in self._rows]

    def show(
        self,
        stages: list[StageView],
        marks: dict[str, str],
        frame: str,
        now: float,
        select: str | None = None,
        changes: Mapping[str, StageChange] | None = None,
    ) -> None:
        """Update the rows (rebuilding them when the stages changed); ``frame`` is the spinner mark."""
        ids = [s.id for s in stages]
        if ids != self.ids:
            self.clear()
            self._rows = [StageRow(sid) for sid in ids]
            self.extend(self._rows)
            index = ids.index(select) if select in ids else 0
            self.index = index if ids else None
        changes = changes or {}
        for row, view in zip(self._rows, stages, strict=False):
            mark = frame if view.status == RUNNING else marks.get(view.status, "?")
            row.show(view, mark, view.elapsed_ms(now), changes.get(view.id))

    def select(self, stage_id: str) -> None:
        if stage_id in self.ids:
            self.index = self.ids.index(stage_id)

    @property
    def selected_id(self) -> str | None:
        if self.index is None or not 0 <= self.index < len(self._rows):
            return None
        return self._rows[self.index].stage_id
