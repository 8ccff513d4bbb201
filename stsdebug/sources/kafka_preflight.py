"""Before kafka-python: the bootstrap address, a DNS/TCP/TLS preflight with one-sentence
failures, kafka-python's own log captured for diagnosis, and the reading of that log when
the bootstrap fails (SASL rejected, TLS, a broker that drops the connection).

kafka-python reports every connection problem as "Unable to bootstrap"; the preflight
names the real one (refused, unreachable, DNS, certificate) first.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable

from stsdebug.deadline import DeadlineExceeded, bounded
from stsdebug.errors import SourceError
from stsdebug.sources.addresses import host_problem, port_problem
from stsdebug.sources.errors import Failure, cannot_reach, os_reason, short, tls_reason

SYSTEM = "Kafka"
DEFAULT_PORT = 9092


# --- kafka-python's log, captured -----------------------------------------------------


class _LogCapture(logging.Handler):
    """Keeps kafka-python's recent warnings and errors for diagnosis, off the terminal."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: deque[tuple[int, str]] = deque(maxlen=200)
        self.seq = 0

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.seq += 1
            self.lines.append((self.seq, record.getMessage()))

    def mark(self) -> int:
        return self.seq

    def since(self, mark: int) -> list[str]:
        return [text for seq, text in list(self.lines) if seq > mark]


CAPTURE = _LogCapture()
_capture_lock = threading.Lock()
_capture_installed = False


def install_capture() -> None:
    # kafka-python logs connection trouble at ERROR; with no handler configured Python
    # prints those to stderr, which would break stsdebug's one-line output.
    global _capture_installed
    with _capture_lock:
        if not _capture_installed:
            log = logging.getLogger("kafka")
            log.addHandler(CAPTURE)
            log.propagate = False
            _capture_installed = True


# --- settings -----------------------------------------------------------------------


def parse_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """'h1:9092,h2' -> [('h1', 9092), ('h2', 9092)]; '[::1]:9092' works too.

    An empty part, a bad host or a port outside 1-65535 is a SourceError naming the part.
    """
    servers: list[tuple[str, int]] = []
    if not bootstrap.strip():
        raise SourceError("The Kafka bootstrap address is empty.", system=SYSTEM, cause="config")
    for raw in bootstrap.split(","):
        item = raw.strip()
        if not item:
            raise SourceError(
                f"Kafka bootstrap {bootstrap.strip()!r} has an empty part (two commas, or one at an end).",
                system=SYSTEM, cause="config",
            )
        for scheme in ("PLAINTEXT://", "SSL://", "SASL_PLAINTEXT://", "SASL_SSL://", "tcp://"):
            if item.upper().startswith(scheme.upper()):
                item = item[len(scheme):]
        host, sep, port_text = item, "", ""
        if "://" in item:
            why: str | None = "give HOST:PORT without a URL scheme"
        elif item.startswith("["):
            host, closed, rest = item[1:].partition("]")
            sep, port_text = rest[:1], rest[1:]
            why = None if closed and sep in ("", ":") else "not [IPv6]:PORT"
        else:
            if item.count(":") == 1:
                host, sep, port_text = item.partition(":")
            why = None
        if why is None and sep and not port_text.isdigit():
            why = f"{port_text!r} is not a port number" if port_text else "no port after ':'"
        port = int(port_text) if why is None and port_text else DEFAULT_PORT
        why = why or host_problem(f"[{host}]" if item.startswith("[") else host) or port_problem(port)
        if why:
            raise SourceError(
                f"Kafka bootstrap {raw.strip()!r} is not HOST:PORT ({why}).", system=SYSTEM, cause="config"
            )
        servers.append((host, port))
    return servers


def hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- preflight: DNS, TCP, TLS ----------------------------------------------------------


def probe(
    host: str,
    port: int,
    deadline: float,
    context: ssl.SSLContext | None,
    timeout: float,
    *,
    advertised: bool,
) -> None:
    """Resolve, connect and (with ``context``) complete a TLS handshake, or raise one sentence."""
    where = hostport(host, port)
    what = "the advertised Kafka broker" if advertised else "Kafka"

    def fail(exc: Failure | BaseException | str, advice: str = "") -> SourceError:
        return cannot_reach(exc, system=SYSTEM, what=what, where=where, host=host, seconds=timeout,
                            tls_advice=advice)

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise fail(TimeoutError())
        return remaining

    try:
        infos = bounded(
            lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM), left(), "stsdebug-dns"
        )
    except DeadlineExceeded:
        raise SourceError(
            f"Resolving the host name {host!r} of {what} took longer than {timeout:g} s.",
            system=SYSTEM,
            cause="dns",
        ) from None
    except (socket.gaierror, UnicodeError) as exc:
        raise SourceError(
            f"Cannot resolve the host name {host!r} of {what} ({where}): {os_reason(exc)}.",
            system=SYSTEM,
            cause="dns",
        ) from None
    last: SourceError | None = None
    for family, kind, proto, _name, addr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left())
            sock.connect(addr)
        except SourceError:
            sock.close()
            raise
        except TimeoutError:
            sock.close()
            raise SourceError(
                f"Cannot connect to {what} at {where}: no answer within {timeout:g} s "
                "(a firewall, or the host is down).",
                system=SYSTEM,
                cause="timeout",
            ) from None
        except OSError as exc:
            sock.close()
            last = fail(exc)
            continue
        try:
            if context is not None:
                _handshake(sock, context, host, left, fail)
        finally:
            sock.close()
        return
    assert last is not None
    raise last


