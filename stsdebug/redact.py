"""Redaction of secrets in everything stsdebug outputs.

Two layers: the exact secret values stsdebug was configured with (API keys,
passwords, tokens) are replaced wherever they appear, and patterns catch secrets
that arrive inside inputs (``api_key=`` in URLs and log lines, Basic/Bearer
credentials, ``password=``, user:password@ in URLs, mirror API key headers).
The manifest records which rules fired and where, never the values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

MARK = "<redacted>"

# (rule name, pattern, replacement). Group 1 is kept; the secret is what follows.
_RULES: list[tuple[str, re.Pattern[str], str]] = [
    (
        "api_key parameter",
        # The agent already masks keys as ****abcde; those are left as they are.
        re.compile(r"((?:api[_-]?key|apikey|sts[_-]api[_-]key)=)(?!\*{4,}[^&\s\"']{0,5}(?:[&\s\"']|$))[^&\s\"'<>]+", re.I),
        r"\1" + MARK,
    ),
    (
        "authorization header",
        re.compile(r"((?:authorization|proxy-authorization)\s*[:=]\s*\"?(?:basic|bearer|apikey|token)\s+)[A-Za-z0-9+/=._~-]+", re.I),
        r"\1" + MARK,
    ),
    ("bearer token", re.compile(r"(\bbearer\s+)[A-Za-z0-9+/=._~-]{8,}", re.I), r"\1" + MARK),
    (
        "api key header",
        re.compile(r"((?:x-mirror-api-key|x-api-key|sts-api-key|x-sts-api-key|api-key)\s*[:=]\s*\"?)[^\s\"',;]+", re.I),
        r"\1" + MARK,
    ),
    (
        "api key field",
        re.compile(r"((?:\"?(?:apiKey|api_key|apikey|api-key)\"?)\s*:\s*\")[^\"]+", re.I),
        r"\1" + MARK,
    ),
    (
        "password field",
        re.compile(
            # "(using password: YES)" is MySQL saying whether one was given, not a secret.
            r"((?:password|passwd|pwd|secret|token|api_token|sasl_password)\"?\s*[:=]\s*\"?)(?!<redacted>)(?!(?:YES|NO)\b)[^\s\"',;&})]+",
            re.I,
        ),
        r"\1" + MARK,
    ),
    ("url credentials", re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)[^\s/@]+(?=@)", re.I), r"\1" + MARK),
]


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.counts: Counter[tuple[str, str]] = Counter()

    def text(self, value: str, where: str = "") -> str:
        out = value
        for secret in self._secrets:
            if secret in out:
                self.counts[("configured secret", where)] += out.count(secret)
                out = out.replace(secret, MARK)
        for name, pattern, repl in _RULES:
            out, n = pattern.subn(repl, out)
            if n:
                self.counts[(name, where)] += n
        return out

    def walk(self, obj: Any, where: str = "") -> Any:
        if isinstance(obj, str):
            return self.text(obj, where)
        if isinstance(obj, dict):
            return {k: self.walk(v, where) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.walk(v, where) for v in obj]
        return obj

    def manifest(self) -> list[dict[str, Any]]:
        return [
            {"rule": rule, "where": where, "count": count}
            for (rule, where), count in sorted(self.counts.items())
        ]


def redact_text(value: str, secrets: Iterable[str] = ()) -> str:
    return Redactor(secrets).text(value)
