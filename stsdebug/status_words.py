"""The one table of status marks and words that every output reads (text, JUnit, HTML, TUI).

A status is never shown by colour alone: each has a mark and a word. ``word`` is the
short form for terminals (upper case where the eye must stop), ``title`` the form for
reports, ``ascii`` the mark for consoles without the Unicode ones. The TUI's display-only
states (pending, running, cancelled) are in the same table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusWords:
    mark: str
    ascii: str
    word: str
    title: str


STATUS_WORDS: dict[str, StatusWords] = {
    "pass": StatusWords("✔", "+", "pass", "Pass"),
    "warn": StatusWords("!", "!", "warn", "Warning"),
    "fail": StatusWords("✘", "x", "FAIL", "Fail"),
    "error": StatusWords("?", "?", "ERROR", "Could not check"),
    "skip": StatusWords("-", "-", "skip", "Skipped"),
    "blocked": StatusWords("⊘", "#", "blocked", "Blocked"),
    # Shown by the TUI only: a stage that has not started, is running, or was cancelled.
    "pending": StatusWords("·", ".", "pending", "Pending"),
    "running": StatusWords("⠋", "|", "running", "Running"),
    "cancelled": StatusWords("⊗", "~", "cancelled", "Cancelled"),
}
