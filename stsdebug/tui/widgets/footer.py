"""The footer: Textual's key footer, drawn with the first frame and rebuilt only when its keys change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

# What one shown key looks like: key, its display, description, action, enabled, tooltip, group.
KeyShown = tuple[str, str, str, str, bool, str, object]


class KeyFooter(Footer):
    """Textual's Footer waits for the first bindings update and then rebuilds its keys after
    every one (focus moves, `refresh_bindings`): each rebuild mounts every key again, and the
    first frame has no keys. This one lists the keys as soon as it is mounted and rebuilds
    only when what it shows changed.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.set_reactive(Footer._bindings_ready, True)
        self._shown: tuple[KeyShown, ...] | None = None

    def _keys(self) -> tuple[KeyShown, ...]:
        app = self.app
        active = self.screen.active_bindings
        shown: list[KeyShown] = [
            (b.key, app.get_key_display(b), b.description, b.action, enabled, tooltip, b.group)
            for (_, b, enabled, tooltip) in active.values()
            if b.show
        ]
        palette = active.get(app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE and palette is not None:
            _, b, enabled, tooltip = palette
            shown.append(("palette", app.get_key_display(b), b.description, b.action, enabled,
                          tooltip or b.tooltip, None))
        return tuple(shown)

    def compose(self) -> ComposeResult:
        self._shown = self._keys()
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self._keys() != self._shown:
            await self.recompose()
