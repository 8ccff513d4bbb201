"""What a system holds in the window, per metric prefix: the common currency of the
Kafka, Elasticsearch, scope and source stages (scope compares the two censuses). The
census service that takes them once per trace is ``stsdebug.stages.census``.

Counts are of the window; the newest times look further back where the read does (the
Kafka tail read, Elasticsearch's look-back for prefixes absent from the window), so a
stopped series shows how long ago it stopped and a slow one is not taken for stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PrefixCount:
    prefix: str  # e.g. "aws." (see integrations.prefix_of)
    records: int = 0  # records/documents in the window carrying at least one metric with this prefix
    newest: float | None = None  # epoch seconds of the newest one, in the window or before it

    def see(self, ts: float | None, in_window: bool = True) -> None:
        if in_window:
            self.records += 1
        if ts is not None and (self.newest is None or ts > self.newest):
            self.newest = ts


@dataclass
class HostClock:
    """One host's points: when they were received against the time they carry."""

    host: str
    points: int  # points compared
    behind_s: float  # the smallest delay (received - stamped) among them: the clock's offset
    newest_stamp: float | None = None  # the newest time its points carry
    newest_received: float | None = None


@dataclass
class Census:
    system: str  # "kafka" | "elasticsearch"
    start: float  # window, epoch seconds
    end: float
    total: int = 0  # records in the window (exact or estimated, see `sampled`)
    examined: int = 0  # records actually decoded/inspected
    sampled: bool = False  # True when only part of the window was inspected
    decoded: bool = True  # False when records were not JSON (counts and ages only)
    matched: int = 0  # records in the window matching the integration (among `examined`)
    matched_newest: float | None = None  # newest matching one, in the window or before it
    newest: float | None = None  # newest record of any kind
    prefixes: dict[str, PrefixCount] = field(default_factory=dict)
    note: str = ""
    # How far back the newest times were looked for (epoch seconds; None: the window only).
    seen_since: float | None = None
    # The integration's reporting interval measured on this data (None: too little to tell).
    interval_s: float | None = None
    # Hosts whose points are received much later (or earlier) than the time they carry.
    clocks: list[HostClock] = field(default_factory=list)

    def prefix(self, name: str) -> PrefixCount:
        if name not in self.prefixes:
            self.prefixes[name] = PrefixCount(name)
        return self.prefixes[name]


# --- every integration at once (`stsdebug check` without --integration) ---------------------

FRESH, STALE, UNSEEN, ON_DEMAND, UNRECOGNISED = "fresh", "stale", "not seen", "on demand", "not recognisable"


@dataclass
class IntegrationState:
    """One catalog integration (or a prefix no integration claims) as the censuses show it."""

    name: str
    kind: str  # push | pull
    state: str  # FRESH, STALE, UNSEEN, ON_DEMAND or UNRECOGNISED
    records: int = 0  # in the window
    newest_age_s: float | None = None
    interval_s: float | None = None
    note: str = ""


@dataclass
class Overview:
    """The census of every integration: fresh or stale by kind."""

    window: str
    started_at: float
    read: list[str] = field(default_factory=list)  # the systems read ("Kafka", "Elasticsearch")
    problems: list[str] = field(default_factory=list)  # the systems that could not be read, and why
    rows: list[IntegrationState] = field(default_factory=list)

    def by(self, state: str) -> list[IntegrationState]:
        return [r for r in self.rows if r.state == state]

    def exit_code(self) -> int:
        """1 when an integration stopped, 3 when nothing could be read, 0 otherwise."""
        if self.by(STALE):
            return 1
        if not self.read:
            return 3
        return 0

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": "stsdebug.census/1",
            "window": self.window,
            "started_at": self.started_at,
            "read": list(self.read),
            "problems": list(self.problems),
            "integrations": [
                {k: v for k, v in vars(r).items() if v not in (None, "")} for r in self.rows
            ],
        }
