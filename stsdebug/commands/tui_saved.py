"""`stsdebug tui --load FILE`: open a saved trace read-only. Free of typer, so that
``stsdebug.cli.quick`` can serve this command line without building the whole command
line first (the TUI's first frame waits for every import before it)."""

import sys
from pathlib import Path

from stsdebug.errors import UsageError
from stsdebug.model import TraceResult


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def need_terminal() -> None:
    if not interactive():
        raise UsageError(
            "stsdebug tui needs an interactive terminal; use `stsdebug check` for scripts and pipes"
        )


def open_saved(load: str) -> int:
    """Show the trace saved in ``load``; the TUI's exit code."""
    path = Path(load)
    trace = TraceResult.load(path)  # UsageError (exit 2) for anything not a trace
    need_terminal()
    from stsdebug.tui.app import run_tui

    return run_tui(None, trace, loaded_from=path)


__all__ = ["interactive", "need_terminal", "open_saved"]
