"""The `/` evidence filter box."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterBox(Input):
    """The `/` filter; Escape here clears it (instead of cancelling a run)."""

    BINDINGS = [Binding("escape", "clear", "Clear filter", key_display="Esc")]

    class Cleared(Message):
        """The user cleared the filter with Escape."""

    def action_clear(self) -> None:
        self.post_message(self.Cleared())
