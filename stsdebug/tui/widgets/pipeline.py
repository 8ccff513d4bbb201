"""The pipeline strip: scope │ agent → receiver → Kafka → Elasticsearch → streams (or the pull path).

Each stage is a segment with its status mark and a colour class; arrows join the
hops. When the full names do not fit, short ones are used (ES for Elasticsearch).
"""

from __future__ import annotations

from textual.containers import Horizontal
from textual.content import Content
from textual.events import Resize
from textual.widgets import Label

from stsdebug.tui.display import RUNNING, label
from stsdebug.tui.run_state import StageView
from stsdebug.tui.widgets.verdict import STATUS_CLASSES


class Segment(Label):
    """One stage in the strip."""


class Joint(Label):
    """An arrow (or the separator after scope) between two segments."""


class PipelineStrip(Horizontal):
    def __init__(self, *, ascii_only: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ascii_only = ascii_only
        self._ids: list[str] = []
        self._segments: list[Segment] = []
        self._last: tuple[list[StageView], dict[str, str], str | None] | None = None

    def _texts(
        self, stages: list[StageView], marks: dict[str, str], frame: str | None, short: bool
    ) -> list[str]:
        def mark(s: StageView) -> str:
            return frame if frame and s.status == RUNNING else marks.get(s.status, "?")

        return [f" {mark(s)} {label(s.id, short)} " for s in stages]

    def _joints(self, stages: list[StageView]) -> list[str]:
        arrow = " -> " if self.ascii_only else " → "
        sep = " | " if self.ascii_only else " │ "
        return [sep if prev.id == "scope" else arrow for prev in stages[:-1]]

    def show(
        self, stages: list[StageView], marks: dict[str, str], frame: str | None = None
    ) -> None:
        """Show ``stages``; a running one gets the spinner ``frame`` as its mark."""
        self._last = (stages, marks, frame)
        ids = [s.id for s in stages]
        joints = self._joints(stages)
        texts = self._texts(stages, marks, frame, short=False)
        width = self.content_region.width
        if width and sum(map(len, texts)) + sum(map(len, joints)) > width:
            texts = self._texts(stages, marks, frame, short=True)
        if ids != self._ids:
            self._ids = ids
            self.remove_children()
            widgets: list[Label] = []
            self._segments = []
            for i, stage in enumerate(stages):
                if i:
                    widgets.append(Joint(Content(joints[i - 1])))
                segment = Segment(Content(texts[i]), classes=f"-{stage.status}")
                self._segments.append(segment)
                widgets.append(segment)
            self.mount(*widgets)
            return
        for stage, text, segment in zip(stages, texts, self._segments, strict=False):
            segment.update(Content(text))
            if not segment.has_class(f"-{stage.status}"):  # restyling is costly
                segment.remove_class(*STATUS_CLASSES)
                segment.add_class(f"-{stage.status}")

    def on_resize(self, event: Resize) -> None:
        if self._last is not None:
            self.show(*self._last)
