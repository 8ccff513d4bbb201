"""The payload checker: the whole document, its walk and its report."""

from __future__ import annotations

import math
from typing import Any

from stsdebug.jsontext import (
    line_col,
    locate,
    newline_offsets,
    quote,
)
from stsdebug.payloads.events import (
    EventChecks,
)
from stsdebug.payloads.health import (
    HealthChecks,
)
from stsdebug.payloads.helpers import (
    _ARRAYS,
    _MAX_GUESSES,
    _PLAIN_SCALARS,
    _guess,
    _Key,
    _kind,
    _member,
    _missing,
    _non_finite_message,
    _Path,
    _show,
    format_path,
)
from stsdebug.payloads.metrics import (
    MetricChecks,
)
from stsdebug.payloads.rules import (
    _REJECTED,
    INTAKE_MEMBERS,
    RULES,
    Problem,
    ValidationReport,
)


class Checker(MetricChecks, EventChecks, HealthChecks):
    def report(self, kind: str, text: str | None, start: int) -> ValidationReport:
        offsets: dict[_Path, int] = {}
        newlines: list[int] = []
        if text is not None and self.found:
            offsets = locate(text, start, {f[1] for f in self.found if f[3] is None})
            newlines = newline_offsets(text)
        problems: list[Problem] = []
        for rule, path, message, at in self.found:
            line = column = None
            if text is not None:
                if at is None:
                    at = next(
                        (offsets[path[:i]] for i in range(len(path), -1, -1) if path[:i] in offsets),
                        None,
                    )
                if at is not None:
                    line, column = line_col(newlines, at)
            problems.append(
                Problem(format_path(path), message, RULES[rule].severity, line, column, None, rule)
            )
        if text is not None:
            problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        return ValidationReport(kind, problems, dict(self.counts))

    # -- whole document -------------------------------------------------------------

    def run(self, obj: Any, *, walk: bool = True) -> str:
        if walk:
            self._walk(obj)
        if isinstance(obj, dict):
            return self._intake(obj)
        if isinstance(obj, _ARRAYS):
            return self._bare_array(obj)
        self.add(
            "intake.not-object", (),
            "the payload must be a JSON object (the common intake object with internalHostname, "
            f"metrics, events, health, ...), got {_kind(obj)}",
        )
        return "unknown"

    def _walk(self, root: Any) -> None:
        """Problems anywhere in the document: non-finite numbers, duplicate or odd keys."""
        stack: list[tuple[Any, _Path]] = [(root, ())]
        seen: set[int] = set()
        while stack:
            node, path = stack.pop()
            if isinstance(node, float):
                if not math.isfinite(node):
                    self.add("json.non-finite", path, _non_finite_message(node))
            elif isinstance(node, dict):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                for key in getattr(node, "duplicates", ()):
                    self.add(
                        "json.duplicate-member", path + (_member(path, key),),
                        f"member {quote(key, 60)} appears more than once in this object; only "
                        "the last one is checked here, and other parsers may keep another",
                    )
                children = []
                for key, value in node.items():
                    if isinstance(key, str):
                        if type(value) not in _PLAIN_SCALARS:
                            children.append((value, path + (_member(path, key),)))
                    else:
                        self.add(
                            "json.non-string-key", path + (_Key(_show(key)),),
                            f"member name {_show(key)} is not a string; JSON member names are "
                            "always strings",
                        )
                stack.extend(reversed(children))
            elif isinstance(node, _ARRAYS):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                stack.extend(
                    reversed(
                        [(v, path + (i,)) for i, v in enumerate(node) if type(v) not in _PLAIN_SCALARS]
                    )
                )
            elif not (node is None or isinstance(node, (str, int))):
                self.add(
                    "json.not-json", path,
                    f"{_kind(node)} has no JSON form; only objects, arrays, strings, numbers, "
                    "true, false and null can be sent",
                )

    def _bare_array(self, arr: list[Any] | tuple[Any, ...]) -> str:
        first = next((x for x in arr if x is not None), None)
        if isinstance(first, _ARRAYS):
            what = "metrics"
        elif isinstance(first, dict) and any(
            k in first for k in ("stream", "check_states", "start_snapshot", "consistency_model")
        ):
            what = "health"
        else:
            self.add(
                "intake.not-object", (),
                "the payload must be a JSON object (the common intake object with "
                "internalHostname, metrics, events, health, ...), got an array",
            )
            return "unknown"
        self.add(
            "intake.not-object", (),
            f"the payload is a bare array of {what}; the receiver expects the common object "
            f"around it: {{\"internalHostname\": \"...\", \"{what}\": [...]}}",
        )
        for i, item in enumerate(arr):
            if what == "metrics":
                self.counts["metrics"] += 1
                self._metric(item, (i,))
            else:
                self._health_entry(item, (i,))
        return "intake" if what == "metrics" else "health"

    # -- common object ----------------------------------------------------------------

    def _intake(self, obj: dict[Any, Any]) -> str:
        known = [k for k in INTAKE_MEMBERS if k in obj]
        unknown = [k for k in obj if isinstance(k, str) and k not in INTAKE_MEMBERS]
        # Guessing costs a fuzzy match per key; a few hundred keys are plenty for typos.
        for key in unknown[:_MAX_GUESSES]:
            guess = _guess(key, INTAKE_MEMBERS)
            if guess and guess not in obj and guess != "internalHostname":
                self.add(
                    "intake.unknown-member", (key,),
                    f"unknown member {quote(key, 40)} is ignored by the receiver; did you "
                    f"mean {quote(guess)}?",
                )

        if "internalHostname" not in obj:
            self.add(
                "intake.missing-member", ("internalHostname",),
                _missing(obj, "internalHostname", _REJECTED),
            )
        elif not isinstance(obj["internalHostname"], str):
            self.add(
                "intake.member-type", ("internalHostname",),
                f"internalHostname must be a string, got {_kind(obj['internalHostname'])}; "
                f"{_REJECTED}",
            )
        elif not obj["internalHostname"].strip():
            self.add(
                "intake.hostname-empty", ("internalHostname",),
                "internalHostname is empty; it should name the host sending the data",
            )

        if "apiKey" in obj:
            self.add(
                "intake.api-key-in-body", ("apiKey",),
                "the payload carries an apiKey member; the receiver authenticates with the "
                "api_key URL parameter, and this file now holds a secret",
            )

        if "collection_timestamp" in obj:
            path = ("collection_timestamp",)
            ts = self._timestamp(obj["collection_timestamp"], path, "collection_timestamp", strict=False)
            if ts is not None:
                self._age(ts, path, "collection_timestamp", against_collection=False)
                self.collection = ts

        self._member_array(obj, "metrics", self._metric, "metrics")
        self._events(obj)
        self._member_array(obj, "service_checks", self._service_check, "service_checks")
        self._member_array(obj, "health", self._health_entry, None)
        self._member_array(obj, "topologies", None, "topologies")

        def has(member: str) -> bool:
            value = obj.get(member)
            return isinstance(value, (list, tuple, dict)) and len(value) > 0

        if not known:
            return "unknown"
        telemetry = any(has(m) for m in ("metrics", "events", "service_checks", "topologies"))
        if not telemetry and not has("health"):
            self.add(
                "intake.no-data", (),
                "the payload carries no metrics, events, service_checks, health or topologies; "
                "the receiver accepts it but there is nothing to store",
            )
        return "health" if has("health") and not telemetry else "intake"

