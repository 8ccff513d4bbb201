"""A total deadline for every HTTP request, headers included.

httpx's timeouts are per socket operation: a server that drips one header byte every
second keeps a 2 s read timeout from ever firing, and the DNS lookup inside
``socket.create_connection`` has no timeout at all. ``within(seconds)`` sets a deadline
for the requests made on this thread; ``install(client)`` gives an httpx client a
network backend that cuts every operation (DNS, connect, TLS handshake, each read and
write) to the time left before it, and fails it with httpcore's own timeout once
there is none. httpx maps those to ``httpx.TimeoutException`` as usual.

    client = install(httpx.Client(...))
    with within(2.0):
        client.get(url)          # all of it, dripped headers too, ends within 2 s

The backend replaces the one httpcore's pool was built with (httpx builds its transports,
the ones for proxies from the environment too, without asking for a backend);
``installed(client)`` says whether every transport got it, and a test holds it true.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore

from stsdebug.sources.lean import UNUSED_BY_HTTPX, without

with without(*UNUSED_BY_HTTPX):
    import httpx

from stsdebug.deadline import DeadlineExceeded, bounded


class _Deadline(threading.local):
    at: float | None = None


_DEADLINE = _Deadline()


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Requests on this thread end within ``seconds`` from now (a nested call keeps the
    earlier deadline if it is sooner)."""
    before = _DEADLINE.at
    at = time.monotonic() + max(0.0, seconds)
    _DEADLINE.at = at if before is None else min(before, at)
    try:
        yield
    finally:
        _DEADLINE.at = before


def left() -> float | None:
    """Seconds left before this thread's deadline (None: no deadline set)."""
    at = _DEADLINE.at
    return None if at is None else at - time.monotonic()


def _clamp(timeout: float | None, kind: type[Exception]) -> float | None:
    remaining = left()
    if remaining is None:
        return timeout
    if remaining <= 0:
        raise kind("the request's total time ran out")
    return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, every operation cut to the thread's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in _resolve(host, port, _clamp(timeout, httpcore.ConnectTimeout)):
            try:
                return _Stream(self._inner.connect_tcp(
                    address, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
                ))
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as exc:  # refused on ::1, say: try the next address
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _clamp(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _resolve(host: str, port: int, seconds: float | None) -> list[str]:
    """The host's addresses, looked up within ``seconds`` (getaddrinfo has no timeout)."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return [host]
    try:
        infos = bounded(
            lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM),
            10.0 if seconds is None else seconds,
            "stsdebug-dns",
        )
    except DeadlineExceeded:
        raise httpcore.ConnectTimeout(f"the DNS lookup of {host} did not finish in time") from None
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    addresses: list[str] = []
    for *_, sockaddr in infos:
        if str(sockaddr[0]) not in addresses:
            addresses.append(str(sockaddr[0]))
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    return addresses


def install(client: httpx.Client) -> httpx.Client:
    """Give every transport of ``client`` the deadline backend; returns the client."""
    for transport in _transports(client):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, DeadlineBackend):
            pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
    return client


def installed(client: httpx.Client) -> bool:
    """Does every transport of ``client`` cut its I/O to the deadline?"""
    return all(
        isinstance(getattr(getattr(t, "_pool", None), "_network_backend", None), DeadlineBackend)
        for t in _transports(client)
    )


def _transports(client: httpx.Client) -> list[Any]:
    mounts = getattr(client, "_mounts", {}) or {}
    return [t for t in [getattr(client, "_transport", None), *mounts.values()] if t is not None]
