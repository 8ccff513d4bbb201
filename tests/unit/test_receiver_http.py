"""HttpSource and the receiver health check, against real HTTP(S) servers on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stsdebug.errors import SourceError, UsageError
from stsdebug.model import Status
from stsdebug.settings import Settings
from stsdebug.sources.errors import cannot_reach
from stsdebug.sources.http import HttpSource, HttpStatusError, display_url
from stsdebug.stages.base import load_stage
from stsdebug.stages.receiver import _health_url
from stsdebug.trace import Trace
from tests.http_support import serve

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "receiver"
NOW = 1795255200.0 + 300  # 2026-11-21 10:05 UTC, just after the fixtures' entries


JSON = {"Content-Type": "application/json"}


def respond(h) -> tuple[int, dict[str, str], bytes]:
    """A receiver's health endpoints, and the misbehaviours an HTTP client must survive."""
    if h.command == "POST":
        return 200, JSON, json.dumps({"got": json.loads(h.body), "key": h.headers.get("X-Key")}).encode()
    path = h.path.split("?", 1)[0]
    if path in ("/health", "/receiver/health", "/readiness"):
        return 200, JSON, b'{"status":"UP"}'
    if path == "/sick/health":
        return 503, JSON, b'{"status":"DOWN","kafka":"unreachable"}'
    if path == "/auth":
        return 401, JSON, b"no"
    if path == "/notjson":
        return 200, {"Content-Type": "text/html"}, b"<html>hello</html>"
    if path.startswith("/slow"):
        time.sleep(3)
        return 200, JSON, b"{}"
    if path == "/big":
        return 200, JSON, b"x" * 5000
    return 404, JSON, b"not found"


@contextmanager
def serve_receiver(tls: tuple[str, str] | None = None) -> Iterator[str]:
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
    with serve(respond, tls=context) as server:
        yield server.url


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve_receiver() as url:
        yield url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- HttpSource -------------------------------------------------------------------------


def test_get_ok(base):
    http = HttpSource(timeout=2)
    resp = http.get(base + "/health?api_key=SECRET")
    assert (resp.status, resp.json()) == (200, {"status": "UP"})
    assert resp.url == base + "/health"  # no query string in what is shown
    assert resp.elapsed_ms >= 0


def test_post_json(base):
    resp = HttpSource(timeout=2).post_json(base + "/api", {"a": [1, 2]}, {"X-Key": "k"})
    assert resp.json() == {"got": {"a": [1, 2]}, "key": "k"}


def test_503_is_an_http_status_error(base):
    with pytest.raises(HttpStatusError) as err:
        HttpSource(timeout=2).get(base + "/sick/health")
    e = err.value
    assert (e.status, e.cause) == (503, "http")
    assert str(e) == f"{base}/sick/health answered HTTP 503 Service Unavailable."
    assert "DOWN" in e.body


def test_401_is_auth(base):
    with pytest.raises(HttpStatusError) as err:
        HttpSource(timeout=2).get(base + "/auth?api_key=SECRET")
    assert err.value.cause == "auth" and "SECRET" not in str(err.value)
    assert "check the credentials" in str(err.value)


def test_refused_port():
    port = free_port()
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        HttpSource(timeout=2, system="the receiver").get(f"http://127.0.0.1:{port}/health")
    assert time.monotonic() - t0 < 2
    assert err.value.cause == "refused"
    assert str(err.value) == f"Cannot connect to the receiver at 127.0.0.1:{port}: connection refused."


def test_timeout_within_timeout_plus_one_second(base):
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        HttpSource(timeout=0.5).get(base + "/slow")
    assert time.monotonic() - t0 < 1.5
    assert err.value.cause == "timeout" and "did not answer within 0.5 s" in str(err.value)


def test_malformed_json_body(base):
    resp = HttpSource(timeout=2).get(base + "/notjson")
    with pytest.raises(SourceError) as err:
        resp.json()
    assert err.value.cause == "malformed" and "not JSON" in str(err.value)


def test_body_size_is_capped(base):
    with pytest.raises(SourceError) as err:
        HttpSource(timeout=2, max_body=1000).get(base + "/big")
    assert err.value.cause == "malformed"


def test_not_an_http_url_is_a_usage_error():
    for url in ("ftp://x/y", "localhost:7077", ""):
        with pytest.raises(UsageError):
            HttpSource(timeout=1).get(url)


