"""The one place text output makes data safe for a terminal.

Log lines, server answers and saved traces are data stsdebug does not trust: an
escape sequence in them could retitle the window, plant a hyperlink or hide part of a
line. Every data string the text renderers and progress lines print goes through
``clean``. It is meant to be ``stsdebug.termsafe.clean`` (complete sequences removed
whole); until that module is on this branch it drops every C0/C1 control character and
bidi override, which leaves nothing a terminal acts on.
"""

from __future__ import annotations

import re

# C0 and C1 controls except newline and tab, DEL, and the bidi marks, overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` with nothing a terminal would act on (newlines and tabs kept)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))
