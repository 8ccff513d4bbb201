"""The Kafka stage through the StackState topic API (`--sts-api`).

The real path: the sandbox receiver's topic API (StackState's `GET /api/topic/<topic>`
shape) in front of noida-db, seeded with kafka-python. Its figures must match what the
stage reads from Kafka directly. The failures come from a stand-in HTTP server (see
kafka_support.http_server): a real StackState API cannot run here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from stsdebug.model import Status
from stsdebug.sandbox.formats import LogFile
from stsdebug.sandbox.receiver import Receiver
from stsdebug.stages import topic_read
from tests.http_support import serve
from tests.integration import kafka_support as sup
from tests.integration.kafka_support import Series

pytestmark = pytest.mark.wire

TOKEN = "sts-api-token-0123456789abcdef"
MYSQL = {"mysql.performance.queries": 12.0}


@pytest.fixture
def receiver(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Receiver]:
    log = LogFile(tmp_path / "receiver.log")
    rec = Receiver(api_key="intake-key", kafka_bootstrap=kafka_bootstrap, log=log)
    rec.start(time.time())
    rec.serve()
    try:
        yield rec
    finally:
        rec.stop()
        log.close()


def _seed(bootstrap: str, now: float) -> str:
    topic = sup.unique()
    sup.create_topic(bootstrap, topic)
    sup.produce(
        bootstrap,
        topic,
        Series("db1", MYSQL, 40, step=10).records(now)
        + Series("web1", {"system.load.norm": 1.0}, 30, step=20).records(now)
        + Series("db-old", MYSQL, 50, step=10, newest_age=7200).records(now),
    )
    return topic


def test_topic_api_gives_the_same_evidence_as_kafka(kafka_bootstrap: str, receiver: Receiver) -> None:
    now = time.time()
    topic = _seed(kafka_bootstrap, now)
    via_kafka = sup.stage(sup.run(sup.settings(kafka=kafka_bootstrap, topic=topic), now=now))
    via_api = sup.stage(sup.run(sup.settings(sts_api=receiver.url, sts_api_token=TOKEN, topic=topic), now=now))

    assert via_api.status is Status.PASS, via_api.summary
    k, a = sup.figures(via_kafka), sup.figures(via_api)
    for label in ("records in window", "mysql records (of those decoded)", "records decoded"):
        assert a[label] == k[label] == {"records in window": 70, "records decoded": 70}.get(label, 40), label
    assert abs(a["newest mysql record age"] - k["newest mysql record age"]) < 1.5
    assert a["mysql reporting interval"] == pytest.approx(10.0, abs=0.5)
    assert sup.table(via_api, "Metric prefixes").rows == sup.table(via_kafka, "Metric prefixes").rows
    assert sup.text(via_api, "How the topic was read").startswith(f"StackState topic API at {receiver.url}/api")
    assert sup.text(via_api, "mm2es lag").startswith("Not checked: the StackState topic API")
    parts = sup.table(via_api, "Partitions of")
    assert sup.column(parts, "end offset") == [120]
    assert "payload timestamps" in sup.column(parts, "records in window counted by")[0]
    assert TOKEN not in sup.run(sup.settings(sts_api=receiver.url, sts_api_token=TOKEN, topic=topic)).to_json()


def test_topic_api_counts_past_the_read_cap(
    kafka_bootstrap: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topic_read, "CAP", 15)
    now = time.time()
    topic = _seed(kafka_bootstrap, now)
    result = sup.stage(sup.run(sup.settings(sts_api=receiver.url, topic=topic), now=now))

    figs = sup.figures(result)
    assert figs["records in window"] == 70
    assert figs["records decoded"] == 15
    method = sup.column(sup.table(result, "Partitions of"), "records in window counted by")[0]
    assert method.startswith("searched on message timestamps"), method


def test_kafka_unreachable_falls_back_to_the_topic_api(kafka_bootstrap: str, receiver: Receiver) -> None:
    now = time.time()
    topic = _seed(kafka_bootstrap, now)
    closed = sup_closed_port()
    result = sup.stage(sup.run(
        sup.settings(kafka=f"127.0.0.1:{closed}", sts_api=receiver.url, topic=topic), now=now
    ))

    assert result.status is Status.PASS, result.summary
    how = sup.text(result, "How the topic was read")
    assert how.startswith("StackState topic API")
    assert f"Kafka could not be read (Cannot connect to Kafka at 127.0.0.1:{closed}: connection refused)" in how


def sup_closed_port() -> int:
    from stsdebug.sandbox.servers import free_port

    return free_port()


# --- a stand-in API whose default answer is the *oldest* messages ------------------------


def _listing(messages: list[dict[str, Any]]) -> sup.Responder:
    """Serves `messages` with limit (at most 100), offset and partition, defaulting to offset 0."""
    def respond(h: Any) -> tuple[int, dict[str, str], bytes]:
        q = parse_qs(urlsplit(h.path).query)
        limit = min(int(q.get("limit", ["10"])[0]), 100)
        offset = int(q.get("offset", ["0"])[0])
        part = int(q.get("partition", ["0"])[0])
        out = [m for m in messages if m["partition"] == part and m["offset"] >= offset][:limit]
        return 200, {}, json.dumps({"messages": out}).encode()

    return respond


def test_an_api_answering_oldest_first_is_searched_to_its_end() -> None:
    now = time.time()
    records = Series("db1", MYSQL, 90, step=10).records(now) + Series("db-old", MYSQL, 300, step=1,
                                                                        newest_age=5000).records(now)
    records.sort()
    messages = [
        {"key": "k", "partition": 0, "offset": i, "message": json.loads(value)}
        for i, (_ts, value) in enumerate(records)
    ]
    with sup.http_server(_listing(messages)) as url:
        result = sup.stage(sup.run(sup.settings(sts_api=url, topic="sts_multi_metrics"), now=now))

    assert result.status is Status.PASS, result.summary
    figs = sup.figures(result)
    assert figs["mysql records (of those decoded)"] == 90
    assert figs["records in window"] == 90
    assert "end found by searching offsets" in (sup.table(result, "Partitions of").note or "")


# --- failures ------------------------------------------------------------------------------


def _failing(respond: sup.Responder, *phrases: str, token: str | None = TOKEN, timeout: float = 2.0) -> None:
    with serve(respond) as server:
        started = time.monotonic()
        trace = sup.run(sup.settings(sts_api=server.url, sts_api_token=token, timeout=timeout), ("kafka", "elasticsearch"))
        elapsed = time.monotonic() - started
        seen = [r.headers for r in server.requests]
    result = sup.stage(trace)
    assert result.status is Status.ERROR, result.summary
    for phrase in phrases:
        assert phrase in result.summary, result.summary
    assert elapsed < timeout + 1.0
    assert sup.stage(trace, "elasticsearch").status is Status.SKIP
    assert TOKEN not in trace.to_json()
    if token:
        assert seen and all(h.get("X-API-Token") == token for h in seen)
    else:
        assert seen and all("X-API-Token" not in h for h in seen)


def test_401_without_a_token() -> None:
    _failing(sup.answer(401, b'{"message":"Unauthorized"}'), "refused the request: HTTP 401 Unauthorized",
             "no API token was given", token=None)


def test_401_with_a_wrong_token() -> None:
    _failing(sup.answer(401, b"{}"), "HTTP 401", "the API token was not accepted")


def test_403() -> None:
    _failing(sup.answer(403, b'{"message":"Forbidden"}'), "refused the request: HTTP 403 Forbidden")


def test_500_with_its_body() -> None:
    _failing(sup.answer(500, b'{"message":"KafkaException: topic fetch failed"}'),
             "answered HTTP 500 Internal Server Error", "topic fetch failed")


def test_503() -> None:
    _failing(sup.answer(503, b"upstream connect error"), "answered HTTP 503 Service Unavailable")


def test_html_instead_of_json() -> None:
    _failing(sup.answer(200, b"<html><body>Log in</body></html>", {"Content-Type": "text/html"}),
             "answered with a body that is not JSON")


def test_json_of_the_wrong_shape() -> None:
    _failing(sup.answer(200, b'[{"offset": 1}]'), "answered JSON that is not a topic listing")


def test_message_without_an_offset() -> None:
    _failing(sup.answer(200, b'{"messages":[{"partition":0,"message":{}}]}'),
             "a message without an integer offset and partition (message 1)")


def test_slow_api_times_out() -> None:
    _failing(sup.answer(200, b'{"messages":[]}', delay=3.0), "did not answer within 1 s", timeout=1.0)


def test_unreachable_api() -> None:
    port = sup_closed_port()
    s = sup.settings(sts_api=f"http://127.0.0.1:{port}", timeout=2.0)
    result = sup.stage(sup.run(s))
    assert result.status is Status.ERROR
    assert f"127.0.0.1:{port}: connection refused" in result.summary


def test_kafka_and_the_api_both_failing_names_both() -> None:
    kafka_port, api_port = sup_closed_port(), sup_closed_port()
    s = sup.settings(kafka=f"127.0.0.1:{kafka_port}", sts_api=f"http://127.0.0.1:{api_port}", timeout=2.0)
    result = sup.stage(sup.run(s))
    assert result.status is Status.ERROR
    assert f"Cannot connect to Kafka at 127.0.0.1:{kafka_port}: connection refused" in result.summary
    assert "and the StackState topic API failed too" in result.summary
