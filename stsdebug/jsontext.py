"""JSON text with positions: parsing that keeps odd numbers visible, syntax errors with a
caret excerpt, and the line and column of a value found by its path.

Nothing here knows about StackState; :mod:`stsdebug.payloads` builds the intake rules
on top. Secrets are redacted from excerpts, since the offending line may hold one.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import unicodedata
from typing import Any

from stsdebug.redact import redact_text

__all__ = [
    "DuplicateKeysDict",
    "JsonSyntaxError",
    "NonStandardLiteral",
    "OverflowNumber",
    "clean",
    "excerpt",
    "line_col",
    "locate",
    "newline_offsets",
    "parse_json",
    "parse_json_marked",
    "quote",
]


class JsonSyntaxError(ValueError):
    """``pos`` is an offset into the text given to parse_json; ``rule`` names the kind."""

    def __init__(self, message: str, pos: int, rule: str) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.rule = rule


class NonStandardLiteral(float):
    """NaN, Infinity or -Infinity as written in the text: not JSON, though Python reads them."""

    literal: str

    def __new__(cls, literal: str) -> NonStandardLiteral:
        obj = super().__new__(cls, float(literal))
        obj.literal = literal
        return obj


class OverflowNumber(float):
    """A number literal beyond the range of a double, kept as +/-inf with its text."""

    text: str

    def __new__(cls, text: str) -> OverflowNumber:
        obj = super().__new__(cls, "-inf" if text.startswith("-") else "inf")
        obj.text = text
        return obj


class DuplicateKeysDict(dict):  # type: ignore[type-arg]
    """A parsed object in which some member names occurred more than once (the last wins)."""

    duplicates: tuple[str, ...] = ()


# Nesting limit of the parser on the other side (Jackson's default maxNestingDepth).
MAX_NESTING_DEPTH = 1000


def parse_json(text: str) -> Any:
    """Parse JSON text; raise JsonSyntaxError (rule json.empty, json.syntax, json.too-deep).

    A leading byte order mark is skipped, as Jackson does. NaN/Infinity literals and
    numbers too large for a double come back as marked floats so that callers can
    report them by path; objects with repeated member names as DuplicateKeysDict.
    """
    return parse_json_marked(text)[0]


def parse_json_marked(text: str) -> tuple[Any, bool]:
    """parse_json, plus whether any marked value (odd number, repeated name) was produced."""
    offset = 1 if text.startswith("\ufeff") else 0
    body = text[offset:]
    if not body.strip():
        raise JsonSyntaxError("the text is empty", 0, "json.empty")
    marked: list[bool] = []

    def constant(literal: str) -> float:
        marked.append(True)
        return NonStandardLiteral(literal)

    def number(text: str) -> float:
        value = float(text)
        if math.isinf(value):
            marked.append(True)
            return OverflowNumber(text)
        return value

    def integer(text: str) -> int | float:
        # int() refuses more than 4300 digits, and past 308 digits it is no double anyway.
        if len(text) > 308 and len(text.lstrip("-")) > 308:
            marked.append(True)
            return OverflowNumber(text)
        return int(text)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) == len(items):
            return obj
        marked.append(True)
        return _with_duplicates(obj, items)

    try:
        obj = json.loads(
            body, parse_constant=constant, parse_float=number, parse_int=integer,
            object_pairs_hook=pairs,
        )
    except json.JSONDecodeError as exc:
        pos, detail = _describe(body, exc)
        raise JsonSyntaxError(detail, pos + offset, "json.syntax") from None
    except RecursionError:
        pos, depth = _deepest(body)
        raise JsonSyntaxError(
            f"arrays and objects are nested {depth} levels deep, more than a JSON parser "
            f"accepts (the receiver's parser allows about {MAX_NESTING_DEPTH})",
            pos + offset,
            "json.too-deep",
        ) from None
    except ValueError as exc:  # defensive: a hook or the scanner refusing something odd
        raise JsonSyntaxError(clean(str(exc))[:200], offset, "json.syntax") from None
    return obj, bool(marked)


def _with_duplicates(obj: dict[str, Any], items: list[tuple[str, Any]]) -> DuplicateKeysDict:
    seen: set[str] = set()
    dups: list[str] = []
    for key, _ in items:
        if key in seen and key not in dups:
            dups.append(key)
        seen.add(key)
    out = DuplicateKeysDict(obj)
    out.duplicates = tuple(dups)
    return out


def _describe(body: str, exc: json.JSONDecodeError) -> tuple[int, str]:
    """A position and a phrase for a JSON error, naming the likely cause where we can tell."""
    pos, msg = exc.pos, exc.msg
    found = body[pos : pos + 1]
    before = body[:pos].rstrip()
    if body.startswith(("//", "/*"), pos) or (found == "#" and msg.startswith("Expecting")):
        return pos, (
            "comments are not allowed in JSON (the documentation examples carry "
            "// comments that must be removed before sending)"
        )
    if found in ("]", "}"):
        opener = _innermost_open(body, pos)
        if opener is not None and _CLOSERS[body[opener]] != found:
            return pos, f"'{found}' does not close the '{body[opener]}' opened at {_where(body, opener)}"
        if before.endswith(","):
            return len(before) - 1, f"trailing comma before '{found}'"
    if msg.startswith("Illegal trailing comma"):  # Python 3.13+ wording
        return pos, "trailing comma before the end of an array or object"
    if msg.startswith("Expecting") and pos >= len(body.rstrip()):
        opener = _innermost_open(body, pos)
        still = f" (the '{body[opener]}' opened at {_where(body, opener)} is still open)" if opener is not None else ""
        return len(body.rstrip()), (
            f"the text ends too early: an array or object is not closed, or the payload was cut off{still}"
        )
    if msg.startswith("Expecting value"):
        word = re.match(r"[A-Za-z_]\w*", body[pos : pos + 40])
        if found == "'":
            return pos, "strings must be in double quotes, not single quotes"
        if word:
            return pos, (
                f"unexpected word '{clean(word.group())}': JSON values are strings in double "
                "quotes, numbers, true, false, null, objects or arrays"
            )
        return pos, f"expected a value but found {_char(found)}"
    if msg.startswith("Expecting property name"):
        if found == "'":
            return pos, "member names must be in double quotes, not single quotes"
        return pos, f"expected a member name in double quotes but found {_char(found)}"
    if msg.startswith("Expecting ':'"):
        return pos, f"expected ':' after the member name but found {_char(found)}"
    if msg.startswith("Expecting ','"):
        opener = _innermost_open(body, pos)
        closer = f"'{_CLOSERS[body[opener]]}'" if opener is not None else "a closing bracket"
        if found == '"' and opener is not None:
            return pos, (
                f"expected ',' or {closer} before the next string: a comma is missing, or the "
                f"'{body[opener]}' opened at {_where(body, opener)} was not closed"
            )
        return pos, f"expected ',' or {closer} but found {_char(found)}"
    if msg.startswith("Unterminated string"):
        return pos, "a string is not closed (missing double quote)"
    if msg.startswith("Invalid control character"):
        return pos, (
            "a raw control character (tab, line break) inside a string must be escaped as \\t or \\n"
        )
    if msg.startswith("Invalid \\"):
        return pos, "invalid backslash escape inside a string"
    if msg.startswith("Extra data"):
        if found == ":":
            return pos, (
                "the text goes on after a complete JSON value; it looks like a fragment "
                '("name": value) that needs surrounding { }'
            )
        return pos, "the text goes on after the end of the JSON value; send one JSON object"
    return pos, clean(msg)[:120]


_CLOSERS = {"[": "]", "{": "}"}


def _innermost_open(text: str, pos: int) -> int | None:
    """Offset of the innermost bracket still open at ``pos`` (only on the error path)."""
    stack: list[int] = []
    for m in _STRUCT_RE.finditer(text, 0, pos):
        ch = text[m.start()]
        if ch in "[{":
            stack.append(m.start())
        elif ch in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {column}"


def _char(found: str) -> str:
    return "the end of the text" if not found else "'" + clean(found) + "'"


_STRUCT_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)


def _deepest(text: str) -> tuple[int, int]:
    """Offset of the first bracket at the greatest nesting depth, and that depth."""
    depth = best = where = 0
    for m in _STRUCT_RE.finditer(text):
        ch = text[m.start()]
        if ch in "[{":
            depth += 1
            if depth > best:
                best, where = depth, m.start()
        elif ch in "]}":
            depth -= 1
    return where, best


# ---------------------------------------------------------------------------------------
# Positions and excerpts


def newline_offsets(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def line_col(newlines: list[int], pos: int) -> tuple[int, int]:
    """1-based line and column of offset ``pos``, given newline_offsets() of the text."""
    line = bisect.bisect_left(newlines, pos)  # newlines before pos
    start = newlines[line - 1] + 1 if line else 0
    return line + 1, pos - start + 1


_EXCERPT_WIDTH = 100
# JSON members holding keys, which the shared redactor matches only as URL parameters.
_JSON_KEY_RE = re.compile(r'("(?:api_?key|apikey|sts_?api_?key)"\s*:\s*")[^"\\]*', re.I)


def _safe(line: str) -> str:
    return _JSON_KEY_RE.sub(r"\1<redacted>", redact_text(line))


def excerpt(text: str, pos: int) -> str:
    """The line holding ``pos`` (secrets redacted, long lines windowed) and a caret line."""
    pos = max(0, min(pos, len(text)))
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    raw = text[start : len(text) if end < 0 else end].rstrip("\r")
    col = min(pos - start, len(raw))
    # Redacting the part before the caret on its own tells where the caret lands.
    line, col = _safe(raw), len(_safe(raw[:col]))
    col = min(col, len(line))
    left = right = ""
    if len(line) > _EXCERPT_WIDTH:
        lo = max(0, col - 60)
        hi = min(len(line), lo + _EXCERPT_WIDTH)
        left, right = ("…" if lo > 0 else ""), ("…" if hi < len(line) else "")
        line, col = line[lo:hi], col - lo
    width = len(left) + sum(_width(ch) for ch in _visible(line[:col]))
    return left + _visible(line) + right + "\n" + " " * width + "^"


def _visible(s: str) -> str:
    """One printable character per character, so the caret stays aligned."""
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else (" " if ch == "\t" else "?") for ch in s)


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def clean(s: str) -> str:
    """Escape what would corrupt a terminal or fail to encode: controls, bidi marks, surrogates."""
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


def quote(s: str, limit: int = 80) -> str:
    """``"s"`` as JSON would write it, shortened to ``limit`` characters, safe to print."""
    short = s if len(s) <= limit else s[:limit] + "…"
    return clean(json.dumps(short, ensure_ascii=False))


# ---------------------------------------------------------------------------------------
# Finding values by path

_TOKEN_RE = re.compile(
    r'[ \t\n\r]*(?:("[^"\\]*(?:\\.[^"\\]*)*")|([{}\[\]:,])|([^ \t\n\r{}\[\]:,"]+))', re.S
)

Path = tuple[Any, ...]


def _skip_container(text: str, pos: int) -> int:
    """Offset just past the bracket that closes the container opened just before ``pos``."""
    depth = 1
    for m in _STRUCT_RE.finditer(text, pos):
        ch = text[m.start()]
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return m.end()
    return len(text)


def locate(text: str, start: int, wanted: set[Path]) -> dict[Path, int]:
    """Offsets of the values at the wanted paths, and at all their parents, in valid JSON.

    A path is a tuple of member names (str) and array indexes (int). Containers on no
    wanted path are skipped bracket by bracket, so the cost stays close to one
    regular-expression pass however large the text is. For repeated member names the
    last occurrence wins, as in the parsed object.
    """
    prefixes = {p[:i] for p in wanted for i in range(len(p) + 1)}
    found: dict[Path, int] = {}
    # Frames: [is_object, path, member name or index, expecting a member name]
    stack: list[list[Any]] = []
    pos, end = start, len(text)
    while pos < end:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            break
        pos = m.end()
        string, punct = m.group(1), m.group(2)
        if punct in ("}", "]"):
            if stack:
                stack.pop()
            if not stack:
                break
            continue
        if punct == ",":
            top = stack[-1]
            if top[0]:
                top[3] = True
            else:
                top[2] += 1
            continue
        if punct == ":":
            continue
        if string is not None and stack and stack[-1][0] and stack[-1][3]:
            stack[-1][2] = json.loads(string)
            stack[-1][3] = False
            continue
        path = stack[-1][1] + (stack[-1][2],) if stack else ()
        if path in prefixes:
            found[path] = m.start(m.lastindex or 0)
            if punct == "{":
                stack.append([True, path, None, True])
            elif punct == "[":
                stack.append([False, path, 0, False])
        elif punct in ("{", "["):
            pos = _skip_container(text, pos)
        if not stack:
            break
    return found
