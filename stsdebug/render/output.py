"""The one output layer: a trace rendered in a format and written where the user asked.

`check`, `report`, `bundle`, `demo` and the TUI all render and write through here, so an
output file is never written one way in one command and another way in the next: every
file goes through the atomic writer and is never one of the inputs. Commands call
``preflight`` with every output they were given before they run anything.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import TextIO

from stsdebug.model import TraceResult
from stsdebug.outfiles import check_outputs, write_atomic, write_outputs
from stsdebug.render.terminal import Terminal
from stsdebug.tracediff import TraceDiff


class Format(str, Enum):
    """How `check` and `report` print a trace."""

    text = "text"
    json = "json"
    junit = "junit"


def render(
    trace: TraceResult,
    fmt: Format = Format.text,
    *,
    verbose: bool = False,
    terminal: Terminal | None = None,
) -> str:
    """The trace as text (laid out for ``terminal``; plain, 100 columns by default), JSON or
    JUnit XML."""
    if fmt is Format.json:
        return trace.to_json() + "\n"
    if fmt is Format.junit:
        from stsdebug.render import junit

        return junit.render(trace)
    from stsdebug.render import text

    term = terminal or Terminal()
    return text.render(trace, verbose=verbose, width=term.width, color=term.color, ascii_only=term.ascii)


def html(trace: TraceResult, template_dir: str | Path | None = None, *, diff: TraceDiff | None = None) -> str:
    """The self-contained HTML report (jinja2 is imported only when one is asked for); with
    ``diff``, a section comparing ``trace`` with the trace before it."""
    from stsdebug.render import html as html_report

    return html_report.render(trace, template_dir=template_dir, diff=diff)


def write(
    path: str | Path,
    data: str | bytes,
    protected: Iterable[Path] = (),
    *,
    protected_is: str = "one of the inputs",
) -> Path:
    """Write ``data`` to ``path`` atomically, never over one of ``protected``."""
    return write_atomic(path, data, protected, protected_is=protected_is)


def preflight(
    outputs: Mapping[str, str | Path | None], protected: Iterable[Path] = (), *,
    protected_is: str = "one of the inputs",
) -> None:
    """Refuse, before anything runs, outputs that would hurt: the same file given to two
    outputs, an output that is one of ``protected`` (the inputs) or sits in an input
    directory, a directory, a socket, a missing directory (``outfiles.check_outputs``).

    ``outputs`` maps each output's flag (``--html``) to its path, None when not asked for.
    """
    check_outputs(outputs, protected, input_is=protected_is)


def emit(
    trace: TraceResult,
    fmt: Format = Format.text,
    *,
    output: str | None = None,
    html_path: str | None = None,
    template_dir: str | None = None,
    protected: Iterable[Path] = (),
    verbose: bool = False,
    show: bool = True,
    stdout: TextIO | None = None,
) -> None:
    """Render every output first, then write them: the formatted trace to ``output`` (or,
    when ``show``, to stdout) and the HTML report to ``html_path``.

    Rendering first means a broken team template fails before any file is written; the
    files are written all or none (``outfiles.write_outputs``), and stdout only after them.
    """
    protected = list(protected)
    preflight({"--output": output, "--html": html_path}, protected)
    out = stdout or sys.stdout
    # Text on a terminal fits its width and has colour; in a file or a pipe it is plain.
    terminal = Terminal() if output else Terminal.of(out)
    rendered = render(trace, fmt, verbose=verbose, terminal=terminal) if output or show else None
    page = html(trace, template_dir) if html_path else None
    files: list[tuple[str, str | bytes]] = []
    if output and rendered is not None:
        files.append((output, rendered))
    if html_path and page is not None:
        files.append((html_path, page))
    if files:
        write_outputs(files, protected)
    if rendered is not None and not output:
        out.write(rendered)


def same_file(a: str, b: str) -> bool:
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return a == b
