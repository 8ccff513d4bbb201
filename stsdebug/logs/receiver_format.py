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


# --- where entries start --------------------------------------------------------------


def _next_header(buf: bytes | bytearray, pos: int, hi: int | None = None) -> int:
    m = _NEXT_HEADER.search(buf, pos, len(buf) if hi is None else hi)
    return m.start() + 1 if m else -1


def _last_header_start(buf: bytes | bytearray, lo: int, hi: int, max_lines: int = 5000) -> int:
    """Offset of the last line in buf[lo:hi] that starts an entry; -1 if none is near the end."""
    end = hi
    if end > lo and buf[end - 1] == 10:
        end -= 1
    for _ in range(max_lines):
        ls = buf.rfind(b"\n", lo, end) + 1
        if ls == 0:
            ls = lo
        if HEADER_START.match(buf, ls, hi):
            return ls
        if ls <= lo:
            return -1
        end = ls - 1
    return -1


def _entry_start(buf: bytes | bytearray, pos: int, first_header: int, max_lines: int = 5000) -> int:
    """Start of the header line of the entry holding ``pos`` (pos >= first_header)."""
    end = pos
    for _ in range(max_lines):
        ls = buf.rfind(b"\n", first_header, end) + 1
        if ls <= first_header:
            return first_header
        if HEADER_START.match(buf, ls):
            return ls
        end = ls - 1
    return buf.rfind(b"\n", 0, pos) + 1


def find_entry_start(data: bytes) -> int:
    """Offset of the first line in ``data`` that starts an entry (for splitting a file), or -1."""
    if HEADER_START.match(data):
        return 0
    return _next_header(data, 0)


# --- header shapes (the scanner reads most headers by their shape, not a regex) ----------

_UNSEEN = -2


def _shape_info(m: re.Match[bytes] | None, start: int, pos: int, key: bytes) -> int:
    """What a header line's shape says: 0 the needle at ``pos`` is not its level; -1 a header
    to read with the regex (a zone, a kubectl prefix, colour codes); else 1 + the number of
    fraction digits of a plain ``YYYY-MM-DD HH:MM:SS[,fff]`` header whose level is at ``pos``,
    plus 16 for the Kubernetes layout (no thread)."""
    if m is None or m.start("level") != pos:
        return 0
    if m.group("kts") is not None or m.group("zone") is not None or m.start("date") != start or b"\x1b" in key:
        return -1
    if m.start("logger") > pos + 8:  # the shape did not reach the logger: not enough to decide
        return -1
    frac = m.group("frac")
    if m.start("time") != start + 11 or (frac is not None and m.start("frac") != start + 20) or (
            frac is not None and len(frac) > 9):
        return -1
    return 1 + (len(frac) if frac else 0) + (16 if m.group("thread") is None else 0)


def parse_entries(text: str, tz: tzinfo | None = None) -> list[tuple[Header | None, list[str], int]]:
    """Group a small log into entries: (header or None, lines, 1-based line number of the first).

    For tests and small inputs; the scanner does the same grouping on bytes.
    """
    clock = Clock(tz)
    out: list[tuple[Header | None, list[str], int]] = []
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        b = line.encode("utf-8", "replace")
        head = parse_header(b, clock) if HEADER_START.match(b) else None
        if head is not None or not out:
            out.append((head, [clean(line)], n))
        else:
            out[-1][1].append(clean(line))
    if out and out[-1][1] == [""] and out[-1][0] is None:
        out.pop()
    while out and out[-1][1] and out[-1][1][-1] == "" and len(out[-1][1]) > 1:
        out[-1][1].pop()
    return out
