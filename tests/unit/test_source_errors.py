"""One translator from network and library errors to one sentence, the same for every source."""

from __future__ import annotations

import errno
import socket
import ssl

import pytest

from stsdebug.sources.errors import Failure, cannot_reach, classify, sentence, tls_reason


def _wrapped(inner: BaseException) -> Exception:
    """How libraries hand errors on: httpx/urllib3 raise their own type from the OS error."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("Unable to connect") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "exc, cause",
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "refused"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable"),
        (socket.gaierror(-2, "Name or service not known"), "dns"),
        (TimeoutError("timed out"), "timeout"),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "reset"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"), "tls"),
    ],
)
def test_types_are_read_first_also_when_wrapped(exc: BaseException, cause: str) -> None:
    assert classify(exc).cause == cause
    assert classify(_wrapped(exc)).cause == cause


@pytest.mark.parametrize(
    "text, cause",
    [
        ("[Errno -3] Temporary failure in name resolution", "dns"),
        ("[Errno 111] Connection refused", "refused"),
        ("Read timed out. (read timeout=2)", "timeout"),
        ("RemoteDisconnected('Remote end closed connection without response')", "reset"),
        ("something else entirely", "network"),
    ],
)
def test_text_is_the_fallback(text: str, cause: str) -> None:
    assert classify(Exception(text)).cause == cause


def test_one_sentence_per_cause() -> None:
    where = dict(system="Kafka", what="Kafka", where="h:9092", host="h", seconds=2.0)
    assert str(cannot_reach(Failure("refused", "connection refused"), **where)) == (
        "Cannot connect to Kafka at h:9092: connection refused."
    )
    assert str(cannot_reach(Failure("dns", "x"), **where)) == "Cannot resolve the host name 'h' of Kafka (h:9092)."
    assert str(cannot_reach(Failure("timeout", "x"), **where)) == "Kafka at h:9092 did not answer within 2 s."
    tls = cannot_reach(Failure("tls", "certificate verify failed: self-signed certificate"), **where,
                       tls_advice=" (is the port plaintext?)")
    assert str(tls) == (
        "TLS handshake with Kafka at h:9092 failed: certificate verify failed: self-signed certificate "
        "(is the port plaintext?)."
    )
    assert tls.cause == "tls" and tls.system == "Kafka"


def test_tls_reasons_name_what_to_do() -> None:
    text = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)"
    assert tls_reason(text) == "certificate verify failed: self-signed certificate"
    assert tls_reason("[SSL: WRONG_VERSION_NUMBER] wrong version number") == (
        "the server does not speak TLS on this port"
    )
    assert tls_reason("EOF occurred in violation of protocol") == (
        "the server closed the connection during the handshake"
    )


def test_sentence_ends_once() -> None:
    assert sentence("no answer") == "no answer." and sentence("done.") == "done."
