"""The sandbox receiver's HTTP side: the routes (intake, health, topic API) and the StackState
topic API read from Kafka with a group-less consumer, as StackState's own does."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from stsdebug.sandbox.http_base import IntakeHandler

if TYPE_CHECKING:
    from stsdebug.sandbox.receiver import Receiver


class TopicApi:
    """``GET /api/topic/<topic>``: the newest (or from ``offset``) messages of one partition."""

    def __init__(self, kafka_bootstrap: str, reachable: Callable[[], bool]) -> None:
        self.kafka_bootstrap = kafka_bootstrap
        self._reachable = reachable
        self._lock = threading.Lock()
        self._kafka_consumer: Any = None

    def messages(self, topic: str, limit: int, offset: int | None, partition: int) -> dict[str, Any]:
        """``{"messages": [{key, partition, offset, message}]}``; raises OSError if Kafka is down."""
        if not self._reachable():
            raise OSError(f"Kafka at {self.kafka_bootstrap} is not reachable")
        from kafka import TopicPartition

        with self._lock:
            consumer = self._consumer()
            if topic not in (consumer.topics() or set()):
                return {"messages": []}
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            begin = consumer.beginning_offsets([tp])[tp]
            end = consumer.end_offsets([tp])[tp]
            start = max(begin, end - limit) if offset is None else max(begin, offset)
            out: list[dict[str, Any]] = []
            if start < end:
                consumer.seek(tp, start)
                deadline = time.monotonic() + 3.0
                while len(out) < limit and time.monotonic() < deadline:
                    polled = consumer.poll(timeout_ms=200, max_records=limit - len(out))
                    records = polled.get(tp, [])
                    if not records and consumer.position(tp) >= end:
                        break
                    for r in records:
                        out.append({
                            "key": r.key.decode("utf-8", "replace") if r.key is not None else None,
                            "partition": r.partition,
                            "offset": r.offset,
                            "message": _decode(r.value),
                        })
            return {"messages": out[:limit]}

    def _consumer(self) -> Any:
        if self._kafka_consumer is None:
            from kafka import KafkaConsumer

            self._kafka_consumer = KafkaConsumer(
                bootstrap_servers=self.kafka_bootstrap,
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=3000,
                bootstrap_timeout_ms=3000,
                consumer_timeout_ms=1000,
            )
        return self._kafka_consumer

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._kafka_consumer is not None:
                self._kafka_consumer.close()


def _decode(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value.decode("utf-8", "replace")


def handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(IntakeHandler):
        # (no access log: the receiver's root logger is at WARN)

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            self.post_intake(receiver, ("/stsAgent/intake", "/stsAgent/api/v1/series"))

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            url = urlsplit(self.path)
            if url.path == "/health":
                if receiver.stopped_at is not None:
                    self._send(503, "503 Service Temporarily Unavailable", "text/plain; charset=UTF-8")
                elif receiver.kafka_reachable():
                    self._send(200, json.dumps({"status": "UP", "kafka": "UP"}))
                else:
                    self._send(503, json.dumps({"status": "DOWN", "kafka": f"DOWN: cannot connect to {receiver.kafka_bootstrap}"}))
                return
            if url.path.startswith("/api/topic/"):
                topic = url.path[len("/api/topic/"):].strip("/")
                query = parse_qs(url.query)
                try:
                    limit = max(1, min(int((query.get("limit") or ["20"])[0]), 10000))
                    offsets = query.get("offset")
                    offset = int(offsets[0]) if offsets else None
                    partition = int((query.get("partition") or ["0"])[0])
                except ValueError:
                    self._send(400, json.dumps({"message": "limit, offset and partition must be integers"}))
                    return
                try:
                    answer = receiver.topic_api.messages(topic, limit, offset, partition)
                except Exception as exc:  # noqa: BLE001 - any Kafka failure is a 503 here
                    self._send(503, json.dumps({"message": f"Cannot read topic {topic}: {exc}"}))
                    return
                self._send(200, json.dumps(answer))
                return
            self.not_found(url.path)

    return Handler
