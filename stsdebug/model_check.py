"""What a saved trace must look like before anything renders it.

``report`` and ``tui --load`` read files that may have been edited by hand, cut short or
made up: a ``started_at`` of 1e300 (no calendar has that year), NaN, a negative duration,
a list where a sentence belongs, a match range past the end of its line. Renderers trust
the model's types, so ``check(data)`` holds every field of the JSON to the type and range
the model promises (docs/trace-json.md), and raises ``TraceShapeError`` naming the first
field that is not, e.g. ``stages[2].duration_ms: -5 is not a duration``. Unknown keys are
ignored, as the trace contract says.
"""

from __future__ import annotations

import math
from typing import Any

from stsdebug.status_words import STATUS_WORDS

MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z, the last second a calendar shows
MAX_MS = 1e12  # about 31 years, in milliseconds
EVIDENCE_KINDS = ("figures", "table", "log", "timeline", "text")


class TraceShapeError(ValueError):
    """A field of a saved trace has the wrong type or an absurd value; the message names it."""


def check(data: dict[str, Any]) -> None:
    """Raise TraceShapeError for the first field that breaks the trace's types and ranges."""
    _text(data, "integration")
    _text(data, "kind")
    _text(data, "version", optional=True)
    _epoch(data, "started_at", optional=True)
    window = _obj(data, "window")
    _epoch(window, "start", "window.")
    _epoch(window, "end", "window.")
    _text(window, "spec", "window.", optional=True)
    target = _obj(data, "target", optional=True)
    for key, value in target.items():
        _setting_value(value, f"target.{key}")
    verdict = _obj(data, "verdict")
    _status(verdict, "status", "verdict.")
    _text(verdict, "stage", "verdict.", optional=True)
    _text(verdict, "sentence", "verdict.")
    _text(verdict, "next_step", "verdict.", optional=True)
    for i, stage in _items(data, "stages", ""):
        _stage(_as_obj(stage, f"stages[{i}]"), f"stages[{i}].")
    for i, item in _items(data, "redactions", "", optional=True):
        r = _as_obj(item, f"redactions[{i}]")
        _text(r, "rule", f"redactions[{i}].")
        _text(r, "where", f"redactions[{i}].")
        _count(r.get("count"), f"redactions[{i}].count")
    for key, value in _obj(data, "labels", optional=True).items():
        _scalar(value, f"labels.{key}")


def _stage(d: dict[str, Any], at: str) -> None:
    _text(d, "id", at)
    _text(d, "title", at)
    _status(d, "status", at)
    _text(d, "summary", at)
    _epoch(d, "started_at", at, optional=True)
    _number(d, "duration_ms", at, 0.0, MAX_MS, "a duration (0 or more milliseconds)", optional=True)
    _text(d, "next_step", at, optional=True)
    for i, hint in _items(d, "hints", at, optional=True):
        h = _as_obj(hint, f"{at}hints[{i}]")
        _text(h, "text", f"{at}hints[{i}].")
        _text(h, "runbook", f"{at}hints[{i}].", optional=True)
    for i, ev in _items(d, "evidence", at, optional=True):
        _evidence(_as_obj(ev, f"{at}evidence[{i}]"), f"{at}evidence[{i}].")


