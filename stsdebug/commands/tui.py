"""`stsdebug tui [check options] [--load RUN.json]`: the interactive view of a trace.

The TUI knows a trace only through a runner callable and the TraceResult it returns;
``TraceRunner`` here is the runner that drives ``stsdebug.trace.Trace``.
"""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Optional

import typer

from stsdebug.commands.options import TARGET, CheckOptions, with_check_options
from stsdebug.commands.target import require_input, resolve
from stsdebug.commands.tui_saved import need_terminal, open_saved
from stsdebug.errors import UsageError
from stsdebug.model import TraceResult
from stsdebug.settings import Settings

LoadOpt = Annotated[
    Optional[str],
    typer.Option(
        "--load",
        metavar="FILE",
        rich_help_panel=TARGET,
        help="Open a saved trace (JSON, or an HTML report) read-only instead of running one.",
    ),
]


@dataclass
class TraceRunner:
    """The TUI's runner: ``stsdebug.trace.Trace``, optionally with given stages or sources.

    Called on the TUI's worker thread with the settings, an ``on_event`` callback and a
    cancel event; ``plan`` lets the TUI show every planned stage before it starts.
    """

    stages: Sequence[Any] | None = None
    sources: Mapping[str, Any] | None = None
    now: float | None = None

    def plan(self, settings: Settings) -> list[tuple[str, str]]:
        if self.stages is not None:
            return [(s.id, s.title) for s in self.stages]
        from stsdebug.trace import expected_plan

        return expected_plan(settings)

    def __call__(self, settings: Settings, on_event: Any, cancel: threading.Event) -> TraceResult:
        from stsdebug.trace import Trace

        trace = Trace(settings, stages=self.stages, sources=self.sources, on_event=on_event,
                      cancel=cancel, now=self.now)
        return trace.run()




@with_check_options
def tui(opts: CheckOptions, load: LoadOpt = None) -> None:
    """Open the interactive TUI: run the trace live and browse each stage's evidence.

    Keys: r rerun, i integration, w window, p probe, s save JSON, e export HTML, / filter, Escape cancel, ? help, q quit.
    """
    if load:
        if given := opts.given():
            raise UsageError(f"--load opens a saved trace read-only; it cannot be combined with {given[0]}")
        raise typer.Exit(open_saved(load))
    settings = resolve(opts)
    require_input(settings, "tui")
    need_terminal()
    from stsdebug.tui.app import run_tui

    raise typer.Exit(run_tui(settings, None, runner=TraceRunner()))


def register(app: typer.Typer) -> None:
    app.command()(tui)
