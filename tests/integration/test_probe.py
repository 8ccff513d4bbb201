"""The probe, end to end against the sandbox: real receiver, Kafka, mover and Elasticsearch."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from stsdebug.sandbox.servers import free_port
from tests.http_support import answer, serve
from tests.integration.sandbox_support import check, sandbox

pytestmark = pytest.mark.wire


def hops(trace: dict) -> dict[str, dict]:
    for stage in trace["stages"]:
        for ev in stage["evidence"]:
            if ev["kind"] == "timeline":
                return {h["name"]: h for h in ev["hops"]}
    raise AssertionError("no probe timeline in the trace")


def stage(trace: dict, sid: str) -> dict:
    return next(s for s in trace["stages"] if s["id"] == sid)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("probe-healthy")
    with sandbox(base):
        yield base


def test_healthy_probe_reaches_every_hop_with_latencies(healthy: Path) -> None:
    trace = check(healthy, "system", "--probe", "--probe-timeout", "15")
    h = hops(trace)
    assert [h[n]["status"] for n in ("receiver", "kafka", "elasticsearch", "stream")] == ["pass"] * 4
    times = [h[n]["at_ms"] for n in ("receiver", "kafka", "elasticsearch")]
    assert all(t is not None and t >= 0 for t in times) and times == sorted(times)
    # The timeline is evidence of every stage it touched, in every output.
    for sid in ("receiver", "kafka", "elasticsearch", "streams"):
        assert any(e["kind"] == "timeline" for e in stage(trace, sid)["evidence"]), sid
    assert trace["verdict"]["status"] == "pass"


def test_probe_text_and_junit_show_the_timeline(healthy: Path) -> None:
    from tests.integration.sandbox_support import run_cli

    out = run_cli(healthy, "check", "--profile", "sandbox", "-i", "system", "--probe", "--probe-timeout", "15", "-v")
    assert "Probe: one marked metric" in out.stdout and "elasticsearch" in out.stdout
    junit = run_cli(healthy, "check", "--profile", "sandbox", "-i", "system", "--probe", "--probe-timeout", "15", "-f", "junit")
    assert "· probe p" in junit.stdout  # the timeline, with its probe id


def test_mover_stopped_probe_reaches_kafka_not_elasticsearch(tmp_path: Path) -> None:
    with sandbox(tmp_path / "s", ["mover-stopped"]):
        trace = check(tmp_path / "s", "system", "--probe", "--probe-timeout", "6")
    h = hops(trace)
    assert h["receiver"]["status"] == "pass" and h["kafka"]["status"] == "pass"
    assert h["elasticsearch"]["status"] == "fail" and "within 6 s" in h["elasticsearch"]["detail"]
    es = stage(trace, "elasticsearch")
    # The stage already saw the data stop; the probe confirms it now.
    assert es["status"] == "fail" and "The probe confirms it: not indexed" in es["summary"]
    assert any(e["kind"] == "timeline" for e in es["evidence"])
    assert trace["verdict"]["stage"] == "elasticsearch"


def test_invalid_api_key_probe_stops_at_the_receiver_with_403(tmp_path: Path, monkeypatch) -> None:
    with sandbox(tmp_path / "s"):
        monkeypatch.setenv("STSDEBUG_API_KEY", "not-the-key-0000")
        trace = check(tmp_path / "s", "system", "--probe")
    h = hops(trace)
    assert list(h) == ["receiver"]
    assert h["receiver"]["status"] == "fail" and "403" in h["receiver"]["detail"]
    assert stage(trace, "receiver")["status"] == "fail"
    assert "not-the-key-0000" not in json.dumps(trace)


def test_malformed_payload_fault_does_not_break_the_probes_own_payload(tmp_path: Path) -> None:
    with sandbox(tmp_path / "s", ["malformed-payloads"]):
        trace = check(tmp_path / "s", "mysql", "--probe", "--probe-timeout", "15")
    h = hops(trace)
    assert h["receiver"]["status"] == "pass" and h["elasticsearch"]["status"] == "pass"


def test_receiver_down_is_error_within_the_timeout(tmp_path: Path) -> None:
    with sandbox(tmp_path / "s"):
        t0 = time.monotonic()
        trace = check(tmp_path / "s", "system", "--probe", "--receiver", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    h = hops(trace)
    assert h["receiver"]["status"] == "error" and "connection refused" in h["receiver"]["detail"]
    assert time.monotonic() - t0 < 60


# --- read-only by default ----------------------------------------------------------------


def test_without_probe_nothing_is_written_anywhere(noida, tmp_path: Path) -> None:
    from elasticsearch import Elasticsearch
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    from stsdebug.sandbox.servers import es_url, kafka_bootstrap
    from tests.integration.sandbox_support import run_cli

    boot, url = kafka_bootstrap(noida), es_url(noida)
    topic = "ro_multi_metrics"
    admin = KafkaAdminClient(bootstrap_servers=boot, request_timeout_ms=5000)
    admin.create_topics([NewTopic(topic, 1, 1)])
    producer = KafkaProducer(bootstrap_servers=boot)
    now = time.time()
    for i in range(20):
        msg = {"MultiMetric": {"name": "convertedMetric", "host": "h", "tags": {}, "values": {"system.cpu.user": i}, "timestamp": int(now * 1000)}}
        producer.send(topic, json.dumps(msg).encode())
    producer.flush()
    producer.close()
    es = Elasticsearch(url)
    index = "ro_metrics-" + time.strftime("%Y.%m.%d", time.gmtime())
    es.index(index=index, body={"name": "convertedMetric", "host": "h", "values": {"system.cpu.user": 1}, "timestamp": int(now * 1000)}, refresh=True)

    def snapshot():
        groups = sorted(str(g) for g in admin.list_groups())
        from kafka import KafkaConsumer, TopicPartition

        c = KafkaConsumer(bootstrap_servers=boot, group_id=None, enable_auto_commit=False)
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_end(tp)
        end = c.position(tp)
        c.close()
        indices = sorted((i["index"], i["docs.count"]) for i in es.cat.indices(format="json"))
        return groups, end, indices

    before = snapshot()
    with serve(answer(200, b'{"status":"ok"}')) as server:
        receiver = server.url
        r = run_cli(tmp_path, "check", "-i", "system", "--kafka", boot, "--topic", topic, "--es", url,
                    "--index-pattern", "ro_metrics-*", "--receiver", receiver, "--sts-api", receiver,
                    "--stream", "host=h,metric=values.system.cpu.user", "--format", "json")
    assert r.exit_code in (0, 1, 3), r.output
    assert "POST" not in server.methods and "PUT" not in server.methods
    assert server.methods, "the receiver health check should have been read"
    assert snapshot() == before
    admin.close()
