"""The TUI tests expect the Unicode marks: pin the terminal type they would be chosen from."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("STSDEBUG_ASCII", raising=False)
