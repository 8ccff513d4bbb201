"""One "did you mean" for every name the user can mistype: integrations, profiles, faults,
index patterns, stream fields.

    near("kubernets", catalog)                 -> ["kubernetes"]
    did_you_mean("kubernets", catalog)         -> "; did you mean kubernetes?"

(The streams stage ranks stored *values* by similarity and documents in the window; it
uses ``near`` for field names and keeps its own ranking for values.)
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches

CUTOFF = 0.6  # difflib's own default: names at least this similar are offered


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
