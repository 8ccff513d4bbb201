"""Bounds on what kafka-python reads from a broker.

kafka-python 3 reads a readable socket until it would block, gathering everything in one
list before it parses any of it: a "broker" on a fast link that sends without end (a
wrong port, a hostile peer) grows the process by hundreds of megabytes within a 2 s
timeout, since the read never blocks. ``install()`` replaces that read with one that stops
after ``MAX_READ`` bytes and lets the event loop come back (the parser then refuses a frame
larger than ``MAX_FRAME`` and closes the connection), draining only what TLS has already
decrypted. The replacement is checked against the library's shape at install time, and
``installed()`` says whether it is in place (a test holds it true).

``MAX_FRAME`` is the largest response stsdebug accepts (kafka-python's
``receive_message_max_bytes``); a consumer raises it to its ``fetch_max_bytes`` on its own.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from typing import Any

MAX_READ = 1 << 20  # bytes read from one socket before the event loop runs again
MAX_FRAME = 64 << 20  # the largest response accepted from a broker

_log = logging.getLogger("kafka.net.transport")
_lock = threading.Lock()
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def _bounded_recv(self: Any) -> tuple[bytes, Exception | None]:
    """kafka-python's ``_sock_recv``, stopping after MAX_READ bytes."""
    from kafka import errors as kafka_errors

    received: list[bytes] = []
    size = 0
    err: Exception | None = None
    sock = self._sock
    while True:
        if size >= MAX_READ:
            pending = getattr(sock, "pending", None)
            if not callable(pending) or not pending():
                break  # the rest stays in the kernel; the socket is still readable
        try:
            data = sock.recv(4096)
        except _WOULD_BLOCK:
            break
        except BaseException as exc:  # noqa: BLE001 - as the library does: the connection ends
            _log.error("%s: error receiving network data, closing socket: %s", self, exc)
            err = kafka_errors.KafkaConnectionError(exc)
            break
        if not data:
            _log.error("%s: socket disconnected", self)
            err = kafka_errors.KafkaConnectionError("socket disconnected")
            break
        received.append(data)
        size += len(data)
    return b"".join(received), err


def install() -> None:
    """Bound kafka-python's socket reads (idempotent; a library of another shape is left alone)."""
    with _lock, contextlib.suppress(ImportError):
        from kafka.net import transport

        for cls in (transport.KafkaTCPTransport, transport.KafkaSSLTransport):
            if "_sock_recv" in vars(cls) and vars(cls)["_sock_recv"] is not _bounded_recv:
                cls._sock_recv = _bounded_recv


def installed() -> bool:
    try:
        from kafka.net import transport
    except ImportError:
        return False
    return all(
        getattr(cls, "_sock_recv", None) is _bounded_recv
        for cls in (transport.KafkaTCPTransport, transport.KafkaSSLTransport)
    )
