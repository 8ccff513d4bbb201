"""The self-contained HTML report: one file for a ticket, readable offline.

Jinja2 templates with autoescape on: the built-in ones are ``reports/templates/`` of the
repository, installed as the package ``stsdebug.templates``; a team's own directory
overrides any of them. CSS, script and the pipeline picture are inline; a
Content-Security-Policy forbids every network request and every script but our own (by
hash). The trace itself is embedded as
JSON in ``<script type="application/json" id="stsdebug-trace">`` so that
``stsdebug report REPORT.html`` can re-read the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from stsdebug import __version__
from stsdebug.errors import UsageError
from stsdebug.model import EMBED_ID, LogLine, StageResult, Status, Timeline, TraceResult
from stsdebug.redact import Redactor
from stsdebug.render import picture, values
from stsdebug.tracediff import TraceDiff

ENTRY = "report.html.j2"
SCRIPT = "script.js"

# Shown on every status: a mark and a word (stsdebug.status_words), so colour is never
# the only signal.
WORDS = {s: s.label for s in Status}

# Evidence is capped on screen (the embedded JSON keeps everything) so that a
# report stays a ticket attachment, not a data dump.
MAX_TABLE_ROWS = 200
MAX_LOG_LINES = 200
MAX_LINE_CHARS = 4000
MAX_DIFF_FIGURES = 30

# Cards whose evidence folds away behind a <details>: nothing there to act on.
FOLDED = (Status.PASS, Status.SKIP, Status.BLOCKED)

# Invisible characters that can make text read differently from what it is
# (bidi overrides reverse "evil" into "live"; zero-width characters hide).
# They are shown as a visible code point instead; the embedded JSON keeps them.
_HIDDEN = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
    "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)

# Stage ids and evidence kinds that may pick a template by name.
_ID = re.compile(r"[a-z0-9_]{1,40}")

_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def builtin_templates() -> jinja2.BaseLoader:
    return jinja2.PackageLoader("stsdebug.templates", ".")


def environment(template_dir: str | Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment: the team's directory first, then the built-in templates.

    Built-ins stay reachable as ``builtin/<name>`` so a team template can extend
    the one it replaces.
    """
    builtin = builtin_templates()
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        path = Path(template_dir).expanduser()
        if not path.is_dir():
            raise UsageError(f"--template-dir {template_dir}: no such directory")
        loaders.append(jinja2.FileSystemLoader(str(path)))
    loaders += [builtin, jinja2.PrefixLoader({"builtin": builtin})]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(
        word=word,
        mark=mark,
        ts=fmt_time,
        iso=iso_time,
        ms=fmt_ms,
        cell=fmt_cell,
        figure=fmt_figure,
        split_match=split_match,
        clip=clip,
    )
    env.tests.update(numeric=is_number, match_id=lambda v: bool(_ID.fullmatch(str(v))))
    env.globals.update(WORDS={s.value: w for s, w in WORDS.items()}, STATUSES=list(Status))
    return env


