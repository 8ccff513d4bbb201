"""The sandbox writes the agent log in both layouts StackState Agent 2.19.1 has
(StackVista/stackstate-agent 2.19.1 pkg/config/log_format.go, pkg/config/log.go)."""

from __future__ import annotations

from stsdebug.sandbox.faults import FAULTS
from stsdebug.sandbox.formats import agent_line

T = 1715680924.0  # 2024-05-14 10:02:04 UTC


def test_default_and_rfc3339_layouts() -> None:
    default = agent_line(T, "INFO", "a.go:1 in F", "hello")
    rfc = agent_line(T, "INFO", "a.go:1 in F", "hello", rfc3339=True)
    assert default == "2024-05-14 10:02:04 UTC | CORE | INFO | (a.go:1 in F) | hello"
    assert rfc == "2024-05-14T10:02:04Z | CORE | INFO | (a.go:1 in F) | hello"


def test_every_fault_names_its_stage_and_status() -> None:
    for f in FAULTS.values():
        assert f.expected_status in ("fail", "warn", "pass"), f.name
        assert bool(f.expected_stage) == (f.expected_status != "pass"), f.name
    assert FAULTS["stale-timestamps"].expected_stage == "receiver"
    assert FAULTS["agent-clock-skew"].expected_stage == "kafka"
