"""End to end: the TUI on a sandbox fault, with the real trace, stages and report renderer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from stsdebug.commands.sandbox import register_sandbox_profile
from stsdebug.commands.tui import TraceRunner
from stsdebug.model import TraceResult
from stsdebug.sandbox import paths
from stsdebug.sandbox.faults import FAULTS
from stsdebug.settings import resolve
from stsdebug.tui.app import StsdebugApp
from stsdebug.tui.screens import PromptScreen
from stsdebug.tui.widgets.pipeline import Segment
from stsdebug.tui.widgets.stage_list import StageList
from stsdebug.tui.widgets.verdict import VerdictBanner
from tests.integration.sandbox_support import sandbox
from tests.tui.fakes import drive, wait_for

pytestmark = pytest.mark.wire

register_sandbox_profile()  # as the CLI does when it builds its commands (else this test needs another first)


def test_tui_on_a_sandbox_fault_highlights_the_verdict_stage_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "state"
    monkeypatch.setenv(paths.ENV_DIR, str(base))
    register_sandbox_profile()  # as the command line does; the test does not import it
    fault = FAULTS["es-read-only"]
    with sandbox(base, [fault.name]):
        settings = resolve({"profile": "sandbox", "integration": fault.integration})
        app = StsdebugApp(settings, None, runner=TraceRunner(), cwd=tmp_path, animate=False)

        async def scenario(pilot: Any) -> None:
            await wait_for(pilot, lambda: app.last_trace is not None, timeout=90)
            trace = app.last_trace
            assert trace.verdict.stage == fault.expected_stage
            assert app.query_one(StageList).selected_id == fault.expected_stage
            assert "stops at Elasticsearch" in app.query_one(VerdictBanner).content.plain
            failing = [s for s in app.query(Segment) if "-fail" in s.classes]
            assert failing, "the pipeline strip shows no failing stage"
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
            name = app.screen.query_one(Input).value
            await pilot.press("enter")
            await wait_for(pilot, lambda: (tmp_path / name).exists(), timeout=30)
            again = TraceResult.load(tmp_path / name)
            assert again.verdict.stage == fault.expected_stage

        drive(app, scenario, size=(120, 40))
