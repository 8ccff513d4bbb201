"""The source stage against a real HTTP mirror speaking the mirror API on loopback."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stsdebug.model import Status
from stsdebug.sandbox.servers import free_port
from stsdebug.settings import Settings
from stsdebug.stages import source
from stsdebug.stages.base import Stage
from stsdebug.trace import Trace

KEY = "mirror-key-0123456789"


class Mirror(BaseHTTPRequestHandler):
    mode = "ok"
    seen_keys: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        Mirror.seen_keys.append(self.headers.get("X-MIRROR-API-KEY"))
        if Mirror.mode == "slow":
            time.sleep(3)
        if self.path != "/api/connection" or body.get("_type") != "TestConnectionRequest":
            self.send_response(501)
            self.end_headers()
            return
        if Mirror.mode == "ok":
            answer, code = {"status": "OK", "_type": "TestConnectionResponse"}, 200
        elif Mirror.mode == "store-down":
            answer, code = {"_type": "MetricStoreConnectionError", "message": "prometheus:9090 unreachable"}, 500
        elif Mirror.mode == "garbage":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>proxy error</html>")
            return
        else:
            answer, code = {"error": "boom"}, 503
        data = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def mirror_url():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Mirror)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def trace(url, timeout=2.0):
    s = Settings(integration="prometheus", mirror=url, mirror_api_key=KEY, timeout=timeout)
    return Trace(s, stages=[Stage("source", source.TITLE, source.run)]).run()


@pytest.mark.parametrize(
    "mode, status, words",
    [
        ("ok", Status.PASS, "answers TestConnection with OK"),
        ("store-down", Status.FAIL, "MetricStoreConnectionError"),
        ("garbage", Status.ERROR, "not JSON"),
        ("5xx", Status.ERROR, "503"),
    ],
)
def test_mirror_answers(mirror_url, mode, status, words):
    Mirror.mode = mode
    t = trace(mirror_url)
    r = t.stages[0]
    assert r.status is status, r.summary
    assert words in r.summary
    assert Mirror.seen_keys[-1] == KEY
    assert KEY not in t.to_json()


def test_mirror_timeout_is_error_within_budget(mirror_url):
    Mirror.mode = "slow"
    t0 = time.monotonic()
    r = trace(mirror_url, timeout=1.0).stages[0]
    assert time.monotonic() - t0 < 2.5
    assert r.status is Status.ERROR and "did not answer within 1 s" in r.summary


def test_mirror_refused_port():
    r = trace(f"http://127.0.0.1:{free_port()}").stages[0]
    assert r.status is Status.ERROR and "connection refused" in r.summary
