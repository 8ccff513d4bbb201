"""`stsdebug bundle`: run a check and pack a redacted support bundle (zip) for a ticket."""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from stsdebug.commands.options import OUTPUT, CheckOptions, TemplateDirOpt, with_check_options
from stsdebug.commands.target import input_paths, require_input, resolve

ZipOpt = Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", rich_help_panel=OUTPUT, help="Zip file to write. Default: stsdebug-bundle-INTEGRATION-UTCTIME.zip.")]
ContextLinesOpt = Annotated[int, typer.Option("--context-lines", metavar="LINES", min=0, max=500, rich_help_panel=OUTPUT, help="Log lines kept before and after each finding.")]


@with_check_options
def bundle(
    opts: CheckOptions,
    output: ZipOpt = None,
    template_dir: TemplateDirOpt = None,
    context_lines: ContextLinesOpt = 20,
) -> None:
    """Run a check and write a support bundle (zip) for a ticket.

    The bundle holds report.html, trace.json, the redacted inputs the trace read (agent output in full, log excerpts around each finding), the settings and a manifest with checksums.

    Exit codes: 0 the bundle was written (whatever the verdict), 2 usage or configuration error, or something that looks like a secret survived redaction (nothing is written).
    """
    from stsdebug import bundle as bundle_mod
    from stsdebug.commands.check import run_with_progress
    from stsdebug.render.html import mark, word
    from stsdebug.render.output import preflight

    s = resolve(opts)
    require_input(s, "bundle")
    # Before anything runs: the zip is not an input, not in an input directory, can be written.
    name = bundle_mod.safe_name(s.integration or "custom")
    preflight({"--output": output or f"stsdebug-bundle-{name}-YYYYmmdd-HHMMSS.zip"}, input_paths(s))
    trace = run_with_progress(s)
    made = bundle_mod.build(trace, s, template_dir=template_dir, context=context_lines)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(trace.started_at))
    target = Path(output or f"stsdebug-bundle-{bundle_mod.safe_name(trace.integration)}-{stamp}.zip")
    bundle_mod.write(made, target, protected=input_paths(s))
    size = target.stat().st_size
    v = trace.verdict
    sys.stdout.write(
        f"Wrote {target} ({len(made.files)} files, {size / 1024:.0f} KB).\n"
        f"Verdict: {mark(v.status)} {word(v.status)} — {v.sentence}\n"
    )


def register(app: typer.Typer) -> None:
    app.command()(bundle)
