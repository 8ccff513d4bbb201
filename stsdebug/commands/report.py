"""`stsdebug report`: re-render a saved trace (JSON or an HTML report)."""

# No `from __future__ import annotations`: typer reads these annotations at run time.

from pathlib import Path
from typing import Annotated

import typer

from stsdebug.commands.options import FormatOpt, HtmlOpt, OutputOpt, TemplateDirOpt, VerboseOpt
from stsdebug.render.output import Format, emit, preflight

RunArg = Annotated[str, typer.Argument(metavar="RUN", help="A saved trace: JSON from --format json, or an HTML report.")]


def report(
    run: RunArg,
    format: FormatOpt = Format.text,
    output: OutputOpt = None,
    html: HtmlOpt = None,
    template_dir: TemplateDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Re-render a saved trace (JSON or HTML report) as text, JSON, JUnit or HTML.

    With only --html, only the report is written (nothing is printed).
    """
    from stsdebug.model import TraceResult
    from stsdebug.redact import redact_trace

    protected = [Path(run).expanduser().resolve()]
    preflight({"--output": output, "--html": html}, protected, protected_is="the trace being read")
    trace = redact_trace(TraceResult.load(Path(run)))  # a hand-edited trace may hold anything
    html_only = bool(html) and not output and format is Format.text
    emit(trace, format, output=output, html_path=html, template_dir=template_dir,
         protected=protected, verbose=verbose, show=not html_only)


def register(app: typer.Typer) -> None:
    app.command()(report)
