"""Command lines served before the command line is built.

Building it means importing typer, click and pydantic and checking every option (about a
tenth of a second). `stsdebug tui --load FILE`, opening a saved trace, has one option and
is timed to its first frame, so its two exact spellings are served here with the same code
the full command runs (``stsdebug.commands.tui_saved``); anything else, including any
other option next to them, goes to the full command line.
"""

from collections.abc import Sequence


def quick_main(argv: Sequence[str]) -> int | None:
    """The exit code of a command line served here; None for every other command line."""
    load = _saved_trace(list(argv))
    if load is None:
        return None
    from stsdebug.commands.errors import exit_code_of
    from stsdebug.commands.tui_saved import open_saved

    return exit_code_of(lambda: open_saved(load))


def _saved_trace(argv: list[str]) -> str | None:
    """FILE of `tui --load FILE` or `tui --load=FILE`, exactly; else None."""
    if len(argv) == 3 and argv[:2] == ["tui", "--load"] and argv[2] and not argv[2].startswith("-"):
        return argv[2]
    if len(argv) == 2 and argv[0] == "tui" and argv[1].startswith("--load=") and len(argv[1]) > len("--load="):
        return argv[1][len("--load="):]
    return None
