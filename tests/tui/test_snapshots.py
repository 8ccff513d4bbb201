"""SVG snapshots of the main screens at 80x24 and 160x48 (tests/tui/__snapshots__/).

Stable by construction: traces come from tests/factories.py (fixed timestamps and
durations) or are replayed by ScriptedRunner, the clock is fixed, spinners are
not animated, the version is pinned and marks are forced to Unicode.
Update after an intended change with: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import stsdebug.tui.app as app_module
from stsdebug.model import TraceResult
from stsdebug.tui.app import StsdebugApp
from stsdebug.tui.widgets.stage_list import StageList
from tests import factories
from tests.tui.fakes import ScriptedRunner, settings, wait_for

SMALL = (80, 24)
LARGE = (160, 48)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "traces"


@pytest.fixture(autouse=True)
def _pinned_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "__version__", "0.0.0")


def loaded(name: str) -> StsdebugApp:
    path = FIXTURES / f"{name}.json"
    return StsdebugApp(None, TraceResult.load(path), loaded_from=path, animate=False, ascii_only=False)


def live(runner: ScriptedRunner, **kw: Any) -> StsdebugApp:
    return StsdebugApp(
        settings(**kw), runner=runner, animate=False, ascii_only=False, clock=lambda: 1000.0
    )


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_kafka_fail(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(loaded("kafka_fail"), terminal_size=size)


def test_all_pass_pull_path(snap_compare: Any) -> None:
    assert snap_compare(loaded("all_pass"), terminal_size=SMALL)


def test_with_error(snap_compare: Any) -> None:
    assert snap_compare(loaded("with_error"), terminal_size=LARGE)


def test_probe_timeline(snap_compare: Any) -> None:
    app = loaded("with_probe")

    async def select(pilot: Any) -> None:
        app.query_one(StageList).select("elasticsearch")

    assert snap_compare(app, terminal_size=LARGE, run_before=select)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_running(snap_compare: Any, size: tuple[int, int]) -> None:
    runner = ScriptedRunner(factories.kafka_fail(), hold=2)
    app = live(runner)

    async def until_held(pilot: Any) -> None:
        await wait_for(pilot, lambda: runner.holding.is_set() and app.view.current() is not None)

    assert snap_compare(app, terminal_size=size, run_before=until_held)


def test_cancelled(snap_compare: Any) -> None:
    runner = ScriptedRunner(factories.kafka_fail(), hold=2)
    app = live(runner)

    async def cancel(pilot: Any) -> None:
        await wait_for(pilot, lambda: runner.holding.is_set() and app.view.current() is not None)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.view.trace is not None)
        app.clear_notifications()

    assert snap_compare(app, terminal_size=SMALL, run_before=cancel)


def test_probe_confirmation(snap_compare: Any) -> None:
    runner = ScriptedRunner(factories.all_pass())
    app = live(runner, integration="aws", receiver="https://receiver.example:7077")

    async def ask(pilot: Any) -> None:
        await wait_for(pilot, lambda: app.view.trace is not None)
        await pilot.press("p")

    assert snap_compare(app, terminal_size=SMALL, run_before=ask)


def test_help(snap_compare: Any) -> None:
    assert snap_compare(loaded("kafka_fail"), terminal_size=SMALL, press=["question_mark"])


def test_filter(snap_compare: Any) -> None:
    app = loaded("kafka_fail")

    async def select(pilot: Any) -> None:
        app.query_one(StageList).select("scope")

    assert snap_compare(
        app, terminal_size=SMALL, run_before=select, press=["slash", *"docker"]
    )


def test_too_small(snap_compare: Any) -> None:
    assert snap_compare(loaded("kafka_fail"), terminal_size=(50, 14))