def _handshake(
    sock: socket.socket,
    context: ssl.SSLContext,
    host: str,
    left: Callable[[], float],
    fail: Callable[[Failure | BaseException | str, str], SourceError],
) -> None:
    plaintext = " (is the port plaintext?)"
    try:
        sock.settimeout(left())
        with context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False) as tls:
            tls.do_handshake()
    except SourceError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise fail(exc, "") from None
    except TimeoutError:
        raise fail(Failure("tls", "no handshake answer in time"), plaintext) from None
    except (ssl.SSLError, OSError) as exc:
        raise fail(Failure("tls", tls_reason(exc)), plaintext) from None


# --- reading kafka-python's log when the bootstrap fails --------------------------------


def bootstrap_error(
    lines: list[str],
    exc: BaseException | None,
    *,
    endpoint: str,
    protocol: str,
    mechanism: str | None,
    username: str | None,
    timeout: float,
) -> SourceError:
    """One sentence for a failed bootstrap, from kafka-python's log lines and its exception."""
    low = " | ".join(lines).lower() + " " + (str(exc).lower() if exc else "")
    where = endpoint

    def sasl(detail: str) -> SourceError:
        tail = f" ({detail})" if detail else ""
        return SourceError(
            f"Kafka at {where} rejected SASL {mechanism} authentication as user "
            f"{username!r}{tail}; check the user name, password and mechanism.",
            system=SYSTEM,
            cause="auth",
        )

    if "unsupportedsaslmechanism" in low or "does not support" in low:
        return SourceError(
            f"Kafka at {where} does not offer SASL {mechanism} "
            f"({_first_match(lines, ('sasl',))}); check the mechanism and the security protocol.",
            system=SYSTEM,
            cause="auth",
        )
    if exc is not None and is_auth_error(exc):
        return sasl(str(exc))
    if mechanism and ("sasl" in low or "authentication" in low or dropped_after_versions(lines)):
        return sasl(_sasl_detail(lines))
    if any(s in low for s in ("certificate", "ssl:", "sslerror", "handshake")):
        return SourceError(
            f"TLS handshake with Kafka at {where} failed: "
            f"{_first_match(lines, ('certificate', 'ssl', 'handshake'))}.",
            system=SYSTEM,
            cause="tls",
        )
    if not mechanism and dropped_after_versions(lines):
        return SourceError(
            f"Kafka at {where} closed the connection during the metadata request; it may "
            f"require SASL or SSL (security protocol here: {protocol}).",
            system=SYSTEM,
            cause="auth",
        )
    if exc is not None and type(exc).__name__ not in ("KafkaTimeoutError", "NoBrokersAvailable"):
        return SourceError(
            f"Kafka at {where} could not be used: {exc_text(exc)}.", system=SYSTEM, cause="network"
        )
    return SourceError(
        f"Kafka at {where} accepted the connection but did not answer a metadata request "
        f"within {timeout:g} s.",
        system=SYSTEM,
        cause="timeout",
    )


def is_auth_error(exc: BaseException) -> bool:
    return type(exc).__name__ in (
        "SaslAuthenticationFailedError",
        "AuthenticationFailedError",
        "UnsupportedSaslMechanismError",
        "IllegalSaslStateError",
        "AuthenticationMethodNotSupported",
    )


def decisive(line: str) -> bool:
    """A log line that settles the bootstrap: retrying cannot help."""
    low = line.lower()
    return any(
        s in low
        for s in ("saslauthenticationfailed", "unsupportedsaslmechanism", "saslhandshake failed",
                  "illegalsaslstate", "authentication failed")
    )


def dropped_after_versions(lines: list[str]) -> bool:
    """The broker answered ApiVersions (a version is known) and then dropped the connection."""
    return any(
        "broker_version=(" in ln and ("connection lost" in ln.lower() or "abort" in ln.lower())
        for ln in lines
    )


def _sasl_detail(lines: list[str]) -> str:
    for ln in lines:
        low = ln.lower()
        if "in the clear" in low:  # kafka-python's warning about SASL without TLS, not a cause
            continue
        if "sasl" in low or "authentication" in low:
            return short(ln.split(">: ", 1)[-1])
    return "the broker closed the connection during the SASL exchange"


def _first_match(lines: list[str], words: tuple[str, ...]) -> str:
    for ln in lines:
        if any(w in ln.lower() for w in words):
            return short(ln.split(">: ", 1)[-1])
    return "handshake failed"


def exc_text(exc: BaseException) -> str:
    """``Name: first line`` of a library exception."""
    text = str(exc).strip().splitlines()
    body = text[0] if text else ""
    name = type(exc).__name__
    return short(body if body.startswith(name) else f"{name}: {body}" if body else name)
