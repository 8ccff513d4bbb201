"""Small wordings every stage uses: ages, durations and shortened lists."""

from __future__ import annotations


def age_text(seconds: float) -> str:
    """12 s, 4 min, 3.2 h, 2.1 d (of the absolute value)."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def age(now: float, ts: float | None) -> float | None:
    """Seconds since ``ts`` (never negative), rounded for evidence; None when unknown."""
    return None if ts is None else round(max(0.0, now - ts), 1)


def ago(now: float, ts: float | None) -> str:
    """``age_text`` of the time since ``ts``, or "unknown"."""
    return "unknown" if ts is None else age_text(max(0.0, now - ts))


def listing(items: list[str], limit: int = 5) -> str:
    """"a, b, c and 4 more"."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """'1 error', '3 errors', '1,204 records': a count with its noun in agreement."""
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"
