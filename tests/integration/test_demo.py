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
    assert "Sandbox up in" in result.stdout
    assert "stsdebug named elasticsearch: the stage the fault es-read-only breaks." in result.stdout
    assert "Sandbox stopped." in result.stdout
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
