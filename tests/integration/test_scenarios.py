"""The scenario suite: stsdebug against the sandbox, healthy and with every named fault.

- Healthy: one sandbox for the module; `stsdebug check --profile sandbox --integration X`
  passes every stage for every integration in the sandbox (no false alarms).
- Faults: one sandbox per fault (each is up in about 2 s); the verdict names the fault's
  expected stage (a failure, or a warning for the fault that loses only part of the
  data), and that stage's result (summary, evidence, hints) points at the broken link.

Everything is real: noida-db, the sandbox runtime, the CLI and every stage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stsdebug.model import TraceResult
from stsdebug.render import text
from stsdebug.sandbox import control, world
from stsdebug.sandbox.faults import FAULTS as ALL_FAULTS
from tests import words
from tests.integration.sandbox_support import check, sandbox

pytestmark = pytest.mark.wire

# The StackState 5 sandbox's faults (tests/v6/test_scenarios.py runs StackState 6's).
FAULTS = {name: f for name, f in ALL_FAULTS.items() if f.sts_version == "5"}

# What the expected stage must say (any one, case-insensitive) to point at the broken link.
LINK: dict[str, tuple[str, ...]] = {
    "receiver-unreachable": ("connection refused",),
    "invalid-api-key": ("API Key invalid", "403"),
    "malformed-payloads": ("Failed to deserialize JSON", "400 Bad Request"),
    "reserved-metric-names": ("reserved prefix",),
    # The receiver logs the points it ignores as too old: the first stage that sees the
    # evidence names the clock of the host that sent them.
    "stale-timestamps": ("clock of host app-01",),
    # Accepted (20 min is within the receiver's limit), on time on Kafka, stamped in the past.
    "agent-clock-skew": ("clock of host app-01 runs about 20 min behind",),
    # The agent is first to see it (the ingress answers 503); ALSO has the receiver's why.
    "receiver-missing-topics": ("503",),
    "kafka-blip": ("recovered",),
    "agent-rfc3339": (),
    "kafka-down": ("Kafka",),
    "mover-stopped": ("mm2es", "consumer group", "lag"),
    "es-read-only": ("read_only_allow_delete",),
    "field-limit": ("total_fields.limit",),
    "renamed-metric": ("system.cpu.io_wait",),
    "wrong-tag-value": ("tags.env=production",),
    "mirror-unreachable": ("connection refused",),
    "mirror-store-error": ("MetricStoreConnectionError",),
    "aws-credentials-expired": ("ExpiredToken", "expired"),
}

# What later stages must say too, where the stage named first is not the whole story.
ALSO: dict[str, dict[str, tuple[str, ...]]] = {
    "receiver-missing-topics": {"receiver": ("MissingKafkaTopics", "Topic check failed")},
    "stale-timestamps": {"receiver": ("older than",)},
}

# Faults whose verdict stage must not depend on --window (a wider window shows more
# history; it never hides a stopped pipeline).
WINDOWS = ("5m", "15m", "1h", "6h")
WINDOW_FAULTS = ("mover-stopped", "kafka-down", "invalid-api-key")


# What the verdict's next step must name: the concrete action (command, setting and file).
NEXT_STEP: dict[str, tuple[str, ...]] = {
    "receiver-unreachable": ("sts_url", "/etc/stackstate-agent/stackstate.yaml", "/health"),
    "invalid-api-key": ("api_key", "stackstate.apiKey", "restart"),
    "malformed-payloads": ("stsdebug validate",),
    "reserved-metric-names": ("conf.d/mysql.d/conf.yaml",),
    "stale-timestamps": ("clock", "timedatectl"),
    "agent-clock-skew": ("clock", "timedatectl"),
    "receiver-missing-topics": ("MissingKafkaTopics",),
    "kafka-blip": (),
    "agent-rfc3339": (),
    "kafka-down": ("kubectl get pods", "app.kubernetes.io/name=kafka"),
    "mover-stopped": ("kubectl logs deploy/stackstate-mm2es",),
    "es-read-only": ("_settings", '"index.blocks.read_only_allow_delete": null'),
    "field-limit": ("index.mapping.total_fields.limit", "_settings"),
    "renamed-metric": ("Edit stream 'Host CPU iowait'", "system.cpu.io_wait"),
    "wrong-tag-value": ("Edit stream 'MySQL connections'", "prod"),
    "mirror-unreachable": ("Start the Prometheus mirror",),
    "mirror-store-error": ("connection details",),
    "aws-credentials-expired": ("StackPack instance", "credentials"),
}


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("healthy")
    with sandbox(base):
        yield base


def _table(trace: dict[str, Any]) -> str:
    return "\n".join(f"  {s['status']:8} {s['id']:14} {s['summary']}" for s in trace["stages"])


@pytest.mark.parametrize("integration", world.INTEGRATIONS)
def test_healthy_sandbox_passes_every_stage(healthy: Path, integration: str) -> None:
    trace = check(healthy, integration)
    not_passed = [s for s in trace["stages"] if s["status"] != "pass"]
    assert not not_passed, f"false alarms for {integration}:\n{_table(trace)}"
    assert trace["verdict"]["status"] == "pass"
    assert trace["verdict"]["next_step"].startswith("Nothing to fix")
    assert words.problems(text.render(TraceResult.from_dict(trace), width=200, verbose=True)) == []


def test_every_fault_has_a_link_to_look_for() -> None:
    assert set(LINK) == set(FAULTS) == set(NEXT_STEP)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_named_at_its_stage(tmp_path: Path, fault: str) -> None:
    f = FAULTS[fault]
    base = tmp_path / "state"
    with sandbox(base, [fault]):
        trace = check(base, f.integration)
    verdict = trace["verdict"]
    assert (verdict.get("stage") or "") == f.expected_stage, (
        f"{fault}: expected {f.expected_stage or 'no stage'}, stsdebug named {verdict.get('stage')}:\n"
        f"{_table(trace)}"
    )
    if f.expected_status == "pass":  # a variant that breaks nothing: every stage passes
        assert verdict["status"] == "pass", _table(trace)
        assert not [s for s in trace["stages"] if s["status"] != "pass"], _table(trace)
    elif f.expected_status == "warn":  # part of the data is lost (or it recovered), the rest flows
        assert verdict["status"] == "warn", _table(trace)
        assert not [s for s in trace["stages"] if s["status"] in ("fail", "error", "blocked")], _table(trace)
    else:
        assert verdict["status"] in ("fail", "error")
    if LINK[fault]:
        stage = next(s for s in trace["stages"] if s["id"] == f.expected_stage)
        said = _said(stage)
        assert any(m.lower() in said for m in LINK[fault]), (
            f"{fault}: the {f.expected_stage} stage does not point at the broken link "
            f"({' / '.join(LINK[fault])}): {stage['summary']}"
        )
    for stage_id, said_too in ALSO.get(fault, {}).items():
        other = next(s for s in trace["stages"] if s["id"] == stage_id)
        assert any(w.lower() in _said(other) for w in said_too), f"{fault}: {stage_id} says {other['summary']}"
    rendered = text.render(TraceResult.from_dict(trace), width=200, verbose=True)
    assert words.problems(rendered) == [], f"{fault}: words and units"
    step = verdict.get("next_step") or ""
    missing = [m for m in NEXT_STEP[fault] if m not in step]
    assert not missing, f"{fault}: the next step does not name {missing}: {step!r}"
    assert trace["labels"] == {"sandbox_faults": fault}
    assert control.status(base)["running"] is False


def _said(stage: dict[str, Any]) -> str:
    return json.dumps({k: stage.get(k) for k in ("summary", "evidence", "hints")}).lower()


@pytest.mark.parametrize("fault", WINDOW_FAULTS)
def test_the_verdict_stage_does_not_depend_on_the_window(tmp_path: Path, fault: str) -> None:
    f = FAULTS[fault]
    base = tmp_path / "state"
    with sandbox(base, [fault]):
        named = {w: check(base, f.integration, "--window", w)["verdict"] for w in WINDOWS}
    got = {w: (v["status"], v.get("stage")) for w, v in named.items()}
    assert set(got.values()) == {("fail", f.expected_stage)}, f"{fault}: verdict by window {got}"


def test_rfc3339_agent_logs_change_no_verdict(tmp_path: Path) -> None:
    # The same breakage read from an agent that logs RFC 3339 dates: the same verdict.
    verdicts = {}
    for faults in (["receiver-unreachable"], ["receiver-unreachable", "agent-rfc3339"]):
        base = tmp_path / "-".join(faults)
        with sandbox(base, faults):
            v = check(base, "system")["verdict"]
        verdicts[tuple(faults)] = (v["status"], v.get("stage"))
    assert len(set(verdicts.values())) == 1, verdicts
