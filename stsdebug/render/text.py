"""Doctor-style text output: one line per stage, details for the ones that did not pass, the verdict."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone

from stsdebug.model import Figures, LogSample, Status, Table, Text, Timeline, TraceResult
from stsdebug.render import picture
from stsdebug.termsafe import clean

MAX_ROWS = 12


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(trace: TraceResult, *, verbose: bool = False, width: int = 100) -> str:
    out: list[str] = []
    out.append(
        f"stsdebug {trace.version} · {trace.integration} ({trace.kind}) · "
        f"window {trace.window.spec} ({_ts(trace.window.start)} → {_ts(trace.window.end)})"
    )
    out.append(f"{picture.version_label(trace)}: {picture.path_text(trace)}")
    out.append("")
    id_width = max((len(s.id) for s in trace.stages), default=5)
    for s in trace.stages:
        out.append(
            f"  [{s.status.mark}] {s.status.word:<7} {s.id:<{id_width}}  {s.summary}"
            f"  ({s.duration_ms:.0f} ms)"
        )
    details = [s for s in trace.stages if verbose or s.status not in (Status.PASS, Status.SKIP)]
    for s in details:
        out.append("")
        out.append(f"── {s.title} [{s.status.word}] " + "─" * max(0, width - len(s.title) - 12))
        out.extend(textwrap.wrap(s.summary, width, initial_indent="  ", subsequent_indent="  "))
        for ev in s.evidence:
            out.extend(_evidence(ev, width))
        for h in s.hints:
            ref = f" [runbook: {h.runbook}]" if h.runbook else ""
            out.extend(
                textwrap.wrap(f"→ {h.text}{ref}", width, initial_indent="  ", subsequent_indent="    ")
            )
    out.append("")
    v = trace.verdict
    out.append(f"Verdict: {v.status.word} — {v.sentence}")
    # Data from logs and servers may carry terminal control sequences: none reach the terminal.
    return clean("\n".join(out) + "\n")


def _evidence(ev: object, width: int) -> list[str]:
    lines: list[str] = []
    if isinstance(ev, Figures):
        lines.append(f"  {ev.title}:")
        for f in ev.items:
            unit = f" {f.unit}" if f.unit else ""
            lines.append(f"    {f.label}: {f.value}{unit}")
    elif isinstance(ev, Table):
        lines.append(f"  {ev.title}:")
        rows = [[str(c) for c in ev.columns]] + [[_cell(c) for c in r] for r in ev.rows[:MAX_ROWS]]
        widths = [min(40, max(len(r[i]) for r in rows if i < len(r))) for i in range(len(ev.columns))]
        for n, r in enumerate(rows):
            lines.append("    " + "  ".join(c[:40].ljust(widths[i]) for i, c in enumerate(r)).rstrip())
            if n == 0:
                lines.append("    " + "  ".join("-" * w for w in widths))
        if len(ev.rows) > MAX_ROWS:
            lines.append(f"    … {len(ev.rows) - MAX_ROWS} more rows (see --format json)")
        if ev.note:
            lines.append(f"    {ev.note}")
    elif isinstance(ev, LogSample):
        more = f", {ev.total_matches} matching lines in all" if ev.total_matches else ""
        lines.append(f"  {ev.title} ({ev.source}{more}):")
        for ln in ev.lines:
            text = ln.text if len(ln.text) <= 400 else ln.text[:400] + " …"
            lines.append(f"    {ln.n:>7} | {text}")
    elif isinstance(ev, Timeline):
        lines.append(f"  {ev.title} (probe {ev.probe_id}):")
        for h in ev.hops:
            at = f"+{h.at_ms:.0f} ms" if h.at_ms is not None else "—"
            lines.append(f"    [{h.status.mark}] {h.name:<14} {at:>10}  {h.detail}")
    elif isinstance(ev, Text):
        lines.append(f"  {ev.title}:")
        lines.extend(textwrap.wrap(ev.text, width, initial_indent="    ", subsequent_indent="    "))
    return lines


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)
