"""Plain (non-widget) presentation helpers for the TUI: marks, words, labels, safe text."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from stsdebug.model import TraceResult
from stsdebug.status_words import STATUS_WORDS
from stsdebug.termsafe import clean

if TYPE_CHECKING:
    from stsdebug.settings import Settings

# Display states beyond the result statuses: a stage that has not started, is
# running, or was cancelled by the user.
PENDING = "pending"
RUNNING = "running"
CANCELLED = "cancelled"

UNICODE_MARKS: dict[str, str] = {k: w.mark for k, w in STATUS_WORDS.items()}
# The plain Linux console font has no check marks or braille: fall back to ASCII.
ASCII_MARKS: dict[str, str] = {k: w.ascii for k, w in STATUS_WORDS.items()}
UNICODE_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_SPINNER = "|/-\\"

# Words shown next to every mark, so status never depends on colour alone.
WORDS: dict[str, str] = {k: w.word for k, w in STATUS_WORDS.items()}

# Pipeline strip labels: (full, short) per stage id.
LABELS: dict[str, tuple[str, str]] = {
    "scope": ("scope", "scope"),
    "agent": ("agent", "agent"),
    "receiver": ("receiver", "recv"),
    "kafka": ("Kafka", "Kafka"),
    "source": ("source", "source"),
    "elasticsearch": ("Elasticsearch", "ES"),
    "streams": ("streams", "streams"),
    # StackState 6
    "vmagent": ("vmagent", "vmagent"),
    "victoriametrics": ("VictoriaMetrics", "VM"),
    "bindings": ("bindings", "bind"),
}


def use_ascii(env: Mapping[str, str] | None = None) -> bool:
    """The same choice as text output makes (stsdebug.render.terminal)."""
    from stsdebug.render.terminal import use_ascii as terminal_ascii

    return terminal_ascii(env)


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
    "victoria_metrics",
    "prometheus_api",
    "vmagent",
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
    sts_version: str | None = None,
) -> list[str]:
    """Header segments, most important first: version, integration, window, target, origin."""
    when = f" to {utc(trace.window.end)}" if trace is not None else ""
    # StackState 6 is named; 5, the default and every older trace, goes without saying.
    sts = ", StackState 6" if sts_version == "6" else ""
    parts = [
        f"stsdebug {one_line(version)}",
        f"{one_line(integration)} ({one_line(kind)}{sts})",
        f"window {one_line(window)}{when}",
        target_text(target),
    ]
    if source:
        parts.append(f"loaded {one_line(source)} (read-only)")
    return parts


def header_for(
    trace: TraceResult | None,
    live: Settings | None,
    *,
    running: bool,
    integration: str | None,
    kind_of: Callable[[str], str],
    version: str,
    source: str | None,
) -> list[str]:
    """The header of the screen: the run in progress (from its settings) or the trace shown."""
    if live is not None and (running or trace is None):
        name = integration or live.integration or "custom"
        from stsdebug.stsversion import decide

        parts = header_parts(None, integration=name, kind=kind_of(name), window=live.window,
                             version=version, target=live.redacted(), source=source,
                             sts_version=decide(live).version)
        if live.probe and running:
            parts.insert(3, "probe: writing one marked metric")
        return parts
    assert trace is not None
    return header_parts(trace, integration=trace.integration, kind=trace.kind,
                        window=trace.window.spec, version=trace.version, target=trace.target,
                        source=source, sts_version=trace.sts_version)


def probe_question(receiver: str | None, probe_host: str | None, sts_version: str = "5") -> str:
    """What the probe confirmation asks (it writes to the system being diagnosed)."""
    host = f" (host {one_line(probe_host)})" if probe_host else ""
    where = "into VictoriaMetrics" if sts_version == "6" else "through Kafka and Elasticsearch"
    return (
        f"The probe sends one marked metric{host} to the receiver intake API at "
        f"{one_line(receiver or '')} and follows it {where}."
        "\n\nThis WRITES to the system being diagnosed. Send it?"
    )


def too_small(width: int, height: int, min_width: int, min_height: int) -> str:
    return (
        f"Terminal too small: {width}x{height}.\n"
        f"stsdebug needs {min_width}x{min_height}.\n"
        "Enlarge the window, or press q to quit."
    )


@functools.lru_cache(maxsize=64)
def integration_kind(name: str) -> str:
    """push or pull, from the catalog ("?" for a name it does not know); parsed once per name."""
    from stsdebug.errors import StsdebugError
    from stsdebug.integrations import find

    try:
        return find(name).kind
    except StsdebugError:
        return "?"
