"""Known errors turned into one clean line, for every command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from stsdebug.errors import StsdebugError
from stsdebug.termsafe import clean

P = ParamSpec("P")
R = TypeVar("R")


def one_line(exc: StsdebugError) -> int:
    """Say a known error in one line on stderr; its exit code."""
    # The message may quote a file name or a server answer: nothing in it drives the terminal.
    sys.stderr.write(f"stsdebug: error: {clean(str(exc))}\n")
    return exc.exit_code


def clean_errors(
    fn: Callable[P, R], *, interrupted: str = "stsdebug: interrupted"
) -> Callable[P, R]:
    """Known errors become one line on stderr and their exit code, never a traceback;
    Ctrl-C is exit 130 with ``interrupted`` said once."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import typer

        try:
            return fn(*args, **kwargs)
        except StsdebugError as exc:
            raise typer.Exit(one_line(exc)) from None
        except KeyboardInterrupt:
            sys.stderr.write(interrupted + "\n")
            raise typer.Exit(130) from None

    wrapper._clean = True  # type: ignore[attr-defined]
    return wrapper


def exit_code_of(fn: Callable[[], int], *, interrupted: str = "stsdebug: interrupted") -> int:
    """``clean_errors`` for code that runs without the command line built (stsdebug.cli.quick)."""
    try:
        return fn()
    except StsdebugError as exc:
        return one_line(exc)
    except KeyboardInterrupt:
        sys.stderr.write(interrupted + "\n")
        return 130


def is_clean(fn: object) -> bool:
    """Has ``fn`` been wrapped by ``clean_errors`` already (with its own message)?"""
    return bool(getattr(fn, "_clean", False))
