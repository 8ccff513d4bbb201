"""Transient or persistent: has a problem a log shows recovered by the end of the window? Pure.

A problem followed by a recovery line (Kafka's producer "Connected", an agent's
successful post) has recovered: at the time of that line. Kubernetes receivers log at
WARN, so success lines are rare; there a problem also counts as recovered when no
problem line has appeared for at least ``QUIET_INTERVALS`` reporting intervals before
the window's end **and** data downstream is fresh. Whether it is fresh is not in the
log: the caller passes ``downstream_fresh`` (None when unknown, and then the recovery
is only "unconfirmed": the later stages say whether data flows on).
"""

from __future__ import annotations

from dataclasses import dataclass

QUIET_INTERVALS = 3
REPORTING_INTERVAL_S = 60.0  # agents post every 15-30 s; a minute is a conservative interval

RECOVERED, UNCONFIRMED, PERSISTENT = "recovered", "unconfirmed", "persistent"


@dataclass(frozen=True)
class Recovery:
    state: str  # recovered | unconfirmed | persistent
    recovered_at: float | None  # the recovery line's time, when one was seen
    quiet_s: float | None  # seconds from the last problem to the end of the window
    reason: str  # why, in a clause: "a recovery line followed it", ...


def judge_recovery(
    last_problem: float | None,
    recovered_at: float | None,
    window_end: float,
    *,
    interval_s: float = REPORTING_INTERVAL_S,
    downstream_fresh: bool | None = None,
) -> Recovery:
    """Transient or persistent, from the last problem's time and the last recovery line's."""
    if last_problem is None:
        return Recovery(PERSISTENT, None, None, "the problem lines carry no time")
    quiet = max(0.0, window_end - last_problem)
    if recovered_at is not None and recovered_at >= last_problem:
        return Recovery(RECOVERED, recovered_at, quiet, "a recovery line followed the last problem")
    if quiet >= QUIET_INTERVALS * interval_s:
        if downstream_fresh is True:
            return Recovery(RECOVERED, None, quiet, f"no problem for {_span(quiet)} and data downstream is fresh")
        if downstream_fresh is None:
            return Recovery(UNCONFIRMED, None, quiet,
                            f"no problem for {_span(quiet)} (over {QUIET_INTERVALS} reporting intervals), "
                            "but whether data downstream is fresh is not known here")
        return Recovery(PERSISTENT, None, quiet, f"no problem for {_span(quiet)}, but data downstream is stale")
    return Recovery(PERSISTENT, None, quiet, f"the last problem was {_span(quiet)} before the window's end")


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
