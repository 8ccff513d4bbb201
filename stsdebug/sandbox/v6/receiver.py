"""The StackState 6 sandbox receiver: the agent intake in front of vmagent.

- ``POST /stsAgent/intake?api_key=KEY``: the key (403 otherwise) and the payload are checked
  as the StackState 5 sandbox receiver checks them (stsdebug.payloads); metrics with a
  reserved name are dropped; the rest become Prometheus series (``system.cpu.user`` ->
  ``system_cpu_user``, tags -> labels, the host -> ``host``: stsdebug.promnames) and are
  remote-written to vmagent by a sender thread, as ``RECEIVER_WRITE_PROMETHEUS=true``
  makes the real one do. Like the real one it answers before vmagent has the samples.
  Points are not dropped for their age here: whether a point is too old is left to
  VictoriaMetrics (its retention), which is what the fault samples-too-old shows.
- ``GET /readiness``, ``/liveness`` (port 1618 in the chart), ``/health``: 200.
- ``GET /metrics`` (port 9404 in the chart): akka-http response counters (names confirmed
  in StackState's dashboards) and remote-write counters whose names are the sandbox's own
  (``stackstate_receiver_prometheus_write_*``): no public source names the real ones.

Its log is in logback's Kubernetes layout (``%date %-5level %logger{60} - %msg``, UTC), as
a receiver pod writes it. Every method that does something at a moment takes that moment,
so the backfill replays history through this code.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from stsdebug.errors import SourceError, UsageError
from stsdebug.payloads import ERROR, decode_payload, validate_text
from stsdebug.promnames import HOST_LABEL, label_name, metric_name
from stsdebug.sandbox.formats import LogFile
from stsdebug.sandbox.http_base import IntakeHandler
from stsdebug.sandbox.receiver import IntakeAnswer, _deserialization, _first_clause, _metric_index
from stsdebug.sandbox.receiver_base import BatchQueue, ReceiverBase
from stsdebug.sources.remote_write import RemoteWriteConfig, RemoteWriter, Series, series

LOGGER_MAIN = "com.stackstate.receiver.ReceiverMain$"
LOGGER_INTAKE = "com.stackstate.receiver.intake.IntakeRoute"
LOGGER_AUTH = "com.stackstate.receiver.intake.ApiKeyAuthenticator"
LOGGER_CONVERT = "com.stackstate.receiver.intake.MetricsConverter"
LOGGER_STATS = "com.stackstate.receiver.intake.IntakeStatistics"
LOGGER_WRITER = "com.stackstate.receiver.prometheus.PrometheusRemoteWriter"
INTAKE_PATH = "/stsAgent/intake"
STATS_EVERY_S = 60.0
WRITE_TIMEOUT_S = 3.0
MAX_BATCH = 50  # intake batches sent in one remote-write request
# Metric names the receiver drops (seed 002: StackState's reserved prefixes).
DROPPED_RULES = frozenset({"metric.reserved-name", "timestamp.not-seconds", "timestamp.non-positive"})
AGE_RULES = ("timestamp.stale", "timestamp.future")  # warnings: never fatal here


def k8s_line(t: float, level: str, logger: str, message: str) -> str:
    """One logback line as a receiver pod writes it: ``%date %-5level %logger{60} - %msg`` in UTC."""
    stamp = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp},{int((t % 1) * 1000):03d} {level:<5} {logger} - {message}"


@dataclass
class Batch:
    t: float
    series: list[Series]


class Counters:
    """What /metrics shows; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.responses: dict[str, int] = {}
        self.written = 0
        self.write_failed = 0
        self.requests_ok = 0
        self.requests_failed = 0

    def answer(self, status: int) -> None:
        with self._lock:
            key = str(status)
            self.responses[key] = self.responses.get(key, 0) + 1

    def wrote(self, samples: int, ok: bool) -> None:
        with self._lock:
            if ok:
                self.written += samples
                self.requests_ok += 1
            else:
                self.write_failed += samples
                self.requests_failed += 1

    def text(self) -> str:
        with self._lock:
            lines = ["# TYPE akka_http_requests_active gauge", "akka_http_requests_active 0",
                     "# TYPE akka_http_responses_total counter"]
            lines += [f'akka_http_responses_total{{path="{INTAKE_PATH}",status="{code}"}} {n}'
                      for code, n in sorted(self.responses.items())]
            lines += [
                "# HELP stackstate_receiver_prometheus_write_samples_total Samples remote-written (sandbox name)",
                "# TYPE stackstate_receiver_prometheus_write_samples_total counter",
                f"stackstate_receiver_prometheus_write_samples_total {self.written}",
                "# TYPE stackstate_receiver_prometheus_write_failed_samples_total counter",
                f"stackstate_receiver_prometheus_write_failed_samples_total {self.write_failed}",
                "# TYPE stackstate_receiver_prometheus_write_requests_total counter",
                f'stackstate_receiver_prometheus_write_requests_total{{result="ok"}} {self.requests_ok}',
                f'stackstate_receiver_prometheus_write_requests_total{{result="failed"}} {self.requests_failed}',
                "# TYPE jvm_threads_current gauge",
                "jvm_threads_current 42",
            ]
        return "\n".join(lines) + "\n"


