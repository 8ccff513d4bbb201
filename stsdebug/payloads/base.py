"""What every part of the payload checker shares: the problem list, timestamps, string lists."""

from __future__ import annotations

import math
import time
from typing import Any

from stsdebug.payloads.helpers import (
    _ARRAYS,
    _is_number,
    _iso,
    _kind,
    _Path,
    _show,
    _span,
)
from stsdebug.payloads.rules import (
    _REJECTED,
    _TOO_LARGE_TS,
    _UNITS,
    COUNT_KEYS,
)


class CheckerBase:
    def __init__(self, now: float | None, max_age_s: float, max_future_s: float) -> None:
        self.now = time.time() if now is None else float(now)
        self.max_age_s = float(max_age_s)
        self.max_future_s = float(max_future_s)
        self.found: list[tuple[str, _Path, str, int | None]] = []
        self.counts = dict.fromkeys(COUNT_KEYS, 0)
        self.collection: float | None = None

    def add(self, rule: str, path: _Path, message: str, *, at: int | None = None) -> None:
        self.found.append((rule, path, message, at))

    # -- report ---------------------------------------------------------------------


    def _member_array(
        self, obj: dict[Any, Any], member: str, check: Any, count_key: str | None
    ) -> None:
        if member not in obj or obj[member] is None:
            return
        value = obj[member]
        if not isinstance(value, _ARRAYS):
            self.add(
                "intake.member-type", (member,),
                f"{member} must be an array, got {_kind(value)}; {_REJECTED}",
            )
            return
        for i, item in enumerate(value):
            if count_key:
                self.counts[count_key] += 1
            if check is not None:
                check(item, (member, i))

    # -- timestamps -----------------------------------------------------------------

    def _timestamp(self, value: Any, path: _Path, what: str, *, strict: bool) -> float | None:
        """Check an epoch-seconds timestamp; return it when it is usable for age checks."""
        if not _is_number(value):
            self.add(
                "timestamp.not-number", path,
                f"{what} must be a number of epoch seconds, got {_show(value)}",
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None  # reported by the document walk
        if value <= 0:
            self.add(
                "timestamp.non-positive", path,
                f"{what} {_show(value)} is not a positive number of epoch seconds",
            )
            return None
        if value < _UNITS[0][0]:
            return float(value)
        rule = "timestamp.not-seconds" if strict else "timestamp.collection-not-seconds"
        if value >= _TOO_LARGE_TS:
            self.add(rule, path, f"{what} {_show(value)} is far too large for epoch seconds")
            return None
        unit, divisor = next((u, d) for low, d, u in reversed(_UNITS) if value >= low)
        self.add(
            rule, path,
            f"{what} {_show(value)} looks like {unit} ({_iso(value / divisor)} when read so); "
            "the receiver expects epoch seconds",
        )
        return None

    def _age(self, ts: float, path: _Path, what: str, *, against_collection: bool) -> None:
        """Stale or future against collection_timestamp, else against now (see module doc)."""
        now, coll = self.now, (self.collection if against_collection else None)
        limit, skew = self.max_age_s, self.max_future_s
        if coll is not None and ts < coll - limit:
            self._stale(ts, path, what, coll, "the payload's collection_timestamp")
        elif ts < now - limit and not (coll is not None and coll < now - limit):
            self._stale(ts, path, what, now, "the current time")
        if coll is not None and ts > coll + skew:
            self._future(ts, path, what, coll, "the payload's collection_timestamp")
        elif ts > now + skew and not (coll is not None and coll > now + skew):
            self._future(ts, path, what, now, "the current time")

    def _stale(self, ts: float, path: _Path, what: str, ref: float, ref_name: str) -> None:
        self.add(
            "timestamp.stale", path,
            f"{what} {_iso(ts)} is {_span(ref - ts)} before {ref_name} ({_iso(ref)}); data "
            f"older than the receiver's configured limit is ignored (checked: {_span(self.max_age_s)})",
        )

    def _future(self, ts: float, path: _Path, what: str, ref: float, ref_name: str) -> None:
        self.add(
            "timestamp.future", path,
            f"{what} {_iso(ts)} is {_span(ts - ref)} after {ref_name} ({_iso(ref)}); check the "
            f"sender's clock (allowed skew: {_span(self.max_future_s)})",
        )

    def _event_or_metric_time(self, value: Any, path: _Path, what: str) -> None:
        ts = self._timestamp(value, path, what, strict=True)
        if ts is not None:
            self._age(ts, path, what, against_collection=True)

    # -- metrics --------------------------------------------------------------------


    def _string_list(
        self, obj: dict[Any, Any], member: str, path: _Path, rule: str, what: str,
        *, allow_null: bool = True,
    ) -> None:
        if member not in obj or (obj[member] is None and allow_null):
            return
        value = obj[member]
        if not isinstance(value, _ARRAYS):
            self.add(rule, path + (member,), f"{what} must be an array of strings, got {_kind(value)}")
            return
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.add(rule, path + (member, i), f"{what} must be strings, got {_show(item)}")

    # -- events ---------------------------------------------------------------------

