"""The source stage against a real HTTP mirror speaking the mirror API on loopback."""

import json
import time

import pytest

from stsdebug.model import Status
from stsdebug.sandbox.servers import free_port
from stsdebug.settings import Settings
from stsdebug.stages import source
from stsdebug.stages.base import Stage
from stsdebug.trace import Trace
from tests.http_support import serve

KEY = "mirror-key-0123456789"


def mirror(mode):
    """A mirror speaking the mirror API (POST api/connection) in one of its moods."""

    def respond(h):
        body = json.loads(h.body or b"{}")
        if mode == "slow":
            time.sleep(3)
        if h.path != "/api/connection" or body.get("_type") != "TestConnectionRequest":
            return 501, {}, b""
        if mode == "garbage":
            return 200, {}, b"<html>proxy error</html>"
        if mode == "ok":
            answer, code = {"status": "OK", "_type": "TestConnectionResponse"}, 200
        elif mode == "store-down":
            answer, code = {"_type": "MetricStoreConnectionError", "message": "prometheus:9090 unreachable"}, 500
        else:
            answer, code = {"error": "boom"}, 503
        return code, {"content-type": "application/json"}, json.dumps(answer).encode()

    return respond


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
def test_mirror_answers(mode, status, words):
    with serve(mirror(mode)) as server:
        t = trace(server.url)
    r = t.stages[0]
    assert r.status is status, r.summary
    assert words in r.summary
    assert [q.headers.get("X-MIRROR-API-KEY") for q in server.requests] == [KEY]
    assert KEY not in t.to_json()


def test_mirror_timeout_is_error_within_budget():
    t0 = time.monotonic()
    with serve(mirror("slow")) as server:
        r = trace(server.url, timeout=1.0).stages[0]
    assert time.monotonic() - t0 < 2.5
    assert r.status is Status.ERROR and "did not answer within 1 s" in r.summary


def test_mirror_refused_port():
    r = trace(f"http://127.0.0.1:{free_port()}").stages[0]
    assert r.status is Status.ERROR and "connection refused" in r.summary
