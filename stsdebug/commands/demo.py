"""`stsdebug demo`: a sandbox with one fault, traced, and what stsdebug should find in it.

It says up front which fault is injected, what a support engineer would see in the
field and which stage stsdebug should name; starts the sandbox (a live line while it
starts, never a blank terminal); traces it (in the TUI on a terminal, which opens on the
stage the verdict names, else as text with an HTML report); and ends with whether
stsdebug named the right stage, the fix in a real installation and the next fault to
try. A sandbox the user already started is never replaced silently: on a terminal the
demo asks, elsewhere it refuses unless --replace.
"""

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
from stsdebug.model import TraceResult
from stsdebug.render import output
from stsdebug.settings import Settings

DEFAULT_FAULT = "kafka-down"
DEFAULT_FAULT_6 = "vm-unreachable"  # StackState 6: vmagent buffers what it cannot deliver

FaultOpt = Annotated[Optional[str], typer.Option("--fault", metavar="NAME", autocompletion=fault_names, help=f"The fault to inject (see --list), or 'none' for a healthy sandbox. Default {DEFAULT_FAULT} ({DEFAULT_FAULT_6} with --sts-version 6).")]
DemoVersionOpt = Annotated[Optional[str], typer.Option("--sts-version", metavar="5|6", help="The sandbox to show: StackState 5 (default) or 6 (the real VictoriaMetrics and vmagent).")]
ListOpt = Annotated[bool, typer.Option("--list", help="List the faults, the stage stsdebug should name for each, and exit.")]
KeepOpt = Annotated[bool, typer.Option("--keep", help="Leave the sandbox running afterwards.")]
ReplaceOpt = Annotated[bool, typer.Option("--replace", help="Replace a sandbox that is already up without asking.")]
DemoHtmlOpt = Annotated[Optional[str], typer.Option("--html", metavar="FILE", rich_help_panel=OUTPUT, help="Where to write the HTML report (default: stsdebug-demo-FAULT.html). Not used with the TUI.")]
NoTuiOpt = Annotated[bool, typer.Option("--no-tui", rich_help_panel=OUTPUT, help="Print the text result even on a terminal.")]


def demo(
    fault: FaultOpt = None,
    list_faults: ListOpt = False,
    integration: IntegrationOpt = None,
    sts_version: DemoVersionOpt = None,
    window: WindowOpt = None,
    timeout: TimeoutOpt = None,
    keep: KeepOpt = False,
    replace: ReplaceOpt = False,
    html: DemoHtmlOpt = None,
    template_dir: TemplateDirOpt = None,
    no_tui: NoTuiOpt = False,
) -> None:
    """Show stsdebug at work: a local sandbox with one fault, traced, and what stsdebug should find.

    The integration traced is the one the fault affects unless --integration says otherwise. On a terminal the trace runs in the TUI; otherwise the text result is printed and an HTML report written.

    Afterwards the sandbox is torn down: on a terminal you are asked first; elsewhere it is, unless --keep.
    """
    from stsdebug.sandbox import control
    from stsdebug.sandbox.faults import FAULTS, find

    out = sys.stdout
    if list_faults:
        out.write(fault_list(FAULTS))
        return
    if fault is None:
        fault = DEFAULT_FAULT_6 if (sts_version or "").strip() == "6" else DEFAULT_FAULT
    chosen = None if fault.strip().lower() == "none" else find(fault)
    name = integration or (chosen.integration if chosen else "system")
    if not _may_replace(control.status(), replace):
        return
    if html:  # a path that cannot be written is said before the sandbox starts
        output.preflight({"--html": html})
    out.write(lesson(chosen, FAULTS))
    out.flush()
    from stsdebug.commands.progress import Spinner

    six = (chosen.sts_version if chosen else (sts_version or "5").strip()) == "6"
    parts = "VictoriaMetrics, vmagent, receiver, agent" if six else "Elasticsearch, Kafka, receiver, mover, agent"
    with Spinner(sys.stderr, f"starting the sandbox ({parts})"):
        state = control.up([chosen.name] if chosen else [], sts_version=sts_version)
    out.write(f"Sandbox up in {state.get('ready_s', 0):.1f} s.\n")
    teardown = not keep
    try:
        settings = resolve(CheckOptions(profile="sandbox", integration=name, window=window, timeout=timeout))
        trace: Optional[TraceResult]
        if interactive() and not no_tui:
            trace = _tui(settings, chosen)
        else:
            trace = _text(settings, chosen, html, template_dir)
        if trace is not None:
            out.write(ending(trace, chosen, FAULTS))
        if not keep and interactive():
            teardown = _ask("Tear the sandbox down now?", default=True)
    finally:
        if teardown:
            control.down()
            out.write("Sandbox stopped.\n")
        else:
            out.write(
                "The sandbox is still up: `stsdebug check --profile sandbox --integration "
                f"{name}` traces it again, `stsdebug sandbox down` stops it.\n"
            )


# --- what the demo says ------------------------------------------------------------------------


def fault_list(catalog: dict[str, Any]) -> str:
    width = max(len(n) for n in catalog)
    lines = [f"{'fault':<{width}}  {'StackState':<10}  {'integration':<11}  {'stsdebug should name':<20}  what breaks"]
    for f in catalog.values():
        lines.append(f"{f.name:<{width}}  {f.sts_version:<10}  {f.integration:<11}  {f.expected_stage or '-':<20}  "
                     f"{f.description}")
    lines += ["", "Try one: stsdebug demo --fault NAME (or --fault none for a healthy sandbox)."]
    return "\n".join(lines) + "\n"