def _evidence(d: dict[str, Any], at: str) -> None:
    kind = d.get("kind")
    if kind not in EVIDENCE_KINDS:
        raise TraceShapeError(f"{at}kind: {kind!r} is not one of {', '.join(EVIDENCE_KINDS)}")
    _text(d, "title", at)
    if kind == "figures":
        for i, item in _items(d, "items", at):
            f = _as_obj(item, f"{at}items[{i}]")
            _text(f, "label", f"{at}items[{i}].")
            _scalar(f.get("value"), f"{at}items[{i}].value")
            _text(f, "unit", f"{at}items[{i}].", optional=True)
    elif kind == "table":
        columns = _items(d, "columns", at)
        for i, col in columns:
            _is(isinstance(col, str), f"{at}columns[{i}]", col, "a string")
        for i, row in _items(d, "rows", at):
            _is(isinstance(row, list) and len(row) <= len(columns), f"{at}rows[{i}]", row,
                f"a list of at most {len(columns)} cells (one per column)")
            for j, cell in enumerate(row):
                _scalar(cell, f"{at}rows[{i}][{j}]")
        _text(d, "note", at, optional=True)
    elif kind == "log":
        _text(d, "source", at)
        _count(d.get("total_matches"), f"{at}total_matches", optional=True)
        for i, line in _items(d, "lines", at):
            ln = _as_obj(line, f"{at}lines[{i}]")
            _count(ln.get("n"), f"{at}lines[{i}].n")
            _text(ln, "text", f"{at}lines[{i}].")
            match = ln.get("match")
            if match is not None:
                # Renderers clamp the range to the line (redaction may have shortened it).
                ok = (isinstance(match, list) and len(match) == 2 and all(_is_int(v) for v in match)
                      and 0 <= match[0] <= match[1])
                _is(ok, f"{at}lines[{i}].match", match, "a [start, end] range")
    elif kind == "timeline":
        _text(d, "probe_id", at)
        for i, hop in _items(d, "hops", at):
            h = _as_obj(hop, f"{at}hops[{i}]")
            _text(h, "name", f"{at}hops[{i}].")
            _status(h, "status", f"{at}hops[{i}].")
            _number(h, "at_ms", f"{at}hops[{i}].", 0.0, MAX_MS, "a time in milliseconds", optional=True)
            _text(h, "detail", f"{at}hops[{i}].", optional=True)
    else:
        _text(d, "text", at)


# --- field readers ----------------------------------------------------------------------------


def _is(ok: bool, where: str, value: Any, what: str) -> None:
    if not ok:
        shown = repr(value)
        raise TraceShapeError(f"{where}: {shown[:60] + '…' if len(shown) > 60 else shown} is not {what}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and (not isinstance(value, float) or math.isfinite(value)))


def _missing(d: dict[str, Any], key: str, at: str, optional: bool) -> bool:
    if key in d and d[key] is not None:
        return False
    if not optional:
        raise TraceShapeError(f"missing key {at + key!r}")
    return True


def _text(d: dict[str, Any], key: str, at: str = "", *, optional: bool = False) -> str | None:
    if _missing(d, key, at, optional):
        return None
    _is(isinstance(d[key], str), f"{at}{key}", d[key], "a string")
    return str(d[key])


def _number(d: dict[str, Any], key: str, at: str, lo: float, hi: float, what: str, *, optional: bool = False) -> None:
    if _missing(d, key, at, optional):
        return
    value = d[key]
    _is(_is_number(value) and lo <= value <= hi, f"{at}{key}", value, what)


def _epoch(d: dict[str, Any], key: str, at: str = "", *, optional: bool = False) -> None:
    _number(d, key, at, 0.0, MAX_EPOCH, "a time (seconds since 1970, before the year 10000)", optional=optional)


def _count(value: Any, where: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    _is(_is_int(value) and value >= 0, where, value, "a count (0 or more)")


def _status(d: dict[str, Any], key: str, at: str) -> None:
    value = d.get(key)
    _is(isinstance(value, str) and value in STATUS_WORDS, f"{at}{key}", value,
        "a status (" + ", ".join(STATUS_WORDS) + ")")


def _scalar(value: Any, where: str) -> None:
    ok = value is None or isinstance(value, (str, bool)) or _is_number(value)
    _is(ok, where, value, "a string, a finite number, true/false or null")


def _setting_value(value: Any, where: str) -> None:
    """A setting as Settings.redacted() writes it: a scalar or a list of them."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _scalar(item, f"{where}[{i}]")
        return
    _scalar(value, where)


def _obj(d: dict[str, Any], key: str, *, optional: bool = False) -> dict[str, Any]:
    if _missing(d, key, "", optional):
        return {}
    return _as_obj(d[key], key)


def _as_obj(value: Any, where: str) -> dict[str, Any]:
    _is(isinstance(value, dict), where, value, "an object")
    return dict(value)


def _items(d: dict[str, Any], key: str, at: str, *, optional: bool = False) -> list[tuple[int, Any]]:
    if _missing(d, key, at, optional):
        return []
    _is(isinstance(d[key], list), f"{at}{key}", d[key], "a list")
    return list(enumerate(d[key]))

