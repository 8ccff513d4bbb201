"""`stsdebug tui [check options] [--load RUN.json]`: the interactive view of a trace."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from stsdebug.errors import UsageError


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def register(app: typer.Typer, with_check_options: Callable[..., Any]) -> None:
    @app.command()
    @with_check_options
    def tui(
        flags: dict[str, Any],
        load: Annotated[
            Optional[str],
            typer.Option(
                "--load",
                help="Open a saved trace (JSON, or an HTML report) read-only instead of running one.",
            ),
        ] = None,
    ) -> None:
        """Open the interactive TUI: run the trace live and browse each stage's evidence.

        Keys: r rerun, i integration, w window, p probe, s save JSON, e export HTML,
        / filter, Escape cancel, ? help, q quit.
        """
        if load:
            given = [k for k, v in flags.items() if v not in (None, [], ())]
            if given:
                flag = "--" + given[0].replace("_", "-")
                raise UsageError(f"--load opens a saved trace read-only; it cannot be combined with {flag}")
            from stsdebug.model import TraceResult

            path = Path(load)
            trace = TraceResult.load(path)  # UsageError (exit 2) for anything not a trace
            _need_terminal()
            from stsdebug.tui.app import run_tui

            raise typer.Exit(run_tui(None, trace, loaded_from=path))
        from stsdebug.cli import NEEDS_INPUT, _resolve

        settings = _resolve(flags)
        if not settings.has_any_input():
            sys.stderr.write(NEEDS_INPUT.replace("stsdebug check", "stsdebug tui", 1) + "\n")
            raise typer.Exit(2)
        _need_terminal()
        from stsdebug.tui.app import run_tui

        raise typer.Exit(run_tui(settings, None))


def _need_terminal() -> None:
    if not interactive():
        raise UsageError(
            "stsdebug tui needs an interactive terminal; use `stsdebug check` for scripts and pipes"
        )
