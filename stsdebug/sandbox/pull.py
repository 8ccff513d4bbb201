"""The pull side: an AWS plugin and a Prometheus mirror, as StackState sees them.

- ``AwsPlugin`` stands for StackState's AWS plugin polling CloudWatch: every cycle it
  writes the EC2 series of world.AWS_SERIES straight to Elasticsearch, or, with
  expired credentials, logs CloudWatch's ExpiredToken error in the StackState server log.
- ``MirrorStub`` is a Prometheus mirror speaking the mirror API (all POST, JSON, the
  ``X-MIRROR-API-KEY`` header on every answer): ``api/connection``, ``api/field/name``,
  ``api/field/value``, ``api/metric``, with the typed errors ``MetricStoreConnectionError``,
  ``MetricNotFoundError``, ``UnsupportedFieldTypeError`` and ``RemoteMirrorError``.
- ``MirrorPlugin`` is StackState's side of the mirror: it asks ``api/metric`` for the
  Prometheus series each cycle and writes what it gets to Elasticsearch.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stsdebug.sandbox import world
from stsdebug.sandbox.formats import LogFile, index_for, logback_line
from stsdebug.sandbox.http_base import QuietHandler
from stsdebug.sandbox.mover import INDEX_MAPPINGS, INDEX_SETTINGS
from stsdebug.sandbox.world import FaultClock, PullSeries

SERVER_THREAD = "StackStateGlobalActorSystem-akka.actor.default-dispatcher-{n}"
LOGGER_AWS = "com.stackstate.plugins.aws.cloudwatch.CloudWatchMetricsClient"
LOGGER_MIRROR = "com.stackstate.plugins.mirror.MirrorTelemetryPlugin"


class EsWriter:
    """Bulk-writes multi-metric documents into the daily indices (creating them as needed)."""

    def __init__(self, es_url: str, prefix: str = world.INDEX_PREFIX) -> None:
        self.es_url = es_url
        self.prefix = prefix
        self._es: Any = None
        self._known: set[str] = set()
        self._held: list[dict[str, Any]] | None = None

    def hold(self) -> None:
        """Collect writes until release() (the backfill writes a phase in one request)."""
        self._held = []

    def release(self) -> str | None:
        docs, self._held = self._held or [], None
        return self.write(docs)

    def write(self, docs: list[dict[str, Any]]) -> str | None:
        """Index the documents; the first failure as one sentence, or None."""
        if self._held is not None:
            self._held.extend(docs)
            return None
        if not docs:
            return None
        if self._es is None:
            from elasticsearch import Elasticsearch

            self._es = Elasticsearch(self.es_url, request_timeout=5, max_retries=0)
        body: list[dict[str, Any]] = []
        try:
            for doc in docs:
                index = index_for(doc["timestamp"], self.prefix)
                if index not in self._known:
                    if not self._es.indices.exists(index=index):
                        with contextlib.suppress(Exception):  # created meanwhile by the mover
                            self._es.indices.create(index=index, settings=INDEX_SETTINGS, mappings=INDEX_MAPPINGS)
                    self._known.add(index)
                body += [{"index": {"_index": index}}, doc]
            resp = dict(self._es.bulk(body=body, refresh=True))
        except Exception as exc:  # noqa: BLE001 - reported by the caller in its own log
            return f"{type(exc).__name__}: {exc}"
        for entry in resp.get("items") or []:
            item: dict[str, Any] = next(iter(entry.values()), {})
            if not 200 <= int(item.get("status") or 0) < 300:
                err = item.get("error") or {}
                return f"{err.get('type', 'error')}: {err.get('reason', '')} (status {item.get('status')})"
        return None


def series_doc(series: PullSeries, name: str, t: float, values: dict[str, float]) -> dict[str, Any]:
    labels = [f"{k}:{v}" for k, v in sorted(series.tags.items())]
    ms = int(t * 1000)
    return {"name": name, "host": series.host, "labels": labels, "tags": dict(series.tags),
            "values": values, "timestamp": ms, "timeReceived": ms + 800}


class AwsPlugin:
    def __init__(self, writer: EsWriter, log: LogFile, faults: FaultClock) -> None:
        self.writer = writer
        self.log = log
        self.faults = faults

    def cycle(self, t: float) -> None:
        thread = SERVER_THREAD.format(n=12)
        if self.faults.active("aws-credentials-expired", t):
            self.log.write(logback_line(
                t, thread, "ERROR", LOGGER_AWS,
                "CloudWatch GetMetricData failed for region eu-west-1: The security token included in the "
                "request is expired (Service: AmazonCloudWatch; Status Code: 403; Error Code: ExpiredToken; "
                f"Request ID: {int(t) % 99991:05d}-7c1e-4f6b-9a1d-3be0c2f1a8e4)"))
            return
        docs = [series_doc(s, "AWS/EC2", t, {m.name: world.value(m, t) for m in s.metrics}) for s in world.AWS_SERIES]
        problem = self.writer.write(docs)
        if problem:
            self.log.write(logback_line(t, thread, "ERROR", LOGGER_AWS,
                                        f"Storing {len(docs)} CloudWatch datapoint batches failed: {problem}"))


# --- the Prometheus mirror ------------------------------------------------------------------


class MirrorStub:
    """A mirror serving the Prometheus series of world.PROMETHEUS_SERIES."""

    def __init__(self, api_key: str, log: LogFile, faults: FaultClock, port: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        self.api_key = api_key
        self.log = log
        self.faults = faults
        self.clock = clock
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _mirror_handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self) -> None:
        self.log.write(f"INFO:     Uvicorn running on http://127.0.0.1:{self.port} (Press CTRL+C to quit)")
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="mirror-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port: the mirror is down."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=3)
            self._thread = None
        self._server.server_close()

    def store_down(self, t: float) -> bool:
        return self.faults.active("mirror-store-error", t)

    # -- the API --------------------------------------------------------------------------

    def answer(self, path: str, request: Any) -> tuple[int, dict[str, Any]]:
        now = self.clock()
        if path == "/api/connection":
            if self.store_down(now):
                return 200, {"status": "FAILURE", "_type": "TestConnectionResponse",
                             "error": {"_type": "MetricStoreConnectionError",
                                       "details": "Prometheus is not healthy: connection refused by "
                                                  "http://prometheus-server:9090/api/v1/labels"}}
            return 200, {"status": "OK", "_type": "TestConnectionResponse"}
        if not isinstance(request, dict):
            return 500, {"_type": "RemoteMirrorError", "summary": "Request validation errors.",
                         "details": "the request body is not a JSON object"}
        given = request.get("query")
        query: dict[str, Any] = given if isinstance(given, dict) else {}
        end_ms = query.get("endTime")
        at = end_ms / 1000.0 if isinstance(end_ms, (int, float)) else now
        if self.store_down(at):
            return 503, {"_type": "MetricStoreConnectionError",
                         "details": "Unable to connect to remote metrics store http://prometheus-server:9090."}
        if path == "/api/field/name":
            fields = [{"_type": "FieldDescriptor", "classified": False, "fieldName": n, "fieldType": "STRING"}
                      for n in ("__name__", "job", "instance", "host")]
            return 200, {"_type": "FieldNamesResponse", "fields": fields, "isPartial": False}
        if path == "/api/field/value":
            field = (query.get("field") or {}) if isinstance(query.get("field"), dict) else {}
            if field.get("fieldType") not in (None, "STRING"):
                return 400, {"_type": "UnsupportedFieldTypeError", "mirrorType": field.get("fieldType")}
            name = field.get("fieldName")
            values = sorted(v for v in {_label(s, name) for s in world.PROMETHEUS_SERIES} if v is not None)
            return 200, {"_type": "FieldValuesResponse", "isPartial": False,
                         "values": [{"_type": "CompleteValue", "value": v} for v in values]}
        if path == "/api/metric":
            return self._metric(query)
        return 404, {"_type": "RemoteMirrorError", "summary": f"Unknown mirror API {path}", "details": None}

    def _metric(self, query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        metric = str(query.get("metricField") or "")
        conditions = {str(c.get("key")): (c.get("value") or {}).get("value")
                      for c in query.get("conditions") or [] if isinstance(c, dict)}
        series = next((s for s in world.PROMETHEUS_SERIES
                       if any(m.name.removeprefix("prometheus.") == metric for m in s.metrics)
                       and all(_label(s, k) == v for k, v in conditions.items())), None)
        if series is None:
            return 404, {"_type": "MetricNotFoundError", "metric": metric, "details": "Metric is not configured."}
        m = next(m for m in series.metrics if m.name.removeprefix("prometheus.") == metric)
        start = int(query.get("startTime") or 0)
        end = int(query.get("endTime") or 0)
        step = int(world.INTERVAL_S * 1000)
        first = -(-start // step) * step
        points = [[world.value(m, ts / 1000.0), ts] for ts in range(first, end + 1, step)]
        return 200, {"_type": "MetricsResponse", "telemetry": {
            "_type": "RawMetricTelemetry", "points": points, "dataFormat": ["value", "timestamp"],
            "isPartial": False}}


def _label(series: PullSeries, key: Any) -> str | None:
    if key in ("__name__",):
        return None
    if key == "host":
        return series.host
    return series.tags.get(str(key))


def _mirror_handler(stub: MirrorStub) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        server_version = "uvicorn"

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            headers = {"Content-Type": "application/json", "X-MIRROR-API-KEY": stub.api_key}
            self.answer(status, json.dumps(payload).encode(), headers)
            phrase = http.client.responses.get(status, "")
            stub.log.write(f'INFO:     {self.client_address[0]}:{self.client_address[1]} - "{self.command} '
                           f'{self.path} HTTP/1.1" {status} {phrase}')

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            raw = self.read_body()
            try:
                request = json.loads(raw) if raw.strip() else {}
            except ValueError:
                self._reply(500, {"_type": "RemoteMirrorError", "summary": "Request validation errors.",
                                  "details": "the request body is not valid JSON"})
                return
            status, payload = stub.answer(self.path.split("?", 1)[0].rstrip("/"), request)
            self._reply(status, payload)

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            if self.path == "/":
                self._reply(200, {"app": "StackState Prometheus Mirror"})
                return
            self._reply(405, {"_type": "RemoteMirrorError", "summary": "The mirror API is POST only.",
                              "details": None})

    return Handler


class MirrorPlugin:
    """StackState's mirror plugin: pulls the Prometheus series through the mirror API."""

    def __init__(self, mirror_url: str, writer: EsWriter, log: LogFile, timeout: float = 2.0) -> None:
        self.mirror_url = mirror_url
        self.writer = writer
        self.log = log
        self.timeout = timeout

    def cycle(self, t: float) -> None:
        self.pull(t - world.INTERVAL_S, t)

    def pull(self, start: float, end: float) -> None:
        """Ask the mirror for the points in (start, end] and store one document per instant."""
        thread = SERVER_THREAD.format(n=7)
        docs = []
        for series in world.PROMETHEUS_SERIES:
            by_time: dict[int, dict[str, float]] = {}
            for m in series.metrics:
                request = {
                    "_type": "MetricsRequest",
                    "connectionDetails": {"url": "http://prometheus-server:9090/", "requestTimeout": 15000},
                    "query": {
                        "_type": "MetricsQuery",
                        "conditions": [{"_type": "EqualityCondition", "key": "host",
                                        "value": {"_type": "StringValue", "value": series.host}}],
                        "startTime": int(start * 1000) + 1,
                        "endTime": int(end * 1000),
                        "metricField": m.name.removeprefix("prometheus."),
                        "limit": 100000,
                    },
                }
                try:
                    status, answer = self._post("/api/metric", request)
                except OSError as exc:
                    self.log.write(logback_line(
                        end, thread, "ERROR", LOGGER_MIRROR,
                        f"Mirror request api/metric to {self.mirror_url} failed: {type(exc).__name__}: {exc}"))
                    return
                points = ((answer.get("telemetry") or {}).get("points") or []) if status == 200 else []
                if status != 200:
                    self.log.write(logback_line(
                        end, thread, "ERROR", LOGGER_MIRROR,
                        f"Mirror {self.mirror_url} answered {status} {answer.get('_type', '')}: "
                        f"{answer.get('details') or answer.get('summary') or 'no points'}"))
                    return
                for value, ts_ms in points:
                    by_time.setdefault(int(ts_ms), {})[m.name] = float(value)
            docs += [series_doc(series, "prometheus", ts / 1000.0, values) for ts, values in sorted(by_time.items())]
        problem = self.writer.write(docs)
        if problem:
            self.log.write(logback_line(end, thread, "ERROR", LOGGER_MIRROR, f"Storing mirror telemetry failed: {problem}"))

    def _post(self, path: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        host_port = self.mirror_url.split("://", 1)[-1].rstrip("/")
        host, _, port = host_port.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
        try:
            conn.request("POST", path, body=json.dumps(request), headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
            try:
                return resp.status, json.loads(raw)
            except ValueError:
                return resp.status, {"details": raw[:200].decode("utf-8", "replace")}
        finally:
            conn.close()


def server_log_start(log: LogFile, t: float) -> None:
    stamp = datetime.fromtimestamp(t).strftime("%Y-%m-%d")
    log.write(logback_line(t, "main", "INFO", "com.stackstate.StackStateMain$",
                           f"StackState server started ({stamp}); telemetry plugins: aws, mirror"))
