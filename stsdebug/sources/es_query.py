"""Pure helpers for reading Elasticsearch: field facts from mappings (``FieldMap``), window
and match queries that do not depend on the DSL's corners, and the figures of a search
answer. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stsdebug.probe_marker import is_probe_metric, not_probe_clauses
from stsdebug.sources.es_answers import _float

TIMESTAMP_FIELD = "timestamp"
# Epoch milliseconds are above this, epoch seconds below (until the year 5138).
_MS_THRESHOLD = 1e11


# --- pure helpers: mappings ------------------------------------------------------------


@dataclass
class FieldMap:
    """Field facts merged from the mappings of several indices.

    ``leaves`` maps a dotted path to its type (``keyword``, ``text``, ``float``...);
    ``term_field`` to the field a term query or terms aggregation must use (``host``
    mapped as text with a ``keyword`` sub-field is queried as ``host.keyword``).
    ``counts`` is each index's field count as ``index.mapping.total_fields.limit``
    counts it: every object, leaf and multi-field.
    """

    leaves: dict[str, str] = field(default_factory=dict)
    term_field: dict[str, str] = field(default_factory=dict)
    objects: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_mappings(cls, mappings: Mapping[str, Mapping[str, Any]]) -> FieldMap:
        fm = cls()
        for index, props in mappings.items():
            fm.counts[index] = fm._walk(props, "")
        return fm

    def _walk(self, props: Mapping[str, Any], prefix: str) -> int:
        count = 0
        for name, spec in props.items():
            if not isinstance(spec, Mapping):
                continue
            path = prefix + name
            count += 1
            sub = spec.get("properties")
            if isinstance(sub, Mapping):
                self.objects.add(path)
                count += self._walk(sub, path + ".")
                continue
            kind = str(spec.get("type", "object"))
            if kind in ("object", "nested"):
                self.objects.add(path)
                continue
            self.leaves.setdefault(path, kind)
            given = spec.get("fields")
            multi: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
            count += len(multi)
            if kind == "text":
                kw = next((k for k, s in multi.items() if (s or {}).get("type") == "keyword"), None)
                if kw:
                    self.term_field.setdefault(path, f"{path}.{kw}")
            else:
                self.term_field.setdefault(path, path)
        return count

    def term(self, path: str) -> str:
        """The field to use for exact matches and terms aggregations on ``path``."""
        return self.term_field.get(path, path)

    def has(self, path: str) -> bool:
        return path in self.leaves or path in self.objects

    def metric_names(self) -> list[str]:
        """Metric names of the multi-metric layout: the leaves under ``values``."""
        return sorted(
            name
            for p in self.leaves
            if p.startswith("values.") and not is_probe_metric(name := p[len("values.") :])
        )

    def layout(self) -> str | None:
        """``multi`` (a ``values`` object), ``single`` (a ``value`` leaf), or None if unknown."""
        if "values" in self.objects or any(p.startswith("values.") for p in self.leaves):
            return "multi"
        if "value" in self.leaves:
            return "single"
        return None


# --- pure helpers: queries -------------------------------------------------------------


def window_query(start: float, end: float, ts_field: str = TIMESTAMP_FIELD) -> dict[str, Any]:
    """Documents whose timestamp lies in [start, end] (epoch seconds), whatever its unit.

    Absolute numbers, never date math. The field may hold epoch seconds, epoch
    milliseconds (as ``long``) or be a ``date``; the two ranges cannot overlap, so one
    ``should`` covers every case.
    """
    return {
        "bool": {
            "should": [
                {"range": {ts_field: {"gte": int(start), "lte": int(end) + 1}}},
                {"range": {ts_field: {"gte": int(start * 1000), "lte": int(end * 1000) + 999}}},
            ],
            "minimum_should_match": 1,
            # The probe's marked metric is never data of the window.
            "must_not": not_probe_clauses(),
        }
    }


def to_epoch_seconds(value: Any) -> float | None:
    """A timestamp aggregation value (seconds or milliseconds) in epoch seconds."""
    number = _float(value)
    if number is None:
        return None
    return number / 1000.0 if abs(number) > _MS_THRESHOLD else number


def all_of(*clauses: Mapping[str, Any] | None) -> dict[str, Any]:
    kept = [dict(c) for c in clauses if c]
    if not kept:
        return {"match_all": {}}
    return {"bool": {"filter": kept}}


def any_of(clauses: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    kept = [dict(c) for c in clauses]
    if not kept:
        return MATCH_NONE
    if len(kept) == 1:
        return kept[0]
    return {"bool": {"should": kept, "minimum_should_match": 1}}


def exists_any(fields: Iterable[str]) -> dict[str, Any]:
    return any_of({"exists": {"field": f}} for f in fields)


MATCH_NONE: dict[str, Any] = {"bool": {"must_not": [{"match_all": {}}]}}


def total_hits(body: Mapping[str, Any]) -> int:
    """hits.total of a search, in either of its shapes."""
    total = (body.get("hits") or {}).get("total")
    if isinstance(total, dict):
        return int(total.get("value") or 0)
    return int(total or 0)
