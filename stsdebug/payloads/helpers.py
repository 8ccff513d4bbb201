"""Small pure helpers of the payload checks: names, paths, wording, near misses."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from stsdebug.jsontext import (
    quote,
)
from stsdebug.payloads.rules import (
    _METRIC_TYPE_LIST,
    _REJECTED,
    METRIC_TYPES,
    RESERVED_METRIC_PREFIXES,
)

# ---------------------------------------------------------------------------------------
# Helpers


class _Key(str):
    """A key chosen by the sender (an event name), always shown as ["key"] in paths."""

    __slots__ = ()


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return f"a Python {type(value).__name__}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return quote(value, 60)
    if isinstance(value, bool) or value is None:
        return _kind(value)
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 256 else "a very large integer"
    if isinstance(value, float):
        return repr(value)
    return _kind(value)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return _show(ts)


_SPANS = (("year", 365 * 86400.0), ("day", 86400.0), ("hour", 3600.0), ("minute", 60.0))


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    for name, size in _SPANS:
        if seconds >= size:
            n = round(seconds / size, 1)
            text = str(int(n)) if n == int(n) else str(n)
            return f"{text} {name}{'' if n == 1 else 's'}"
    n = int(round(seconds))
    return f"{n} second{_s(n)}"


_MAX_GUESSES = 200


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _guess(name: str, candidates: Iterable[str]) -> str | None:
    """A known member the sender probably meant: same letters ignoring case and _, or close."""
    if len(name) > 64:
        return None
    cands = list(candidates)
    wanted = _norm(name)
    for cand in cands:
        if _norm(cand) == wanted:
            return cand
    close = difflib.get_close_matches(name, cands, n=1, cutoff=0.8)
    return close[0] if close else None


def _suggest(value: str, choices: Iterable[str]) -> str:
    """`` (did you mean "X"?)`` for a near miss, else nothing."""
    if len(value) > 64:
        return ""
    ordered = sorted(choices)
    lowered = {c.lower(): c for c in ordered}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.75)
    return f" (did you mean {quote(lowered[close[0]])}?)" if close else ""


def _missing(obj: dict[Any, Any], member: str, consequence: str) -> str:
    """The receiver's wording for a missing member, plus the near miss that is present."""
    keys = [k for k in obj if isinstance(k, str) and k != member][:_MAX_GUESSES]
    near = next((k for k in keys if _guess(k, (member,))), None)
    hint = f" (found {quote(near, 40)}; member names are case-sensitive)" if near else ""
    return f"Object is missing required member '{member}'{hint}; {consequence}"


def _metric_name_issue(name: Any) -> tuple[str, str] | None:
    if not isinstance(name, str):
        return "metric.name-type", f"metric name must be a string, got {_kind(name)}"
    if not name:
        return "metric.name-empty", "metric name is empty"
    prefix = next((p for p in RESERVED_METRIC_PREFIXES if name.startswith(p)), None)
    if prefix is None:
        return None
    return (
        "metric.reserved-name",
        f"metric name {quote(name)} starts with the reserved prefix {quote(prefix)}; "
        "metric names must not start with host, labels, name, tags, timeReceived, "
        "timestamp or values",
    )



def metric_name_problem(name: str) -> str | None:
    """Why the receiver refuses this metric name, or None when it is acceptable."""
    found = _metric_name_issue(name)
    return found[1] if found else None


def metric_type_problem(mtype: str) -> str | None:
    """Why the receiver refuses this metric type, or None when it is one of METRIC_TYPES."""
    if not isinstance(mtype, str):
        return f"metric type must be a string ({_METRIC_TYPE_LIST}), got {_kind(mtype)}"
    if mtype in METRIC_TYPES:
        return None
    if mtype.lower() in METRIC_TYPES:
        return f"metric type {quote(mtype)} must be lower case: {_METRIC_TYPE_LIST}"
    return f"metric type {quote(mtype)} is not one of {_METRIC_TYPE_LIST}{_suggest(mtype, METRIC_TYPES)}"


def format_path(path: Iterable[Any]) -> str:
    """``$`` followed by ``.member``, ``["user key"]`` and ``[index]`` segments."""
    out = ["$"]
    for seg in path:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif isinstance(seg, _Key) or not _IDENT.fullmatch(seg):
            out.append(f"[{quote(seg, 60)}]")
        else:
            out.append("." + seg)
    return "".join(out)



# ---------------------------------------------------------------------------------------
# The checker

_Path = tuple[Any, ...]
_ARRAYS = (list, tuple)
# Values the walk has nothing to say about (exact types: marked floats are subclasses).
_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})
_EVENTS_PATH: _Path = ("events",)


def _member(path: _Path, key: str) -> str:
    # Keys of the events object are event names chosen by the sender: shown as ["name"].
    return _Key(key) if path == _EVENTS_PATH else key


def _numeric_string(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 64:
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _non_finite_message(value: float) -> str:
    literal = getattr(value, "literal", None)
    if literal is not None:
        return f"{literal} is not valid JSON; {_REJECTED}"
    text = getattr(value, "text", None)
    if text is not None:
        shown = text if len(text) <= 24 else text[:20] + "…"
        return f"number {shown} is too large for a 64-bit float; {_REJECTED}"
    name = "NaN" if math.isnan(value) else ("-Infinity" if value < 0 else "Infinity")
    return f"{name} cannot be written as JSON; {_REJECTED}"
