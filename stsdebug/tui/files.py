"""Saving from the TUI: default file names, and the ask-confirm-write flow.

Files are rendered and written through the one output layer (``stsdebug.render.output``),
as `check` and `report` write theirs: atomically, and never over the trace that was loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from textual.app import App

from stsdebug.errors import StsdebugError
from stsdebug.model import TraceResult
from stsdebug.render import output
from stsdebug.tui.screens import ConfirmScreen, PromptScreen

LOADED = "the trace that was loaded"


def default_name(trace: TraceResult, ext: str) -> str:
    """stsdebug-<integration>-<UTC start>.<ext>: stable for one trace, distinct across runs."""
    stamp = datetime.fromtimestamp(trace.started_at, tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", trace.integration) or "trace"
    return f"stsdebug-{name}-{stamp}.{ext}"


def as_json(trace: TraceResult) -> str:
    return output.render(trace, output.Format.json)


def as_html(trace: TraceResult) -> str:
    return output.html(trace)


def write_atomic(path: str | Path, text: str, protected: Iterable[Path] = ()) -> Path:
    """Write ``text`` to ``path`` via a temporary file; never over one of ``protected``."""
    return output.write(path, text, protected, protected_is=LOADED)


def save(app: App[Any], title: str, default: str, text: str, *, cwd: Path, protected: list[Path]) -> None:
    """Ask for a file name (relative to ``cwd``), confirm an overwrite, write, and say so."""

    def write(path: Path) -> None:
        try:
            written = write_atomic(path, text, protected)
        except StsdebugError as exc:
            app.notify(str(exc), title="Not written", severity="error", markup=False)
            return
        app.notify(f"Wrote {written}", markup=False)

    def chosen(value: str | None) -> None:
        if not value:
            return
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if path.exists() and not path.is_dir():

            def overwrite(yes: bool | None) -> None:
                if yes:
                    write(path)

            app.push_screen(ConfirmScreen("File exists", f"{path} exists. Overwrite it?", "Overwrite"), overwrite)
            return
        write(path)

    app.push_screen(PromptScreen(title, default, f"File name (relative to {cwd}). Enter writes."), chosen)
