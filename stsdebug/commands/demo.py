"""`stsdebug demo`: sandbox up with a fault, trace it, show the result, offer to tear down."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

DEFAULT_FAULT = "kafka-down"


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def register(app: typer.Typer, with_check_options: Callable[..., Any]) -> None:
    @app.command()
    def demo(
        fault: Annotated[str, typer.Option("--fault", help="The fault to inject (see `stsdebug sandbox faults`), or 'none' for a healthy sandbox.")] = DEFAULT_FAULT,
        integration: Annotated[Optional[str], typer.Option("--integration", "-i", help="Integration to trace (default: the one the fault affects).")] = None,
        keep: Annotated[bool, typer.Option("--keep", help="Leave the sandbox running afterwards.")] = False,
        html: Annotated[Optional[str], typer.Option("--html", help="Where to write the HTML report (default: stsdebug-demo-<fault>.html). Not used with the TUI.")] = None,
        no_tui: Annotated[bool, typer.Option("--no-tui", help="Print the text result even on a terminal.")] = False,
    ) -> None:
        """Show stsdebug at work: start the sandbox with a fault and trace it.

        On a terminal the trace runs in the TUI; otherwise the text result is printed and
        an HTML report written. Afterwards the sandbox is torn down: on a terminal you are
        asked first; elsewhere it is, unless --keep.
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
            from stsdebug.cli import _resolve

            settings = _resolve({"profile": "sandbox", "integration": name})
            tui = _tui() if interactive() and not no_tui else None
            if tui is not None:
                tui(settings, None)
            else:
                _text(settings, chosen.name if chosen else None, html, FAULTS)
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


def _tui() -> Callable[..., int] | None:
    try:
        from stsdebug.tui.app import run_tui
    except ImportError:
        return None
    return run_tui


def _text(settings: Any, fault: str | None, html: str | None, catalog: dict[str, Any]) -> None:
    from stsdebug.render import text
    from stsdebug.trace import Trace

    trace = Trace(settings).run()
    sys.stdout.write(text.render(trace))
    if fault:
        expected = catalog[fault].expected_stage
        got = trace.verdict.stage
        if got == expected:
            sys.stdout.write(f"\nstsdebug named {got}: the stage the fault {fault} breaks.\n")
        else:
            sys.stdout.write(f"\nThe fault {fault} breaks {expected}; stsdebug named {got or 'no stage'}.\n")
    try:
        from stsdebug.render import html as html_render
    except ImportError:
        sys.stdout.write("No HTML report: this build of stsdebug has no HTML renderer.\n")
        return
    path = Path(html or f"stsdebug-demo-{fault or 'healthy'}.html")
    try:
        path.write_text(html_render.render(trace), encoding="utf-8")
    except OSError as exc:
        sys.stdout.write(f"No HTML report: cannot write {path} ({exc.strerror}).\n")
        return
    sys.stdout.write(f"HTML report: {path}\n")


def _ask(question: str) -> bool:
    try:
        return typer.confirm(question, default=True)
    except (typer.Abort, EOFError, KeyboardInterrupt):
        return True
