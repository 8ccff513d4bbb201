"""Every way the Kafka stage can fail to look gives `error` with one sentence, within the
timeout (+1 s), and the trace goes on.

Real servers wherever one can fail that way: a closed port, a name that does not
resolve, noida-db spoken to with TLS, a Tansu broker that requires SASL (started here
with `--authentication` and no users, so every login is refused). Stand-ins only for
what no test broker does (see kafka_support): a listener that never answers, a TLS
listener with an untrusted certificate.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stsdebug.errors import SourceError
from stsdebug.model import Status
from stsdebug.sandbox import servers
from stsdebug.sandbox.servers import ServerProcess
from stsdebug.sources.kafka import KafkaSource
from tests.integration import kafka_support as sup

pytestmark = pytest.mark.wire

TIMEOUT = 2.0
PASSWORD = "s3cret-Pa55word-kafka"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tansu requiring SASL (`--authentication`) with no users: every login is refused.

    Started through the sandbox's launcher (own process group, log file, stopped by PID)
    with a TCP readiness check, since a metadata request cannot succeed without a login.
    """
    log_dir = tmp_path_factory.mktemp("tansu-sasl")
    port = servers.free_port()
    url = f"tcp://127.0.0.1:{port}"
    exe = servers.tansu_binary()
    proc: ServerProcess = servers._launch(
        "tansu", exe,
        [str(exe), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/", "--authentication"],
        {"kafka": port}, log_dir / "tansu.log", log_dir, [lambda t: _accepts(port)], 15.0,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"}, die_with_parent=True,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def advertising_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tansu listening on loopback but advertising an in-cluster name, as a port-forwarded
    StackState Kafka does (`stackstate-kafka-0.stackstate-kafka-headless:9092`)."""
    log_dir = tmp_path_factory.mktemp("tansu-advertised")
    port = servers.free_port()
    exe = servers.tansu_binary()
    proc: ServerProcess = servers._launch(
        "tansu", exe,
        [str(exe), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
         "--advertised-listener-url", f"tcp://stackstate-kafka-0.stackstate-kafka-headless.invalid:{port}",
         "--storage-engine", "memory://tansu/"],
        {"kafka": port}, log_dir / "tansu.log", log_dir, [lambda t: _accepts(port)], 15.0,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"}, die_with_parent=True,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.stop()


def test_advertised_broker_that_does_not_resolve(advertising_elsewhere: str) -> None:
    _check({"kafka": advertising_elsewhere},
           f"Kafka at {advertising_elsewhere} answered, but the broker it advertises is not reachable "
           "from here: cannot resolve the host name 'stackstate-kafka-0.stackstate-kafka-headless.invalid' "
           "of the advertised Kafka broker")


def _closed_port() -> int:
    return servers.free_port()


def _check(settings_kw: dict[str, object], *phrases: str, cause_stage: str = "kafka") -> None:
    """Run scope + kafka + elasticsearch; assert the Kafka error, its timing and that the trace went on."""
    s = sup.settings(timeout=TIMEOUT, **settings_kw)
    started = time.monotonic()
    trace = sup.run(s, ("scope", "kafka", "elasticsearch"))
    elapsed = time.monotonic() - started
    result = sup.stage(trace, cause_stage)
    assert result.status is Status.ERROR, result.summary
    for phrase in phrases:
        assert phrase in result.summary, result.summary
    # Within the timeout (+1 s), and read once: the scope stage's failure was cached.
    assert elapsed < TIMEOUT + 1.0, f"took {elapsed:.2f} s"
    # The stages run at once: the Kafka stage waits for the scope stage's read and shares its
    # failure; a second read of its own would take about as long again.
    scope = sup.stage(trace, "scope")
    assert result.duration_ms < scope.duration_ms + 200, "the Kafka stage retried a read that had already failed"
    assert sup.stage(trace, "elasticsearch").status is Status.SKIP  # the trace went on
    assert "Kafka could not be read" in sup.stage(trace, "scope").summary or (
        sup.stage(trace, "scope").status is Status.SKIP
    )
    assert PASSWORD not in trace.to_json()


def test_refused_port() -> None:
    port = _closed_port()
    _check({"kafka": f"127.0.0.1:{port}"}, f"Cannot connect to Kafka at 127.0.0.1:{port}: connection refused.")


def test_dns_failure() -> None:
    _check({"kafka": "stackstate-kafka-headless.invalid:9092"},
           "Cannot resolve the host name 'stackstate-kafka-headless.invalid' of Kafka")


def test_silent_listener_times_out() -> None:
    with sup.silent_listener() as port:
        _check({"kafka": f"127.0.0.1:{port}"},
               f"Kafka at 127.0.0.1:{port} accepted the connection but did not answer a metadata "
               f"request within {TIMEOUT:g} s.")


def test_tls_to_a_plaintext_broker(noida: ServerProcess) -> None:
    bootstrap = servers.kafka_bootstrap(noida)
    _check({"kafka": bootstrap, "kafka_security_protocol": "SSL"},
           f"TLS handshake with Kafka at {bootstrap} failed", "is the port plaintext?")


def test_tls_with_an_untrusted_certificate(tmp_path: Path) -> None:
    cert, key = sup.self_signed(tmp_path)
    with sup.tls_listener(cert, key) as port:
        _check({"kafka": f"127.0.0.1:{port}", "kafka_security_protocol": "SSL"},
               "certificate verify failed: self-signed certificate")


def test_tls_with_the_right_ca_gets_past_the_handshake(tmp_path: Path) -> None:
    # With the CA given, TLS succeeds and the failure moves on: the listener never speaks Kafka.
    cert, key = sup.self_signed(tmp_path)
    with sup.tls_listener(cert, key) as port:
        _check({"kafka": f"127.0.0.1:{port}", "kafka_security_protocol": "SSL", "kafka_ssl_cafile": str(cert)},
               "did not answer a metadata request")


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_rejected(sasl_broker: str, mechanism: str) -> None:
    _check(
        {"kafka": sasl_broker, "kafka_sasl_mechanism": mechanism, "kafka_sasl_username": "stsdebug",
         "kafka_sasl_password": PASSWORD},
        f"Kafka at {sasl_broker} rejected SASL {mechanism} authentication as user 'stsdebug'",
    )


def test_plaintext_to_a_broker_that_requires_sasl(sasl_broker: str) -> None:
    _check({"kafka": sasl_broker}, "it may require SASL or SSL (security protocol here: PLAINTEXT)")


def test_sasl_mechanism_the_broker_does_not_offer(tansu: ServerProcess) -> None:
    bootstrap = servers.kafka_bootstrap(tansu)
    _check(
        {"kafka": bootstrap, "kafka_sasl_mechanism": "SCRAM-SHA-256", "kafka_sasl_username": "u",
         "kafka_sasl_password": PASSWORD},
        f"Kafka at {bootstrap} does not offer SASL SCRAM-SHA-256",
    )


def test_bad_settings_are_one_sentence_errors() -> None:
    _check({"kafka": "host:notaport"}, "Kafka bootstrap 'host:notaport' is not HOST:PORT ('notaport' is not a port number).")
    _check({"kafka": "127.0.0.1:9", "kafka_sasl_mechanism": "GSSAPI", "kafka_sasl_username": "u",
            "kafka_sasl_password": "p"}, "Kafka SASL mechanism 'GSSAPI' is not one of PLAIN, SCRAM-SHA-256")
    _check({"kafka": "127.0.0.1:9", "kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/nonexistent/ca.pem"},
           "The Kafka CA file /nonexistent/ca.pem cannot be used")


def test_a_broker_that_dies_after_connecting(tmp_path: Path) -> None:
    """Connected, then the broker is gone: later calls fail within the timeout, once."""
    proc = servers.start_tansu(log_dir=tmp_path, die_with_parent=True)
    try:
        bootstrap = servers.kafka_bootstrap(proc)
        topic = sup.unique()
        sup.create_topic(bootstrap, topic)
        source = KafkaSource(bootstrap, timeout=1.0)
        assert source.describe_topic(topic).exists
    finally:
        proc.stop(timeout=0.5)  # Tansu waits for open connections on SIGTERM: kill it
    started = time.monotonic()
    with pytest.raises(SourceError) as first:
        source.read_window(topic, [0], time.time() - 900, 100)
    assert time.monotonic() - started < 2 * 1.0 + 1.0  # a read phase has twice the timeout
    assert f"Kafka at {bootstrap}" in str(first.value)
    assert "\n" not in str(first.value) and str(first.value).endswith(".")
    started = time.monotonic()
    with pytest.raises(SourceError):
        source.describe_topic(topic)
    assert time.monotonic() - started < 1.0 + 1.0
    source.close()
