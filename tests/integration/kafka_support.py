"""Helpers for the Kafka stage tests: seeding real brokers, running the stage, stand-in servers.

Seeding uses kafka-python's own producer and consumer against noida-db and Tansu, the
way the receiver and mm2es use Kafka: MultiMetric JSON records with CreateTime
timestamps, and committed offsets of a consumer group. The stand-in servers exist only
for failures a real broker or a real StackState API cannot be made to produce on demand
(a listener that never answers, a TLS listener with an untrusted certificate, an API
answering 401/5xx/garbage), and each says so where it is defined.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

from stsdebug.model import Figures, StageResult, Table, Text, TraceResult
from stsdebug.settings import Settings
from stsdebug.stages.base import load_stage
from stsdebug.trace import Trace
from tests.http_support import Responder, serve


def unique(prefix: str = "sts_multi_metrics") -> str:
    """A topic (or group) name of our own: tests share one broker per session."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, bootstrap_timeout_ms=5000)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()


@dataclass
class Series:
    """Records of one host: MultiMetric messages every `step` seconds up to `newest_age` ago."""

    host: str
    metrics: dict[str, float]
    points: int
    step: float = 10.0
    newest_age: float = 2.0
    tags: dict[str, str] = field(default_factory=dict)
    wrapper: bool = True  # {"MultiMetric": {...}} or the bare object
    payload_ms: bool = True  # payload timestamp in epoch ms (else seconds)
    payload_offset: float = 0.0  # payload timestamp minus the Kafka timestamp (seconds)

    def records(self, now: float) -> list[tuple[float, bytes]]:
        out = []
        for i in range(self.points):
            ts = now - self.newest_age - (self.points - 1 - i) * self.step
            payload_ts = ts + self.payload_offset
            mm = {
                "name": "convertedMetric",
                "host": self.host,
                "tags": dict(self.tags),
                "labels": [f"{k}:{v}" for k, v in self.tags.items()],
                "values": dict(self.metrics),
                "timestamp": int(payload_ts * 1000) if self.payload_ms else int(payload_ts),
            }
            body = {"MultiMetric": mm} if self.wrapper else mm
            out.append((ts, json.dumps(body, separators=(",", ":")).encode()))
        return out


def produce(
    bootstrap: str,
    topic: str,
    records: Sequence[tuple[float, bytes]],
    *,
    partitions: int = 1,
    batch: bool = True,
    as_given: bool = False,
) -> None:
    """Produce (timestamp, value) records in timestamp order, spread over partitions.

    `batch=True` lets the producer batch as the receiver's does; Tansu's ListOffsets
    quirk only shows with multi-record batches. `as_given=True` keeps the order given, so
    old and new timestamps can interleave as they do with several producers.
    """
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20 if batch else 0, batch_size=256 * 1024 if batch else 1,
        request_timeout_ms=10000,
    )
    try:
        for i, (ts, value) in enumerate(records if as_given else sorted(records, key=lambda r: r[0])):
            producer.send(
                topic, value=value, key=f"k{i % 7}".encode(), partition=i % partitions,
                timestamp_ms=int(ts * 1000),
            )
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commit offsets for `group` the way a consumer would (manual assignment, no join)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        request_timeout_ms=5000, bootstrap_timeout_ms=5000,
    )
    try:
        tps = {TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}
        consumer.assign(list(tps))
        consumer.commit(tps)
    finally:
        consumer.close(autocommit=False)


def groups(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, bootstrap_timeout_ms=5000)
    try:
        return {str(g["group_id"]) for g in admin.list_groups()}
    finally:
        admin.close()


def topics(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, bootstrap_timeout_ms=5000)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


# --- running the stage ----------------------------------------------------------------


def settings(**values: Any) -> Settings:
    values.setdefault("integration", "mysql")
    values.setdefault("timeout", 3.0)
    return Settings(**values)


def run(s: Settings, stage_ids: Sequence[str] = ("kafka",), now: float | None = None) -> TraceResult:
    return Trace(s, stages=[load_stage(i) for i in stage_ids], now=now).run()


def stage(trace: TraceResult, stage_id: str = "kafka") -> StageResult:
    result = trace.stage(stage_id)
    assert result is not None, f"no {stage_id} stage in the trace"
    return result


def figures(result: StageResult) -> dict[str, Any]:
    return {f.label: f.value for ev in result.evidence if isinstance(ev, Figures) for f in ev.items}


def table(result: StageResult, title_start: str) -> Table:
    for ev in result.evidence:
        if isinstance(ev, Table) and ev.title.startswith(title_start):
            return ev
    titles = [ev.title for ev in result.evidence]
    raise AssertionError(f"no table starting {title_start!r} in {titles}")


def text(result: StageResult, title: str) -> str:
    for ev in result.evidence:
        if isinstance(ev, Text) and ev.title == title:
            return ev.text
    raise AssertionError(f"no text {title!r} in {[ev.title for ev in result.evidence]}")


def column(t: Table, name: str) -> list[Any]:
    i = t.columns.index(name)
    return [row[i] for row in t.rows]


# --- stand-in servers -------------------------------------------------------------------


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never answers.

    Stand-in: a broker hung in GC or behind a half-open firewall cannot be produced by
    noida-db or Tansu on demand.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = server.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl, as an operator would make one)."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@contextlib.contextmanager
def tls_listener(cert: Path, key: Path) -> Iterator[int]:
    """A TLS listener with the given certificate that completes handshakes and then says nothing.

    Stand-in: neither test broker serves TLS, and only the handshake is under test.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            try:
                conn.settimeout(2)
                held.append(context.wrap_socket(conn, server_side=True))
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


@contextlib.contextmanager
def http_server(respond: Responder) -> Iterator[str]:
    """A loopback HTTP server answering every request through `respond`; yields its base URL.

    Stand-in for the StackState API, which cannot run here: it serves the answers a real
    one gives when the token is wrong, when it is down (5xx) or when a proxy answers
    instead (not JSON). ``serve`` (tests.http_support) also shows what it was asked.
    """
    with serve(_json_by_default(respond)) as server:
        yield server.url


def _json_by_default(respond: Responder) -> Responder:
    def with_type(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = respond(h)
        return status, {"Content-Type": "application/json", **headers}, body

    return with_type


def answer(status: int, body: bytes, headers: dict[str, str] | None = None, delay: float = 0.0) -> Responder:
    def respond(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if delay:
            time.sleep(delay)
        return status, dict(headers or {}), body

    return respond
