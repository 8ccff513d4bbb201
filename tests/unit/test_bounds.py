"""The bounds under every source: a total deadline per HTTP request (netdeadline), bounded
Kafka socket reads (kafka_bounds) and nesting limits on JSON and YAML (nesting).

The servers here are real sockets on loopback; only DNS is replaced (monkeypatched
``socket.getaddrinfo``), since no resolver that hangs on demand can run here.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdebug import nesting
from stsdebug.errors import SourceError
from stsdebug.sources import kafka_bounds, netdeadline
from stsdebug.sources.http import HttpSource


@contextlib.contextmanager
def dripping_server(interval: float = 0.2) -> Iterator[str]:
    """Answers a status line, then one header byte every ``interval`` seconds, for ever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            with conn, contextlib.suppress(OSError):
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                while not stop.wait(interval):
                    conn.sendall(b"a")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


# --- netdeadline ------------------------------------------------------------------------------


def test_every_transport_of_the_client_gets_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Proxies from the environment get transports of their own: they must be bounded too.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    http = HttpSource(timeout=1)
    try:
        assert len(netdeadline._transports(http._client)) >= 2
        assert netdeadline.installed(http._client)
    finally:
        http.close()
    assert not netdeadline.installed(httpx.Client())


def test_dripped_headers_end_at_the_total_timeout() -> None:
    with dripping_server(0.2) as url:
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"did not answer within 1 s") as info:
            HttpSource(timeout=1).get(url + "/health")
        elapsed = time.monotonic() - started
    assert info.value.cause == "timeout"
    assert elapsed < 1.8, elapsed  # per-read timeouts alone would never end


def test_a_hanging_dns_lookup_ends_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hang(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    started = time.monotonic()
    try:
        with pytest.raises(SourceError, match="did not answer within 0.5 s"):
            HttpSource(timeout=0.5).get("http://receiver.example.invalid:7077/health")
    finally:
        release.set()
    assert time.monotonic() - started < 1.5


def test_every_address_of_a_name_is_tried_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """localhost may resolve to ::1 first while the server listens on 127.0.0.1 only."""
    from tests.http_support import serve

    real = socket.getaddrinfo
    with serve(lambda h: (200, {"Content-Type": "application/json"}, b"{}")) as server:
        port = int(server.url.rsplit(":", 1)[1])  # it listens on 127.0.0.1 only

        def two(host: str, *args: Any, **kwargs: Any) -> list[Any]:
            if host != "receiver.example":
                return real(host, *args, **kwargs)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

        monkeypatch.setattr(socket, "getaddrinfo", two)
        assert HttpSource(timeout=2).get(f"http://receiver.example:{port}/health").status == 200


def test_the_deadline_is_per_thread_and_the_sooner_one_wins() -> None:
    assert netdeadline.left() is None
    with netdeadline.within(10):
        with netdeadline.within(0.5):
            left = netdeadline.left()
            assert left is not None and left <= 0.5
        with netdeadline.within(60):
            left = netdeadline.left()
            assert left is not None and 9 < left <= 10
        seen: list[float | None] = []
        t = threading.Thread(target=lambda: seen.append(netdeadline.left()))
        t.start()
        t.join()
        assert seen == [None]
    assert netdeadline.left() is None


# --- kafka_bounds -----------------------------------------------------------------------------


def test_kafka_socket_reads_stop_at_the_bound() -> None:
    kafka_bounds.install()
    assert kafka_bounds.installed()
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        b.setblocking(False)
        sent = 0
        with contextlib.suppress(BlockingIOError):
            while sent < 6 * kafka_bounds.MAX_READ:
                sent += b.send(b"A" * 65536)
        transport = type("T", (), {"_sock": a})()
        data, err = kafka_bounds._bounded_recv(transport)
        assert err is None
        assert kafka_bounds.MAX_READ <= len(data) < kafka_bounds.MAX_READ + 4096 < sent
        b.close()
        rest = b""
        while True:  # the rest is still there, and the end is seen as a disconnect
            chunk, err = kafka_bounds._bounded_recv(transport)
            rest += chunk
            if err is not None:
                break
        assert len(data) + len(rest) == sent and "disconnected" in str(err)
    finally:
        a.close()


# --- nesting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 50_000, "[" * 101 + "]" * 101])
def test_deep_json_is_refused_in_one_sentence(text: str) -> None:
    with pytest.raises(nesting.TooDeep, match="nested more than 100 levels deep"):
        nesting.loads_json(text)


def test_json_at_the_limit_is_read() -> None:
    assert nesting.loads_json("[" * 100 + "]" * 100) == eval("[" * 100 + "]" * 100)  # noqa: S307
    assert nesting.loads_json(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("- " * 5000 + "x", "nested more than"),
        ("[" * 5000 + "]" * 5000, "nested more than"),
        ("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
         + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
         "more than 5,000,000 values"),
        ("a: &a [1, *a]\n", "containing itself"),
    ],
    ids=["block sequences", "flow sequences", "alias bomb", "recursive alias"],
)
def test_yaml_that_would_blow_up_is_refused(text: str, says: str) -> None:
    started = time.monotonic()
    with pytest.raises(nesting.TooDeep, match=says):
        nesting.load_yaml(text, yaml.SafeLoader)
    assert time.monotonic() - started < 5


