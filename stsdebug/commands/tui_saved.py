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
    from stsdebug.tui.startup import pause_gc, resume_gc

    pause_gc()  # until the first frame (see stsdebug.tui.startup)
    try:
        from stsdebug.redact import redact_trace

        path = Path(load)
        # UsageError (exit 2) for anything not a trace; redacted again, as `report` does, since a
        # hand-edited trace may hold anything (and the TUI can save it).
        trace = redact_trace(TraceResult.load(path), where="tui")
        need_terminal()
        from stsdebug.tui.app import run_tui

        return run_tui(None, trace, loaded_from=path)
    finally:
        resume_gc()  # the app has already, unless it never drew


__all__ = ["interactive", "need_terminal", "open_saved"]
