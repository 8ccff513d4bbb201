"""The cyclic garbage collector, paused while the TUI starts.

Importing Textual and building the first screen allocate a few hundred thousand objects
that live as long as the TUI does; the collector would walk them again and again before
the first frame (about 0.04 s of CPU, a seventh of the time to it). Paused by the command
before its imports, resumed by the app once its first frame is drawn.
"""

from __future__ import annotations

import gc

_paused = False


def pause_gc() -> None:
    """Pause the collector, unless something else already did."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_gc() -> None:
    """Resume the collector if ``pause_gc`` paused it; again is a no-op."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()
