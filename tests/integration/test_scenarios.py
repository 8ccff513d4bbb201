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
from stsdebug.sandbox.faults import FAULTS
from tests import words
from tests.integration.sandbox_support import check, sandbox

pytestmark = pytest.mark.wire

# What the expected stage must say (any one, case-insensitive) to point at the broken link.
LINK: dict[str, tuple[str, ...]] = {
    "receiver-unreachable": ("connection refused",),
    "invalid-api-key": ("API Key invalid", "403"),
    "malformed-payloads": ("Failed to deserialize JSON", "400 Bad Request"),
    "reserved-metric-names": ("reserved prefix",),
    # The receiver ignores the old points (its log says so, as a warning); the Kafka stage
    # is the first to see nothing arrive, and sends the reader to the receiver's log.
    "stale-timestamps": ("look at the receiver",),
    "kafka-down": ("Kafka",),
    "mover-stopped": ("mm2es", "consumer group", "lag"),
    "es-read-only": ("read_only_allow_delete",),
    "field-limit": ("total_fields.limit",),
    "renamed-metric": ("system.cpu.io_wait",),
    "wrong-tag-value": ("tags.env=production",),
    "mirror-unreachable": ("connection refused",),
    "mirror-store-error": ("MetricStoreConnectionError",),
    "aws-credentials-expired": ("No aws documents",),
}


# What the verdict's next step must name: the concrete action (command, setting and file).
NEXT_STEP: dict[str, tuple[str, ...]] = {
    "receiver-unreachable": ("sts_url", "/etc/stackstate-agent/stackstate.yaml", "/health"),
    "invalid-api-key": ("api_key", "stackstate.apiKey", "restart"),
    "malformed-payloads": ("stsdebug validate",),
    "reserved-metric-names": ("conf.d/mysql.d/conf.yaml",),
    "stale-timestamps": ("clock", "timedatectl"),
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
    assert verdict["stage"] == f.expected_stage, (
        f"{fault}: expected {f.expected_stage}, stsdebug named {verdict['stage']}:\n{_table(trace)}"
    )
    if f.expected_status == "warn":  # part of the data is lost, the rest flows
        assert verdict["status"] == "warn"
        assert not [s for s in trace["stages"] if s["status"] in ("fail", "error", "blocked")]
    else:
        assert verdict["status"] in ("fail", "error")
    stage = next(s for s in trace["stages"] if s["id"] == f.expected_stage)
    said = json.dumps({k: stage.get(k) for k in ("summary", "evidence", "hints")}).lower()
    assert any(m.lower() in said for m in LINK[fault]), (
        f"{fault}: the {f.expected_stage} stage does not point at the broken link "
        f"({' / '.join(LINK[fault])}): {stage['summary']}"
    )
    rendered = text.render(TraceResult.from_dict(trace), width=200, verbose=True)
    assert words.problems(rendered) == [], f"{fault}: words and units"
    step = verdict.get("next_step") or ""
    missing = [m for m in NEXT_STEP[fault] if m not in step]
    assert not missing, f"{fault}: the next step does not name {missing}: {step!r}"
    assert trace["labels"] == {"sandbox_faults": fault}
    assert control.status(base)["running"] is False
