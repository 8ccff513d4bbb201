"""`stsdebug bundle`: run a check and pack a redacted support bundle (zip) for a ticket."""

# No `from __future__ import annotations`: typer reads these annotations at runtime.

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer, with_check_options: Callable[..., Any]) -> None:
    @app.command()
    @with_check_options
    def bundle(
        flags: dict[str, Any],
        output: Annotated[str | None, typer.Option("--output", "-o", help="Zip file to write. Default: stsdebug-bundle-<integration>-<UTC time>.zip.")] = None,  # noqa: E501
        template_dir: Annotated[str | None, typer.Option(help="Directory of Jinja2 templates overriding the built-in report.")] = None,
        context_lines: Annotated[int, typer.Option(min=0, max=500, help="Log lines kept before and after each finding.")] = 20,
    ) -> None:
        """Run a check and write a support bundle: report.html, trace.json, the redacted inputs
        it read (log excerpts around each finding), settings and a manifest with checksums.

        Exit codes: 0 the bundle was written (whatever the verdict), 2 usage or configuration
        error, or something that looks like a secret survived redaction (nothing is written).
        """
        from stsdebug import bundle as bundle_mod
        from stsdebug import cli
        from stsdebug.render.html import mark, word
        from stsdebug.trace import Trace

        s = cli._resolve(flags)
        if not s.has_any_input():
            sys.stderr.write(cli.NEEDS_INPUT + "\n")
            raise typer.Exit(2)
        trace = Trace(s).run()
        made = bundle_mod.build(trace, s, template_dir=template_dir, context=context_lines)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(trace.started_at))
        target = Path(output or f"stsdebug-bundle-{bundle_mod._safe(trace.integration)}-{stamp}.zip")
        bundle_mod.write(made, target, protected=cli._input_paths(s))
        size = target.stat().st_size
        v = trace.verdict
        sys.stdout.write(
            f"Wrote {target} ({len(made.files)} files, {size / 1024:.0f} KB).\n"
            f"Verdict: {mark(v.status)} {word(v.status)} — {v.sentence}\n"
        )
