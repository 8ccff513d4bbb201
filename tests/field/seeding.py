"""Seed a scenario's Kafka and Elasticsearch the way a StackState 5.1 installation fills them.

Kafka: topics as the 5.1 chart's topic job creates them (``sts_multi_metrics``: 1
partition), MultiMetric JSON records with CreateTime timestamps as the receiver
produces them, and consumer-group offsets as mm2es commits them. Elasticsearch:
daily ``sts_multi_metrics-YYYY.MM.DD`` indices of multi-metric documents (one per
batch: ``name``, ``host``, ``tags``, ``labels``, ``values.<metric>``, ``timestamp`` and
``timeReceived`` in epoch milliseconds). Record and document times are ages relative
to the scenario's "now" (see ``series_times``). All writes use the real clients
(kafka-python, elasticsearch 7.17) against the scenario's own noida-db.

Seed keys (TOML, under ``[seed.kafka]`` and ``[seed.es]``):

- ``topics``: ``[{name, partitions}]`` created first; a topic not listed is not created.
- ``order``: ``"time"`` (default; records in timestamp order) or ``"interleave"`` (one
  record of each series in turn, so old and new timestamps alternate on a partition, as
  with several producers or buffered points).
- ``series``: ``[{topic|index, host, values, tags, every, from, to, payload_offset,
  count}]``: one record (document) every ``every`` from age ``from`` to age ``to``;
  ``payload_offset`` shifts the payload ``timestamp`` against the record time (a host
  clock running behind: ``"-2h"``).
- ``groups``: ``[{name, topic, committed_age | committed}]``: commit, for the group, the
  offset of the first record younger than ``committed_age`` (the mover stopped then),
  or ``committed = "end"``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from tests.field.corpus import seconds


def series_times(spec: dict[str, Any], now: float) -> list[float]:
    every = seconds(spec.get("every", "15s"))
    oldest = now - seconds(spec.get("from", "10m"))
    newest = now - seconds(spec.get("to", "5s"))
    if "count" in spec:  # exactly `count` points, evenly from `from` to `to`
        n = int(spec["count"])
        step = (newest - oldest) / (n - 1) if n > 1 else 0.0
        return [oldest + i * step for i in range(n)]
    times = []
    t = newest
    while t >= oldest - 1e-6:
        times.append(t)
        t -= every
    return sorted(times)


def _multi_metric(spec: dict[str, Any], ts: float) -> dict[str, Any]:
    tags = {str(k): str(v) for k, v in spec.get("tags", {}).items()}
    payload_ts = ts + seconds(spec.get("payload_offset", 0))
    return {
        "name": spec.get("name", "convertedMetric"),
        "host": spec["host"],
        "tags": tags,
        "labels": [f"{k}:{v}" for k, v in tags.items()],
        "values": {str(k): float(v) for k, v in spec["values"].items()},
        "timestamp": int(payload_ts * 1000),
    }


# --- Kafka --------------------------------------------------------------------------

# The 5.1 chart keeps sts_multi_metrics for 24 h (retention.ms=86400000); the scenarios'
# "now" is a fixed day in 2024, so the broker (which enforces retention against its own
# clock) must keep the records for good, or it deletes them while the trace reads.
TOPIC_CONFIG = {"retention.ms": "-1"}


def seed_kafka(bootstrap: str, spec: dict[str, Any], now: float) -> None:
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    topics = spec.get("topics", [])
    if topics:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        try:
            admin.create_topics([
                NewTopic(t["name"], int(t.get("partitions", 1)), 1, topic_configs=dict(TOPIC_CONFIG))
                for t in topics
            ])
        finally:
            admin.close()
    per_series: list[list[tuple[str, float, bytes]]] = []
    for s in spec.get("series", []):
        topic = s.get("topic", "sts_multi_metrics")
        per_series.append(
            [(topic, ts, json.dumps({"MultiMetric": _multi_metric(s, ts)}, separators=(",", ":")).encode())
             for ts in series_times(s, now)]
        )
    if spec.get("order", "time") == "interleave":
        records = [r for group in _round_robin(per_series) for r in group]
    else:
        records = sorted((r for rs in per_series for r in rs), key=lambda r: r[1])
    if records:
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, request_timeout_ms=10000)
        try:
            for i, (topic, ts, value) in enumerate(records):
                producer.send(topic, value=value, key=f"k{i % 7}".encode(), timestamp_ms=int(ts * 1000))
            producer.flush(timeout=30)
        finally:
            producer.close(timeout=5)
    for g in spec.get("groups", []):
        _commit(bootstrap, g, records, now)


def _round_robin(groups: list[list[Any]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    longest = max((len(g) for g in groups), default=0)
    for i in range(longest):
        out.append([g[i] for g in groups if i < len(g)])
    return out


def _commit(bootstrap: str, group: dict[str, Any], records: list[tuple[str, float, bytes]], now: float) -> None:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    topic = group.get("topic", "sts_multi_metrics")
    on_topic = [ts for t, ts, _ in records if t == topic]  # single partition: offsets in produce order
    if group.get("committed") == "end" or "committed_age" not in group:
        offset = len(on_topic)
    else:
        cut = now - seconds(group["committed_age"])
        offset = next((i for i, ts in enumerate(on_topic) if ts > cut), len(on_topic))
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group["name"], enable_auto_commit=False, request_timeout_ms=10000
    )
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1)})
    finally:
        consumer.close(autocommit=False)


# --- Elasticsearch ------------------------------------------------------------------

# Inferred (no public source shows the 5.1 index template): tags and labels as
# keywords, metric values as doubles, times as epoch-millisecond longs.
MAPPING = {
    "dynamic_templates": [
        {"tags": {"path_match": "tags.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
        {"values_double": {"path_match": "values.*", "match_mapping_type": "double", "mapping": {"type": "double"}}},
        {"values_long": {"path_match": "values.*", "match_mapping_type": "long", "mapping": {"type": "double"}}},
    ],
    "properties": {
        "name": {"type": "keyword"},
        "host": {"type": "keyword"},
        "labels": {"type": "keyword"},
        "timestamp": {"type": "long"},
        "timeReceived": {"type": "long"},
    },
}


def seed_es(url: str, spec: dict[str, Any], now: float) -> None:
    from elasticsearch import Elasticsearch, helpers

    es = Elasticsearch(url, timeout=20)
    try:
        actions = []
        indices: set[str] = set()
        for s in spec.get("series", []):
            prefix = s.get("index", "sts_multi_metrics")
            for ts in series_times(s, now):
                day = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y.%m.%d")
                index = f"{prefix}-{day}"
                indices.add(index)
                doc = _multi_metric(s, ts)
                doc["timeReceived"] = int((ts + seconds(s.get("received_after", "1s"))) * 1000)
                actions.append({"_index": index, "_source": doc})
        for extra in spec.get("indices", []):
            indices.add(extra["name"])
        for index in sorted(indices):
            es.indices.create(index=index, mappings=MAPPING)
        if actions:
            helpers.bulk(es, actions, refresh=True)
    finally:
        es.close()
