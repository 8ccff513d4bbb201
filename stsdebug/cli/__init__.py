"""The stsdebug command line: ``app`` (the typer application, in ``application``) and ``main``
(its entry point).

``main`` first offers the command line to ``stsdebug.cli.quick`` (a saved trace opened in
the TUI starts without building the command line); ``app`` is imported on first use.
"""

import signal
import sys
from typing import Any


def main() -> None:
    try:
        from stsdebug.cli.quick import quick_main

        code = quick_main(sys.argv[1:])
        if code is not None:
            raise SystemExit(code)
        from stsdebug.cli.application import main as full_main

        full_main()
    except KeyboardInterrupt:
        # Ctrl-C outside a command's own handling: while the command line is built, or just
        # as a finished command writes its result. One line and 130, never a traceback.
        sys.stderr.write("stsdebug: interrupted\n")
        raise SystemExit(130) from None
    finally:
        # The work is over: a Ctrl-C during the interpreter's shutdown would only print a
        # traceback (stage threads are daemons, so nothing waits on them).
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def __getattr__(name: str) -> Any:
    if name == "app":
        from stsdebug.cli.application import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
