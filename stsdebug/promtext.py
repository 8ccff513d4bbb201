"""The Prometheus text exposition format: parse a ``/metrics`` page, compare two of them.

Pure (no I/O). ``stsdebug.sources.prom_metrics`` fetches the pages; stages judge them.
StackState 6 exposes three such pages on the metrics path: the receiver (port 9404,
JVM/Akka and ``stackstate_receiver_*`` metrics), vmagent (8429) and VictoriaMetrics
(8428); see docs/v6/facts.md for the names that matter.

    page = parse(text)                      # -> Page (samples, types, help)
    page.total("vm_rows_ignored_total", reason="small_timestamp")
    deltas(before, after, "vmagent_remotewrite_packets_dropped_total")

Counters are compared with reset handling: a counter that went down was restarted
(the process restarted), so its increase is its new value, as Prometheus' ``increase``
does. Lines that cannot be parsed are kept in ``Page.bad_lines`` (with their numbers)
instead of failing the whole page: one odd line must not hide every other signal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*\"")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
_SPECIAL = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float
    timestamp_ms: int | None = None

    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.name, tuple(sorted(self.labels.items()))


@dataclass
class Page:
    """One scraped page. ``taken_at`` (epoch seconds) is set by whoever fetched it."""

    samples: list[Sample] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    taken_at: float | None = None

    def names(self) -> set[str]:
        return {s.name for s in self.samples}

    def series(self, name: str, **match: str) -> list[Sample]:
        """Samples of `name` whose labels include every `match` pair."""
        return [s for s in self.samples if s.name == name and _matches(s.labels, match)]

    def total(self, name: str, **match: str) -> float | None:
        """Sum over the matching series, or None when the page has no such series."""
        found = self.series(name, **match)
        return math.fsum(s.value for s in found) if found else None

    def by_label(self, name: str, label: str) -> dict[str, float]:
        """`name` summed per value of `label`, e.g. vm_rows_ignored_total by reason."""
        out: dict[str, float] = {}
        for s in self.series(name):
            value = s.labels.get(label, "")
            out[value] = out.get(value, 0.0) + s.value
        return out


def parse(text: str) -> Page:
    page = Page()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            _comment(page, line)
            continue
        try:
            page.samples.append(_sample(line))
        except ValueError:
            page.bad_lines.append((number, raw[:200]))
    return page


@dataclass(frozen=True)
class Delta:
    """How much one counter series rose between two pages."""

    name: str
    labels: Mapping[str, str]
    before: float | None  # None: the series was not on the first page (it is new)
    after: float
    increase: float
    reset: bool  # the counter went down: the process restarted in between
    seconds: float | None  # time between the pages, when both carry taken_at

    @property
    def rate(self) -> float | None:
        if not self.seconds or self.seconds <= 0:
            return None
        return self.increase / self.seconds


def counter_increase(before: float | None, after: float) -> tuple[float, bool]:
    """(increase, reset). A counter that went down restarted from zero."""
    if before is None:
        return after, False
    if after < before:
        return after, True
    return after - before, False


def deltas(before: Page, after: Page, name: str, **match: str) -> list[Delta]:
    """One Delta per series of `name` on the second page (series gone since are left out)."""
    old = {s.key(): s.value for s in before.series(name, **match)}
    seconds = (after.taken_at - before.taken_at
               if after.taken_at is not None and before.taken_at is not None else None)
    out = []
    for s in after.series(name, **match):
        prev = old.get(s.key())
        inc, reset = counter_increase(prev, s.value)
        out.append(Delta(s.name, s.labels, prev, s.value, inc, reset, seconds))
    return out


def total_increase(before: Page, after: Page, name: str, **match: str) -> float | None:
    """Sum of the increases of every matching series; None when no series exists."""
    found = deltas(before, after, name, **match)
    return math.fsum(d.increase for d in found) if found else None


# --- line parsing ---------------------------------------------------------------------


def _comment(page: Page, line: str) -> None:
    parts = line[1:].strip().split(None, 2)
    if len(parts) >= 2 and parts[0] in ("TYPE", "HELP"):
        rest = parts[2] if len(parts) > 2 else ""
        if parts[0] == "TYPE":
            page.types[parts[1]] = rest.strip().lower()
        else:
            page.help[parts[1]] = rest.strip()


def _sample(line: str) -> Sample:
    m = _NAME.match(line)
    if not m:
        raise ValueError("no metric name")
    name = m.group(0)
    pos = m.end()
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        labels, pos = _labels(line, pos + 1)
    rest = line[pos:].split()
    if not rest or len(rest) > 2:
        raise ValueError("expected a value and an optional timestamp")
    value = _number(rest[0])
    ts = int(float(rest[1])) if len(rest) == 2 else None
    return Sample(name, labels, value, ts)


def _labels(line: str, pos: int) -> tuple[dict[str, str], int]:
    labels: dict[str, str] = {}
    while True:
        while pos < len(line) and line[pos] in " ,":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        m = _LABEL.match(line, pos)
        if not m:
            raise ValueError("bad label")
        value, pos = _quoted(line, m.end())
        labels[m.group(1)] = value


def _quoted(line: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    while pos < len(line):
        ch = line[pos]
        if ch == "\\" and pos + 1 < len(line):
            out.append(_ESCAPES.get(line[pos + 1], "\\" + line[pos + 1]))
            pos += 2
        elif ch == '"':
            return "".join(out), pos + 1
        else:
            out.append(ch)
            pos += 1
    raise ValueError("unterminated label value")


def _number(text: str) -> float:
    special = _SPECIAL.get(text.lower())
    if special is not None:
        return special
    return float(text)


def _matches(labels: Mapping[str, str], match: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in match.items())

