"""Checks of the intake's metrics: ``[name, timestamp, value, {hostname, type, tags}]``."""

from __future__ import annotations

from typing import Any

from stsdebug.payloads.base import (
    CheckerBase,
)
from stsdebug.payloads.helpers import (
    _ARRAYS,
    _is_number,
    _kind,
    _metric_name_issue,
    _numeric_string,
    _Path,
    _s,
    _show,
    metric_type_problem,
)
from stsdebug.payloads.rules import (
    _METRIC_TYPE_LIST,
    _REJECTED,
)


class MetricChecks(CheckerBase):
    def _metric(self, m: Any, path: _Path) -> None:
        shape = "[name, timestamp, value, {hostname, type, tags}]"
        if not isinstance(m, _ARRAYS):
            hint = ""
            if isinstance(m, dict) and ("metric" in m or "points" in m):
                hint = " (this looks like the agent's series format {metric, points, ...})"
            self.add(
                "metric.shape", path,
                f"a metric must be an array {shape}, got {_kind(m)}{hint}; {_REJECTED}",
            )
            return
        if len(m) != 4:
            self.add(
                "metric.shape", path,
                f"a metric array has {len(m)} element{_s(len(m))}, the receiver expects 4: {shape}",
            )
        if len(m) > 0:
            issue = _metric_name_issue(m[0])
            if issue:
                self.add(issue[0], path + (0,), issue[1])
        if len(m) > 1:
            self._event_or_metric_time(m[1], path + (1,), "metric timestamp")
        if len(m) > 2 and not _is_number(m[2]):
            hint = " (a number in quotes is a string)" if _numeric_string(m[2]) else ""
            self.add(
                "metric.value", path + (2,),
                f"metric value must be a number, got {_show(m[2])}{hint}",
            )
        if len(m) > 3:
            self._metric_meta(m[3], path + (3,))

    def _metric_meta(self, meta: Any, path: _Path) -> None:
        if not isinstance(meta, dict):
            self.add(
                "metric.meta", path,
                f"the 4th metric element must be an object {{hostname, type, tags}}, got {_kind(meta)}",
            )
            return
        if "hostname" not in meta:
            self.add(
                "metric.hostname-missing", path + ("hostname",),
                "metric has no hostname; the StackState agent always sets one, and streams that "
                "filter on host will not find this metric",
            )
        elif not isinstance(meta["hostname"], str):
            self.add(
                "metric.member-type", path + ("hostname",),
                f"metric hostname must be a string, got {_kind(meta['hostname'])}",
            )
        if "type" not in meta:
            self.add(
                "metric.type-missing", path + ("type",),
                f"metric has no type; the StackState agent always sends one of {_METRIC_TYPE_LIST}",
            )
        else:
            problem = metric_type_problem(meta["type"])
            if problem:
                self.add("metric.type", path + ("type",), problem)
        self._string_list(meta, "tags", path, "metric.member-type", "metric tags")

