"""The probe's own metric is never data: not fresh data of an integration, not a census prefix,
not a "did you mean" suggestion; and on a pulled integration the probe says what it tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stsdebug.probe_marker import PROBE_METRIC
from tests.integration.sandbox_support import check, sandbox

pytestmark = pytest.mark.wire


def test_a_probe_that_arrives_is_not_counted_as_the_integrations_fresh_data(tmp_path: Path) -> None:
    base = tmp_path / "state"
    # No new system data reaches Kafka (the receiver drops it as too old); the probe does.
    with sandbox(base, ["stale-timestamps"]):
        # custom + --host: the integration is recognised by host only, and the probe carries it.
        trace = check(base, "custom", "--host", "app-01", "--probe", "--probe-host", "app-01")
    stages = {s["id"]: s for s in trace["stages"]}
    timeline = next(e for e in stages["receiver"]["evidence"] if e["kind"] == "timeline")
    hops = {h["name"]: h["status"] for h in timeline["hops"]}
    assert hops["kafka"] == "pass"  # the probe got through...
    kafka = stages["kafka"]
    # ...but it is not data of the window (blocked: the receiver already fails on the old points)
    assert kafka["status"] in ("fail", "blocked")
    # The probe is neither counted nor the newest record: the older real records are.
    assert "No records at all" in kafka["summary"]
    assert re.search(r"the newest record is \d+ min old", kafka["summary"])
    scope_table = next(e for e in stages["scope"]["evidence"] if e["kind"] == "table")
    assert not [r for r in scope_table["rows"] if str(r[0]).startswith("stsdebug.")]
    assert PROBE_METRIC not in stages["scope"]["summary"]


def test_the_probe_metric_is_never_offered_as_a_suggestion(tmp_path: Path) -> None:
    base = tmp_path / "state"
    with sandbox(base, ["renamed-metric"]):
        trace = check(base, "system", "--probe")
    streams = next(s for s in trace["stages"] if s["id"] == "streams")
    said = json.dumps({k: streams[k] for k in ("summary", "hints", "evidence", "next_step")})
    assert "system.cpu.io_wait" in said  # the real suggestion is there
    assert PROBE_METRIC not in json.dumps(streams["hints"]) and PROBE_METRIC not in streams.get("next_step", "")
    near = [e for e in streams["evidence"] if e["kind"] == "table" and "condition by condition" in e["title"]]
    assert near and PROBE_METRIC not in json.dumps(near)


def test_on_a_pulled_integration_the_probe_says_it_tests_the_push_path_only(tmp_path: Path) -> None:
    base = tmp_path / "state"
    with sandbox(base):
        trace = check(base, "aws", "--probe")
    es = next(s for s in trace["stages"] if s["id"] == "elasticsearch")
    timeline = next(e for e in es["evidence"] if e["kind"] == "timeline")
    assert timeline["title"] == "Probe: one marked metric through the push path only (aws is pulled)"
    note = next(e for e in es["evidence"] if e["kind"] == "text" and e["title"] == "The probe and pulled data")
    assert "says nothing about aws's own path" in note["text"]
