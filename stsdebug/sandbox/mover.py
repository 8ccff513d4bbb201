"""The sandbox mm2es: consumes sts_multi_metrics as a consumer group, bulk-indexes into daily indices.

Like StackState's Kafka-to-Elasticsearch mover it commits an offset only once the
records before it are indexed or given up on: documents Elasticsearch refuses for
good (mapping errors, the field limit) are logged and skipped; a write block (429)
is retried, so the group's lag grows while the block lasts.

noida-db stores ``index.mapping.total_fields.limit`` but does not enforce it. Where an
index carries an explicit limit, the mover does what Elasticsearch would: it refuses a
document that would push the index's field count (counted as Elasticsearch counts
it: every object, leaf and multi-field) over the limit, with Elasticsearch's
``illegal_argument_exception``. Its own errors go to its log in logback's layout.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from stsdebug.sandbox import world
from stsdebug.sandbox.formats import LogFile, es_document, index_for, logback_line

LOGGER = "com.stackstate.kafkatoes.MultiMetricsToElasticsearch"
LOGGER_BULK = "com.stackstate.kafkatoes.elasticsearch.BulkWriter"
THREAD = "mm2es-consumer-1"
RETRY_S = 2.0  # back-off after a retryable bulk failure
_LIMITS_TTL_S = 1.0  # how long index settings and mappings are trusted

INDEX_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}
INDEX_MAPPINGS: dict[str, Any] = {
    "dynamic_templates": [
        {"tags": {"path_match": "tags.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
        {"values_long": {"path_match": "values.*", "match_mapping_type": "long", "mapping": {"type": "double"}}},
        {"values_double": {"path_match": "values.*", "match_mapping_type": "double", "mapping": {"type": "double"}}},
    ],
    "properties": {
        "name": {"type": "keyword"},
        "host": {"type": "keyword"},
        "labels": {"type": "keyword"},
        "timestamp": {"type": "long"},
        "timeReceived": {"type": "long"},
    },
}


@dataclass
class _IndexFacts:
    paths: set[str]
    count: int
    limit: int | None  # an explicit index.mapping.total_fields.limit
    read_at: float


class Mover:
    def __init__(
        self,
        *,
        kafka_bootstrap: str,
        es_url: str,
        log: LogFile,
        topic: str = world.TOPIC,
        group: str = world.MM2ES_GROUP,
        index_prefix: str = world.INDEX_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kafka_bootstrap = kafka_bootstrap
        self.es_url = es_url
        self.log = log
        self.topic = topic
        self.group = group
        self.index_prefix = index_prefix
        self.clock = clock
        self.stop_before_ms: int | None = None  # fault mover-stopped: crash at this record time
        self.position = 0  # next offset to process (partition 0)
        self.crashed = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress = threading.Condition()
        self._es: Any = None
        self._facts: dict[str, _IndexFacts] = {}
        self._last_error_log = 0.0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, t: float | None = None) -> None:
        self.log.write(logback_line(self.clock() if t is None else t, "main", "INFO", LOGGER,
                                    f"Starting pipeline multi-metrics: {self.topic} -> {self.index_prefix}* "
                                    f"(consumer group {self.group})"))
        self._thread = threading.Thread(target=self._run, name="mm2es", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=8)

    def wait_position(self, offset: int, timeout: float) -> bool:
        """Wait until every record before ``offset`` was handled (or the mover stopped)."""
        deadline = time.monotonic() + timeout
        with self._progress:
            while self.position < offset and not self.crashed.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._progress.wait(min(left, 0.1))
        return True

    # -- the consumer loop ----------------------------------------------------------------

    def _run(self) -> None:
        from kafka import KafkaConsumer

        consumer = None
        try:
            consumer = KafkaConsumer(
                self.topic,
                bootstrap_servers=self.kafka_bootstrap,
                group_id=self.group,
                client_id="mm2es",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=6000,
                heartbeat_interval_ms=1000,
                max_poll_records=500,
                request_timeout_ms=7000,
                bootstrap_timeout_ms=3000,
            )
            while not self._stop.is_set():
                try:
                    polled = consumer.poll(timeout_ms=100)
                except Exception as exc:  # noqa: BLE001 - Kafka trouble is logged and retried
                    self._error(f"Polling {self.topic} failed: {type(exc).__name__}: {exc}")
                    self._stop.wait(RETRY_S)
                    continue
                records = sorted((r for rs in polled.values() for r in rs), key=lambda r: (r.partition, r.offset))
                if not records:
                    continue
                if not self._handle(consumer, records):
                    return
        except Exception as exc:  # noqa: BLE001 - the mover logs why it ends, like mm2es would
            self._error(f"Consumer loop ended: {type(exc).__name__}: {exc}")
        finally:
            if consumer is not None:
                with contextlib.suppress(Exception):
                    consumer.close(autocommit=False)

    def _handle(self, consumer: Any, records: list[Any]) -> bool:
        """Index one polled batch; False when the mover stops (fault mover-stopped)."""
        from kafka import OffsetAndMetadata, TopicPartition

        crash_at = None
        if self.stop_before_ms is not None:
            crash_at = next((i for i, r in enumerate(records) if r.timestamp >= self.stop_before_ms), None)
            if crash_at is not None:
                records = records[:crash_at]
        done = self._index(records) if records else 0
        if done:
            last = records[done - 1]
            tp = TopicPartition(last.topic, last.partition)
            consumer.commit({tp: OffsetAndMetadata(last.offset + 1, "", -1)})
            with self._progress:
                self.position = last.offset + 1
                self._progress.notify_all()
        if done < len(records):  # a retryable failure: go back and try again
            first = records[done]
            consumer.seek(TopicPartition(first.topic, first.partition), first.offset)
            self._stop.wait(RETRY_S)
            return True
        if crash_at is not None:
            t = self.stop_before_ms / 1000.0 if self.stop_before_ms else self.clock()
            self.log.write(
                logback_line(t, THREAD, "ERROR", LOGGER,
                             "Uncaught error in the consumer loop, stopping the pipeline"),
                "java.lang.OutOfMemoryError: Java heap space",
                "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
                "\tat com.stackstate.kafkatoes.elasticsearch.BulkWriter.add(BulkWriter.scala:88)",
                logback_line(t, "main", "INFO", LOGGER, "Pipeline multi-metrics stopped"),
            )
            self.crashed.set()
            with self._progress:
                self._progress.notify_all()
            return False
        return True

    def _index(self, records: list[Any]) -> int:
        """Bulk-index ``records`` in order; how many from the start are done (indexed or skipped)."""
        es = self._client()
        actions: list[dict[str, Any]] = []
        refused: dict[int, str] = {}
        for i, r in enumerate(records):
            try:
                mm = json.loads(r.value)["MultiMetric"]
            except (ValueError, KeyError, TypeError):
                refused[i] = "record is not a JSON MultiMetric"
                continue
            doc = es_document(mm, r.timestamp)
            index = index_for(doc["timestamp"], self.index_prefix)
            why = self._field_limit(es, index, doc)
            if why:
                refused[i] = why
                continue
            actions.append({"_index": index, "_source": doc, "_i": i})
        t = records[-1].timestamp / 1000.0
        for i, why in sorted(refused.items()):
            self._error(f"Failed to index document from {self.topic}-{records[i].partition}@{records[i].offset}: {why}",
                        t=records[i].timestamp / 1000.0, throttle=False)
        if not actions:
            return len(records)
        for index in sorted({a["_index"] for a in actions}):
            self._ensure_index(es, index)
        body: list[dict[str, Any]] = []
        for a in actions:
            body += [{"index": {"_index": a["_index"]}}, a["_source"]]
        try:
            resp = dict(es.bulk(body=body, refresh=True))
        except Exception as exc:  # noqa: BLE001 - Elasticsearch unreachable: retry later
            self._error(f"Bulk request to {self.es_url} failed: {type(exc).__name__}: {exc}", t=t)
            return int(actions[0]["_i"])
        retry_from: int | None = None
        for a, entry in zip(actions, resp.get("items") or [], strict=False):
            item: dict[str, Any] = next(iter(entry.values()), {}) if isinstance(entry, dict) else {}
            status = int(item.get("status") or 0)
            if 200 <= status < 300:
                continue
            error = item.get("error") or {}
            reason = f"{error.get('type', 'error')}: {error.get('reason', '')}" if isinstance(error, dict) else str(error)
            if status == 429 or status >= 500 or status == 0:
                retry_from = a["_i"] if retry_from is None else min(retry_from, a["_i"])
                self._error(f"Bulk request had failed items, retrying in {RETRY_S:g} s: [{a['_index']}] "
                            f"{reason}", t=t)
            else:
                self._error(f"Failed to index document into [{a['_index']}]: {reason}", t=t, throttle=False)
        for a in actions:  # the mapping may have grown
            self._facts.pop(a["_index"], None)
        return retry_from if retry_from is not None else len(records)

    # -- Elasticsearch helpers ------------------------------------------------------------

    def _client(self) -> Any:
        if self._es is None:
            from elasticsearch import Elasticsearch

            self._es = Elasticsearch(self.es_url, request_timeout=5, max_retries=0)
        return self._es

    def _ensure_index(self, es: Any, index: str) -> None:
        if index in self._facts:
            return
        with contextlib.suppress(Exception):  # exists already, or the bulk request says why
            if not es.indices.exists(index=index):
                es.indices.create(index=index, settings=INDEX_SETTINGS, mappings=INDEX_MAPPINGS)

    def invalidate(self) -> None:
        """Forget what is known of the indices (their settings or mappings were just changed)."""
        self._facts = {}

    def index_facts(self, es: Any, index: str) -> _IndexFacts | None:
        facts = self._facts.get(index)
        if facts is not None and time.monotonic() - facts.read_at < _LIMITS_TTL_S:
            return facts
        from stsdebug.sources.es_query import FieldMap

        try:
            if not es.indices.exists(index=index):
                return None
            mapping = dict(es.indices.get_mapping(index=index))
            settings = dict(es.indices.get_settings(index=index, name="index.mapping.total_fields.limit",
                                                    flat_settings=True))
        except Exception:  # noqa: BLE001 - no facts: nothing is refused
            return None
        props = ((mapping.get(index) or {}).get("mappings") or {}).get("properties") or {}
        fm = FieldMap.from_mappings({index: props})
        paths = set(fm.leaves) | fm.objects
        raw = ((settings.get(index) or {}).get("settings") or {}).get("index.mapping.total_fields.limit")
        limit = int(raw) if raw is not None else None
        facts = _IndexFacts(paths, fm.counts.get(index, 0), limit, time.monotonic())
        self._facts[index] = facts
        return facts

    def _field_limit(self, es: Any, index: str, doc: dict[str, Any]) -> str | None:
        facts = self.index_facts(es, index)
        if facts is None or facts.limit is None:
            return None
        new = [p for p in _doc_paths(doc) if p not in facts.paths]
        if new and facts.count + len(new) > facts.limit:
            return (f"illegal_argument_exception: Limit of total fields [{facts.limit}] has been exceeded "
                    f"while adding new fields [{len(new)}]")
        return None

    def _error(self, message: str, *, t: float | None = None, throttle: bool = True) -> None:
        now = time.monotonic()
        if throttle and now - self._last_error_log < RETRY_S - 0.1:
            return
        self._last_error_log = now
        self.log.write(logback_line(t if t is not None else self.clock(), THREAD, "ERROR", LOGGER_BULK, message))


def _doc_paths(doc: dict[str, Any]) -> Iterable[str]:
    """Every object and leaf path a document maps to (dotted keys expand to objects)."""
    out: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            if prefix:
                out.append(prefix)
            for key, sub in value.items():
                parts = str(key).split(".")
                path = prefix
                for part in parts[:-1]:
                    path = f"{path}.{part}" if path else part
                    out.append(path)
                walk(f"{path}.{parts[-1]}" if path else parts[-1], sub)
        else:
            out.append(prefix)

    walk("", doc)
    return dict.fromkeys(out)