def lesson(fault: Any, catalog: dict[str, Any]) -> str:
    """What the demo is about to show, said before anything starts."""
    if fault is None:
        return (
            "stsdebug demo: a healthy sandbox, no fault injected. Every stage should pass.\n"
            "(stsdebug demo --list shows the faults you can inject.)\n"
        )
    if not fault.expected_stage:  # a variant (another log layout...) that must change no verdict
        return (f"stsdebug demo: the variant {fault.name}: {fault.description}\n"
                "  It breaks nothing: every stage should pass, as with the default.\n")
    status = "warn (part of the data is lost, the rest flows)" if fault.expected_status == "warn" else "fail"
    rows = [
        ("What breaks", fault.description),
        ("What you would see", fault.field),
        ("stsdebug should name", f"the stage {fault.expected_stage} ({status}) for {fault.integration}"),
    ]
    width = max(len(k) for k, _ in rows)
    return f"stsdebug demo: the fault {fault.name}\n" + "".join(f"  {k + ':':<{width + 1}} {v}\n" for k, v in rows)


def ending(trace: TraceResult, fault: Any, catalog: dict[str, Any]) -> str:
    """Whether stsdebug named the stage the fault breaks, the fix, and the next fault to try."""
    version = fault.sts_version if fault is not None else "5"
    names = [n for n, f in catalog.items() if f.sts_version == version and f.expected_stage]
    got = trace.verdict.stage
    stage = trace.stage(got) if got else None
    named = f"{stage.title} ({got})" if stage is not None else "no stage"
    lines: list[str] = [""]
    if fault is None:
        ok = trace.verdict.status.value == "pass"
        lines.append(f"stsdebug found {'nothing wrong: correct' if ok else f'a problem at {named}'} "
                     "for a healthy sandbox.")
        nxt = names[0]
    elif not fault.expected_stage:
        ok = trace.verdict.status.value == "pass"
        lines.append(f"The variant {fault.name} breaks nothing; stsdebug found "
                     f"{'nothing wrong: correct' if ok else f'a problem at {named}'}.")
        nxt = names[0]
    else:
        if got == fault.expected_stage:
            lines.append(f"stsdebug named {named}: correct, the stage the fault {fault.name} breaks.")
        else:
            lines.append(f"stsdebug named {named}; the fault {fault.name} breaks {fault.expected_stage}.")
        lines.append(f"In a real installation the fix is: {fault.fix}")
        nxt = names[(names.index(fault.name) + 1) % len(names)] if fault.name in names else names[0]
    lines.append(f"Try another fault: stsdebug demo --fault {nxt} (stsdebug demo --list shows all {len(names)}).")
    return "\n".join(lines) + "\n"


def _may_replace(status: dict[str, Any], replace: bool) -> bool:
    """A sandbox the user started is replaced only when they say so."""
    if status.get("status") is None:
        return True
    if not status.get("running"):
        sys.stdout.write("A sandbox that is no longer running left its state behind; the demo cleans it up.\n")
        return True
    faults = ", ".join(status.get("faults") or []) or "none"
    where = f"faults: {faults}; state in {status.get('state_dir')}"
    if replace:
        sys.stdout.write(f"Replacing the sandbox that was up ({where}).\n")
        return True
    if interactive():
        if _ask(f"A sandbox is already up ({where}). Replace it with the demo's?", default=False):
            return True
        sys.stdout.write("Left it as it is. `stsdebug sandbox down` stops it; `stsdebug demo --replace` "
                         "replaces it without asking.\n")
        return False
    what = f"a sandbox is already up ({where})"
    raise UsageError(f"{what}; stop it with `stsdebug sandbox down`, or give --replace")


# --- running -----------------------------------------------------------------------------------


def _tui(settings: Settings, fault: Any) -> Optional[TraceResult]:
    from stsdebug.tui.app import StsdebugApp

    if fault is None or not fault.expected_stage:
        notice = "Demo: a healthy sandbox. Every stage should pass."
    else:
        notice = f"Demo: the fault {fault.name} is injected. stsdebug should name {fault.expected_stage}."
    app = StsdebugApp(settings, None, runner=TraceRunner(), notice=notice)
    app.run()
    return app.last_trace


def _text(settings: Settings, fault: Any, html: Optional[str], template_dir: Optional[str]) -> TraceResult:
    from stsdebug.commands.check import run_with_progress
    from stsdebug.render.terminal import Terminal

    trace = run_with_progress(settings)
    sys.stdout.write(output.render(trace, terminal=Terminal.of(sys.stdout)))
    path = html or f"stsdebug-demo-{fault.name if fault else 'healthy'}.html"
    try:
        written = output.write(path, output.html(trace, template_dir))
    except UsageError as exc:
        sys.stdout.write(f"No HTML report: {exc}.\n")
        return trace
    sys.stdout.write(f"HTML report: {written}\n")
    return trace


def _ask(question: str, default: bool) -> bool:
    try:
        return bool(typer.confirm(question, default=default))
    except (typer.Abort, EOFError, KeyboardInterrupt):
        return default


def register(app: typer.Typer) -> None:
    app.command()(demo)
