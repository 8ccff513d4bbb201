"""What `stsdebug tui --load` does for a fast first frame: the collector paused until it is
drawn, and a footer that has its keys in it without being rebuilt."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from stsdebug.commands.tui_saved import open_saved
from stsdebug.errors import UsageError
from stsdebug.tui.app import StsdebugApp
from stsdebug.tui.startup import pause_gc, resume_gc
from stsdebug.tui.widgets.footer import KeyFooter
from tests import factories
from tests.tui.fakes import drive


def test_the_collector_is_paused_for_the_start_and_runs_after_the_first_frame() -> None:
    app = StsdebugApp(None, factories.kafka_fail())
    seen: list[bool] = []

    async def scenario(pilot: Any) -> None:
        seen.append(gc.isenabled())

    pause_gc()
    try:
        assert not gc.isenabled()
        drive(app, scenario)
    finally:
        resume_gc()
    assert seen == [True]
    assert gc.isenabled()


def test_a_file_that_is_no_trace_leaves_the_collector_running(tmp_path: Path) -> None:
    path = tmp_path / "not-a-trace.json"
    path.write_text("{}")
    with pytest.raises(UsageError):
        open_saved(str(path))
    assert gc.isenabled()


def test_the_footer_has_its_keys_from_the_start_and_is_rebuilt_only_when_they_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rebuilt: list[bool] = []
    recompose = KeyFooter.recompose

    async def counted(self: KeyFooter) -> None:
        rebuilt.append(True)
        await recompose(self)

    monkeypatch.setattr(KeyFooter, "recompose", counted)
    app = StsdebugApp(None, factories.kafka_fail())

    def keys() -> list[str]:
        return [str(getattr(k, "description", "")) for k in app.query_one(KeyFooter).children]

    async def scenario(pilot: Any) -> None:
        await pilot.pause()
        assert "Quit" in keys()
        assert rebuilt == []  # focus moved to the stage list: the same keys, no rebuild
        await pilot.resize_terminal(120, 30)  # wide enough for the palette key
        await pilot.pause()
        assert rebuilt
        assert len(keys()) > 0

    drive(app, scenario, size=(80, 24))
