"""Words and units every output must get right, as patterns a test can look for.

Used on rendered text (tests/report/test_text_output.py, tests/integration/test_scenarios.py):
no count that disagrees with its noun ("1 records"), no missing value with a unit ("None s",
"— s"), no word or phrase said twice in a row, and no library's own wording (our error
sentences replace it). Quoted log lines are data, not our words: callers leave them out.
"""

from __future__ import annotations

import re

NOUNS = (
    "records|documents|docs|lines|errors|indices|streams|stages|payloads|transactions|items|"
    "entries|failures|rows|samples|metrics|names|partitions|checks|hosts|nodes|fields|prefixes|"
    "messages|requests|points|runs|seconds|minutes|rejections|problems|warnings|findings|inputs"
)
PATTERNS: dict[str, re.Pattern[str]] = {
    "a count of 1 with a plural noun": re.compile(rf"(?<![\d.,\-=])\b1 ({NOUNS})\b"),
    "'All 1'": re.compile(r"\bAll 1\b"),
    "a missing value with a unit": re.compile(r"\b(None|null|nan) ?(s|ms|%|bytes|B)\b|— (s|ms|%)\b"),
    "Python's None": re.compile(r"\bNone\b"),
    "a word twice": re.compile(r"\b(?!(?:\d+)\b)(\w{2,}) \1\b", re.IGNORECASE),
    "a phrase twice": re.compile(r"\b((?:\w+ ){1,3}\w+) \1\b"),
    "library wording": re.compile(
        r"pydantic|urllib3?\b|HTTPConnectionPool|object at 0x|NewConnectionError|MaxRetryError|"
        r"kafka\.errors|elasticsearch\.exceptions|httpx\.|Traceback \(most recent",
        re.IGNORECASE,
    ),
}
# Lines that quote data verbatim (log samples: "  123 │ ...") are the systems' words.
QUOTED = re.compile(r"^\s*\d+ │ ")


def problems(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if QUOTED.match(line):
            continue
        for name, rx in PATTERNS.items():
            m = rx.search(line)
            if m:
                out.append(f"{name}: {m.group(0)!r} in: {line.strip()[:160]}")
    return out
