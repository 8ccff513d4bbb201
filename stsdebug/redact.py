"""Redaction of secrets in everything stsdebug outputs.

Two layers:

- the secret values stsdebug was configured with (API keys, passwords, tokens) are
  replaced wherever they appear, in every encoding stsdebug or the systems around it
  write them: as they are, JSON-escaped, HTML-escaped, URL-encoded and base64, also
  inside a longer base64 string (the ``user:password`` of HTTP Basic credentials);
- patterns catch secrets that arrive inside inputs: ``api_key=`` in URLs (the agent's
  go-retryablehttp lines carry it unmasked), Basic/Bearer/ApiKey credentials wherever
  they appear, ``Authorization``/``X-API-Key``/``X-API-Token``/``X-MIRROR-API-KEY``
  headers, ``password=``/``token:``/``api_key: X``/``aws_secret_access_key = X``
  fields (JSON, YAML, INI, environment), ``--password X``/``--api-key=X``/``-p X``
  flags in command lines, ``user:password@`` in URLs and StackState service tokens.

The manifest records which rules fired and where, never the values. Redacting twice
changes nothing: no rule matches its own marker.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from stsdebug.model import TraceResult

MARK = "<redacted>"
MIN_SECRET = 4  # shorter configured values would redact ordinary words

Replace = str | Callable[[re.Match[str]], str]

# --- rules for secrets that arrive inside inputs -------------------------------------------

# The agent's own mask (***************************abcde: the last 5 characters kept).
_MASKED = r"(?!\*{4,}[^&\s\"']{0,5}(?:[&\s\"',;]|$))"
# A value that is already redacted, or masked, or MySQL saying whether a password was given.
_NOT_A_VALUE = r"(?!<redacted>|&lt;redacted&gt;|\\u003credacted)(?!(?:YES|NO)\b)" + _MASKED
# Key names that hold secrets, as the end of a longer key (es_password, aws_secret_access_key,
# stackstate.apiKey, STS_API_KEY); "tokens", "passwordFile" or "api_key_env" do not end so.
_SECRET_KEY = (
    r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|"
    r"access[_-]?key(?:[_-]?id)?|private[_-]?key|credentials?)"
)
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "credential")  # one is in every _SECRET_KEY
_B64 = r"[A-Za-z0-9+/]"


def _basic(m: re.Match[str]) -> str:
    """``Basic <base64>`` only when it decodes to ``user:password`` ("Basic realm" stays)."""
    try:
        decoded = base64.b64decode(m.group(2) + "=" * (-len(m.group(2)) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        return m.group(0)
    if ":" not in text or not text.isprintable():
        return m.group(0)
    return m.group(1) + MARK


def _field(m: re.Match[str]) -> str:
    """Keep the key and the quotes; replace what is between them."""
    prefix, quoted_d, quoted_s = m.group(1), m.group(2), m.group(3)
    if quoted_d is not None:
        return f'{prefix}"{MARK}"' if quoted_d else m.group(0)
    if quoted_s is not None:
        return f"{prefix}'{MARK}'" if quoted_s else m.group(0)
    return prefix + MARK


class _Rule:
    """A named pattern; group 1 (or the first group that matched) is kept, the secret follows.

    ``needles`` and ``gate`` (the same pattern without IGNORECASE, searched in the
    lower-cased text) are necessary conditions that are many times cheaper than the
    case-insensitive substitution, which then only runs on lines that may hold a secret.
    Both are compiled when first needed: compiling every rule costs about 20 ms, paid by
    every command that imports this module (the TUI's first frame among them), and most
    texts never get past the needles.
    """

    def __init__(
        self,
        name: str,
        needles: tuple[str, ...],
        source: str,
        repl: Replace,
        *,
        ignore_case: bool = True,
    ) -> None:
        self.name = name
        self.needles = needles  # one of these is in every match (lower case): the cheapest test
        self.source = source
        self.flags = re.I if ignore_case else 0
        self.repl = repl

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.source, self.flags)

    @functools.cached_property
    def gate(self) -> re.Pattern[str]:
        return re.compile(self.source)

    def may_match(self, low: str) -> bool:
        return any(n in low for n in self.needles) and self.gate.search(low) is not None


def _keep_group(m: re.Match[str]) -> str:
    return next(g for g in m.groups() if g is not None) + MARK


_RULES: list[_Rule] = [
    # The agent masks keys as ****abcde; its go-retryablehttp lines carry them in full.
    _Rule(
        "api_key parameter",
        ("key=", "key%3d"),
        r"((?:api[_-]?key|apikey|sts[_-]api[_-]key)(?:=|%3d))" + _MASKED + r"[^&\s\"'<>]+",
        r"\1" + MARK,
    ),
    _Rule(
        "authorization header",
        ("authorization",),
        r"((?:authorization|proxy-authorization)[\"']?\s*[:=]\s*[\"']?\[?"
        r"(?:basic|bearer|apikey|api-key|token|apitoken|digest|negotiate)\s+)[a-zA-Z0-9+/=._~-]+",
        r"\1" + MARK,
    ),
    _Rule("basic credentials", ("basic",), rf"(\bbasic[ \t]+)({_B64}{{4,}})={{0,2}}(?![A-Za-z0-9+/=])", _basic),
    _Rule("bearer token", ("bearer",), r"(\bbearer\s+)[A-Za-z0-9+/=._~-]{8,}", r"\1" + MARK),
    # Elasticsearch API keys: "ApiKey <base64 of id:api_key>".
    _Rule("apikey credentials", ("apikey",), r"(\bapikey[ \t]+)[A-Za-z0-9+/=_-]{16,}", r"\1" + MARK),
    _Rule(
        "api key header",
        ("api-key", "api-token", "auth-token"),
        r"((?:x-mirror-api-key|x-api-key|x-api-token|x-auth-token|sts-api-key|x-sts-api-key|"
        r"x-sts-api-token|api-key)[\"']?\s*[:=]\s*[\"']?\[?)" + _NOT_A_VALUE + r"[^\s\"',;\]]+",
        r"\1" + MARK,
    ),
    # --password X, --api-key=X, --token "X"; not --api-key-env or --password-stdin.
    _Rule(
        "command-line secret flag",
        _SECRET_WORDS,
        r"((?<![\w-])--?[a-z0-9_-]*" + _SECRET_KEY + r"(?:[ \t]+|=))"
        r"(?!-)" + _NOT_A_VALUE + r"(?:\"([^\"\n]*)\"|'([^'\n]*)'|[^\s\"']+)",
        _field,
    ),
    # -p SECRET (not a port: -p 22, -p 8080:80/tcp), mysql -pSECRET, and the password
    # half of curl's -u/--user user:password.
    _Rule(
        "command-line password flag",
        ("-p", "-u", "--user"),
        r"((?<![\w-])-p[ \t]+)(?!-)(?![\d.:\[\]]+(?:/[a-z]+)?(?:\s|$))" + _NOT_A_VALUE + r"[^\s\"']+"
        r"|(\bmysql\w*\b[^\n]*?(?<![\w-])-p)(?=[^\s-])" + _NOT_A_VALUE + r"[^\s\"']+"
        r"|((?:(?<![\w-])-u|--user)(?:[ \t]+|=)[^\s:\"']+:)" + _NOT_A_VALUE + r"[^\s\"']+",
        _keep_group,
    ),
    # JSON "password": "x", YAML api_key: x, INI aws_secret_access_key = x, env TOKEN=x.
    _Rule(
        "secret field",
        _SECRET_WORDS,
        r"(" + _SECRET_KEY + r"[\"']?[ \t]*[:=][ \t]*)" + _NOT_A_VALUE
        + r"(?:\"((?:[^\"\\\n]|\\.)*)\"|'([^'\n]*)'|[^\s\"',;&})\]]+)",
        _field,
    ),
    _Rule("url credentials", ("://",), r"(\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)(?!<redacted>@)[^\s/@]+(?=@)", r"\1" + MARK),
    # StackState service tokens (StackVista/stackstate-docs configure/security/authentication/
    # service_tokens.md: "svctok-aaaaa-bbbb-ccccc-ddddd").
    _Rule("StackState service token", ("svctok",), r"()\bsvctok-[a-zA-Z0-9_-]{8,}", r"\1" + MARK, ignore_case=False),
]


# --- configured secrets in every encoding --------------------------------------------------


def secret_forms(secret: str) -> set[str]:
    """``secret`` as stsdebug and the systems around it write it: as it is, JSON-escaped
    (ASCII and not), HTML-escaped, URL-encoded (upper and lower case hex, + for space)
    and base64 (standard and URL-safe, with and without padding)."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret, quote=True),
        html.escape(secret, quote=False),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), f) for f in set(forms) if "%" in f}
    raw = secret.encode("utf-8")
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(raw).decode("ascii")
        forms |= {full, full.rstrip("=")}
    return {f for f in forms if len(f) >= MIN_SECRET}


