"""Suggestions for a stream that draws nothing: stored values and metric fields ranked by
similarity to what was typed, then by documents in the window, the way the StackState UI's
auto-complete would have offered them; and the wording of each fix."""

from __future__ import annotations

from dataclasses import dataclass

from stsdebug import suggest
from stsdebug.suggest import SIMILAR

SHOWN_SUGGESTIONS = suggest.SHOWN


@dataclass
class Suggestion:
    value: str
    docs: int | None  # documents in the window (None: known from the mapping only)
    score: float

    def text(self) -> str:
        if self.docs is None:
            return self.value
        return f"{self.value} — {self.docs:,} doc{'s' if self.docs != 1 else ''} in the window"


def similarity(a: str, b: str) -> float:
    # Metric fields share "values."; comparing it would make every metric look alike.
    return suggest.similarity(a.removeprefix("values."), b.removeprefix("values."))


def rank(target: str, options: list[tuple[str, int | None]]) -> list[Suggestion]:
    """Nearest first (similarity, then documents in the window); see ``suggest.rank``."""
    return [Suggestion(r.value, r.count, r.score)
            for r in suggest.rank(target, options, score=similarity, shown=SHOWN_SUGGESTIONS)]


def first_only(fix: str) -> str:
    """A fix with its first suggestion only (for the one-line summary)."""
    return fix.split(", or ", 1)[0]


def suggestion_text(suggestions: list[Suggestion]) -> str:
    return "; ".join(s.text() for s in suggestions)


def fix_text(
    key: str, value: str, suggestions: list[Suggestion], *, alone: int = 0, selected: bool = False
) -> str:
    """``alone``: documents the condition matches by itself; ``selected``: the suggestions
    come from the documents the other conditions select."""
    head = (
        f"{key}={value} matches nothing"
        if alone == 0
        else f"{key}={value} matches none of the documents the other conditions select"
    )
    if not suggestions:
        if selected:
            return f"{head}: they carry no {key}"
        return f"{head} and {key} has no stored values in the window"
    if suggestions[0].score >= SIMILAR:
        rest = "".join(f", or {s.text()}" for s in suggestions[1:])
        return f"{head}; did you mean {suggestions[0].text()}{rest}"
    present = ", ".join(s.text() for s in suggestions)
    # A suggestion with its count already says "in the window": not twice.
    counted = any(s.docs is not None for s in suggestions)
    where = " there" if selected else ("" if counted else " in the window")
    return f"{head}; {key} holds e.g. {present}{where}"


def metric_fix(metric: str, what: str, suggestions: list[Suggestion]) -> str:
    fix = f"metric field {metric} {what}"
    if suggestions and suggestions[0].score >= SIMILAR:
        fix += f"; did you mean {suggestions[0].text()}"
        fix += "".join(f", or {s.text()}" for s in suggestions[1:])
    elif suggestions:
        fix += "; metric fields there: " + ", ".join(s.text() for s in suggestions)
    return fix
