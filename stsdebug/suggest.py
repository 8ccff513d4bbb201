"""One "did you mean" for every name the user can mistype: integrations, profiles, faults,
index patterns, stream fields, metric names, label values.

    near("kubernets", catalog)                 -> ["kubernetes"]
    did_you_mean("kubernets", catalog)         -> "; did you mean kubernetes?"
    rank("prod-eu1", [("prod-eu", 412), ("prod-us", 9)])   -> [Ranked("prod-eu", 412, 0.93)]

``rank`` orders stored values by similarity to what was typed, then by how much data
carries them (documents or series in the window), the way StackState's auto-complete
offers them: the streams stage (StackState 5) and the bindings stage (6) both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher, get_close_matches

CUTOFF = 0.6  # difflib's own default: names at least this similar are offered
SIMILAR = 0.5  # below this a stored value is "present" rather than "did you mean"
NEAR_BEST = 0.15  # further alternatives are offered only when about as near as the best
SHOWN = 3


def near(word: str, choices: Iterable[str], *, n: int = 3, cutoff: float = CUTOFF) -> list[str]:
    """The choices most like ``word``, best first; at most ``n``."""
    return get_close_matches(word, list(choices), n=n, cutoff=cutoff)


def did_you_mean(
    word: str,
    choices: Iterable[str],
    *,
    n: int = 3,
    cutoff: float = CUTOFF,
    lead: str = "; ",
    end: str = "?",
) -> str:
    """``"; did you mean a or b?"``, or "" when nothing is close."""
    found = near(word, choices, n=n, cutoff=cutoff)
    return f"{lead}did you mean {' or '.join(found)}{end}" if found else ""


@dataclass
class Ranked:
    value: str
    count: int | None  # documents or series carrying it (None: not counted)
    score: float  # similarity to what was typed, 0..1 (0 when offered only as present)


def similarity(a: str, b: str) -> float:
    """How alike two names are: case-insensitive, and a prefix of the other counts as near
    (auto-complete offers names that start with what was typed)."""
    la, lb = a.lower(), b.lower()
    if la == lb:
        return 0.99  # differs in case only
    ratio = SequenceMatcher(None, la, lb).ratio()
    if lb.startswith(la) or la.startswith(lb):
        ratio = max(ratio, 0.8)
    return ratio


def rank(
    target: str,
    options: Sequence[tuple[str, int | None]],
    *,
    score: Callable[[str, str], float] = similarity,
    shown: int = SHOWN,
) -> list[Ranked]:
    """Nearest first (similarity, then count). Alternatives are offered only when about as
    near as the best; when nothing is alike, the most frequent values (score 0)."""
    scored = [Ranked(v, n, score(target, v)) for v, n in options if v != target]
    scored.sort(key=lambda r: (-round(r.score, 1), -(r.count or 0), r.value))
    if scored and scored[0].score >= SIMILAR:
        floor = max(SIMILAR, scored[0].score - NEAR_BEST)
        return [r for r in scored if r.score >= floor][:shown]
    scored.sort(key=lambda r: (-(r.count or 0), r.value))
    for r in scored:
        r.score = 0.0
    return scored[:shown]
