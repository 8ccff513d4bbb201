"""The TUI's main screen: the one the trace is shown on."""

from __future__ import annotations

from textual.events import ScreenResume
from textual.screen import Screen


class MainScreen(Screen[None]):
    """The screen of the trace. Its widgets are styled as they mount, moments before it is
    first shown; the restyle of every widget that Textual does when a screen is shown would
    repeat that work before the first frame, so the first showing skips it."""

    _shown_once = False

    def on_screen_resume(self, event: ScreenResume) -> None:
        # Runs before Screen's own handler, which reads the flag.
        if not self._shown_once:
            self._shown_once = True
            event.refresh_styles = False


__all__ = ["MainScreen"]
