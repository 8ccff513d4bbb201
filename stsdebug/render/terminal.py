"""What the terminal stsdebug writes to can show: width, colour, Unicode marks.

One decision for every text output (check, report, diff, watch, progress): colour only
on a terminal and never with ``NO_COLOR`` or ``TERM=dumb`` (``FORCE_COLOR`` forces it);
the terminal's width, ``COLUMNS`` when set, else 100 columns for pipes and files;
ASCII marks on consoles whose font has no check marks (``TERM=linux``) or with
``STSDEBUG_ASCII=1``.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

PIPE_WIDTH = 100  # pipes and files: wide enough for tables, narrow enough to read
MIN_WIDTH = 40


@dataclass(frozen=True)
class Terminal:
    width: int = PIPE_WIDTH
    color: bool = False
    ascii: bool = False
    tty: bool = False

    @classmethod
    def of(cls, stream: TextIO | None, env: Mapping[str, str] | None = None) -> Terminal:
        """What ``stream`` can show (``None``: a file, plain text at the pipe width)."""
        env = os.environ if env is None else env
        tty = stream is not None and is_tty(stream)
        return cls(width=width(stream, env), color=use_color(tty, env), ascii=use_ascii(env), tty=tty)


def is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def use_color(tty: bool, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("NO_COLOR", "") != "":
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return tty and env.get("TERM", "") != "dumb"


def use_ascii(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("STSDEBUG_ASCII", "").lower() in ("1", "true", "yes", "on"):
        return True
    return env.get("TERM", "") in ("linux", "vt100", "vt220", "dumb")


def width(stream: TextIO | None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    columns = env.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(MIN_WIDTH, int(columns))
    if stream is not None and is_tty(stream):
        try:
            return max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
        except (OSError, ValueError, AttributeError):
            return max(MIN_WIDTH, shutil.get_terminal_size((PIPE_WIDTH, 24)).columns)
    return PIPE_WIDTH


def stderr_terminal() -> Terminal:
    """Progress goes to stderr: shown only when stderr is a terminal."""
    return Terminal.of(sys.stderr)
