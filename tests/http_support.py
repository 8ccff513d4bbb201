"""One loopback HTTP(S) server for the tests that need an HTTP peer stsdebug talks to
(stand-ins for the StackState API, the mirror, the receiver, an Elasticsearch that
misbehaves). Each server holds its own state: what it was asked is in ``server.requests``.

    def respond(h):                       # h: the request handler, with h.body read
        return 200, {"Content-Type": "application/json"}, b"{}"

    with serve(respond) as server:        # server.url, server.requests
        ...
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Responder = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    requests: list[Seen] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.requests]


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that gave up (the timeout tests) are expected


@contextmanager
def serve(respond: Responder, *, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """A loopback server answering every request through ``respond``; stopped on exit."""
    server_box: list[Server] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            # Always consume the body: the connection is kept alive for the next request.
            length = int(self.headers.get("Content-Length") or 0)
            self.body = self.rfile.read(length) if length else b""  # type: ignore[attr-defined]
            server_box[0].requests.append(Seen(self.command, self.path, dict(self.headers), self.body))  # type: ignore[attr-defined]
            status, headers, body = respond(self)
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any  # noqa: N815 - stdlib names

        def log_message(self, *args: object) -> None:
            pass

    httpd = _Quiet(("127.0.0.1", 0), Handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    scheme = "https" if tls else "http"
    server = Server(f"{scheme}://127.0.0.1:{httpd.server_address[1]}")
    server_box.append(server)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> Responder:
    """Every request gets this status, headers (JSON by default) and body."""

    def respond(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        return status, dict(headers or {"Content-Type": "application/json"}), body

    return respond
