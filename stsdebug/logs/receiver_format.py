"""The StackState receiver's log layouts and the clock that dates their lines. Pure.

The receiver logs through logback in one of two layouts (both confirmed in
StackVista's helm charts and packages):

* Linux package:        ``%date [%thread] %-5level %logger{60} - %msg%n``
* Kubernetes stdout:    ``%date %-5level %logger{60} - %msg%n``

``%date`` is logback's ISO8601 form ``2024-01-15 10:23:45,123`` and carries no
zone; it is read in the zone given to :class:`Clock`. A zone written after the time
(``Z``, ``+02:00``, ``+0200``) and the RFC 3339 prefix ``kubectl logs --timestamps``
adds are honoured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from stsdebug.logs.text import clean, decode

# --- header ----------------------------------------------------------------------

_ANSI_B = rb"(?:\x1b\[[0-9;]*m)*"
_SEP = rb"(?:\x1b\[[0-9;]*m)*(?: (?:\x1b\[[0-9;]*m)*)+"  # spaces, colour codes between them
_KTS = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d) "


def _header_pattern(named: bool) -> bytes:
    def g(name: str, body: bytes) -> bytes:
        return (b"(?P<" + name.encode() + b">" if named else b"(?:") + body + b")"

    return (
        b"(?:" + g("kts", _KTS[:-1]) + b" )?"
        + _ANSI_B
        + g("date", rb"\d{4}-\d\d-\d\d") + rb"[ T]" + g("time", rb"\d\d:\d\d:\d\d")
        + rb"(?:[,.]" + g("frac", rb"\d{1,9}") + rb")?"
        + rb"(?: ?" + g("zone", rb"Z|[+-]\d\d:?\d\d") + rb")?"
        + _SEP
        + rb"(?:\[" + g("thread", rb"[^\]\n]*") + rb"\]" + _SEP + rb")?"
        + g("level", rb"TRACE|DEBUG|INFO|WARN|ERROR")
        + rb"\b"
    )


HEADER_START = re.compile(_header_pattern(named=False))
_HEADER = re.compile(
    _header_pattern(named=True) + _SEP + rb"(?P<logger>[^\s\x1b]+)" + rb"(?:" + _SEP + rb"- ?(?P<msg>[^\n]*))?"
)
_NEXT_HEADER = re.compile(rb"\n(?=" + _header_pattern(named=False) + rb")")



@dataclass(frozen=True)
class Header:
    ts: float | None
    zoned: bool  # the timestamp carried its zone
    thread: str | None
    level: str
    logger: str
    message: str


def parse_header(line: bytes | str, clock: Clock | None = None) -> Header | None:
    """Parse one header line of either layout; None if the line does not start an entry."""
    raw = line.encode("utf-8", "replace") if isinstance(line, str) else line
    m = _HEADER.match(raw)
    if m is None:
        return None
    clock = clock or Clock(None)
    ts, zoned = clock.epoch(m)
    thread = m.group("thread")
    return Header(
        ts=ts,
        zoned=zoned,
        thread=decode(thread) if thread is not None else None,
        level=m.group("level").decode("ascii"),
        logger=decode(m.group("logger")),
        message=clean(decode(m.group("msg") or b"")),
    )



# --- time ------------------------------------------------------------------------


def parse_tz(spec: str | None) -> tzinfo | None:
    """'local'/None -> None (the local zone), 'UTC', '+02:00', '-0530', or an IANA name.

    Raises ValueError with a one-line explanation for anything else.
    """
    if spec is None or spec.strip().lower() in ("", "local"):
        return None
    s = spec.strip()
    if s.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    m = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d\d):?(\d\d)", s, re.I)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3))
        if minutes >= 24 * 60:
            raise ValueError(f"time zone {spec!r}: offset out of range")
        return timezone((-1 if m.group(1) == "-" else 1) * timedelta(minutes=minutes))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(s)
    except Exception:  # noqa: BLE001 - zoneinfo raises several types for bad names
        raise ValueError(
            f"time zone {spec!r} is not known; use local, UTC, an offset like +02:00,"
            " or a name like Europe/Amsterdam"
        ) from None


def describe_tz(tz: tzinfo | None) -> str:
    if tz is None:
        offset = datetime.now().astimezone().strftime("%z")
        return f"local time (UTC{offset[:3]}:{offset[3:]})"
    return str(tz)


_K8S = b"@k8s"  # stands for "no zone written, Kubernetes layout" in the caches below


class Clock:
    """Turns header timestamps into epoch seconds, caching per hour (DST-safe enough).

    A timestamp without a zone is read in ``tz`` (None: the local zone); in the
    Kubernetes layout (no ``[thread]``) in ``k8s_tz`` instead, when given: receiver pods
    log UTC without saying so.
    """

    def __init__(self, tz: tzinfo | None, k8s_tz: tzinfo | None = None) -> None:
        self.tz = tz
        self.k8s_tz = k8s_tz if k8s_tz is not None else tz
        self._hours: dict[tuple[bytes, bytes, bytes | None], float | None] = {}
        self._seconds: dict[tuple[bytes, bytes, bytes | None], float | None] = {}

    def epoch(self, m: re.Match[bytes]) -> tuple[float | None, bool]:
        kts, date, hms, frac, zone = m.group("kts", "date", "time", "frac", "zone")
        if kts is not None:  # kubectl --timestamps: RFC 3339 with a zone; more reliable
            return self._epoch(kts[:10], kts[11:19], _frac_of(kts[19:]), _zone_of(kts[19:])), True
        if zone is None and m.group("thread") is None:
            return self._epoch(date, hms, frac, _K8S), False
        return self._epoch(date, hms, frac, zone), zone is not None

    def plain(self, date: bytes, hms: bytes, frac: bytes | None, k8s: bool = False) -> float | None:
        """A zone-less ``date hms[,frac]`` in the clock's zone (of the Kubernetes layout if k8s)."""
        return self._epoch(date, hms, frac, _K8S if k8s else None)

    def _epoch(self, date: bytes, hms: bytes, frac: bytes | None, zone: bytes | None) -> float | None:
        # Entries come many to a second: remember whole seconds.
        key = (date, hms, zone)
        value = self._seconds.get(key, -1.0)
        if value == -1.0:
            value = self._second_epoch(date, hms, zone)
            if len(self._seconds) > 4096:
                self._seconds.clear()
            self._seconds[key] = value
        if value is None:
            return None
        if frac:
            value += int(frac) / (10 ** len(frac))
        return value

    def _second_epoch(self, date: bytes, hms: bytes, zone: bytes | None) -> float | None:
        key = (date, hms[:2], zone)
        base = self._hours.get(key, -1.0)
        if base == -1.0:
            base = self._hour_epoch(date, hms[:2], zone)
            if len(self._hours) > 4096:
                self._hours.clear()
            self._hours[key] = base
        if base is None:
            return None
        minute, second = int(hms[3:5]), int(hms[6:8])
        if minute > 59 or second > 60:
            return None
        return base + minute * 60 + second

    def _hour_epoch(self, date: bytes, hour: bytes, zone: bytes | None) -> float | None:
        try:
            y, mo, d, h = int(date[:4]), int(date[5:7]), int(date[8:10]), int(hour)
            if zone == _K8S:
                tz: tzinfo | None = self.k8s_tz
            elif zone is not None:
                tz = _offset(zone)
            else:
                tz = self.tz
            dt = datetime(y, mo, d, h, tzinfo=tz)
            return dt.timestamp()  # naive (tz None) -> local time
        except (ValueError, OverflowError, OSError):
            return None


def _frac_of(rest: bytes) -> bytes | None:
    if rest.startswith(b"."):
        end = 1
        while end < len(rest) and rest[end : end + 1].isdigit():
            end += 1
        return rest[1:end] or None
    return None


def _zone_of(rest: bytes) -> bytes:
    i = 0
    while i < len(rest) and rest[i : i + 1] not in (b"Z", b"+", b"-"):
        i += 1
    return rest[i:]


def _offset(zone: bytes) -> tzinfo:
    z = zone.strip()
    if z == b"Z":
        return timezone.utc
    sign = -1 if z[:1] == b"-" else 1
    digits = z[1:].replace(b":", b"")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or b"0")))

