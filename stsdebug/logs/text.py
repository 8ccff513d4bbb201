"""Decoding and cleaning shared by every log format: colour codes, CR, length caps."""

from __future__ import annotations

import re

LINE_TEXT_CAP = 4096  # characters of a line kept for samples and classification

# CSI sequences (colours, cursor), OSC sequences (titles, links) and single-character escapes.
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x1b[()][A-Z0-9]|\x1b[=>]")


def strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text) if "\x1b" in text else text


def decode(raw: bytes | bytearray) -> str:
    """Bytes as text: UTF-8, with U+FFFD for anything else."""
    return raw.decode("utf-8", "replace")


def clean(text: str) -> str:
    """Drop colour codes and a trailing CR; cap the length."""
    if "\x1b" in text:
        text = _ANSI_RE.sub("", text)
    text = text.rstrip("\r")
    return text[:LINE_TEXT_CAP]
