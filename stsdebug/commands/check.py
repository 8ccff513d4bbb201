"""`stsdebug check`: trace an integration's telemetry and name where it stops."""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import typer

from stsdebug.commands.options import (
    CheckOptions,
    FailOnOpt,
    FormatOpt,
    HtmlOpt,
    OutputOpt,
    TemplateDirOpt,
    VerboseOpt,
    with_check_options,
)
from stsdebug.commands.target import input_paths, require_input, resolve
from stsdebug.render.output import Format, emit, preflight


@with_check_options
def check(
    opts: CheckOptions,
    format: FormatOpt = Format.text,
    output: OutputOpt = None,
    html: HtmlOpt = None,
    template_dir: TemplateDirOpt = None,
    fail_on: FailOnOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Trace an integration's telemetry through the pipeline and name where it stops.

    Exit codes: 0 no stage failed, 1 a stage failed, 2 usage or configuration error, 3 nothing failed but a stage could not be checked.
    """
    s = resolve(opts, fail_on=fail_on.value if fail_on is not None else None)
    require_input(s, "check")
    preflight({"--output": output, "--html": html}, input_paths(s))  # before anything runs
    from stsdebug.trace import Trace, exit_code

    trace = Trace(s).run()
    emit(trace, format, output=output, html_path=html, template_dir=template_dir,
         protected=input_paths(s), verbose=verbose)
    raise typer.Exit(exit_code(trace, s.fail_on))


def register(app: typer.Typer) -> None:
    app.command()(check)
