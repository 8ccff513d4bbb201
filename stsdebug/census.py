"""What a system holds in the window, per metric prefix: the common currency of the
Kafka, Elasticsearch, scope and source stages (scope compares the two censuses). The
census service that takes them once per trace is ``stsdebug.stages.census``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PrefixCount:
    prefix: str  # e.g. "aws." (see integrations.prefix_of)
    records: int = 0  # records/documents carrying at least one metric with this prefix
    newest: float | None = None  # epoch seconds of the newest one

    def see(self, ts: float | None) -> None:
        self.records += 1
        if ts is not None and (self.newest is None or ts > self.newest):
            self.newest = ts


@dataclass
class Census:
    system: str  # "kafka" | "elasticsearch"
    start: float  # window, epoch seconds
    end: float
    total: int = 0  # records in the window (exact or estimated, see `sampled`)
    examined: int = 0  # records actually decoded/inspected
    sampled: bool = False  # True when only part of the window was inspected
    decoded: bool = True  # False when records were not JSON (counts and ages only)
    matched: int = 0  # records matching the integration (among `examined`)
    matched_newest: float | None = None
    newest: float | None = None  # newest record of any kind
    prefixes: dict[str, PrefixCount] = field(default_factory=dict)
    note: str = ""

    def prefix(self, name: str) -> PrefixCount:
        if name not in self.prefixes:
            self.prefixes[name] = PrefixCount(name)
        return self.prefixes[name]