def test_shared_yaml_parts_are_measured_once() -> None:
    text = "a: &a {k: [1, 2, 3]}\nb: [*a, *a, *a]\n"
    assert nesting.load_yaml(text, yaml.SafeLoader)["b"][2] == {"k": [1, 2, 3]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(min_value=1, max_value=12))
def test_check_shape_agrees_with_a_plain_depth_count(value: Any, limit: int) -> None:
    if _depth(value) > limit:
        with pytest.raises(nesting.TooDeep):
            nesting.check_shape(value, max_depth=limit)
    else:
        nesting.check_shape(value, max_depth=limit)


# --- credentials and redirects (in process; the CLI paths are in test_hostile_servers) -------


@pytest.mark.parametrize(
    ("headers", "params", "url_user"),
    [({name: "SEEKRIT-1"}, None, "") for name in
     ("Authorization", "Proxy-Authorization", "X-API-Token", "X-API-Key", "X-MIRROR-API-KEY", "sts-api-key")]
    + [(None, {"api_key": "SEEKRIT-1"}, ""), (None, None, "user:SEEKRIT-1@")],
    ids=["authorization", "proxy-authorization", "x-api-token", "x-api-key", "x-mirror-api-key", "sts-api-key",
         "api_key parameter", "user:password@"],
)
def test_no_credential_follows_a_redirect_to_another_origin(
    headers: dict[str, str] | None, params: dict[str, str] | None, url_user: str
) -> None:
    from tests import hostile

    with hostile.HostileServer(hostile.recorder) as other, \
            hostile.HostileServer(hostile.redirect(other.url + "/x", 307)) as first:
        url = first.url.replace("://", f"://{url_user}") + "/api"
        with pytest.raises(SourceError, match="another origin; the redirect was refused") as info:
            HttpSource(timeout=2).get(url, headers=headers, params=params)
    assert info.value.cause == "redirect"
    assert other.requests == []
    assert "SEEKRIT" not in str(info.value)


def test_a_redirect_without_credentials_or_to_https_on_the_same_host_is_followed() -> None:
    from tests import hostile

    with hostile.HostileServer(hostile.recorder) as other, \
            hostile.HostileServer(hostile.redirect(other.url + "/health", 302)) as first:
        assert HttpSource(timeout=2).get(first.url + "/health").status == 200
    assert [r.target for r in other.requests] == ["/health"]
    from stsdebug.sources.http import _same_origin

    assert _same_origin("http://sts.example/api", "https://sts.example/api")
    assert not _same_origin("https://sts.example/api", "http://sts.example/api")
    assert not _same_origin("http://sts.example:8080/api", "https://sts.example/api")
