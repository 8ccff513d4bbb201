"""Hostile-server tests that FAIL today, kept out of the suite until the sources they
exercise are bounded (issue 15, items 1 and 5). pytest does not collect this file (its
name does not start with ``test_``); run it on purpose:

    python -m pytest -p no:cacheprovider tests/hostile_pending.py

Each test names what it found when it was written (--timeout 2, RLIMIT_AS 1.5 GB). Move a
test to tests/integration/test_hostile_servers.py once it passes.

- Elasticsearch (sources/es.py: the official client has no body cap, no decoded-size cap
  and no total deadline):
  endless chunked body: grows past the memory limit, "RuntimeError: can't start new thread"
  traceback, exit 1; drip body and drip headers: 52 s (ended by the trace's stage budget);
  gzip bomb, one or two layers: ~1.4 GB until MemoryError ("Unable to allocate output
  buffer"). Without a memory limit the process grows until the kernel kills it.
- Kafka (sources/kafka.py, kafka-python): a broker answering with an endless line (read as a
  ~1 GB response size) grows the process to 830-900 MB within the 2 s timeout.
- Every HTTP path (sources/http.py): headers dripped one byte at a time end only at the
  trace's own stage budget: 27-29 s (receiver, topic API), 15 s (mirror) with --timeout 2;
  httpx's timeout is per socket read, and the total deadline is checked only in the body.
- A whole check with every endpoint dripping headers and Kafka a black hole: 78 s.
- Redirects (sources/http.py): on a 307 to another origin, httpx forwards X-API-Token (topic
  API) and X-MIRROR-API-KEY (mirror) to the new origin; it strips only Authorization.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import hostile
from tests.hostile import HostileServer
from tests.integration.test_hostile_servers import (
    MIRROR_KEY,
    TIMEOUT,
    TOKEN,
    assert_bounded,
    assert_error,
    check,
)

ES_CASES: dict[str, tuple[Callable[[], hostile.Behaviour], str]] = {
    "endless chunked body": (hostile.endless_chunked, r"larger than"),
    "drip body": (lambda: hostile.drip_body(0.5), r"did not answer within 2 s"),
    "drip headers": (lambda: hostile.drip_headers(0.5), r"did not answer within 2 s"),
    "gzip bomb": (hostile.gzip_bomb, r"larger than"),
    "gzip bomb, two layers": (lambda: hostile.gzip_bomb(4 << 30, layers=2), r"larger than"),
}


@pytest.mark.parametrize("case", list(ES_CASES))
def test_elasticsearch_against_a_hostile_server(case: str) -> None:
    make, says = ES_CASES[case]
    with HostileServer(make()) as es:
        run = check("-i", "mysql", "--es", es.url)
    assert_bounded(run)
    assert_error(run, "elasticsearch", says)


def test_kafka_broker_sending_an_endless_line_fast() -> None:
    with HostileServer(hostile.endless_bytes(), read_request=False) as broker:
        run = check("-i", "mysql", "--kafka", broker.bootstrap)
    assert_bounded(run)
    assert_error(run, "kafka", r"did not answer")


def test_headers_dripped_one_byte_at_a_time_end_within_the_timeout() -> None:
    with HostileServer(hostile.drip_headers(0.5)) as receiver, HostileServer(hostile.drip_headers(0.5)) as api:
        run = check("-i", "mysql", "--receiver", receiver.url, "--sts-api", api.url)
    assert_bounded(run)
    assert run.elapsed <= 2 * TIMEOUT + 5.0, f"{run.elapsed:.1f} s"
    assert_error(run, "receiver", r"did not answer within 2 s")
    assert_error(run, "kafka", r"did not answer within 2 s")
    with HostileServer(hostile.drip_headers(0.5)) as mirror:
        run = check("-i", "prometheus", "--mirror", mirror.url)
    assert run.elapsed <= 2 * TIMEOUT + 5.0, f"{run.elapsed:.1f} s"
    assert_error(run, "source", r"did not answer within 2 s")


@pytest.mark.parametrize(
    ("args", "header", "secret"),
    [
        (lambda url: ["-i", "mysql", "--sts-api", url], "x-api-token", TOKEN),
        (lambda url: ["-i", "prometheus", "--mirror", url], "x-mirror-api-key", MIRROR_KEY),
    ],
    ids=["topic API", "mirror"],
)
def test_credentials_never_follow_a_redirect_to_another_origin(
    args: Callable[[str], list[str]], header: str, secret: str
) -> None:
    with HostileServer(hostile.recorder) as other, \
            HostileServer(hostile.redirect(other.url + "/elsewhere", 307)) as first:
        run = check(*args(first.url))
    sent = [r.headers.get(header, "") for r in other.requests]
    assert not any(secret in v for v in sent), f"{header} was sent to {other.url}"
    assert "redirect" in run.stdout.lower()  # the evidence says a redirect was refused


def test_a_whole_check_against_a_fully_hostile_target_ends_within_a_small_multiple_of_the_timeout() -> None:
    drip = hostile.drip_headers(0.5)
    with HostileServer(drip) as receiver, HostileServer(drip) as api, HostileServer(drip) as es, \
            HostileServer(hostile.black_hole, read_request=False) as kafka:
        run = check("-i", "mysql", "--receiver", receiver.url, "--sts-api", api.url, "--es", es.url,
                    "--kafka", kafka.bootstrap)
    assert_bounded(run)
    assert run.elapsed <= 4 * TIMEOUT + 5.0, f"{run.elapsed:.1f} s"
