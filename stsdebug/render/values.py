"""How values and counts read, the same in text, HTML, the TUI and diffs.

A missing value is "unknown" and never carries its unit (no "None s"); numbers get
thousands separators; counts agree with their noun ("1 record", "2 records").
"""

from __future__ import annotations

import json
from typing import Any

UNKNOWN = "unknown"
EMPTY = "—"


def number(value: int | float) -> str:
    """1,234 · 2.8 · 0.125 (at most three decimals, no trailing zeros)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if value != value or value in (float("inf"), float("-inf")):  # NaN and infinities
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return text


def cell(value: Any) -> str:
    """A table cell: "—" for nothing, yes/no, numbers as ``number``, lists as JSON."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, (bool, int, float)):
        return number(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def figure(value: Any, unit: str | None = None) -> str:
    """A key figure with its unit: "2.8 s"; "unknown" (no unit) when there is no value."""
    if value is None or value == "":
        return UNKNOWN
    text = cell(value)
    return f"{text} {unit}" if unit else text


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """"1 record", "2 records", "1,204 entries" (with ``plural_form``)."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{number(count)} {word}"


def duration_ms(ms: float | None) -> str:
    """'12 ms', '4.2 s', '1 min 05 s'; "unknown" when not measured."""
    if ms is None:
        return UNKNOWN
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"
