"""The one place text output makes data safe for a terminal.

Log lines, server answers and saved traces are data stsdebug does not trust: an
escape sequence in them could retitle the window, plant a hyperlink or hide part of a
line. Every data string the text renderers and progress lines print goes through
``clean`` (``stsdebug.termsafe.clean``: complete sequences removed whole, every other
control character and bidi override dropped, newlines and tabs kept).
"""

from __future__ import annotations

from stsdebug.termsafe import clean

__all__ = ["clean"]
