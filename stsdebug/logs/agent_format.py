"""The StackState Agent's log line: its header, time zones and Kubernetes prefixes. Pure.

Confirmed in StackVista/stackstate-agent 2.19.1 (``pkg/config/log_format.go``,
``pkg/config/log.go``): ``2006-01-02 15:04:05 MST | CORE | LEVEL | (file.go:N in Func) | msg``.
"""

from __future__ import annotations

import calendar
import functools
import json
import re
from typing import NamedTuple

# --- timestamps ----------------------------------------------------------------------

# Go prints the zone abbreviation of the agent's local time zone (layout "MST"), or a
# numeric offset such as "+03" or "+0530" where the zone has no abbreviation.
# Ambiguous abbreviations take their most common meaning on Linux hosts: CST is US
# Central (China Standard Time is also written CST), IST is India, BST is British Summer.
TZ_OFFSETS_H: dict[str, float] = {
    "UTC": 0, "UCT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 5.5,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "TRT": 3,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
    "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3, "NST": -3.5,
    "NDT": -2.5, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "PHT": 8, "AWST": 8, "WIB": 7,
    "ICT": 7, "PKT": 5, "ACST": 9.5, "ACDT": 10.5, "AEST": 10, "AEDT": 11, "NZST": 12,
    "NZDT": 13, "SAST": 2, "CAT": 2, "EAT": 3, "WAT": 1, "IDT": 3,
}

# The default layout writes "2006-01-02 15:04:05 MST"; with log_format_rfc3339 the date is
# time.RFC3339, "2006-01-02T15:04:05Z07:00" (the zone attached: Z or +02:00).
_HEADER_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}:\d{2})(?:[.,]\d+)?"
    r"(?:(?P<rz>Z|[+-]\d{2}:\d{2})|[ ](?P<tz>[A-Za-z]{1,5}|[+-]\d{2}(?::?\d{2})?)) \| "
    r"(?P<component>[A-Z][A-Z0-9_-]*) \| "
    r"(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|CRIT|OFF)\s*\| "
    r"(?:\((?P<location>[^)]*)\) \| )?"
)
# Kubernetes container log prefixes: CRI files under /var/log/pods and `kubectl logs --timestamps`.
_KUBE_PREFIX_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?(?P<tz>Z|[+-]\d{2}:\d{2}) "
    r"(?:(?:stdout|stderr) [FP] )?"
)

# journalctl (short, short-precise, short-iso) and syslog files put the agent's console
# output behind "May 14 09:40:02 web-01 stackstate-agent[2211]: " (the agent logs to the
# console by default, log_to_console: true); the agent's own header follows it.
SYSLOG_PREFIX_RE = re.compile(
    r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))"
    r" [\w.-]+ [\w@./-]+(?:\[\d+\])?: "
)
_SYSLOG_STARTS = frozenset("JFMASOND0123456789")


def strip_syslog_prefix(text: str) -> str:
    """The line without a journald/syslog prefix (unchanged when it has none)."""
    if text[:1] in _SYSLOG_STARTS and (text[:1].isalpha() or text[10:11] == "T"):
        m = SYSLOG_PREFIX_RE.match(text)
        if m is not None:
            return text[m.end() :]
    return text


def tz_offset_seconds(tz: str) -> float | None:
    """Seconds east of UTC for a Go zone abbreviation or numeric offset; None if unknown."""
    if tz in TZ_OFFSETS_H:
        return TZ_OFFSETS_H[tz] * 3600
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", tz)
    if not m:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return sign * (hours * 3600 + minutes * 60)


def parse_timestamp(date: str, time_: str, tz: str) -> float | None:
    """Epoch seconds for ``2024-05-01``, ``10:00:00``, ``CEST``; None when any part is invalid."""
    day = _day_start(date, tz)
    if day is None or len(time_) != 8:
        return None
    try:
        h, mi, s = int(time_[0:2]), int(time_[3:5]), int(time_[6:8])
    except ValueError:
        return None
    if h > 23 or mi > 59 or s > 60:
        return None
    return day + h * 3600 + mi * 60 + s


