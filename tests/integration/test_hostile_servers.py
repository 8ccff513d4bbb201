"""stsdebug against hostile servers (tests/hostile.py): every stage that meets one ends as an
`error` with one sentence, within a few times --timeout, in bounded memory, and no configured
secret a server reflects reaches the output.

Every network path: the receiver health endpoint, the probe's intake POST, the StackState
topic API and the Prometheus mirror (sources/http.py), Elasticsearch (its client's bounded
connection, sources/es_transport.py), the Kafka client (sources/kafka_bounds.py), a whole
check against a target where every endpoint is hostile, and credentials on redirects.

Bounds are correctness bounds, not speed targets: a hang is minutes, and each run here is
allowed a few times the timeout plus interpreter start-up. The CLI runs under RLIMIT_AS so a
memory regression fails the test instead of the machine.
"""

from __future__ import annotations

import base64
import re
import socket
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
    "drip headers": (lambda: hostile.drip_headers(0.5), r"did not answer within 2 s"),
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
    [hostile.black_hole, hostile.endless_bytes(), hostile.endless_bytes(interval=0.05),
     hostile.endless_bytes(size_prefix=True, interval=0.2)],
    ids=["black hole", "endless line, fast", "endless line, trickled", "2 GB size prefix, trickled"],
)
def test_kafka_against_a_hostile_broker(behaviour: hostile.Behaviour) -> None:
    with HostileServer(behaviour, read_request=False) as broker:
        run = check("-i", "mysql", "--kafka", broker.bootstrap)
    assert_bounded(run)
    assert_error(run, "kafka", r"did not answer a metadata request within 2 s")


ES_SAYS = {
    # The client's own wording where it has one; the HTTP sentence otherwise.
    "reflected credentials": r"refused the credentials \(HTTP 401\)",
}


@pytest.mark.parametrize("case", list(HTTP_CASES))
def test_elasticsearch_against_a_hostile_server(case: str) -> None:
    make, says = HTTP_CASES[case]
    with HostileServer(make()) as es:
        run = check("-i", "mysql", "--es", es.url)
    assert_bounded(run)
    assert_error(run, "elasticsearch", ES_SAYS.get(case, says))
    # One hostile answer is enough: the source gives up on the cluster (no 16 calls x bound).
    assert len(es.requests) <= 2, [r.target for r in es.requests]


def test_a_whole_check_against_a_fully_hostile_target_ends_within_a_small_multiple_of_the_timeout() -> None:
    drip = hostile.drip_headers(0.5)
    with HostileServer(drip) as receiver, HostileServer(drip) as api, HostileServer(drip) as es, \
            HostileServer(hostile.black_hole, read_request=False) as kafka:
        run = check("-i", "mysql", "--receiver", receiver.url, "--sts-api", api.url, "--es", es.url,
                    "--kafka", kafka.bootstrap)
    assert_bounded(run)
    assert run.elapsed <= 4 * TIMEOUT + 5.0, f"{run.elapsed:.1f} s"
    for stage in ("receiver", "kafka", "elasticsearch"):
        assert_error(run, stage, r"did not answer")


# --- redirects: credentials stay with their origin ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "header", "secret"),
    [
        (lambda url: ["-i", "mysql", "--sts-api", url], "x-api-token", TOKEN),
        (lambda url: ["-i", "prometheus", "--mirror", url], "x-mirror-api-key", MIRROR_KEY),
        (lambda url: ["-i", "mysql", "--es", url], "authorization", ES_PASSWORD),
    ],
    ids=["topic API", "mirror", "Elasticsearch"],
)
@pytest.mark.parametrize("status", [302, 307, 308])
def test_credentials_never_follow_a_redirect_to_another_origin(
    args: Callable[[str], list[str]], header: str, secret: str, status: int
) -> None:
    with HostileServer(hostile.recorder) as other, \
            HostileServer(hostile.redirect(other.url + "/elsewhere", status)) as first:
        run = check(*args(first.url))
    assert_bounded(run)
    sent = [r.headers.get(header, "") for r in other.requests]
    encoded = base64.b64encode(f"elastic:{ES_PASSWORD}".encode()).decode()
    assert not any(secret in v or encoded in v for v in sent), f"{header} was sent to {other.url}"
    assert not other.requests, "the redirect was followed"
    assert "redirect" in run.stdout.lower()  # the evidence says a redirect was refused


