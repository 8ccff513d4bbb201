"""The corpus's own judge: a verdict that differs in any expected way must be caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.field import corpus

KEY = "Zk3m9QwR2xT7vLp4Hn8Bc5Jd1Fga1b2c"


def _scenario(**expect: Any) -> corpus.Scenario:
    exp = corpus.Expectation(
        status=expect.pop("status", ["fail"]),
        stage=expect.pop("stage", ["agent"]),
        **expect,
    )
    return corpus.Scenario(
        name="s", path=Path("."), title="t", seen="", integration="system", now=0.0, window="15m",
        local_tz="UTC", settings={}, seed={}, expect=exp, sources=["x"], tags=[],
    )


def _trace(status: str = "fail", stage: str | None = "agent", summary: str = "connection refused") -> dict[str, Any]:
    return {
        "verdict": {"status": status, "stage": stage, "sentence": f"Data stops at the agent: {summary}"},
        "stages": [
            {"id": "agent", "status": status if stage == "agent" else "pass", "summary": summary, "evidence": [], "hints": []},
            {"id": "scope", "status": "warn", "summary": "only system is missing", "evidence": [], "hints": []},
        ],
    }


def test_a_matching_trace_is_right() -> None:
    s = _scenario(contains=[["refused", "dns"]], stage_contains={"scope": [["only"]]})
    assert corpus.judge(s, _trace()).ok


@pytest.mark.parametrize(
    ("trace", "expect", "problem"),
    [
        (_trace(status="warn"), {}, "verdict status warn"),
        (_trace(stage="receiver"), {}, "verdict stage receiver"),
        (_trace(), {"contains": [["timeout"]]}, "does not say 'timeout'"),
        (_trace(), {"not_contains": ["refused"]}, "says 'refused'"),
        (_trace(summary=f"POST ?api_key={KEY}"), {"nowhere": [KEY]}, "must appear nowhere"),
        (_trace(), {"stages": {"scope": ["pass"]}}, "stage scope is warn"),
        (_trace(), {"stage_contains": {"scope": [["push"]]}}, "stage scope does not say 'push'"),
    ],
)
def test_every_difference_is_caught(trace: dict[str, Any], expect: dict[str, Any], problem: str) -> None:
    outcome = corpus.judge(_scenario(**expect), trace)
    assert not outcome.ok
    assert any(problem in p for p in outcome.problems), outcome.problems


def test_a_broken_installation_judged_pass_is_silent() -> None:
    outcome = corpus.judge(_scenario(), _trace(status="pass", stage=None))
    assert outcome.category == "silent"


def test_a_pass_with_a_stage_named_is_wrong_when_none_is_expected() -> None:
    outcome = corpus.judge(_scenario(status=["pass"], stage=[""]), _trace(status="warn", stage="agent"))
    assert outcome.category == "wrong"


def test_durations() -> None:
    assert corpus.seconds("3h1m") == 10860
    assert corpus.seconds("-2h") == -7200
    assert corpus.seconds("250ms") == 0.25
    with pytest.raises(ValueError):
        corpus.seconds("3 hours")


def test_unknown_settings_are_reported_as_unsupported() -> None:
    s = _scenario()
    s.settings = {"agent_log": "agent.log", "not_a_setting": "x"}
    outcome = corpus.run(s)
    assert outcome.unsupported == ["not_a_setting"] and outcome.category == "unsupported"
