"""The probe's payload and how its hops join the stages (its wire behaviour is tested
against the sandbox in tests/integration/test_probe.py)."""

from stsdebug.model import Hop, StageResult, Status
from stsdebug.payloads import validate_obj
from stsdebug.stages.probe import (
    PROBE_METRIC,
    PROBE_TAG,
    ProbeResult,
    build_payload,
    merge,
    new_probe_id,
)


def test_payload_is_valid_intake_and_marked():
    pid = new_probe_id()
    payload = build_payload(pid, "probe-host", 1_800_000_000, {"region": "eu-west-1"})
    report = validate_obj(payload, now=1_800_000_000)
    assert report.valid, report.problems
    name, ts, value, meta = payload["metrics"][0]
    assert name == PROBE_METRIC and ts == 1_800_000_000
    assert f"{PROBE_TAG}:{pid}" in meta["tags"] and "region:eu-west-1" in meta["tags"]


def test_probe_ids_are_unique_and_single_token():
    ids = {new_probe_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.isalnum() and i.islower() for i in ids)


def probe(*hops):
    return ProbeResult("pabc", "h", 0.0, list(hops))


def stage(sid, status, summary="from logs"):
    return StageResult(sid, sid.title(), status, summary)


def test_reached_kafka_not_es_fails_the_es_stage():
    p = probe(
        Hop("receiver", Status.PASS, 10, "HTTP 200"),
        Hop("kafka", Status.PASS, 200, "on topic"),
        Hop("elasticsearch", Status.FAIL, None, "not indexed within 30 s"),
    )
    es = merge(stage("elasticsearch", Status.PASS, "old data present"), p)
    assert es.status is Status.FAIL
    assert es.summary.startswith("Probe pabc: elasticsearch not indexed within 30 s.")
    assert "old data present" in es.summary and not es.missing_data
    assert es.evidence[-1].kind == "timeline" and len(es.evidence[-1].hops) == 3
    kafka = merge(stage("kafka", Status.SKIP, "no --kafka"), p)
    assert kafka.status is Status.PASS and "200 ms" in kafka.summary


def test_untouched_stage_is_left_alone():
    p = probe(Hop("receiver", Status.FAIL, 5, "HTTP 403 Forbidden"))
    agent = merge(stage("agent", Status.PASS), p)
    assert agent.status is Status.PASS and not agent.evidence
    recv = merge(stage("receiver", Status.PASS), p)
    assert recv.status is Status.FAIL and "403" in recv.summary


def test_error_hop_only_turns_a_skip_into_error():
    p = probe(Hop("receiver", Status.ERROR, None, "Not delivered: connection refused."))
    assert merge(stage("receiver", Status.SKIP), p).status is Status.ERROR
    assert merge(stage("receiver", Status.WARN), p).status is Status.WARN
