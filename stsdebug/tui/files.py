"""Saving a trace from the TUI: default file names, safe writes, the optional HTML renderer."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

from stsdebug import outfiles
from stsdebug.model import TraceResult

HTML_MODULE = "stsdebug.render.html"


def default_name(trace: TraceResult, ext: str) -> str:
    """stsdebug-<integration>-<UTC start>.<ext>: stable for one trace, distinct across runs."""
    stamp = datetime.fromtimestamp(trace.started_at, tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", trace.integration) or "trace"
    return f"stsdebug-{name}-{stamp}.{ext}"


def html_renderer() -> Callable[[TraceResult], str] | None:
    """``stsdebug.render.html.render``, or None when this build has no HTML report."""
    try:
        module = importlib.import_module(HTML_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in (HTML_MODULE, "jinja2"):
            return None
        raise
    render = getattr(module, "render", None)
    return render if callable(render) else None


def write_atomic(path: str | Path, text: str, protected: Iterable[Path] = ()) -> Path:
    """Write ``text`` to ``path`` via a temporary file; never over one of ``protected``."""
    return outfiles.write_atomic(path, text, protected, protected_is="the trace that was loaded")
