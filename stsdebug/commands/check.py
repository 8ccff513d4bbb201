"""`stsdebug check`: trace an integration's telemetry and name where it stops."""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import sys
from typing import Annotated, Any, Optional, TextIO

import typer
from typer.core import TyperCommand

from stsdebug.commands.options import (
    OUTPUT,
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
from stsdebug.errors import UsageError
from stsdebug.model import TraceResult
from stsdebug.render.output import Format, emit, preflight
from stsdebug.settings import Settings

WATCH_DEFAULT = "30s"
WatchOpt = Annotated[Optional[str], typer.Option("--watch", metavar="[INTERVAL]", rich_help_panel=OUTPUT, help=f"Run again every INTERVAL (default {WATCH_DEFAULT}) and show what changed, until Ctrl-C. Read-only: not with --probe.")]


@with_check_options
def check(
    opts: CheckOptions,
    format: FormatOpt = Format.text,
    output: OutputOpt = None,
    html: HtmlOpt = None,
    template_dir: TemplateDirOpt = None,
    fail_on: FailOnOpt = None,
    verbose: VerboseOpt = False,
    watch: WatchOpt = None,
) -> None:
    """Trace an integration's telemetry through the pipeline and name where it stops.

    Without --integration: the census of every integration, fresh or stale by kind.

    Exit codes: 0 no stage failed, 1 a stage failed, 2 usage or configuration error, 3 nothing failed but a stage could not be checked. With --watch: the code of the last run when Ctrl-C stops it.
    """
    from stsdebug.commands.watch import interval_seconds

    interval = interval_seconds(watch) if watch is not None else None
    s = resolve(opts, fail_on=fail_on.value if fail_on is not None else None)
    require_input(s, "check")
    preflight({"--output": output, "--html": html}, input_paths(s))  # before anything runs
    from stsdebug.trace import exit_code

    if not s.integration:
        raise typer.Exit(_every_integration(s, format, output, html))
    if interval is not None:
        from stsdebug.commands.watch import Sinks, Watch

        sinks = Sinks(format, verbose, output, html, template_dir, input_paths(s))
        looper = Watch(s, interval, run_with_progress, lambda t: exit_code(t, s.fail_on), sinks)
        raise typer.Exit(looper.loop())
    trace = run_with_progress(s)
    emit(trace, format, output=output, html_path=html, template_dir=template_dir,
         protected=input_paths(s), verbose=verbose)
    raise typer.Exit(exit_code(trace, s.fail_on))


def _every_integration(s: Settings, format: Format, output: str | None, html: str | None) -> int:
    """No integration named: the census of every integration, fresh or stale by kind."""
    from stsdebug.render import overview as render_overview
    from stsdebug.render.output import write
    from stsdebug.trace import Trace

    if not (s.kafka or s.sts_api or s.es or s.victoria_metrics or s.prometheus_api):
        raise UsageError(
            "name the integration to trace (--integration NAME, see `stsdebug integrations`); without one, "
            "check takes the census of every integration, which needs --kafka, --sts-api or --es "
            "(StackState 6: --victoria-metrics or --prometheus-api)"
        )
    if html or format is Format.junit:
        raise UsageError(
            "without --integration, check prints the census of every integration as text or JSON; "
            "name an integration (--integration NAME) for a JUnit or HTML report"
        )
    ov = Trace(s).overview()
    rendered = render_overview.as_json(ov) if format is Format.json else render_overview.text(ov)
    if output:
        write(output, rendered, input_paths(s))
    else:
        sys.stdout.write(rendered)
    return ov.exit_code()


def run_with_progress(settings: Settings, stream: Optional[TextIO] = None) -> TraceResult:
    """Run the trace, with live progress on stderr when it is a terminal."""
    from stsdebug.commands.progress import Progress
    from stsdebug.trace import Trace

    trace = Trace(settings)
    with Progress(settings, stream or sys.stderr, total=len(trace.stages)) as progress:
        trace.on_event = progress
        return trace.run()


class CheckCommand(TyperCommand):
    """`--watch` may stand alone: it then watches every WATCH_DEFAULT."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from stsdebug.commands.watch import optional_value

        return super().parse_args(ctx, optional_value(list(args), "--watch", WATCH_DEFAULT))


def register(app: typer.Typer) -> None:
    app.command(cls=CheckCommand)(check)
