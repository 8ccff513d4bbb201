"""Find the series selectors inside a PromQL (or MetricsQL) expression, and rebuild it
with one label matcher removed. Pure: no I/O.

This is not a PromQL parser. It reads just enough to answer the questions of the
v6 docs' "no data" procedure (StackVista/stackstate-docs,
``use/metrics/k8sTs-metrics-troubleshooting.md``): which metrics does the query read,
with which label matchers, and which single matcher empties it? So it tokenises the
expression (strings, ``${...}`` placeholders, ``[...]`` ranges and subqueries,
comments), skips the label lists of ``by``/``without``/``on``/``ignoring``/
``group_left``/``group_right``, treats a name followed by ``(`` as a function or
aggregation, and reads every ``name{...}`` / ``name`` / ``{...}`` left over as a
selector, with spans into the original text so that rebuilding keeps every other byte.

    sels = selectors('sum(rate(http_requests_total{job="api", code=~"5.."}[5m])) by (code)')
    sels[0].metric             -> 'http_requests_total'
    [m.text for m in sels[0].matchers] -> ['job="api"', 'code=~"5.."']
    drop_matcher(expr, 0, 1)   -> 'sum(rate(http_requests_total{job="api"}[5m])) by (code)'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from stsdebug.errors import UsageError

OPS = ("=~", "!~", "!=", "=")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:.]*")
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+|(?:[0-9]+(?:ms|[smhdwy]))+|(?:[0-9]*\.)?[0-9]+(?:[eE][-+]?[0-9]+)?[A-Za-z]*")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# Keywords that are not metric names. `by` & co. take a parenthesised label list.
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS = _GROUPING | frozenset({
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan",
    # MetricsQL
    "keep_metric_names", "if", "ifnot", "default", "limit", "with",
})


class PromQLSyntaxError(UsageError):
    """The expression cannot be read (unbalanced brackets, unterminated string...)."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # one of OPS
    value: str  # unquoted, escapes resolved; may still hold ${...} placeholders
    text: str  # exactly as written in the expression
    start: int
    end: int
    quoted: bool = True  # False for a bare ${...} placeholder written without quotes

    def canonical(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{escaped}"'


@dataclass(frozen=True)
class Selector:
    """One series selector: ``metric{matchers}``. Spans index the original expression."""

    name: str | None  # the identifier before the braces, if any
    matchers: tuple[Matcher, ...]
    start: int
    end: int
    braces: tuple[int, int] | None  # span of "{...}" when present
    has_or: bool = False  # MetricsQL "{a="x" or b="y"}": matchers are alternatives

    @property
    def metric(self) -> str | None:
        """The metric name: the identifier, or an ``__name__="..."`` matcher."""
        if self.name:
            return self.name
        for m in self.matchers:
            if m.label == "__name__" and m.op == "=":
                return m.value
        return None

    @property
    def label_matchers(self) -> tuple[Matcher, ...]:
        """The matchers other than an ``__name__`` equality (that one names the metric)."""
        if self.name:
            return self.matchers
        return tuple(m for m in self.matchers if not (m.label == "__name__" and m.op == "="))

    def text(self, *, drop: int | None = None) -> str:
        """The selector on its own, optionally without matcher `drop` (an index)."""
        kept = [m.text for i, m in enumerate(self.matchers) if i != drop]
        sep = " or " if self.has_or else ", "
        body = "{" + sep.join(kept) + "}" if kept else ""
        if self.name:
            return self.name + body
        return body or "{}"

    def bare(self) -> str:
        """Only the metric name, as the docs' first step suggests ("run just the name")."""
        metric = self.metric
        return metric if metric else self.text()

    def can_drop(self, index: int) -> bool:
        """False when removing the matcher would leave an empty, invalid selector."""
        if not 0 <= index < len(self.matchers) or self.has_or:
            return False
        return bool(self.name) or len(self.matchers) > 1


def selectors(expr: str) -> list[Selector]:
    """Every series selector in `expr`, in order of appearance."""
    return _Reader(expr).run()


def drop_matcher(expr: str, selector: int, matcher: int) -> str:
    """`expr` with matcher `matcher` of selector `selector` removed; all else unchanged."""
    sels = selectors(expr)
    sel = sels[selector]
    if not sel.can_drop(matcher):
        raise UsageError(
            f"Removing {sel.matchers[matcher].text} from {sel.text()} leaves no valid selector.")
    return expr[: sel.start] + sel.text(drop=matcher) + expr[sel.end:]


def replace_selector(expr: str, selector: int, text: str) -> str:
    """`expr` with selector number `selector` replaced by `text`."""
    sel = selectors(expr)[selector]
    return expr[: sel.start] + text + expr[sel.end:]


@dataclass(frozen=True)
class Variant:
    """`expr` with one matcher removed, for the "which matcher empties it" search."""

    selector: int
    matcher: Matcher
    expression: str


def drop_variants(expr: str) -> Iterator[Variant]:
    """One Variant per droppable matcher, selector by selector (``__name__`` kept)."""
    for si, sel in enumerate(selectors(expr)):
        for mi, m in enumerate(sel.matchers):
            if m.label == "__name__" or not sel.can_drop(mi):
                continue
            yield Variant(si, m, expr[: sel.start] + sel.text(drop=mi) + expr[sel.end:])


# --- the reader ---------------------------------------------------------------------


@dataclass
class _Tok:
    kind: str  # ident, num, str, ph, sel (braces), range, punct
    text: str
    start: int
    end: int
    matchers: tuple[Matcher, ...] = ()
    has_or: bool = False


class _Reader:
    def __init__(self, expr: str) -> None:
        self.s = expr
        self.i = 0

    def run(self) -> list[Selector]:
        toks = list(self._tokens())
        out: list[Selector] = []
        k = 0
        depth_check = 0
        while k < len(toks):
            t = toks[k]
            nxt = toks[k + 1] if k + 1 < len(toks) else None
            if t.kind == "punct":
                depth_check += {"(": 1, ")": -1}.get(t.text, 0)
                if depth_check < 0:
                    raise self._error("unbalanced ')'", t.start)
            if t.kind == "ident":
                low = t.text.lower()
                if low in _GROUPING:
                    k = self._skip_group(toks, k + 1)
                    continue
                if low in _KEYWORDS:
                    k += 1
                    continue
                if nxt is not None and nxt.kind == "punct" and nxt.text == "(":
                    k += 1  # function call or aggregation
                    continue
                if nxt is not None and nxt.kind == "ident" and nxt.text.lower() in ("by", "without"):
                    k += 1  # "sum by (...) (...)"
                    continue
                if nxt is not None and nxt.kind == "sel":
                    # "metric {a="b"}", even with a space between, is one selector
                    out.append(Selector(t.text, nxt.matchers, t.start, nxt.end,
                                        (nxt.start, nxt.end), nxt.has_or))
                    k += 2
                    continue
                out.append(Selector(t.text, (), t.start, t.end, None))
            elif t.kind == "sel":
                out.append(Selector(None, t.matchers, t.start, t.end, (t.start, t.end), t.has_or))
            k += 1
        if depth_check != 0:
            raise self._error("unbalanced '('", len(self.s))
        return out

    @staticmethod
    def _skip_group(toks: list[_Tok], k: int) -> int:
        if k < len(toks) and toks[k].kind == "punct" and toks[k].text == "(":
            depth = 0
            while k < len(toks):
                if toks[k].kind == "punct" and toks[k].text == "(":
                    depth += 1
                elif toks[k].kind == "punct" and toks[k].text == ")":
                    depth -= 1
                    if depth == 0:
                        return k + 1
                k += 1
        return k

    def _error(self, what: str, pos: int) -> PromQLSyntaxError:
        near = self.s[max(0, pos - 20): pos + 20].replace("\n", " ")
        return PromQLSyntaxError(f"Cannot read the PromQL query: {what} at character {pos + 1} "
                                 f"(near {near!r}).")

    def _tokens(self) -> Iterator[_Tok]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            start = self.i
            if c.isspace():
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c in "\"'`":
                self._string()
                yield _Tok("str", s[start:self.i], start, self.i)
            elif s.startswith("${", self.i):
                self._placeholder()
                yield _Tok("ph", s[start:self.i], start, self.i)
            elif c == "{":
                matchers, has_or = self._braces()
                yield _Tok("sel", s[start:self.i], start, self.i, matchers, has_or)
            elif c == "}":
                raise self._error("unbalanced '}'", self.i)
            elif c == "[":
                self._brackets()
                yield _Tok("range", s[start:self.i], start, self.i)
            elif c == "]":
                raise self._error("unbalanced ']'", self.i)
            elif c.isdigit() or (c == "." and self.i + 1 < len(s) and s[self.i + 1].isdigit()):
                m = _NUMBER.match(s, self.i)
                self.i = m.end() if m else self.i + 1
                yield _Tok("num", s[start:self.i], start, self.i)
            elif _IDENT.match(s, self.i):
                m = _IDENT.match(s, self.i)
                assert m is not None
                self.i = m.end()
                yield _Tok("ident", m.group(0), start, self.i)
            else:
                self.i += 1
                yield _Tok("punct", c, start, self.i)

    def _string(self) -> str:
        s, q = self.s, self.s[self.i]
        start = self.i
        self.i += 1
        out: list[str] = []
        while self.i < len(s):
            c = s[self.i]
            if c == "\\" and q != "`" and self.i + 1 < len(s):
                nxt = s[self.i + 1]
                out.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}.get(nxt, "\\" + nxt))
                self.i += 2
            elif c == q:
                self.i += 1
                return "".join(out)
            else:
                out.append(c)
                self.i += 1
        raise self._error("unterminated string", start)

    def _placeholder(self) -> None:
        end = self.s.find("}", self.i)
        if end < 0:
            raise self._error("unterminated ${...} placeholder", self.i)
        self.i = end + 1

    def _brackets(self) -> None:
        start = self.i
        depth = 0
        while self.i < len(self.s):
            c = self.s[self.i]
            if self.s.startswith("${", self.i):
                self._placeholder()
                continue
            if c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return
            self.i += 1
        raise self._error("unbalanced '['", start)

    def _skip_space(self) -> None:
        while self.i < len(self.s) and (self.s[self.i].isspace() or self.s[self.i] == "#"):
            if self.s[self.i] == "#":
                end = self.s.find("\n", self.i)
                self.i = len(self.s) if end < 0 else end
            else:
                self.i += 1

    def _braces(self) -> tuple[tuple[Matcher, ...], bool]:
        s = self.s
        open_at = self.i
        self.i += 1
        matchers: list[Matcher] = []
        has_or = False
        while True:
            self._skip_space()
            if self.i >= len(s):
                raise self._error("unbalanced '{'", open_at)
            if s[self.i] == "}":
                self.i += 1
                return tuple(matchers), has_or
            if s[self.i] == ",":
                self.i += 1
                continue
            if (matchers and s.startswith("or", self.i) and self.i + 2 < len(s)
                    and s[self.i + 2].isspace()):
                has_or = True
                self.i += 2
                continue
            mstart = self.i
            if s[self.i] in "\"'`":
                label = self._string()
            else:
                m = _LABEL.match(s, self.i)
                if not m:
                    raise self._error("expected a label name", self.i)
                label = m.group(0)
                self.i = m.end()
            self._skip_space()
            op = next((o for o in OPS if s.startswith(o, self.i)), None)
            if op is None:
                if s[mstart] in "\"'`":  # {"metric.name"}: a quoted metric name (Prometheus 3)
                    matchers.append(Matcher("__name__", "=", label, s[mstart:self.i], mstart, self.i))
                    continue
                raise self._error(f"expected =, !=, =~ or !~ after {label!r}", self.i)
            self.i += len(op)
            self._skip_space()
            if self.i < len(s) and s[self.i] in "\"'`":
                value = self._string()
                quoted = True
            elif s.startswith("${", self.i):
                vstart = self.i
                self._placeholder()
                value, quoted = s[vstart:self.i], False
            else:
                raise self._error(f"expected a quoted value after {label}{op}", self.i)
            matchers.append(Matcher(label, op, value, s[mstart:self.i], mstart, self.i, quoted))
