"""The verdict banner: where the data stops, as a word, a mark and a sentence."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from stsdebug.tui.display import printable
from stsdebug.tui.run_state import Banner

STATUS_CLASSES = (
    "-pass",
    "-warn",
    "-fail",
    "-error",
    "-skip",
    "-blocked",
    "-pending",
    "-running",
    "-cancelled",
)


class VerdictBanner(Static):
    _status = ""

    def show(self, banner: Banner, mark: str) -> None:
        if banner.status != self._status:  # restyling is costly: only when it changed
            self._status = banner.status
            self.remove_class(*STATUS_CLASSES)
            self.add_class(f"-{banner.status}")
        self.update(
            Content.assemble(
                (f"{mark} {banner.word}", "bold"),
                "  ",
                Content(printable(banner.sentence)),
            )
        )


class NextStep(Static):
    """The verdict's next step, under the banner; hidden when there is none."""

    def show(self, step: str | None) -> None:
        self.display = bool(step)
        if step:
            self.update(Content.assemble(("Next step ", "bold"), Content(printable(step))))
