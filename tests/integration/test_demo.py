"""`stsdebug demo` without a terminal: text result, HTML report, teardown unless --keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from stsdebug.model import TraceResult
from stsdebug.sandbox import control, paths
from tests.integration.sandbox_support import assert_nothing_left, run_cli

pytestmark = pytest.mark.wire


def test_demo_traces_the_fault_writes_a_report_and_tears_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "state"
    report = tmp_path / "report.html"
    states: list[dict] = []
    real_up = control.up

    def up(*args, **kwargs):  # the real up; remember what ran so the test can check it is gone
        kwargs.setdefault("die_with_parent", True)
        states.append(real_up(*args, **kwargs))
        return states[-1]

    monkeypatch.setattr(control, "up", up)
    result = run_cli(base, "demo", "--fault", "es-read-only", "--html", str(report))
    assert result.exit_code == 0, result.output
    out = result.stdout
    # It says what it will show before it starts, and how it went at the end.
    lesson = out.index("stsdebug demo: the fault es-read-only")
    assert lesson < out.index("Sandbox up in")
    assert "stsdebug should name: the stage elasticsearch (fail) for system" in out
    assert "stsdebug named Elasticsearch (elasticsearch): correct, the stage the fault es-read-only breaks." in out
    assert "In a real installation the fix is: Free disk space" in out
    assert "Try another fault: stsdebug demo --fault field-limit (stsdebug demo --list shows all" in out
    assert out.index("Verdict:") < out.index("stsdebug named")
    assert "Sandbox stopped." in out
    trace = TraceResult.load(report)
    assert trace.verdict.stage == "elasticsearch"
    assert states and not paths.state_path(base).exists()
    assert_nothing_left(states[0])


def test_demo_keep_leaves_the_sandbox_up(tmp_path: Path) -> None:
    base = tmp_path / "state"
    try:
        result = run_cli(base, "demo", "--fault", "none", "--keep", "--html", str(tmp_path / "r.html"))
        assert result.exit_code == 0, result.output
        assert "The sandbox is still up" in result.stdout
        assert control.status(base)["running"] is True
    finally:
        state = control.status(base)
        control.down(base)
    assert_nothing_left(state)


def test_demo_never_silently_replaces_a_sandbox_the_user_started(tmp_path: Path) -> None:
    base = tmp_path / "state"
    try:
        mine = control.up(["kafka-down"], base=base, die_with_parent=True)
        refused = run_cli(base, "demo", "--fault", "none", "--html", str(tmp_path / "r.html"))
        assert refused.exit_code == 2
        message = refused.stderr.strip()
        assert message.count("\n") == 0 and "Traceback" not in refused.output
        assert "a sandbox is already up (faults: kafka-down" in message
        assert "stsdebug sandbox down" in message and "--replace" in message
        # Still the user's own sandbox, untouched.
        status = control.status(base)
        assert status["running"] and status["faults"] == ["kafka-down"]
        assert status["started_at"] == mine["started_at"]
        replaced = run_cli(base, "demo", "--fault", "none", "--replace", "--keep", "--html", str(tmp_path / "r.html"))
        assert replaced.exit_code == 0, replaced.output
        assert "Replacing the sandbox that was up (faults: kafka-down" in replaced.stdout
        assert control.status(base)["faults"] == []
    finally:
        state = control.status(base)
        control.down(base)
    assert_nothing_left(state)


def test_demo_list_names_each_fault_and_the_stage_that_should_catch_it(tmp_path: Path) -> None:
    from stsdebug.sandbox.faults import FAULTS

    result = run_cli(tmp_path / "state", "demo", "--list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for f in FAULTS.values():
        row = next(line for line in lines if line.startswith(f.name + " "))
        assert f" {f.integration} " in row and f" {f.expected_stage} " in row
    assert "stsdebug demo --fault NAME" in result.stdout
    assert not (tmp_path / "state").exists()  # listing starts nothing
