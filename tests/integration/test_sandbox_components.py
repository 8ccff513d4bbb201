"""The sandbox's components on the wire: receiver, Kafka records, mover, Elasticsearch, mirror, files.

One healthy sandbox for the module; each test talks to it as StackState's own clients
and stsdebug's stages would, and checks the real formats (STACKSTATE.md) come out.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stsdebug.agentlog import AgentScan, parse_line
from stsdebug.payloads import ERROR, validate_text
from stsdebug.receiverlog import parse_header
from stsdebug.sandbox import control, world
from stsdebug.sandbox.receiver import DROPPED_RULES
from stsdebug.streamdefs import load_file

pytestmark = pytest.mark.wire
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "payloads"


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("sandbox")
    state = control.up(base=base, die_with_parent=True)
    state["api_key"] = (base / "api_key").read_text().strip()
    state["mirror_key"] = (base / "mirror_api_key").read_text().strip()
    try:
        yield state
    finally:
        control.down(base)


def _intake(sb: dict[str, Any], body: bytes | str, key: str | None = None) -> httpx.Response:
    data = body.encode() if isinstance(body, str) else body
    url = f"{sb['endpoints']['intake']}?api_key={key if key is not None else sb['api_key']}"
    return httpx.post(url, content=data, headers={"Content-Type": "application/json"}, timeout=10)


def _payload(host: str, metrics: list[tuple[str, float]], tags: list[str] | None = None) -> str:
    now = int(time.time())
    return json.dumps({
        "internalHostname": host,
        "metrics": [[name, now, value, {"hostname": host, "type": "gauge", "tags": tags or ["env:test"]}]
                    for name, value in metrics],
    })


def _records(bootstrap: str, key: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The sts_multi_metrics records keyed ``key``, read from the start (no consumer group)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             request_timeout_ms=5000, bootstrap_timeout_ms=5000)
    try:
        tp = TopicPartition(world.TOPIC, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300).get(tp, [])
            found += [json.loads(r.value) for r in batch if r.key == key.encode()]
            if found and not batch:
                break
        return found
    finally:
        consumer.close()


def _es_docs(es_url: str, host: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.post(f"{es_url}/{world.INDEX_PATTERN}/_search", timeout=5,
                       json={"query": {"term": {"host": host}}, "size": 10})
        hits = [h for h in r.json()["hits"]["hits"]]
        if hits or time.monotonic() > deadline:
            return hits
        time.sleep(0.2)


def test_receiver_refuses_an_unknown_api_key_with_403_and_logs_it_without_the_key(sb: dict[str, Any]) -> None:
    wrong = uuid.uuid4().hex
    r = _intake(sb, _payload("h", [("x.y", 1)]), key=wrong)
    assert r.status_code == 403
    log = Path(sb["logs"]["receiver"]).read_text()
    assert wrong not in log and sb["api_key"] not in log
    line = [ln for ln in log.splitlines() if "invalid API key" in ln][-1]
    header = parse_header(line)
    assert header is not None and header.level == "WARN"


def test_receiver_answers_400_in_the_receivers_own_words(sb: dict[str, Any]) -> None:
    r = _intake(sb, json.dumps({"metrics": []}))
    assert r.status_code == 400
    assert r.text == ("Failed to deserialize JSON on fields: , with message: "
                      "Object is missing required member 'internalHostname'")
    r = _intake(sb, '{"internalHostname": "h", "metrics": [["a.b", 1, 2, {"type": "gauge"}]')
    assert r.status_code == 400 and r.text.startswith("Failed to deserialize JSON on fields: , with message: ")
    log = Path(sb["logs"]["receiver"]).read_text()
    assert "Object is missing required member 'internalHostname'" in log


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_receiver_applies_the_rules_of_stsdebug_validate(sb: dict[str, Any], fixture: str) -> None:
    raw = (FIXTURES / fixture).read_bytes()
    report = validate_text(raw.decode("utf-8", "replace"))
    rejects = any(p.severity == ERROR and p.rule not in DROPPED_RULES for p in report.problems)
    r = _intake(sb, raw)
    assert r.status_code == (400 if rejects else 200), r.text
    if rejects:
        assert r.text.startswith("Failed to deserialize JSON on fields: ")


def test_accepted_metrics_reach_kafka_as_multimetric_records_and_elasticsearch(sb: dict[str, Any]) -> None:
    host = f"probe-{uuid.uuid4().hex[:8]}"
    r = _intake(sb, _payload(host, [("demo.requests", 42.0), ("demo.errors", 1.0), ("timestamp.lag", 3.0)],
                             ["env:test", "team:core"]))
    assert r.status_code == 200
    records = _records(sb["endpoints"]["kafka"], host)
    assert len(records) == 1
    mm = records[0]["MultiMetric"]
    assert mm["name"] == "convertedMetric" and mm["host"] == host
    assert mm["values"] == {"demo.requests": 42.0, "demo.errors": 1.0}  # the reserved name is dropped
    assert mm["tags"] == {"env": "test", "team": "core"}
    assert abs(mm["timestamp"] / 1000 - time.time()) < 60  # epoch milliseconds
    log = Path(sb["logs"]["receiver"]).read_text()
    assert "timestamp.lag" in log and "reserved prefix" in log

    docs = _es_docs(sb["endpoints"]["elasticsearch"], host)
    assert len(docs) == 1
    doc = docs[0]
    assert doc["_index"] == world.INDEX_PREFIX + time.strftime("%Y.%m.%d", time.gmtime(mm["timestamp"] / 1000))
    src = doc["_source"]
    assert src["values"] == mm["values"] and src["tags"] == mm["tags"]
    assert src["timestamp"] == mm["timestamp"] and src["timeReceived"] >= src["timestamp"]

    topic = httpx.get(f"{sb['endpoints']['topic_api']}?limit=1000", timeout=10).json()
    mine = [m for m in topic["messages"] if m["key"] == host]
    assert mine and mine[0]["message"] == records[0]
    assert set(mine[0]) == {"key", "partition", "offset", "message"}


def test_receiver_health_and_unknown_paths(sb: dict[str, Any]) -> None:
    r = httpx.get(sb["endpoints"]["receiver_health"], timeout=5)
    assert r.status_code == 200 and r.json()["status"] == "UP"
    assert httpx.post(f"{sb['endpoints']['receiver']}/stsAgent/nope", timeout=5).status_code == 404


def test_mover_is_a_consumer_group_that_keeps_up(sb: dict[str, Any]) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    tp = TopicPartition(world.TOPIC, 0)
    admin = KafkaAdminClient(bootstrap_servers=sb["endpoints"]["kafka"], request_timeout_ms=5000)
    consumer = KafkaConsumer(bootstrap_servers=sb["endpoints"]["kafka"], group_id=None)
    try:
        deadline = time.monotonic() + 10
        while True:
            end = consumer.end_offsets([tp])[tp]
            committed = admin.list_group_offsets({world.MM2ES_GROUP: None})[world.MM2ES_GROUP].get(tp)
            if committed is not None and committed.offset == end or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert end > 100  # the backfill went through Kafka
        assert committed is not None and committed.offset == end
        assert world.MM2ES_GROUP in {g["group_id"] for g in admin.list_groups()}
    finally:
        admin.close()
        consumer.close()


def test_indices_hold_the_multi_metric_layout_for_every_integration(sb: dict[str, Any]) -> None:
    es = sb["endpoints"]["elasticsearch"]
    mapping = httpx.get(f"{es}/{world.INDEX_PATTERN}/_mapping", timeout=5).json()
    today = world.INDEX_PREFIX + time.strftime("%Y.%m.%d", time.gmtime())
    props = mapping[today]["mappings"]["properties"]
    assert {"name", "host", "tags", "values", "timestamp", "timeReceived", "labels"} <= set(props)
    prefixes = set(props["values"]["properties"])
    assert {"system", "mysql", "postgresql", "aws", "prometheus"} <= prefixes
    since = int((time.time() - 300) * 1000)
    body = {"size": 0, "query": {"range": {"timestamp": {"gte": since}}}}
    count = httpx.post(f"{es}/{world.INDEX_PATTERN}/_search", json=body, timeout=5).json()["hits"]["total"]["value"]
    assert count > 100  # the backfill fills the profile's 5 minute window


def test_agent_log_and_check_output_are_in_the_agents_formats(sb: dict[str, Any]) -> None:
    lines = Path(sb["logs"]["agent"]).read_text().splitlines()
    assert lines and all(parse_line(ln) is not None for ln in lines)
    assert any("Successfully posted payload" in ln for ln in lines)
    assert sb["api_key"] not in "\n".join(lines)  # masked like the agent masks it
    scan = AgentScan()
    for n, ln in enumerate(Path(sb["logs"]["agent_output"]).read_text().splitlines(), 1):
        scan.feed(n, ln)
    result = scan.finish()
    assert result.shape == "check"
    assert {"cpu", "mysql", "postgres"} <= set(result.checks_seen)
    assert "system.cpu.iowait" in result.metric_names and "mysql.net.connections" in result.metric_names


def test_receiver_and_mm2es_logs_are_logback_lines(sb: dict[str, Any]) -> None:
    for name in ("receiver", "mm2es", "server"):
        lines = Path(sb["logs"][name]).read_text().splitlines()
        headers = [parse_header(ln) for ln in lines]
        assert headers and headers[0] is not None
        # Every line is a header, or a stack trace / exception line of the entry before it.
        for ln, h in zip(lines, headers, strict=True):
            assert h is not None or ln.startswith(("\tat ", "org.", "java.")), ln


def test_mirror_speaks_the_mirror_api(sb: dict[str, Any]) -> None:
    url = sb["endpoints"]["mirror"]
    r = httpx.post(f"{url}/api/connection", json={"_type": "TestConnectionRequest", "connectionDetails": {}}, timeout=5)
    assert r.json() == {"status": "OK", "_type": "TestConnectionResponse"}
    assert r.headers["X-MIRROR-API-KEY"] == sb["mirror_key"]
    now = int(time.time() * 1000)
    query = {"_type": "MetricsQuery", "startTime": now - 60000, "endTime": now, "metricField": "node_load1",
             "conditions": [{"_type": "EqualityCondition", "key": "job", "value": {"_type": "StringValue", "value": "node"}}]}
    r = httpx.post(f"{url}/api/metric", json={"_type": "MetricsRequest", "connectionDetails": {}, "query": query}, timeout=5)
    body = r.json()
    assert body["_type"] == "MetricsResponse" and body["telemetry"]["_type"] == "RawMetricTelemetry"
    assert len(body["telemetry"]["points"]) >= 5
    query["metricField"] = "no_such_metric"
    r = httpx.post(f"{url}/api/metric", json={"connectionDetails": {}, "query": query}, timeout=5)
    assert r.json()["_type"] == "MetricNotFoundError"
    r = httpx.post(f"{url}/api/field/value", timeout=5,
                   json={"connectionDetails": {}, "query": {"field": {"fieldName": "up", "fieldType": "BOOLEAN"}}})
    assert r.json()["_type"] == "UnsupportedFieldTypeError"
    names = httpx.post(f"{url}/api/field/name", json={"connectionDetails": {}, "query": {}}, timeout=5).json()
    assert names["_type"] == "FieldNamesResponse"
    assert httpx.get(f"{url}/api/connection", timeout=5).status_code == 405


def test_streams_file_has_one_stream_per_integration(sb: dict[str, Any]) -> None:
    streams = load_file(sb["files"]["streams"])
    assert len(streams) == len(world.INTEGRATIONS)
    assert {s.metric.split(".")[1] for s in streams if s.metric} == {"system", "mysql", "postgresql", "aws", "prometheus"}


def test_the_agent_keeps_posting_live(sb: dict[str, Any]) -> None:
    from kafka import KafkaConsumer, TopicPartition

    tp = TopicPartition(world.TOPIC, 0)
    consumer = KafkaConsumer(bootstrap_servers=sb["endpoints"]["kafka"], group_id=None)
    try:
        start = consumer.end_offsets([tp])[tp]
        deadline = time.monotonic() + world.INTERVAL_S + 5
        while consumer.end_offsets([tp])[tp] == start and time.monotonic() < deadline:
            time.sleep(0.2)
        assert consumer.end_offsets([tp])[tp] > start, "nothing reached Kafka after the backfill"
    finally:
        consumer.close()
    out = Path(sb["logs"]["agent_output"])
    assert time.time() - out.stat().st_mtime < world.INTERVAL_S + 5
