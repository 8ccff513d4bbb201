"""The probe's marked metric: its name and tag, and the test that tells it from real data.

The probe (``--probe``) writes one metric through the receiver. Everything that counts
data or suggests names (the Kafka and Elasticsearch censuses, stream suggestions) leaves
it out, so a probe sent moments before can never pass for fresh data of an integration
nor be offered as "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterable

PROBE_METRIC = "stsdebug.probe.marker"
PROBE_TAG = "stsdebug_probe_id"


def is_probe_metric(name: str) -> bool:
    return name == PROBE_METRIC


def only_probe(names: Iterable[str]) -> bool:
    """True for a record whose metrics are the probe's alone (and that has any)."""
    seen = False
    for name in names:
        if not is_probe_metric(name):
            return False
        seen = True
    return seen


def not_probe_clauses() -> list[dict[str, object]]:
    """Elasticsearch ``must_not`` clauses that leave the probe's documents out (both layouts)."""
    return [
        {"exists": {"field": f"values.{PROBE_METRIC}"}},
        {"term": {"name": PROBE_METRIC}},
        {"term": {"name.keyword": PROBE_METRIC}},
    ]
