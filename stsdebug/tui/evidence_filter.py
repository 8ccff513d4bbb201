"""The `/` filter: keep only the table rows, log lines and figures that contain the text."""

from __future__ import annotations

from dataclasses import dataclass, replace

from stsdebug.model import Evidence, Figures, LogSample, Table, Timeline


@dataclass
class Filtered:
    evidence: Evidence
    shown: int | None  # rows/lines/items kept; None when the filter does not apply
    total: int | None


def _has(query: str, *values: object) -> bool:
    return any(query in ("" if v is None else str(v)).casefold() for v in values)


def apply(evidence: Evidence, query: str) -> Filtered:
    """``evidence`` narrowed to what contains ``query`` (case-insensitive); unchanged if empty."""
    q = query.strip().casefold()
    if isinstance(evidence, Table):
        total = len(evidence.rows)
        if not q:
            return Filtered(evidence, None, total)
        rows = [r for r in evidence.rows if _has(q, *r)]
        return Filtered(replace(evidence, rows=rows), len(rows), total)
    if isinstance(evidence, LogSample):
        total = len(evidence.lines)
        if not q:
            return Filtered(evidence, None, total)
        lines = [ln for ln in evidence.lines if _has(q, ln.text)]
        return Filtered(replace(evidence, lines=lines), len(lines), total)
    if isinstance(evidence, Figures):
        total = len(evidence.items)
        if not q:
            return Filtered(evidence, None, total)
        items = [f for f in evidence.items if _has(q, f.label, f.value, f.unit)]
        return Filtered(replace(evidence, items=items), len(items), total)
    if isinstance(evidence, Timeline):
        total = len(evidence.hops)
        if not q:
            return Filtered(evidence, None, total)
        hops = [h for h in evidence.hops if _has(q, h.name, h.status.value, h.detail)]
        return Filtered(replace(evidence, hops=hops), len(hops), total)
    return Filtered(evidence, None, None)
