"""Hosts whose clock is off: points received now but stamped long ago (or ahead). Pure.

StackState files every point under the time it carries. An agent whose clock runs behind
sends points that arrive on time but land in the past, where no chart looks; one that
runs ahead lands in the future. The first stage that sees both times (Kafka: the record's
own timestamp against the metric's; Elasticsearch: ``timeReceived`` against
``timestamp``) fails and names the host.

A host's offset is the smallest delay among its newest points: data sent on time shows a
delay near zero, so buffered or backfilled points (a Splunk check catching up, an agent
after an outage) next to live ones are not a clock problem; when even the smallest delay is
large, every point is late.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from stsdebug.census import HostClock
from stsdebug.model import Table
from stsdebug.stages.freshness import Cadence
from stsdebug.stages.phrases import age_text, listing

MIN_SKEW_S = 300.0  # less than this is delivery delay (batching, retries, Splunk indexing)
SKEW_INTERVALS = 2  # ... or two reporting intervals, for slow series


def threshold(c: Cadence) -> float:
    return max(MIN_SKEW_S, SKEW_INTERVALS * c.seconds)


def clock_skew(clocks: Sequence[HostClock], c: Cadence) -> list[HostClock]:
    """The hosts whose points are all stamped further from their arrival than delivery explains."""
    limit = threshold(c)
    return [h for h in clocks if abs(h.behind_s) > limit]


def direction(h: HostClock) -> str:
    return "behind" if h.behind_s > 0 else "ahead"


def clock_finding(
    skewed: Sequence[HostClock], hosts: int, name: str, arrive: str, received: str
) -> tuple[str, str]:
    """(summary, hint) for the skewed hosts among ``hosts`` of the integration.

    ``arrive``: "reach Kafka"; ``received``: what stamped the arrival ("Kafka's record
    timestamps")."""
    first = skewed[0]
    off = age_text(first.behind_s)
    named = first.host or "(no host)"
    if len(skewed) >= 2 and len(skewed) == hosts and _alike(skewed):
        summary = (
            f"The points of every {name} host ({listing([h.host or '(no host)' for h in skewed], 4)}) "
            f"{arrive} on time but are stamped about {off} {direction(first)} the time they arrived: "
            f"either every agent's clock runs {direction(first)}, or the clock behind {received} "
            f"runs the other way; StackState files them {off} {_where(first)}, where no chart shows them."
        )
        hint = (
            "Compare the clocks of the agent hosts and of the StackState receiver (date -u on each, "
            "or `stackstate-agent status`, Clocks: NTP offset); fix NTP where it is off."
        )
        return summary, hint
    others = len(skewed) - 1
    also = f" (and {others} more host{'s' if others != 1 else ''})" if others else ""
    summary = (
        f"The clock of host {named} runs about {off} {direction(first)}{also}: its {name} points "
        f"{arrive} on time but carry timestamps {off} {_stamped(first)} ({first.points:,} points "
        f"compared, the closest {off} off), so StackState files them {off} {_where(first)}, where "
        "no chart shows them."
    )
    hint = (
        f"Fix the clock of {named} (NTP: timedatectl, chronyc tracking; `stackstate-agent status` "
        "shows the NTP offset under Clocks). Points already sent stay where they were filed."
    )
    return summary, hint


def clock_table(skewed: Sequence[HostClock], received: str) -> Table:
    rows = [
        [h.host or "(no host)", direction(h), round(abs(h.behind_s), 1), h.points] for h in skewed[:20]
    ]
    return Table(
        "Host clocks",
        ["host", "clock", f"offset against when {received} (s)", "points compared"],
        rows,
        note="The offset is the smallest delay among the host's newest points: points sent on time "
        "would show none, so buffered or backfilled points alone do not count.",
    )


def _alike(skewed: Sequence[HostClock]) -> bool:
    offsets = [h.behind_s for h in skewed]
    return max(offsets) - min(offsets) <= max(MIN_SKEW_S, 0.1 * abs(offsets[0]))


def _stamped(h: HostClock) -> str:
    return "old" if h.behind_s > 0 else "in the future"


def _where(h: HostClock) -> str:
    return "in the past" if h.behind_s > 0 else "in the future"


# --- points the receiver ignored as too old (its log) ----------------------------------------

# The receiver's wording for ignored old points is not public (inferred, docs/formats.md §2):
# read the host it names and how old the points were, whichever way the line says it.
_HOST = re.compile(r"\bhost[=:\s]+['\"]?(?P<host>[A-Za-z0-9][\w.\-]*)", re.I)
_POINT_TIME = re.compile(r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)")
_AGE = re.compile(r"\b(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>minutes?|min|hours?|h|seconds?|s)\s+old\b", re.I)
_UNIT_S = {"s": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
           "h": 3600.0, "hour": 3600.0, "hours": 3600.0}


@dataclass(frozen=True)
class TooOld:
    hosts: tuple[str, ...]  # the hosts named, most frequent first
    behind_s: float | None  # how far the newest ignored points lag the time they arrived (median)


def too_old(lines: Sequence[tuple[float | None, str]]) -> TooOld:
    """Hosts and lag from the receiver's lines about points it ignored as too old: (entry time,
    text) pairs. The lag is the entry's time minus the newest point's time the line names, or the
    age it states ("120 minutes old")."""
    hosts: dict[str, int] = {}
    lags: list[float] = []
    for ts, text in lines:
        m = _HOST.search(text)
        if m:
            hosts[m["host"].rstrip(".,;")] = hosts.get(m["host"].rstrip(".,;"), 0) + 1
        age = _AGE.search(text)
        point = _POINT_TIME.search(text)
        if age:
            lags.append(float(age["n"]) * _UNIT_S[age["unit"].lower()])
        elif point and ts is not None:
            stamp = _iso(point["ts"])
            if stamp is not None:
                lags.append(ts - stamp)
    ranked = tuple(sorted(hosts, key=lambda h: -hosts[h]))
    return TooOld(ranked, statistics.median(lags) if lags else None)


def too_old_clause(t: TooOld) -> str:
    """"the clock of host db-02 runs about 2.0 h behind (or it sends points buffered that long)"."""
    if not t.hosts:
        return "the clock of the sending host runs behind, or it sends buffered points late"
    named = t.hosts[0] + (f" (and {len(t.hosts) - 1} more)" if len(t.hosts) > 1 else "")
    if t.behind_s is None or t.behind_s <= 0:
        return f"the clock of host {named} runs behind, or it sends buffered points late"
    off = age_text(t.behind_s)
    return f"the clock of host {named} runs about {off} behind (or it sends points buffered that long)"


def _iso(text: str) -> float | None:
    from datetime import datetime, timezone

    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()
