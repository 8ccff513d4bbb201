"""The one-line header: version, integration, window, target and where the trace came from."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class TraceHeader(Static):
    def show(self, parts: list[str], ascii_only: bool = False) -> None:
        sep = " | " if ascii_only else " │ "
        pieces: list[Content | tuple[str, str] | str] = []
        for i, part in enumerate(parts):
            if i:
                pieces.append((sep, "dim"))
            # The first segment (tool and version) stands out; the rest is plain.
            pieces.append((part, "bold") if i == 0 else Content(part))
        self.update(Content.assemble(*pieces))