def render(
    trace: TraceResult, template_dir: str | Path | None = None, *, diff: TraceDiff | None = None
) -> str:
    """The report for ``trace`` as one self-contained HTML document; with ``diff`` (``trace``
    compared with the one before it) it opens with what changed."""
    # Traces from Trace.run are already redacted; a saved or hand-edited trace
    # gets the pattern rules once more, so a report never shows a secret.
    data = Redactor().walk(trace.to_dict(), "report")
    trace = TraceResult.from_dict(data)
    env = environment(template_dir)
    where = f"--template-dir {template_dir}" if template_dir is not None else "built-in report"
    try:
        script = env.get_template(SCRIPT).render()
        context = _context(trace, data, script)
        context["diff"] = _diff_context(diff) if diff is not None else None
        page = env.get_template(ENTRY).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(
            f"{where}: {exc.filename or exc.name}:{exc.lineno}: {exc.message}"
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise UsageError(f"{where}: template {exc.name} not found") from None
    except jinja2.TemplateError as exc:
        raise UsageError(f"{where}: template error: {exc.message or exc}") from None
    except Exception as exc:
        if template_dir is None:
            raise
        # A team's template is input like any other: one line, not a traceback.
        raise UsageError(f"{where}: template error: {type(exc).__name__}: {exc}") from None
    marker = f'<script type="application/json" id="{EMBED_ID}">'
    if marker not in page:
        # `stsdebug report` must be able to re-read every report it wrote.
        raise UsageError(
            f"{where}: the report no longer embeds the trace ({marker}); "
            "keep the embed block of partials/about.html.j2"
        )
    return page


def embed_json(data: Any) -> Markup:
    """JSON that is safe inside a <script> element and still valid JSON.

    ``<``, ``>``, ``&`` and U+2028/2029 become \\u escapes, so no string can close
    the element or open a comment. A literal backslash becomes ``\\u005c`` so a
    reader that turns ``\\u003c`` back into ``<`` before parsing (as
    TraceResult.load does) never meets a ``\\\\u003c`` it would split wrongly.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = re.sub(r"\\(.)", lambda m: "\\u005c" if m.group(1) == "\\" else m.group(0), text)
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return Markup(text)


def csp(script: str) -> str:
    """No network, no plugins, no script but the report's own (by hash)."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


# --- context --------------------------------------------------------------------------------


def _context(trace: TraceResult, data: dict[str, Any], script: str) -> dict[str, Any]:
    stops = trace.stage(trace.verdict.stage) if trace.verdict.stage else None
    steps = {s.id: n for n, s in enumerate(trace.stages, start=1)}
    # The card of the stage the verdict names comes first; the others follow in pipeline order.
    cards = ([stops] if stops is not None else []) + [s for s in trace.stages if s is not stops]
    timeline = next((e for s in trace.stages for e in s.evidence if isinstance(e, Timeline)), None)
    return {
        "trace": trace,
        "pipeline": trace.pipeline,
        "outside": trace.outside,
        "sts_label": picture.version_label(trace),
        "sts_reason": picture.version_reason(trace),
        "path_text": picture.path_text(trace),
        "stops": stops,
        "cards": cards,
        "steps": steps,
        "folded": [s.id for s in trace.stages if s.status in FOLDED and s is not stops],
        "probe": timeline,
        "counts": _counts(trace.stages),
        "timings": timings(trace.stages),
        "target_rows": [(str(k), _setting(v)) for k, v in trace.target.items()],
        "trace_json": embed_json(data),
        "embed_id": EMBED_ID,
        "download_name": _download_name(trace),
        "script": Markup(script),
        "csp": csp(script),
        "renderer_version": __version__,
        "limits": {"rows": MAX_TABLE_ROWS, "lines": MAX_LOG_LINES},
    }


def _diff_context(d: TraceDiff) -> dict[str, Any]:
    return {
        "sentence": d.sentence,
        "worse": d.worse,
        "before": d.before,
        "changed": d.changed,
        "unchanged": len(d.stages) - len(d.changed),
        "figures": d.figures[:MAX_DIFF_FIGURES],
        "more_figures": max(0, len(d.figures) - MAX_DIFF_FIGURES),
    }


def _counts(stages: list[StageResult]) -> list[tuple[Status, int]]:
    return [(s, n) for s in Status if (n := sum(1 for x in stages if x.status is s))]


def timings(stages: list[StageResult]) -> list[dict[str, Any]]:
    """Where each stage sits on a shared time axis, in percent of the whole run.

    Stages carry their own start time; hand-built traces without one are laid
    end to end instead.
    """
    if stages and all(s.started_at > 0 for s in stages):
        base = min(s.started_at for s in stages)
        offsets = [(s.started_at - base) * 1000 for s in stages]
    else:
        offsets, at = [], 0.0
        for s in stages:
            offsets.append(at)
            at += max(s.duration_ms, 0.0)
    total = max((o + max(s.duration_ms, 0.0) for o, s in zip(offsets, stages, strict=True)), default=0.0)
    rows = []
    for offset, s in zip(offsets, stages, strict=True):
        left = offset / total * 100 if total else 0.0
        width = max(s.duration_ms, 0.0) / total * 100 if total else 0.0
        rows.append(
            {
                "stage": s,
                "offset_ms": offset,
                "left": round(min(left, 99.5), 2),
                # A zero-length stage still gets a visible sliver.
                "width": round(max(min(width, 100 - left), 0.5), 2),
            }
        )
    return rows


def _setting(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [fmt_cell(v) for v in value] or ["—"]
    return [fmt_cell(value)]


def _download_name(trace: TraceResult) -> str:
    stamp = datetime.fromtimestamp(trace.started_at, tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", trace.integration).strip("-.")[:40] or "trace"
    return f"stsdebug-{name}-{stamp}.json"


# --- filters --------------------------------------------------------------------------------


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return show_hidden(value)


def show_hidden(text: str) -> str:
    return _HIDDEN.sub(lambda m: f"⟦U+{ord(m.group()):04X}⟧", text)


def _status(value: Status | str) -> Status:
    return value if isinstance(value, Status) else Status(str(value))


def word(value: Status | str) -> str:
    return WORDS[_status(value)]


def mark(value: Status | str) -> str:
    return _status(value).mark


def fmt_time(epoch: float) -> str:
    if not epoch:
        return "unknown"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch or 0, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt_cell(value: Any) -> str:
    return values.cell(value)


def fmt_figure(value: Any, unit: str | None = None) -> str:
    return values.figure(value, unit)


def clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def split_match(line: LogLine) -> tuple[str, str, str]:
    """(before, matching part, after) of a log line, offsets clamped to the text."""
    text = clip(line.text)
    if not line.match:
        return text, "", ""
    start, end = (max(0, min(int(v), len(text))) for v in line.match[:2])
    if end <= start:
        return text, "", ""
    return text[:start], text[start:end], text[end:]
