"""The StackState 6 scenario suite: stsdebug against the StackState 6 sandbox (the real
VictoriaMetrics and vmagent binaries, the sandbox receiver remote-writing to vmagent, the
synthetic agent, the cloud plugin and the bindings), healthy and with every StackState 6
fault; `auto` on both sandboxes; the v6 probe; the demo.

Everything is real: the binaries, the sandbox runtime, the CLI and every stage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from stsdebug.sandbox import control, paths
from stsdebug.sandbox.faults import FAULTS
from stsdebug.sandbox.v6 import world as world6
from tests.integration.sandbox_support import assert_nothing_left, check, run_cli

pytestmark = pytest.mark.wire

FAULTS6 = {name: f for name, f in FAULTS.items() if f.sts_version == "6"}
PUSH_PLAN = ["scope", "agent", "receiver", "vmagent", "victoriametrics", "bindings"]
PULL_PLAN = ["scope", "vmagent", "victoriametrics", "bindings"]

# What the expected stage must say (any one, case-insensitive) to point at the broken link.
LINK: dict[str, tuple[str, ...]] = {
    "vmagent-down": ("cannot remote-write metrics to vmagent",),
    "vm-unreachable": ("cannot deliver to VictoriaMetrics",),
    "samples-too-old": ("too old (older than the retention)",),
    "binding-wrong-label": ("did you mean env=prod",),
    "binding-unresolved-tag": ("${tags.database}",),
    "binding-renamed-metric": ("did you mean system_cpu_io_wait",),
}


@contextmanager
def sandbox6(base: Path, faults: list[str] | None = None) -> Iterator[dict[str, Any]]:
    try:
        yield control.up(list(faults or []), base=base, die_with_parent=True, sts_version="6")
    finally:
        if paths.state_path(base).exists():
            control.down(base)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("healthy6")
    with sandbox6(base):
        yield base


def _table(trace: dict[str, Any]) -> str:
    return "\n".join(f"  {s['status']:8} {s['id']:16} {s['summary']}" for s in trace["stages"])


@pytest.mark.parametrize("integration", world6.INTEGRATIONS)
def test_healthy_v6_sandbox_passes_every_stage(healthy: Path, integration: str) -> None:
    trace = check(healthy, integration)
    assert trace["sts_version"] == "6" and trace["sts_version_decision"]["mode"] == "given"
    assert trace["plan"] == (PULL_PLAN if integration == "aws" else PUSH_PLAN)
    not_passed = [s for s in trace["stages"] if s["status"] != "pass"]
    assert not not_passed, f"false alarms for {integration}:\n{_table(trace)}"
    assert trace["verdict"]["status"] == "pass"


def test_every_v6_fault_has_a_link_to_look_for() -> None:
    assert set(LINK) == set(FAULTS6) and len(FAULTS6) >= 6


@pytest.mark.parametrize("fault", list(FAULTS6))
def test_v6_fault_is_named_at_its_stage(tmp_path: Path, fault: str) -> None:
    f = FAULTS6[fault]
    base = tmp_path / "state"
    with sandbox6(base, [fault]) as state:
        trace = check(base, f.integration)
    verdict = trace["verdict"]
    assert trace["sts_version"] == "6"
    assert verdict["stage"] == f.expected_stage, (
        f"{fault}: expected {f.expected_stage}, stsdebug named {verdict['stage']}:\n{_table(trace)}")
    assert verdict["status"] == "fail"
    stage = next(s for s in trace["stages"] if s["id"] == f.expected_stage)
    said = json.dumps({k: stage.get(k) for k in ("summary", "evidence", "hints")}, ensure_ascii=False).lower()
    assert any(m.lower() in said for m in LINK[fault]), (
        f"{fault}: the {f.expected_stage} stage does not point at the broken link "
        f"({' / '.join(LINK[fault])}): {stage['summary']}")
    assert trace["labels"] == {"sandbox_faults": fault}
    assert control.status(base)["running"] is False
    assert_nothing_left(state)


def test_auto_picks_6_on_the_v6_sandbox(healthy: Path) -> None:
    trace = check(healthy, "postgres", "--sts-version", "auto")
    assert trace["sts_version"] == "6"
    assert trace["sts_version_decision"] == {"mode": "auto",
                                             "reason": "--victoria-metrics was given: a StackState 6 endpoint."}


def test_check_without_an_integration_takes_the_census_of_victoria_metrics(healthy: Path) -> None:
    result = run_cli(healthy, "check", "--profile", "sandbox", "--format", "json")
    assert result.exit_code == 0, result.output[-2000:]
    census = json.loads(result.stdout)
    assert census["read"] == ["VictoriaMetrics"], census
    states = {r["name"]: r["state"] for r in census["integrations"]}
    # Every integration the v6 sandbox feeds is seen fresh; nothing is called stopped.
    assert all(states.get(i) == "fresh" for i in world6.INTEGRATIONS), states
    assert "stale" not in states.values(), states


def test_auto_picks_5_on_the_v5_sandbox(tmp_path: Path) -> None:
    base = tmp_path / "five"
    try:
        control.up([], base=base, die_with_parent=True)
        trace = check(base, "system", "--sts-version", "auto")
    finally:
        control.down(base)
    assert trace["sts_version"] == "5" and trace["sts_version_decision"]["mode"] == "auto"
    # The profile gives the StackState API (the topic API): asked once, it has no /prometheus.
    assert "does not answer Prometheus queries" in trace["sts_version_decision"]["reason"]
    assert trace["plan"] == ["scope", "agent", "receiver", "kafka", "elasticsearch", "streams"]
    assert trace["verdict"]["status"] == "pass"


def test_the_v6_probe_follows_one_sample_into_victoria_metrics(healthy: Path) -> None:
    trace = check(healthy, "mysql", "--probe")
    timeline = next(e for s in trace["stages"] if s["id"] == "victoriametrics"
                    for e in s["evidence"] if e["kind"] == "timeline")
    hops = {h["name"]: h for h in timeline["hops"]}
    assert [h["name"] for h in timeline["hops"]] == ["receiver", "victoriametrics"]
    assert hops["receiver"]["status"] == "pass" and hops["victoriametrics"]["status"] == "pass"
    assert hops["victoriametrics"]["at_ms"] > hops["receiver"]["at_ms"]
    assert "stsdebug_probe_marker" in hops["victoriametrics"]["detail"]
    assert trace["verdict"]["status"] == "pass"


def test_status_and_faults_show_the_v6_sandbox(healthy: Path) -> None:
    status = run_cli(healthy, "sandbox", "status")
    assert status.exit_code == 0
    for word in ("VictoriaMetrics", "vmagent", "Readiness", "Bindings"):
        assert word in status.stdout
    listed = run_cli(healthy, "sandbox", "faults", "--format", "json")
    rows = {f["name"]: f for f in json.loads(listed.stdout)}
    assert {n for n, f in rows.items() if f["sts_version"] == "6"} == set(FAULTS6)


def test_a_fault_of_the_other_version_is_one_line(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "sandbox", "up", "--sts-version", "5", "--fault", "vm-unreachable")
    assert result.exit_code == 2 and "breaks the StackState 6 sandbox" in result.output
    assert not paths.state_path(tmp_path).exists()


def test_demo_shows_a_v6_fault(tmp_path: Path) -> None:
    report = tmp_path / "demo.html"
    result = run_cli(tmp_path / "state", "demo", "--sts-version", "6", "--no-tui", "--html", str(report))
    assert result.exit_code == 0, result.output
    assert "StackState 6 (SUSE Observability): StackState Agent → StackState receiver → vmagent" in result.stdout
    assert "stsdebug named vmagent (vmagent): correct, the stage the fault vm-unreachable breaks." in result.stdout
    assert "vmagent → VictoriaMetrics" in report.read_text()
    assert not paths.state_path(tmp_path / "state").exists()  # torn down


# Ctrl-C while `sandbox up --sts-version 6` starts each process: nothing may stay behind.
INTERRUPT_AT = {
    "victoria-metrics starting": "victoria-metrics",
    "vmagent starting": "vmagent",
    "runtime starting": "stsdebug.sandbox.runtime",
}


@pytest.mark.parametrize("moment", list(INTERRUPT_AT))
def test_ctrl_c_during_v6_up_stops_every_process_it_started(tmp_path: Path, moment: str) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.integration.sandbox_support import env_with, processes_naming

    base = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "stsdebug", "sandbox", "up", "--sts-version", "6"],
                            env=env_with(base), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not [p for p, cmd in processes_naming(base / "run") if INTERRUPT_AT[moment] in cmd]:
            assert proc.poll() is None, f"sandbox up ended before {moment}: {proc.communicate()}"
            assert time.monotonic() < deadline, f"never reached {moment}"
            time.sleep(0.002)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 10
    while processes_naming(base) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = processes_naming(base)
    if left:
        control.down(base)
    assert left == [], f"still running after Ctrl-C at {moment}: {left}"
    assert proc.returncode == 130, err
    assert not paths.state_path(base).exists()
