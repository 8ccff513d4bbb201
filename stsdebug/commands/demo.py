"""`stsdebug demo`: sandbox up with a fault, trace it, show the result, offer to tear down."""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import sys
from typing import Annotated, Any, Optional

import typer

from stsdebug.commands.options import (
    OUTPUT,
    CheckOptions,
    IntegrationOpt,
    TemplateDirOpt,
    TimeoutOpt,
    WindowOpt,
)
from stsdebug.commands.sandbox import fault_names
from stsdebug.commands.target import resolve
from stsdebug.commands.tui import TraceRunner
from stsdebug.commands.tui_saved import interactive
from stsdebug.errors import UsageError
from stsdebug.render import output
from stsdebug.settings import Settings

DEFAULT_FAULT = "kafka-down"

FaultOpt = Annotated[str, typer.Option("--fault", metavar="NAME", autocompletion=fault_names, help="The fault to inject (see `stsdebug sandbox faults`), or 'none' for a healthy sandbox.")]
KeepOpt = Annotated[bool, typer.Option("--keep", help="Leave the sandbox running afterwards.")]
DemoHtmlOpt = Annotated[Optional[str], typer.Option("--html", metavar="FILE", rich_help_panel=OUTPUT, help="Where to write the HTML report (default: stsdebug-demo-FAULT.html). Not used with the TUI.")]
NoTuiOpt = Annotated[bool, typer.Option("--no-tui", rich_help_panel=OUTPUT, help="Print the text result even on a terminal.")]


def demo(
    fault: FaultOpt = DEFAULT_FAULT,
    integration: IntegrationOpt = None,
    window: WindowOpt = None,
    timeout: TimeoutOpt = None,
    keep: KeepOpt = False,
    html: DemoHtmlOpt = None,
    template_dir: TemplateDirOpt = None,
    no_tui: NoTuiOpt = False,
) -> None:
    """Show stsdebug at work: start the sandbox with a fault and trace it.

    The integration traced is the one the fault affects unless --integration says otherwise. On a terminal the trace runs in the TUI; otherwise the text result is printed and an HTML report written.

    Afterwards the sandbox is torn down: on a terminal you are asked first; elsewhere it is, unless --keep.
    """
    from stsdebug.sandbox import control
    from stsdebug.sandbox.faults import FAULTS, find

    chosen = None if fault.strip().lower() == "none" else find(fault)
    name = integration or (chosen.integration if chosen else "system")
    state = control.up([chosen.name] if chosen else [])
    what = f"fault {chosen.name}: {chosen.description}" if chosen else "no fault (healthy)"
    sys.stdout.write(f"Sandbox up in {state.get('ready_s', 0):.1f} s with {what}\n")
    teardown = not keep
    try:
        settings = resolve(CheckOptions(profile="sandbox", integration=name, window=window, timeout=timeout))
        if interactive() and not no_tui:
            from stsdebug.tui.app import run_tui

            run_tui(settings, None, runner=TraceRunner())
        else:
            _text(settings, chosen.name if chosen else None, html, template_dir, FAULTS)
        if not keep and interactive():
            teardown = _ask("Tear the sandbox down now?")
    finally:
        if teardown:
            control.down()
            sys.stdout.write("Sandbox stopped.\n")
        else:
            sys.stdout.write(
                "The sandbox is still up: `stsdebug check --profile sandbox --integration "
                f"{name}` traces it again, `stsdebug sandbox down` stops it.\n"
            )


def _text(
    settings: Settings, fault: str | None, html: str | None, template_dir: str | None, catalog: dict[str, Any]
) -> None:
    from stsdebug.trace import Trace

    trace = Trace(settings).run()
    sys.stdout.write(output.render(trace))
    if fault:
        expected = catalog[fault].expected_stage
        got = trace.verdict.stage
        if got == expected:
            sys.stdout.write(f"\nstsdebug named {got}: the stage the fault {fault} breaks.\n")
        else:
            sys.stdout.write(f"\nThe fault {fault} breaks {expected}; stsdebug named {got or 'no stage'}.\n")
    path = html or f"stsdebug-demo-{fault or 'healthy'}.html"
    try:
        written = output.write(path, output.html(trace, template_dir))
    except UsageError as exc:
        sys.stdout.write(f"No HTML report: {exc}.\n")
        return
    sys.stdout.write(f"HTML report: {written}\n")


def _ask(question: str) -> bool:
    try:
        return typer.confirm(question, default=True)
    except (typer.Abort, EOFError, KeyboardInterrupt):
        return True


def register(app: typer.Typer) -> None:
    app.command()(demo)
