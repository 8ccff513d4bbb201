"""Helpers for the Elasticsearch and streams tests: seeding, stage runs, and stand-in servers.

Seeding uses the real client against noida-db. The stand-in HTTP servers exist only
for failures a real Elasticsearch cannot be made to produce on demand (an answer of
401, 5xx, malformed JSON, a server that never answers) and as a TLS / auth-checking
front for noida-db (which has neither).
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import ipaddress
import json
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

from stsdebug.model import StageResult, TraceResult
from stsdebug.settings import Settings
from stsdebug.stages.base import load_stage  # noqa: F401 - re-exported for tests
from stsdebug.trace import Trace
from tests.http_support import Responder, answer, serve

DAY = 86400


def client(url: str) -> Elasticsearch:
    return Elasticsearch([url], timeout=10, max_retries=0)


def unique_base() -> str:
    """An index-name stem of our own, so tests sharing one noida-db never see each other."""
    return f"t{uuid.uuid4().hex[:10]}_sts_multi_metrics-"


def day_index(base: str, ts: float) -> str:
    return base + dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y.%m.%d")


@dataclass
class Series:
    """One time series: host, tags, metric names (values) and where its points lie in time."""

    host: str
    tags: dict[str, str]
    metrics: dict[str, float]
    points: int = 10
    newest_age: float = 5.0  # seconds before `now`
    step: float = 30.0  # seconds between points


def multi_docs(base: str, now: float, series: Sequence[Series]) -> list[dict[str, Any]]:
    """Multi-metric layout: one document per batch, metric names as keys of ``values``."""
    docs = []
    for s in series:
        for n in range(s.points):
            ts = now - s.newest_age - n * s.step
            docs.append(
                {
                    "_index": day_index(base, ts),
                    "_source": {
                        "name": "convertedMetric",
                        "host": s.host,
                        "labels": [f"{k}:{v}" for k, v in s.tags.items()],
                        "tags": dict(s.tags),
                        "values": {m: v + n for m, v in s.metrics.items()},
                        "timestamp": int(ts * 1000),
                        "timeReceived": int((ts + 1) * 1000),
                    },
                }
            )
    return docs


def single_docs(base: str, now: float, series: Sequence[Series]) -> list[dict[str, Any]]:
    """Single-metric layout: one document per point, ``name`` = metric name, ``value``."""
    docs = []
    for s in series:
        for n in range(s.points):
            ts = now - s.newest_age - n * s.step
            for metric, value in s.metrics.items():
                docs.append(
                    {
                        "_index": day_index(base, ts),
                        "_source": {
                            "name": metric,
                            "host": s.host,
                            "tags": dict(s.tags),
                            "value": value + n,
                            "timestamp": int(ts * 1000),
                        },
                    }
                )
    return docs


def seed(url: str, docs: list[dict[str, Any]]) -> None:
    es = client(url)
    try:
        ok, errors = helpers.bulk(es, docs, refresh=True)
        assert not errors and ok == len(docs)
    finally:
        es.close()


AWS = Series(
    host="i-0abc",
    tags={"region": "eu-west-1", "source": "cloudwatch"},
    metrics={"aws.ec2.cpuutilization": 12.5, "aws.ec2.networkin": 1000.0},
    points=12,
)
SYSTEM = Series(
    host="web-1",
    tags={"env": "prod"},
    metrics={"system.load.norm": 0.4, "system.cpu.user": 3.0},
    points=8,
)


def run(settings: Settings, stage_ids: Sequence[str], now: float | None = None) -> TraceResult:
    stages = [load_stage(s) for s in stage_ids]
    return Trace(settings, stages=stages, now=now).run()


def stage(trace: TraceResult, stage_id: str) -> StageResult:
    result = trace.stage(stage_id)
    assert result is not None
    return result


def figures(result: StageResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ev in result.evidence:
        if ev.kind == "figures":
            out.update({f.label: f.value for f in ev.items})  # type: ignore[union-attr]
    return out


def table(result: StageResult, title_start: str) -> Any:
    return next(
        ev for ev in result.evidence if ev.kind == "table" and ev.title.startswith(title_start)
    )


# --- stand-in servers -------------------------------------------------------------------------

ES_ROOT = json.dumps(
    {
        "name": "es-1",
        "cluster_name": "stackstate",
        "version": {"number": "7.17.2", "build_flavor": "default"},
        "tagline": "You Know, for Search",
    }
).encode()
PRODUCT = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}


def es_like(status: int, body: bytes, content_type: str = "application/json") -> Responder:
    """GET / answers like Elasticsearch 7.17; every other request gets status + body."""

    def respond(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if h.path.split("?")[0] == "/":
            return 200, PRODUCT, ES_ROOT
        return status, {"X-Elastic-Product": "Elasticsearch", "Content-Type": content_type}, body

    return respond


always = answer


def forward_to(upstream: str, check: Callable[[str | None], bool] | None = None) -> Responder:
    """Proxy to noida-db; when ``check`` rejects the Authorization header, answer 401 instead."""
    target = upstream.removeprefix("http://")
    host, _, port = target.partition(":")

    def respond(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if check is not None and not check(h.headers.get("Authorization")):
            body = json.dumps(
                {
                    "error": {
                        "type": "security_exception",
                        "reason": "unable to authenticate user [x] for REST request [/]",
                    },
                    "status": 401,
                }
            ).encode()
            return 401, {"Content-Type": "application/json", "WWW-Authenticate": "Basic"}, body
        payload = getattr(h, "body", None)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            headers = {"Content-Type": h.headers.get("Content-Type", "application/json")}
            conn.request(h.command, h.path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {
                k: v
                for k, v in resp.getheaders()
                if k.lower() in ("content-type", "x-elastic-product")
            }
            return resp.status, out, data
        finally:
            conn.close()

    return respond


@contextmanager
def http_server(respond: Responder, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A loopback HTTP(S) server answering with ``respond``; yields its base URL."""
    with serve(respond, tls=tls) as server:
        yield server.url


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: the client must time out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def refused_url() -> str:
    """A loopback port nothing listens on (the OS handed it out and it was closed again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def api_key_header(key_id: str, key: str) -> str:
    return "ApiKey " + base64.b64encode(f"{key_id}:{key}".encode()).decode()


def self_signed(tmp: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the CA file (the certificate itself)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stsdebug-test-es")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = tmp / "es-ca.pem"
    key_path = tmp / "es-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, cert_path


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0
