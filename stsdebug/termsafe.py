"""Terminal safety: take every control sequence out of data before it reaches a terminal.

Log lines, server answers and saved traces are data from systems stsdebug does not
trust. Written to a terminal as they are, an escape sequence in them could set the
window title, plant a hyperlink, query the terminal (DCS), move the cursor, clear the
screen, or hide part of a line behind a carriage return or backspaces. ``clean``
removes all of that and keeps the readable text:

- complete escape sequences are removed whole: CSI (``ESC [`` and 8-bit ``\\x9b``),
  OSC (``ESC ]`` / ``\\x9d``, ended by BEL or ST: titles, hyperlinks, clipboard),
  DCS, SOS, PM and APC strings (``ESC P``/``X``/``^``/``_`` and their 8-bit forms,
  ended by ST), and two-character and character-set escapes (``ESC c``, ``ESC ( B``);
- an introducer whose sequence never ends loses the introducer; the text after it
  stays, inert without the escape character (nothing is hidden that way);
- every other C0 and C1 control is removed: NUL, bell, backspace, vertical tab, form
  feed, DEL, lone carriage returns (``\\r\\n`` becomes ``\\n``);
- Unicode bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, and the
  marks U+200E/U+200F) are removed, so a line cannot read differently than it is;
- newline and tab are kept: they are layout, not commands.
"""

from __future__ import annotations

import re

# One pass, first match wins at each position. Payloads of string sequences stop at
# ESC and at every C1 character, so hostile input cannot make a match scan far past
# the next introducer (no quadratic time on runs of unterminated introducers).
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: parameters, intermediates, final byte
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x80-\x9f]*(?:\x07|\x1b\\|\x9c)"  # OSC, ended by BEL or ST
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x80-\x9f]*(?:\x1b\\|\x9c)"  # DCS SOS PM APC
    r"|\x1b[ -/]*[0-~]"  # other escapes (incl. an unterminated introducer: ESC and one char)
    r"|\r\n"  # a line end: becomes \n
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # lone controls
)
_ANY = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _replace(m: re.Match[str]) -> str:
    return "\n" if m.group() == "\r\n" else ""


def clean(text: str) -> str:
    """``text`` with every terminal control sequence removed (newlines and tabs kept)."""
    if not _ANY.search(text):
        return text
    return _SEQUENCE.sub(_replace, text)


def is_clean(text: str) -> bool:
    """True if ``text`` holds nothing a terminal would act on (besides newline and tab)."""
    return _ANY.search(text) is None