def to_series(metrics: list[Any], fallback_host: str) -> list[Series]:
    """Intake metrics ``[name, ts, value, {hostname, type, tags}]`` as remote-write series."""
    grouped: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]] = {}
    for m in metrics:
        name, ts, value, meta = m[0], m[1], m[2], (m[3] if len(m) > 3 and isinstance(m[3], dict) else {})
        labels: dict[str, str] = {HOST_LABEL: str(meta.get("hostname") or fallback_host)}
        for tag in meta.get("tags") or ():
            key, _, val = str(tag).partition(":")
            if key and val:
                labels[label_name(key)] = val
        key2 = (metric_name(str(name)), tuple(sorted(labels.items())))
        grouped.setdefault(key2, []).append((float(ts), float(value)))
    return [series(n, dict(lbls), samples=pts) for (n, lbls), pts in grouped.items()]


class Receiver6(ReceiverBase):
    def __init__(self, *, api_key: str, write_url: str, log: LogFile, host: str = "127.0.0.1",
                 port: int = 0, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.api_key = api_key
        self.write_url = write_url
        self.log = log
        self.host = host
        self.port = port
        self.clock = clock
        # Before this moment remote writes go to `history_url` instead (see runtime).
        self.history_until = float("-inf")
        self.history_url: str | None = None
        self.counters = Counters()
        self._batches: BatchQueue[Batch] = BatchQueue(MAX_BATCH)
        self._writers: dict[str, RemoteWriter] = {}
        self._stats = {"payloads": 0, "accepted": 0, "rejected": 0, "since": 0.0}
        self._stats_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, t: float) -> None:
        self._stats["since"] = t
        self._bind(_handler(self))
        self.log.write(
            k8s_line(t, "INFO", LOGGER_MAIN, "Starting StackState receiver"),
            k8s_line(t, "INFO", LOGGER_WRITER, f"Writing metrics to Prometheus remote-write endpoint "
                                               f"{self.write_url}"),
            k8s_line(t, "INFO", LOGGER_MAIN, f"Receiver intake listening on http://{self.host}:{self.port}/stsAgent"),
        )
        self._start_sender(self._send, "receiver-remote-write")

    def stop(self) -> None:
        self._stop_threads()
        for writer in self._writers.values():
            with contextlib.suppress(Exception):
                writer.close()

    # -- intake ---------------------------------------------------------------------------

    def intake(self, body: bytes, api_key: str | None, t: float, peer: str = "127.0.0.1") -> IntakeAnswer:
        answer = self._intake(body, api_key, t, peer)
        self.counters.answer(answer.status)
        return answer

    def _intake(self, body: bytes, api_key: str | None, t: float, peer: str) -> IntakeAnswer:
        with self._stats_lock:
            self._stats["payloads"] += 1
        if not api_key or api_key != self.api_key:
            self._count("rejected")
            why = "no API key given" if not api_key else "invalid API key"
            self.log.write(k8s_line(t, "WARN", LOGGER_AUTH, f"Rejected intake request from {peer}: {why} "
                                                            "(403 Forbidden)"))
            return IntakeAnswer(403, "API key is invalid")
        report = validate_text(decode_payload(body), now=t)
        fatal = [p for p in report.problems if p.severity == ERROR and p.rule not in DROPPED_RULES
                 and not p.rule.startswith(AGE_RULES) and not p.rule.startswith("health.")]
        if fatal:
            fields_, message = _deserialization(fatal[0])
            text = f"Failed to deserialize JSON on fields: {fields_}, with message: {message}"
            self._count("rejected")
            self.log.write(k8s_line(t, "WARN", LOGGER_INTAKE, text))
            return IntakeAnswer(400, text)
        payload = json.loads(body)
        host = str(payload.get("internalHostname") or "")
        metrics = payload.get("metrics") or []
        reserved = [p for p in report.problems if p.rule == "metric.reserved-name"]
        dropped = {i for p in reserved if (i := _metric_index(p)) is not None}
        for p in reserved:
            self.log.write(k8s_line(t, "WARN", LOGGER_CONVERT,
                                    f"Dropped metric from host {host}: Failed to deserialize JSON on fields: "
                                    f"metrics, with message: {_first_clause(p.message)}"))
        kept = [m for i, m in enumerate(metrics) if i not in dropped and isinstance(m, list) and len(m) >= 3]
        out = to_series(kept, host)
        if out:
            self._batches.put(Batch(t, out))
        self._count("accepted")
        return IntakeAnswer(200, "{}", len(out), len(dropped))

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self._stats[key] += 1

    def tick(self, t: float) -> None:
        """Called every cycle: logs the intake statistics once a minute."""
        with self._stats_lock:
            s = self._stats
            if t - s["since"] < STATS_EVERY_S:
                return
            line = k8s_line(t, "INFO", LOGGER_STATS,
                            f"Last {t - s['since']:.0f} s: {s['payloads']:.0f} intake payloads, "
                            f"{s['accepted']:.0f} accepted, {s['rejected']:.0f} rejected")
            self._stats = {"payloads": 0, "accepted": 0, "rejected": 0, "since": t}
        self.log.write(line)

    # -- remote write ---------------------------------------------------------------------

    def _writer(self, url: str) -> RemoteWriter:
        if url not in self._writers:
            self._writers[url] = RemoteWriter(RemoteWriteConfig(url, timeout=WRITE_TIMEOUT_S,
                                                                system="vmagent remote-write"))
        return self._writers[url]

    def _send(self, batches: list[Batch]) -> None:
        # History from before a fault of the path went through while the path worked.
        by_url: dict[str, list[Batch]] = {}
        for b in batches:
            url = self.history_url if self.history_url and b.t < self.history_until else self.write_url
            by_url.setdefault(url, []).append(b)
        for url, group in by_url.items():
            samples = [s for b in group for s in b.series]
            n = sum(len(s.samples) for s in samples)
            try:
                self._writer(url).send(samples)
            except (SourceError, UsageError) as exc:
                self.counters.wrote(n, False)
                t = group[-1].t
                self.log.write(k8s_line(
                    t, "ERROR", LOGGER_WRITER,
                    f"Remote write of {n} samples to {url} failed: {str(exc).rstrip('.')}; the samples are dropped"))
                continue
            self.counters.wrote(n, True)


def _handler(receiver: Receiver6) -> type[BaseHTTPRequestHandler]:
    class Handler(IntakeHandler):
        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            self.post_intake(receiver, (INTAKE_PATH,))

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            path = urlsplit(self.path).path
            if path in ("/readiness", "/liveness", "/health"):
                self._send(200, json.dumps({"status": "UP"}))
            elif path == "/metrics":
                self._send(200, receiver.counters.text(), "text/plain; version=0.0.4")
            else:
                self.not_found(path)

    return Handler
