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

from collections.abc import Sequence

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