@pytest.mark.parametrize("message,cause", [
    ("[Errno -2] Name or service not known", "dns"),
    ("[Errno -3] Temporary failure in name resolution", "dns"),
    ("[Errno 111] Connection refused", "refused"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)", "tls"),
    ("something else", "network"),
])
def test_connect_error_classification(message, cause):
    # httpx raises these from the OS; a DNS failure cannot be provoked on loopback only.
    err = cannot_reach(Exception(message), system="x", what="x", where="recv.example:7077", host="recv.example")
    assert err.cause == cause
    if cause == "tls":
        assert str(err).endswith("failed: certificate verify failed: self-signed certificate.")


def test_display_url_drops_credentials_and_query():
    assert display_url("https://user:pw@host:7077/stsAgent/intake?api_key=abc") == "https://host:7077/stsAgent/intake"


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[str, str]:
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return str(crt), str(key)


def test_tls_self_signed_is_refused_then_accepted_with_its_ca(cert):
    with serve_receiver(tls=cert) as url:
        with pytest.raises(SourceError) as err:
            HttpSource(timeout=2).get(url + "/health")
        assert err.value.cause == "tls" and "certificate verify failed" in str(err.value)
        assert HttpSource(timeout=2, verify=cert[0]).get(url + "/health").status == 200
        assert HttpSource(timeout=2, verify=False).get(url + "/health").status == 200


# --- the stage's health check -----------------------------------------------------------


def run_stage(**kw) -> object:
    kw.setdefault("window", "15m")
    kw.setdefault("timeout", 2.0)
    settings = Settings(receiver_log_tz="UTC", **kw)
    trace = Trace(settings, stages=[load_stage("receiver")], now=NOW).run()
    return trace.stage("receiver")


def test_health_url_derivation():
    assert _health_url("https://h:7077", None) == "https://h:7077/health"
    assert _health_url("https://h:7077/stsAgent/intake?api_key=x", None) == "https://h:7077/health"
    assert _health_url("https://base/receiver/", None) == "https://base/receiver/health"
    assert _health_url("https://h:7077", "http://pod:1618/readiness") == "http://pod:1618/readiness"
    assert _health_url(None, None) is None


def test_health_ok_alone_is_a_pass(base):
    r = run_stage(receiver=base)
    assert r.status is Status.PASS
    assert "health endpoint answered HTTP 200" in r.summary
    fig = next(e for e in r.evidence if e.title == "Receiver health endpoint")
    assert {i.label: i.value for i in fig.items}["HTTP status"] == 200


def test_kubernetes_readiness_url(base):
    r = run_stage(receiver_health=base + "/readiness")
    assert r.status is Status.PASS


def test_health_503_is_a_fail(base):
    r = run_stage(receiver=base + "/sick")
    assert r.status is Status.FAIL
    assert "HTTP 503" in r.summary and "unhealthy" in r.summary


def test_health_refused_alone_is_an_error():
    port = free_port()
    r = run_stage(receiver=f"http://127.0.0.1:{port}")
    assert r.status is Status.ERROR
    assert "connection refused" in r.summary
    assert any("1618" in h.text for h in r.hints)


def test_health_timeout_is_an_error_within_timeout_plus_one_second(base):
    t0 = time.monotonic()
    r = run_stage(receiver_health=base + "/slow/health", timeout=0.5)
    assert time.monotonic() - t0 < 1.5
    assert r.status is Status.ERROR and "did not answer within 0.5 s" in r.summary


def test_log_verdict_and_unreachable_health_are_both_reported():
    port = free_port()
    r = run_stage(receiver_log=[str(FIX / "linux.log")], receiver=f"http://127.0.0.1:{port}")
    assert r.status is Status.WARN  # from the log: deserialization errors
    assert "JSON deserialization errors" in r.summary and "connection refused" in r.summary


def test_clean_log_with_unreachable_health_is_a_warning(tmp_path):
    clean = tmp_path / "clean.log"
    clean.write_text("2026-11-21 10:01:00,000 [main] INFO  com.stackstate.receiver.Main - ready\n")
    r = run_stage(receiver_log=[str(clean)], receiver=f"http://127.0.0.1:{free_port()}")
    assert r.status is Status.WARN
    assert r.summary.startswith("The receiver log shows no deserialization errors") and "could not be checked" in r.summary


def test_kafka_failure_in_log_and_healthy_endpoint_is_a_fail(base):
    r = run_stage(receiver_log=[str(FIX / "kubernetes.log")], receiver=base)
    assert r.status is Status.FAIL
    assert "cannot put messages on Kafka" in r.summary and "answered HTTP 200" in r.summary


def test_stale_log_with_healthy_endpoint_passes_and_says_the_log_is_silent(base):
    r = run_stage(receiver_log=[str(FIX / "linux.log")], receiver=base, window="1m")
    assert r.status is Status.PASS
    assert "gives no verdict" in r.summary and "none of its 22 lines" in r.summary

