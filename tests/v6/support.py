"""Helpers for the StackState 6 tests: write samples into the real VictoriaMetrics and make
them searchable at once, and a stand-in of StackState's router and API in front of it.

The stand-in exists because no StackState server can run here: it checks the service token
in ``X-API-Key`` and forwards ``/prometheus/api/v1/...`` (the router's path) and
``/api/metrics/...`` (the API's own) to the real VictoriaMetrics' ``/api/v1/...``, query
string included, as the router's rewrite and the API do (docs/v6/facts.md, section 2).
Anything else answers 404, as StackState's path has no /health, /flags or /metrics.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from stsdebug.sources import remote_write as rw

TOKEN = "svctok-test-0123456789"


def write(vm_url: str, series: Sequence[rw.Series]) -> None:
    """Remote-write `series` to VictoriaMetrics and make them searchable now (a new series
    is otherwise searchable only ~10 s later: docs/v6/facts.md, section 5)."""
    with rw.RemoteWriter(rw.RemoteWriteConfig(f"{vm_url}/api/v1/write")) as w:
        w.send(list(series))
    force_flush(vm_url)


def force_flush(vm_url: str) -> None:
    urllib.request.urlopen(f"{vm_url}/internal/force_flush", timeout=5).close()


@contextmanager
def stackstate_stand_in(vm_url: str, token: str = TOKEN) -> Iterator[str]:
    """The base URL of the stand-in; give ``<it>/prometheus`` to stsdebug."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            requests.append(self.path)
            if self.headers.get("X-API-Key") != token:
                self._send(401, b'{"errors":[{"message":"Unauthorized"}]}')
                return
            path = self.path
            for prefix in ("/prometheus/api/v1/", "/api/metrics/"):
                if path.startswith(prefix):
                    path = "/api/v1/" + path[len(prefix):]
                    break
            else:
                self._send(404, b"Not Found")
                return
            resp = httpx.get(vm_url + path, timeout=5, trust_env=False)
            self._send(resp.status_code, resp.content)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
