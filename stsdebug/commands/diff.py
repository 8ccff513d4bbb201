"""`stsdebug diff BEFORE AFTER`: what changed between two traces, for the ticket."""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from stsdebug.commands.options import OUTPUT, HtmlOpt, OutputOpt, TemplateDirOpt

BeforeArg = Annotated[str, typer.Argument(metavar="BEFORE", help="The trace before the fix: JSON from --format json, an HTML report or a bundle.")]
AfterArg = Annotated[str, typer.Argument(metavar="AFTER", help="The trace after it, in any of the same forms.")]


class DiffFormat(str, Enum):
    text = "text"
    json = "json"


DiffFormatOpt = Annotated[DiffFormat, typer.Option("--format", "-f", metavar="text|json", rich_help_panel=OUTPUT, help="Output format.")]


def diff(
    before: BeforeArg,
    after: AfterArg,
    format: DiffFormatOpt = DiffFormat.text,
    output: OutputOpt = None,
    html: HtmlOpt = None,
    template_dir: TemplateDirOpt = None,
) -> None:
    """Compare two traces of one integration: which stages changed status, which figures moved, where the verdict went.

    --html writes AFTER's report with a section comparing it with BEFORE.

    Exit codes: 0 AFTER is no worse than BEFORE, 1 a stage or the verdict got worse, 2 bad input.
    """
    from stsdebug.model import TraceResult
    from stsdebug.render import diff as diff_text
    from stsdebug.render import output as out
    from stsdebug.render.terminal import Terminal
    from stsdebug.tracediff import compare

    paths = [Path(before), Path(after)]
    d = compare(TraceResult.load(paths[0]), TraceResult.load(paths[1]))
    protected = [p.expanduser().resolve() for p in paths]
    if format is DiffFormat.json:
        text = diff_text.to_json(d, (before, after))
    else:
        term = Terminal() if output else Terminal.of(sys.stdout)
        text = diff_text.render(d, width=term.width, color=term.color, ascii_only=term.ascii)
    page = out.html(d.after, template_dir, diff=d) if html else None
    if output and html and out.same_file(output, html):
        from stsdebug.errors import UsageError

        raise UsageError(f"--output and --html both name {html}; give two different files")
    if output:
        out.write(output, text, protected)
    else:
        sys.stdout.write(text)
    if html and page is not None:
        out.write(html, page, protected)
    raise typer.Exit(1 if d.worse else 0)


def register(app: typer.Typer) -> None:
    app.command()(diff)
