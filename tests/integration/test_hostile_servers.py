"""stsdebug against hostile servers (tests/hostile.py): every stage that meets one ends as an
`error` with one sentence, within a few times --timeout, in bounded memory, and no configured
secret a server reflects reaches the output.

These are the paths that hold today: the receiver health endpoint, the probe's intake POST,
the StackState topic API and the Prometheus mirror (sources/http.py), the Kafka client, and
the Elasticsearch paths that hold. What fails today (Elasticsearch bodies, a fast endless
Kafka answer, dripped headers, credentials on a redirect) is in tests/hostile_pending.py.

Bounds are correctness bounds, not speed targets: a hang is minutes, and each run here is
allowed a few times the timeout plus interpreter start-up. The CLI runs under RLIMIT_AS so a
memory regression fails the test instead of the machine.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest

from tests import hostile
from tests.hostile import CliRun, HostileServer

TIMEOUT = 2.0
BOUND_S = 5 * TIMEOUT + 5.0  # a few timeouts, plus start-up on a loaded machine
PEAK_RSS_MB = 300  # a normal check peaks near 50 MB; a 16 MB body cap allows ~100 MB
MEM_LIMIT_MB = 1536

API_KEY = "SEEKRIT-receiver-key-0123"
TOKEN = "SEEKRIT-sts-token-4567"
MIRROR_KEY = "SEEKRIT-mirror-key-89ab"
ES_PASSWORD = "SEEKRIT-es-pass-cdef"
SECRETS_ENV = {
    "STSDEBUG_API_KEY": API_KEY,
    "STSDEBUG_STS_API_TOKEN": TOKEN,
    "STSDEBUG_MIRROR_API_KEY": MIRROR_KEY,
    "STSDEBUG_ES_USERNAME": "elastic",
    "STSDEBUG_ES_PASSWORD": ES_PASSWORD,
}
NEVER_SHOWN = [API_KEY, TOKEN, MIRROR_KEY, ES_PASSWORD, base64.b64encode(f"elastic:{ES_PASSWORD}".encode()).decode()]

HTTP_CASES: dict[str, tuple[Callable[[], hostile.Behaviour], str]] = {
    # name: (behaviour, what the stage's sentence must say)
    "black hole": (lambda: hostile.black_hole, r"did not answer within 2 s"),
    "endless chunked body": (hostile.endless_chunked, r"body larger than 16 MB"),
    "drip body": (lambda: hostile.drip_body(0.5), r"did not answer within 2 s"),
    "gzip bomb": (hostile.gzip_bomb, r"body larger than 16 MB"),
    "gzip bomb, two layers": (lambda: hostile.gzip_bomb(4 << 30, layers=2), r"body larger than 16 MB"),
    "huge header": (hostile.huge_header, r"did not answer with valid HTTP"),
    "reflected credentials": (hostile.reflect, r"refused the request: HTTP 401"),
}


def check(*args: str) -> CliRun:
    return hostile.run_cli(
        ["check", *args, "--timeout", str(TIMEOUT), "-f", "json"],
        mem_mb=MEM_LIMIT_MB, wall_s=120, env=SECRETS_ENV,
    )


def assert_bounded(run: CliRun) -> None:
    assert not run.timed_out, f"check hung: {run.argv}"
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.elapsed <= BOUND_S, f"took {run.elapsed:.1f} s (bound {BOUND_S:g} s): {run.argv}"
    assert run.peak_rss_mb <= PEAK_RSS_MB, f"peak RSS {run.peak_rss_mb:.0f} MB: {run.argv}"
    assert run.code == 3, (run.code, run.stderr[-1000:])
    for secret in NEVER_SHOWN:
        assert secret not in run.stdout and secret not in run.stderr, secret


def assert_error(run: CliRun, stage: str, pattern: str) -> None:
    s = run.stage(stage)
    assert s["status"] == "error", (stage, s["status"], s["summary"])
    assert re.search(pattern, str(s["summary"])), (stage, s["summary"])
    assert "Internal error" not in str(s["summary"])


@pytest.mark.parametrize("case", list(HTTP_CASES))
def test_receiver_and_topic_api_against_a_hostile_server(case: str) -> None:
    make, says = HTTP_CASES[case]
    with HostileServer(make()) as receiver, HostileServer(make()) as topic_api:
        run = check("-i", "mysql", "--receiver", receiver.url, "--sts-api", topic_api.url)
    assert_bounded(run)
    assert_error(run, "receiver", says)
    assert_error(run, "kafka", says)


def test_a_server_error_echoing_the_token_is_shown_redacted() -> None:
    with HostileServer(hostile.reflect(500)) as topic_api:
        run = check("-i", "mysql", "--sts-api", topic_api.url)
    assert_bounded(run)
    # The token went out, came back in the answer the stage quotes, and was redacted.
    assert any(TOKEN in r.headers.get("x-api-token", "") for r in topic_api.requests)
    summary = str(run.stage("kafka")["summary"])
    assert "answered HTTP 500" in summary and "x-api-token: <redacted>" in summary


@pytest.mark.parametrize("case", list(HTTP_CASES))
def test_prometheus_mirror_against_a_hostile_server(case: str) -> None:
    make, says = HTTP_CASES[case]
    with HostileServer(make()) as mirror:
        run = check("-i", "prometheus", "--mirror", mirror.url)
    assert_bounded(run)
    assert_error(run, "source", says)
    if case == "reflected credentials":
        assert any(MIRROR_KEY in r.headers.get("x-mirror-api-key", "") for r in mirror.requests)


def test_probe_intake_reflecting_the_api_key_never_shows_it() -> None:
    with HostileServer(hostile.reflect(403)) as receiver:
        run = check("-i", "mysql", "--receiver", receiver.url, "--probe", "--probe-timeout", "2")
    assert_bounded(run)
    intake = [r for r in receiver.requests if r.method == "POST"]
    assert intake and API_KEY in intake[0].target  # it was sent (the probe is the one write) ...
    assert "<redacted>" in run.stdout  # ... and came back redacted in the evidence


@pytest.mark.parametrize(
    "behaviour",
    [hostile.black_hole, hostile.endless_bytes(interval=0.05), hostile.endless_bytes(size_prefix=True, interval=0.2)],
    ids=["black hole", "endless line, trickled", "2 GB size prefix, trickled"],
)
def test_kafka_against_a_hostile_broker(behaviour: hostile.Behaviour) -> None:
    with HostileServer(behaviour, read_request=False) as broker:
        run = check("-i", "mysql", "--kafka", broker.bootstrap)
    assert_bounded(run)
    assert_error(run, "kafka", r"did not answer a metadata request within 2 s")


@pytest.mark.parametrize(
    ("behaviour", "says"),
    [
        (hostile.black_hole, r"did not answer within 2 s"),
        (hostile.huge_header(), r"closed the connection without answering"),
        (hostile.reflect(), r"refused the credentials \(HTTP 401\)"),
    ],
    ids=["black hole", "huge header", "reflected credentials"],
)
def test_elasticsearch_paths_that_hold(behaviour: hostile.Behaviour, says: str) -> None:
    with HostileServer(behaviour) as es:
        run = check("-i", "mysql", "--es", es.url)
    assert_bounded(run)
    assert_error(run, "elasticsearch", says)