@functools.lru_cache(maxsize=512)
def _day_start(date: str, tz: str) -> float | None:
    """Midnight of a local date in epoch seconds (cached: a log has few distinct days)."""
    offset = tz_offset_seconds(tz)
    if offset is None:
        return None
    try:
        y, mo, d = (int(p) for p in date.split("-"))
        if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]):
            return None
        return calendar.timegm((y, mo, d, 0, 0, 0, 0, 0, 0)) - offset
    except (ValueError, OverflowError, calendar.IllegalMonthError):
        return None


class LogRecord(NamedTuple):
    """One agent log line, split into its parts. Offsets index the line as given.

    A named tuple: a scan makes one for every line it parses, and a tuple is made in a
    third of the time a frozen dataclass takes."""

    ts: float | None  # epoch seconds; None when the zone or date cannot be read
    tz: str
    component: str
    level: str
    location: str
    msg_start: int  # where the message starts in the line
    check: str | None  # the check the line speaks for, when it names one


# `check:<name> | ...` (collector check logger), `<name>:<16 hex> | (file.py:N) | ...`
# (Python check log messages; instance ids may carry an instance name between).
_CHECK_TAG_RE = re.compile(r"check:(?P<name>[A-Za-z0-9_.-]+) \| ")
_PY_CHECK_RE = re.compile(r"(?P<name>[A-Za-z0-9_.-]+):(?:[^|]*?:)?[0-9a-f]{16} \| ")


def parse_line(text: str) -> LogRecord | None:
    """Split an agent log line; None when the line is not one (continuations, other text)."""
    if not text[:1].isdigit():
        return None
    offset = 0
    m = _HEADER_RE.match(text)
    kube = None
    if m is None:
        kube = _KUBE_PREFIX_RE.match(text)
        if kube is None:
            return None
        offset = kube.end()
        m = _HEADER_RE.match(text, offset)
    if m is None:
        assert kube is not None
        # A container line without the agent's own header (e.g. a Python traceback line):
        # the runtime's timestamp still dates it.
        tz = "UTC" if kube.group("tz") == "Z" else kube.group("tz")
        return LogRecord(
            parse_timestamp(kube.group("date"), kube.group("time"), tz), tz, "", "", "", offset, None
        )
    date, time_, rz, tz, component, level, location = m.group(
        "date", "time", "rz", "tz", "component", "level", "location")
    tz = tz or ("UTC" if rz == "Z" else rz)
    key = (date, time_, tz)
    ts = _SECONDS.get(key, -1.0)
    if ts == -1.0:  # lines come many to a second: each second is read once
        ts = parse_timestamp(date, time_, tz)
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        _SECONDS[key] = ts
    start = m.end()
    check = None
    if text.startswith("check:", start):
        c = _CHECK_TAG_RE.match(text, start)
        if c:
            check = c.group("name")
    else:
        # `<name>:<16 hex> | `: none of its parts holds a `|`, so it ends at the first one.
        bar = text.find("|", start)
        if bar - start >= 19 and text[bar - 1] == " " and text[bar - 2] in _HEX:
            c = _PY_CHECK_RE.match(text, start)
            if c:
                check = c.group("name")
    return LogRecord(ts, tz, component, level, location or "", start, check)


_SECONDS: dict[tuple[str, str, str], float | None] = {}
_HEX = frozenset("0123456789abcdef")


def json_record_text(text: str) -> str | None:
    """A ``log_format_json`` line as the default layout, so one parser reads both; None if the
    line is not such a record.

    The layout (StackVista/stackstate-agent 2.19.1 pkg/config/log_format.go buildJSONFormat):
    ``{"agent":"core","time":"<date>","level":"INFO","file":"...","line":"N","func":"...",
    "msg":"...", <extra context such as "check":"cpu">}``.
    """
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("time"), str) or not isinstance(obj.get("msg"), str):
        return None
    agent = str(obj.get("agent") or "core").upper()
    level = str(obj.get("level") or "INFO").upper()
    where = f"({obj.get('file') or '?'}:{obj.get('line') or '?'} in {obj.get('func') or '?'}) | "
    extra = {k: v for k, v in obj.items() if k not in _JSON_KEYS}
    context = "".join(f"{k}:{v} | " for k, v in extra.items() if isinstance(v, (str, int, float)))
    return f"{obj['time']} | {agent} | {level} | {where}{context}{obj['msg']}"


_JSON_KEYS = frozenset({"agent", "time", "level", "file", "line", "func", "msg"})
