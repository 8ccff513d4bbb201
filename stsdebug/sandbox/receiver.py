"""The sandbox receiver: StackState's HTTP intake in front of the sts_multi_metrics topic.

- ``POST /stsAgent/intake?api_key=KEY`` checks the key (403 otherwise), validates the
  payload with stsdebug.payloads (the rules of ``stsdebug validate``), answers 400
  ``Failed to deserialize JSON on fields: <fields>, with message: <reason>`` for a
  payload the receiver cannot read, drops metrics it refuses (reserved names) and
  points older than its age limit, and queues the rest as ``{"MultiMetric": ...}``
  records for Kafka. Like the real one it answers before Kafka has the records: a
  broken Kafka shows in its log and health, not in the agent's answers.
- ``GET /health``: 200 while Kafka accepts connections, 503 otherwise.
- ``GET /api/topic/<topic>?limit=&offset=&partition=``: the StackState topic API.

The HTTP side (routes and the topic API) is in ``receiver_http``.

Its log is in logback's Linux layout. Every method that does something at a moment
takes that moment (``t``) as an argument, so the backfill replays history through
this same code with past timestamps.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stsdebug.payloads import ERROR, RULES, Problem, decode_payload, validate_text
from stsdebug.sandbox import world
from stsdebug.sandbox.formats import LogFile, logback_line, multi_metrics, record_value
from stsdebug.sandbox.receiver_base import BatchQueue, ReceiverBase
from stsdebug.sandbox.receiver_http import TopicApi, handler

LOGGER_MAIN = "com.stackstate.receiver.ReceiverMain$"
LOGGER_INTAKE = "com.stackstate.receiver.intake.IntakeRoute"
LOGGER_AUTH = "com.stackstate.receiver.intake.ApiKeyAuthenticator"
LOGGER_CONVERT = "com.stackstate.receiver.intake.MetricsConverter"
LOGGER_STATS = "com.stackstate.receiver.intake.IntakeStatistics"
LOGGER_PRODUCER = "com.stackstate.receiver.kafka.MultiMetricsProducer"
LOGGER_NETWORK = "org.apache.kafka.clients.NetworkClient"
CLIENT_ID = "sts-receiver-multi-metrics"
HTTP_THREAD = "sts-receiver-akka.actor.default-dispatcher-{n}"
PRODUCER_THREAD = f"kafka-producer-network-thread | {CLIENT_ID}"

# Errors that make the receiver (or health synchronization after it) drop data while it
# still accepts the payload; every other error rejects the payload with 400.
DROPPED_RULES = frozenset(
    {"metric.reserved-name", "event.reserved-name", "timestamp.not-seconds", "timestamp.non-positive"}
    | {rule for rule in RULES if rule.startswith("health.")}
)
STATS_EVERY_S = 60.0
_NETWORK_LOG_EVERY_S = 10.0  # the Kafka client repeats its connection warning this often
_DOWN_RETRY_S = 3.0  # after a failed send, batches fail at once for this long


@dataclass
class Batch:
    t: float
    records: list[tuple[bytes, bytes]]  # (key, value)


@dataclass
class _Stats:
    payloads: int = 0
    accepted: int = 0
    rejected: int = 0
    produced: int = 0
    failed: int = 0
    since: float = 0.0


@dataclass
class IntakeAnswer:
    status: int
    body: str
    records: int = 0
    dropped: int = 0


class Receiver(ReceiverBase):
    def __init__(
        self,
        *,
        api_key: str,
        kafka_bootstrap: str,
        log: LogFile,
        topic: str = world.TOPIC,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.kafka_bootstrap = kafka_bootstrap
        self.topic = topic
        self.log = log
        self.host = host
        self.port = port
        self.clock = clock
        self._batches: BatchQueue[Batch] = BatchQueue(200)  # intake batches produced in one round
        self._producer: Any = None
        self._down_until = 0.0
        self._last_network_log = -1e18
        self._stats = _Stats()
        self._stats_lock = threading.Lock()
        self.topic_api = TopicApi(kafka_bootstrap, self.kafka_reachable)
        self._stop = threading.Event()
        self._http_n = 0
        # Fault kafka-blip: Kafka refuses the producer during [start, end) (data time).
        self.blip: tuple[float, float] | None = None
        # Fault receiver-missing-topics: stopped at this moment, restarting and stopping again.
        self.stopped_at: float | None = None
        self._restarts: list[float] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, t: float) -> None:
        """Bind the HTTP port and start the producer; log the startup as of ``t``."""
        self._stats.since = t
        self.log.write(
            logback_line(t, "main", "INFO", LOGGER_MAIN, "Starting StackState receiver"),
            logback_line(t, "main", "INFO", LOGGER_PRODUCER,
                         f"Producing multi metrics to topic {self.topic} on {self.kafka_bootstrap}"),
        )
        self._bind(handler(self))
        self.log.write(logback_line(t, "main", "INFO", LOGGER_MAIN,
                                    f"Receiver intake listening on http://{self.host}:{self.port}/stsAgent"))
        self._start_sender(self._produce, "receiver-producer")

    def stop(self) -> None:
        self._stop.set()
        self._stop_threads()
        with contextlib.suppress(Exception):
            if self._producer is not None:
                self._producer.close(timeout=1)
        self.topic_api.close()

    # -- intake ---------------------------------------------------------------------------

    # -- fault receiver-missing-topics: the app stops itself at start-up ----------------------

    def stop_app(self, t: float) -> None:
        """Stop as the receiver does when its Kafka topics are missing, and crash-loop from ``t``."""
        self.stopped_at = t
        self._log_stop(t)
        self._restarts = []
        at = t
        for wait in world.RESTART_BACKOFF_S:
            at += wait
            self._restarts.append(at)

    def _log_stop(self, t: float) -> None:
        # The wording StackState server components use (seen from the correlate app of SUSE
        # Observability; assumed the same for the receiver), in the receiver's own layout.
        self.log.write(
            logback_line(t, "main", "INFO", LOGGER_MAIN, "Starting StackState receiver"),
            logback_line(t, "main", "ERROR", "none", "Stopping receiver app. Topic check failed."),
            "com.stackstate.kafka.StsKafkaAdminClient$MissingKafkaTopics: Missing Kafka topics: "
            f"{self.topic}, sts_intake_health, sts_generic_events",
            "\tat com.stackstate.kafka.StsKafkaAdminClient.checkTopics(StsKafkaAdminClient.scala:87)",
        )

    def _crash_loop(self, t: float) -> None:
        """Log the restarts due by ``t`` (CrashLoopBackOff: waits double up to five minutes)."""
        while self._restarts and self._restarts[0] <= t:
            self._log_stop(self._restarts.pop(0))
            if not self._restarts and self.stopped_at is not None:
                last = world.RESTART_BACKOFF_S[-1]
                self._restarts.append(t + last)

    def intake(self, body: bytes, api_key: str | None, t: float, peer: str = "127.0.0.1") -> IntakeAnswer:
        if self.stopped_at is not None and t >= self.stopped_at:
            # The pod is not ready: the ingress in front of it answers, not the receiver.
            return IntakeAnswer(503, "503 Service Temporarily Unavailable")
        thread = self._thread_name()
        with self._stats_lock:
            self._stats.payloads += 1
        if not api_key or api_key != self.api_key:
            with self._stats_lock:
                self._stats.rejected += 1
            why = "no API key given" if not api_key else "invalid API key"
            self.log.write(logback_line(t, thread, "WARN", LOGGER_AUTH,
                                        f"Rejected intake request from {peer}: {why} (403 Forbidden)"))
            return IntakeAnswer(403, "API key is invalid")
        report = validate_text(decode_payload(body), now=t, max_age_s=world.RECEIVER_MAX_AGE_S)
        fatal = [p for p in report.problems if p.severity == ERROR and p.rule not in DROPPED_RULES]
        if fatal:
            fields_, message = _deserialization(fatal[0])
            text = f"Failed to deserialize JSON on fields: {fields_}, with message: {message}"
            with self._stats_lock:
                self._stats.rejected += 1
            self.log.write(logback_line(t, thread, "WARN", LOGGER_INTAKE, text))
            return IntakeAnswer(400, text)
        payload = json.loads(body)
        host = str(payload.get("internalHostname") or "")
        metrics = payload.get("metrics") or []
        reserved = [p for p in report.problems if p.rule == "metric.reserved-name"]
        dropped_idx = {i for p in reserved if (i := _metric_index(p)) is not None}
        for p in reserved:
            self.log.write(logback_line(
                t, thread, "WARN", LOGGER_CONVERT,
                f"Dropped metric from host {host}: Failed to deserialize JSON on fields: metrics, "
                f"with message: {_first_clause(p.message)}",
            ))
        # Points older than the receiver's limit are ignored, whatever the payload says.
        stale = [i for i, m in enumerate(metrics)
                 if i not in dropped_idx and t - (_seconds(m) or t) > world.RECEIVER_MAX_AGE_S]
        if stale:
            dropped_idx.update(stale)
            newest = max(_seconds(metrics[i]) or 0.0 for i in stale)
            self.log.write(logback_line(
                t, thread, "WARN", LOGGER_CONVERT,
                f"Ignored {len(stale)} metric point(s) from host {host} older than "
                f"{world.RECEIVER_MAX_AGE_S / 3600:g} hour (newest point {_iso(newest)}, "
                f"{(t - newest) / 60:.0f} minutes old)",
            ))
        kept = [m for i, m in enumerate(metrics) if i not in dropped_idx]
        records = [(mm["host"].encode(), record_value(mm)) for mm in multi_metrics(kept, host)]
        if records:
            self._batches.put(Batch(t, records))
        with self._stats_lock:
            self._stats.accepted += 1
        return IntakeAnswer(200, "{}", len(records), len(dropped_idx))

    def _thread_name(self) -> str:
        self._http_n = self._http_n % 8 + 1
        return HTTP_THREAD.format(n=self._http_n + 4)

    def tick(self, t: float) -> None:
        """Called every cycle: logs the intake statistics once a minute (or the restarts of a
        receiver that stops itself)."""
        if self.stopped_at is not None and t >= self.stopped_at:
            self._crash_loop(t)
            return
        with self._stats_lock:
            s = self._stats
            if t - s.since < STATS_EVERY_S:
                return
            line = logback_line(
                t, "sts-receiver-scheduler-1", "INFO", LOGGER_STATS,
                f"Last {t - s.since:.0f} s: {s.payloads} intake payloads, {s.accepted} accepted, "
                f"{s.rejected} rejected; {s.produced} records produced to {self.topic}, "
                f"{s.failed} failed",
            )
            self._stats = _Stats(since=t)
        self.log.write(line)

    # -- Kafka ----------------------------------------------------------------------------

    def _produce(self, batches: list[Batch]) -> None:
        if self.blip is not None:
            lo, hi = self.blip
            refused = [b for b in batches if lo <= b.t < hi]
            for batch in refused:
                self._failed(batch, None)
            batches = [b for b in batches if not lo <= b.t < hi]
            if not batches:
                return
        if time.monotonic() < self._down_until or not self.kafka_reachable():
            self._down_until = time.monotonic() + _DOWN_RETRY_S
            for batch in batches:
                self._failed(batch, None)
            return
        try:
            producer = self._get_producer()
            sent = [
                (batch, [producer.send(self.topic, value=value, key=key, timestamp_ms=int(batch.t * 1000))
                         for key, value in batch.records])
                for batch in batches
            ]
        except Exception as exc:  # noqa: BLE001 - any producer failure is logged like the real one
            for batch in batches:
                self._failed(batch, f"{type(exc).__name__}: {exc}")
            return
        for batch, futures in sent:
            try:
                for future in futures:
                    future.get(timeout=5)
            except Exception as exc:  # noqa: BLE001 - as above
                self._failed(batch, f"{type(exc).__name__}: {exc}")
                continue
            with self._stats_lock:
                self._stats.produced += len(batch.records)

    def _get_producer(self) -> Any:
        if self._producer is None:
            from kafka import KafkaProducer

            self._producer = KafkaProducer(
                bootstrap_servers=self.kafka_bootstrap,
                client_id=CLIENT_ID,
                acks=1,
                linger_ms=0,
                request_timeout_ms=3000,
                max_block_ms=3000,
                retries=0,
                bootstrap_timeout_ms=3000,
            )
        return self._producer

    def kafka_reachable(self, timeout: float = 0.3) -> bool:
        host, _, port = self.kafka_bootstrap.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return True
        except OSError:
            return False

    def _failed(self, batch: Batch, detail: str | None) -> None:
        n = len(batch.records)
        with self._stats_lock:
            self._stats.failed += n
        lines = []
        if batch.t - self._last_network_log >= _NETWORK_LOG_EVERY_S:
            self._last_network_log = batch.t
            lines.append(logback_line(
                batch.t, PRODUCER_THREAD, "WARN", LOGGER_NETWORK,
                f"[Producer clientId={CLIENT_ID}] Connection to node -1 (/{self.kafka_bootstrap}) "
                "could not be established. Broker may not be available.",
            ))
        lines.append(logback_line(
            batch.t, PRODUCER_THREAD, "ERROR", LOGGER_PRODUCER,
            f"Failed to send {n} record(s) to Kafka topic {self.topic}",
        ))
        lines.append(
            f"org.apache.kafka.common.errors.TimeoutException: Expiring {n} record(s) for "
            f"{self.topic}-0:120000 ms has passed since batch creation"
            + (f" ({detail})" if detail else "")
        )
        self.log.write(*lines)

# --- helpers ------------------------------------------------------------------------------


def _deserialization(p: Problem) -> tuple[str, str]:
    """The receiver's (fields, message) for a problem that makes it reject the payload."""
    fields_ = ""
    if p.path.startswith("$.") and p.rule != "intake.missing-member":
        fields_ = p.path[2:].split("[", 1)[0].split(".", 1)[0]
    message = _first_clause(p.message)
    if p.rule == "json.syntax":
        message = message.removeprefix("invalid JSON: ")
        # Jackson's wording for a body that was cut short.
        if "string is not closed" in message:
            message = "Unexpected end-of-input: was expecting closing quote for a string value"
        elif "ends too early" in message:
            message = "Unexpected end-of-input: expected close marker for Object"
        elif p.line is not None:
            message = f"{message} at [Source: (String); line: {p.line}, column: {p.column}]"
    return fields_, message


def _first_clause(message: str) -> str:
    """A payloads message without its '; the receiver ...' consequence."""
    return message.split("; the receiver", 1)[0].split("; metric names must", 1)[0]


def _metric_index(p: Problem) -> int | None:
    if not p.path.startswith("$.metrics["):
        return None
    try:
        return int(p.path[len("$.metrics["):].split("]", 1)[0])
    except ValueError:
        return None


def _seconds(metric: Any) -> float | None:
    """A metric's timestamp in epoch seconds, or None when it is not a plain seconds value."""
    try:
        ts = float(metric[1])
    except (TypeError, ValueError, IndexError):
        return None
    return ts if 0 < ts < 1e11 else None


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
