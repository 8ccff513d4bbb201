"""Command palette entries (Ctrl+P) for every key of the TUI."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, action, help): one entry per key binding.
COMMANDS: list[tuple[str, str, str]] = [
    ("Rerun the trace", "rerun", "r: run the trace again"),
    ("Pick another integration", "integration", "i: choose from the catalog and run"),
    ("Change the window", "window", "w: how far back to look"),
    ("Watch: run again and again", "watch", "W: a run every 30 s, changes marked; W again stops"),
    ("Run the probe", "probe", "p: send one marked metric (asks first; writes!)"),
    ("Save the JSON trace", "save", "s: write the trace as JSON"),
    ("Export the HTML report", "export", "e: write a self-contained HTML report"),
    ("Filter the evidence", "filter", "/: keep only rows and lines containing a text"),
    ("Cancel the run", "cancel", "Escape: stop the run in progress"),
    ("Show the keys", "help", "?: keys and status marks"),
    ("Quit stsdebug", "quit", "q: leave the TUI"),
]


class StsdebugCommands(Provider):
    async def _run(self, action: str) -> None:
        await self.app.run_action(action)

    async def discover(self) -> Hits:
        for title, action, help_text in COMMANDS:
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in COMMANDS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=help_text)