def test_the_probe_api_key_never_follows_a_redirect_to_another_origin() -> None:
    with HostileServer(hostile.recorder) as other, \
            HostileServer(hostile.redirect(other.url + "/stsAgent/intake?api_key=" + API_KEY[:4], 307)) as rcv:
        run = check("-i", "mysql", "--receiver", rcv.url, "--probe", "--probe-timeout", "2")
    assert not run.timed_out and "Traceback" not in run.stderr
    # The health check carries no credential and may follow; the intake POST must not.
    assert not [r for r in other.requests if r.method == "POST"], "the intake POST followed the redirect"
    assert all(API_KEY not in r.target for r in other.requests)
    assert "another origin" in run.stdout


def test_a_redirect_within_the_origin_is_followed_with_its_credentials() -> None:
    """Refusing cross-origin redirects must not break a service that redirects to itself."""

    def moved(conn: socket.socket, req: hostile.Request, server: HostileServer) -> None:
        if req.target.startswith("/moved"):
            hostile.respond(200, b'{"messages": []}')(conn, req, server)
        else:
            hostile.redirect(server.url + "/moved" + req.target, 308)(conn, req, server)

    with HostileServer(moved) as api:
        run = check("-i", "mysql", "--sts-api", api.url)
    # The topic API's calls (the version check may ask /prometheus too, with its own header).
    followed = [r for r in api.requests if r.target.startswith("/moved/api/topic")]
    assert followed and all(r.headers.get("x-api-token") == TOKEN for r in followed)
    assert "another origin" not in run.stdout and "Traceback" not in run.stderr


# --- StackState 6 sources: the Prometheus query API and /metrics pages ---------------------------

V6_CODE = """
import sys, time
from stsdebug.errors import SourceError
from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig
from stsdebug.sources.prom_metrics import PromMetricsConfig, PromMetricsSource
url = sys.argv[1]
t = time.monotonic()
for call in (lambda: PrometheusApi(PrometheusApiConfig(url, api_key="SEEKRIT-v6-key", timeout=2)).query("up"),
             lambda: PromMetricsSource(PromMetricsConfig(url + "/metrics", timeout=2)).scrape()):
    try:
        call()
        print("ANSWERED")
    except SourceError as exc:
        print("ERROR", exc)
print("ELAPSED", time.monotonic() - t)
"""


@pytest.mark.parametrize("case", [c for c in HTTP_CASES if c != "reflected credentials"])
def test_prometheus_api_and_metrics_page_against_a_hostile_server(case: str) -> None:
    make, says = HTTP_CASES[case]
    with HostileServer(make()) as server:
        run = hostile.run_python(V6_CODE.replace("sys.argv[1]", repr(server.url)), mem_mb=MEM_LIMIT_MB, wall_s=120)
    assert not run.timed_out and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.peak_rss_mb <= PEAK_RSS_MB, f"peak RSS {run.peak_rss_mb:.0f} MB"
    errors = [ln for ln in run.stdout.splitlines() if ln.startswith("ERROR")]
    says = says.replace("16 MB", r"\d+ MB")  # a metrics page has its own, smaller cap
    assert len(errors) == 2 and all(re.search(says, ln) for ln in errors), run.stdout
    elapsed = float(run.stdout.split("ELAPSED")[1])
    assert elapsed <= 2 * (TIMEOUT + 1.0), f"{elapsed:.1f} s for two calls"
