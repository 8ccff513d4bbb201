"""Plain (non-widget) presentation helpers for the TUI: marks, words, labels, safe text."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from stsdebug.model import Status, TraceResult
from stsdebug.termsafe import clean

# Display states beyond the result statuses: a stage that has not started, is
# running, or was cancelled by the user.
PENDING = "pending"
RUNNING = "running"
CANCELLED = "cancelled"

UNICODE_MARKS: dict[str, str] = {
    **{s.value: s.mark for s in Status},
    PENDING: "·",
    RUNNING: "⠋",
    CANCELLED: "⊗",
}
# The plain Linux console font has no check marks or braille: fall back to ASCII.
ASCII_MARKS: dict[str, str] = {
    "pass": "+",
    "warn": "!",
    "fail": "x",
    "error": "?",
    "skip": "-",
    "blocked": "#",
    PENDING: ".",
    RUNNING: "|",
    CANCELLED: "~",
}
UNICODE_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_SPINNER = "|/-\\"

# Words shown next to every mark, so status never depends on colour alone.
WORDS: dict[str, str] = {
    "pass": "pass",
    "warn": "warn",
    "fail": "FAIL",
    "error": "ERROR",
    "skip": "skip",
    "blocked": "blocked",
    PENDING: "pending",
    RUNNING: "running",
    CANCELLED: "cancelled",
}

# Pipeline strip labels: (full, short) per stage id.
LABELS: dict[str, tuple[str, str]] = {
    "scope": ("scope", "scope"),
    "agent": ("agent", "agent"),
    "receiver": ("receiver", "recv"),
    "kafka": ("Kafka", "Kafka"),
    "source": ("source", "source"),
    "elasticsearch": ("Elasticsearch", "ES"),
    "streams": ("streams", "streams"),
}


def use_ascii(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("STSDEBUG_ASCII", "").lower() in ("1", "true", "yes", "on"):
        return True
    return env.get("TERM", "") in ("linux", "vt100", "vt220", "dumb")


def marks(ascii_only: bool) -> dict[str, str]:
    return ASCII_MARKS if ascii_only else UNICODE_MARKS


def spinner(ascii_only: bool) -> str:
    return ASCII_SPINNER if ascii_only else UNICODE_SPINNER


def label(stage_id: str, short: bool = False) -> str:
    full, brief = LABELS.get(stage_id, (stage_id, stage_id))
    return brief if short else full


def elapsed(ms: float | None) -> str:
    """'12 ms', '4.2 s', '1m05s'; empty for unknown."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def printable(value: Any) -> str:
    """Text from a trace, made safe to put on a terminal: every control sequence removed."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else str(value)
    return clean(text).replace("\t", "    ")


def one_line(value: Any) -> str:
    return printable(value).replace("\n", " ")


_TARGET_KEYS = (
    "profile",
    "receiver",
    "sts_api",
    "kafka",
    "es",
    "mirror",
    "agent_output",
    "agent_log",
    "receiver_log",
)


def target_text(target: Mapping[str, Any]) -> str:
    """What the trace looked at, short: the profile if any, else the endpoints given."""
    parts = []
    for key in _TARGET_KEYS:
        value = target.get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key.replace('_', ' ')} {value}")
    return one_line(" · ".join(parts)) if parts else "no target"


def header_parts(
    trace: TraceResult | None,
    *,
    integration: str,
    kind: str,
    window: str,
    version: str,
    target: Mapping[str, Any],
    source: str | None = None,
) -> list[str]:
    """Header segments, most important first: version, integration, window, target, origin."""
    when = f" to {utc(trace.window.end)}" if trace is not None else ""
    parts = [
        f"stsdebug {one_line(version)}",
        f"{one_line(integration)} ({one_line(kind)})",
        f"window {one_line(window)}{when}",
        target_text(target),
    ]
    if source:
        parts.append(f"loaded {one_line(source)} (read-only)")
    return parts