def _b64_cores(raw: bytes) -> set[str]:
    """The base64 characters fixed by ``raw`` alone, wherever it sits in a longer string.

    Base64 turns 3 bytes into 4 characters, so the same secret encodes differently
    after a prefix of 0, 1 or 2 bytes (``user:`` in Basic credentials); in each case
    the characters whose 6 bits all come from the secret are known in advance.
    """
    cores: set[str] = set()
    for k in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * k + raw).decode("ascii")
        core = encoded[-(-8 * k // 6) : 8 * (k + len(raw)) // 6]
        if len(core) >= 4:
            cores |= {core, core.translate(_URLSAFE)}
    return cores


_URLSAFE = str.maketrans("+/", "-_")
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{6,}={0,2}")
_SURE_CORE = 8  # a core this long (48 bits of the secret) does not occur by chance


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= MIN_SECRET}
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({f for s in values for f in secret_forms(s)}, key=len, reverse=True)
        self._raw = [s.encode("utf-8") for s in values]
        self._cores = sorted({c for r in self._raw for c in _b64_cores(r)}, key=len, reverse=True)
        self.counts: Counter[tuple[str, str]] = Counter()

    def text(self, value: str, where: str = "") -> str:
        out = value
        for secret in self._secrets:
            if secret in out:
                self.counts[("configured secret", where)] += out.count(secret)
                out = out.replace(secret, MARK)
        if self._cores and any(c in out for c in self._cores):
            before = out.count(MARK)
            out = _B64_TOKEN.sub(self._b64_token, out)
            if out.count(MARK) > before:
                self.counts[("configured secret (base64)", where)] += out.count(MARK) - before
        low = out.lower()
        for rule in _RULES:
            if not rule.may_match(low):
                continue
            new = rule.pattern.sub(rule.repl, out)
            if new != out:
                self.counts[(rule.name, where)] += max(1, new.count(MARK) - out.count(MARK))
                out = new
                low = out.lower()
        return out

    def _b64_token(self, m: re.Match[str]) -> str:
        token = m.group()
        core = next((c for c in self._cores if c in token), None)
        if core is None:
            return token
        if len(core) >= _SURE_CORE or self._decodes_to_secret(token):
            return MARK
        return token

    def _decodes_to_secret(self, token: str) -> bool:
        body = token.rstrip("=")
        for alphabet in (None, b"-_"):
            if len(body) % 4 == 1:
                body = body[:-1]
            try:
                decoded = base64.b64decode(body + "=" * (-len(body) % 4), altchars=alphabet, validate=True)
            except (binascii.Error, ValueError):
                continue
            if any(r in decoded for r in self._raw):
                return True
        return False

    def walk(self, obj: Any, where: str = "") -> Any:
        if isinstance(obj, str):
            return self.text(obj, where)
        if isinstance(obj, dict):
            return {(self.text(k, where) if isinstance(k, str) else k): self.walk(v, where) for k, v in obj.items()}
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


def redact_trace(trace: TraceResult, secrets: Iterable[str] = (), where: str = "report") -> TraceResult:
    """A loaded trace redacted again (a hand-edited trace may hold anything): every string,
    with the new redactions added to its manifest under ``where``."""
    from stsdebug.model import TraceResult

    redactor = Redactor(secrets)
    data = trace.to_dict()
    manifest = data.pop("redactions", [])
    clean = TraceResult.from_dict(redactor.walk(data, where))
    clean.redactions = list(manifest) + redactor.manifest()
    return clean
