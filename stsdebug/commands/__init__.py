"""Command groups that live in their own modules (tui, sandbox, demo, bundle), and the
error handling every command shares."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer

from stsdebug.errors import StsdebugError


def clean_errors(
    fn: Callable[..., Any], *, interrupted: str = "stsdebug: interrupted"
) -> Callable[..., Any]:
    """Known errors become one line on stderr and their exit code, never a traceback;
    Ctrl-C is exit 130 with ``interrupted`` said once."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StsdebugError as exc:
            sys.stderr.write(f"stsdebug: error: {exc}\n")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write(interrupted + "\n")
            raise typer.Exit(130) from None

    wrapper._clean = True  # type: ignore[attr-defined]
    return wrapper
