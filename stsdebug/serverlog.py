"""The StackState server log, read for the pull plugins' errors. Pure: lines in, findings out.

The server logs through logback like the receiver (5.1 chart ``configmap-server-log.yaml``:
``%date %-5level %logger{60} - %msg%n``, root level WARN; the Linux package adds
``[%thread]``), so entries are grouped with the receiver log's header parser: a header line
and the exception lines after it.

What a plugin writes is not public (the logger names and the plugins' own sentences are
inferred); the exception texts inside are the SDKs' own (AWS SDK for Java
``... (Service: AmazonCloudWatch; Status Code: 403; Error Code: ExpiredToken; ...)``, Azure
Resource Manager ``429 TooManyRequests``, Splunk's ``401``/``call not properly authenticated``).
So every pattern names where it comes from, ``PATTERNS`` can be extended with the
``server_log_pattern`` setting (``CAUSE:REGEX``), and a verdict that rests on an inferred
pattern says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timezone, tzinfo

from stsdebug.errors import UsageError
from stsdebug.receiverlog import HEADER_START, Clock, Header, parse_header

CAUSES = {
    "credentials": "credentials refused or expired",
    "unreachable": "the external source cannot be reached",
    "throttled": "requests throttled by the external source",
    "error": "other errors",
}
MAX_SAMPLES = 3


@dataclass(frozen=True)
class Pattern:
    id: str
    cause: str  # a key of CAUSES
    regex: re.Pattern[str]
    source: str  # where the wording comes from
    inferred: bool = False


def _p(pid: str, cause: str, regex: str, source: str, inferred: bool = False) -> Pattern:
    return Pattern(pid, cause, re.compile(regex, re.I), source, inferred)


_AWS_SDK = "AWS SDK for Java error codes (aws/aws-sdk-java AmazonServiceException)"
_AZURE = "Azure Resource Manager and Azure AD error codes (Microsoft docs)"
_JAVA = "Java exception class names (java.net, javax.net.ssl)"

# First match wins, so the precise causes come before the catch-alls.
PATTERNS: tuple[Pattern, ...] = (
    _p("aws-expired-token", "credentials", r"ExpiredToken|security token included in the request is expired",
       _AWS_SDK),
    _p("aws-invalid-token", "credentials",
       r"InvalidClientTokenId|UnrecognizedClientException|security token included in the request is invalid"
       r"|SignatureDoesNotMatch|IncompleteSignature", _AWS_SDK),
    _p("aws-access-denied", "credentials", r"AccessDenied(?:Exception)?\b|not authorized to perform", _AWS_SDK),
    _p("azure-auth", "credentials",
       r"AADSTS\d+|InvalidAuthenticationToken|AuthenticationFailed|AuthorizationFailed|invalid_client", _AZURE),
    _p("http-401", "credentials", r"\b401\b[^0-9]{0,40}Unauthorized|Unauthorized\b[^0-9]{0,20}\b401\b"
       r"|call not properly authenticated|\bHTTP 401\b", "HTTP status 401 (RFC 9110); Splunk REST API wording"),
    _p("aws-throttling", "throttled", r"ThrottlingException|\bThrottling\b|Rate exceeded|RequestLimitExceeded",
       _AWS_SDK),
    _p("http-429", "throttled", r"TooManyRequests|\b429\b[^0-9]{0,40}(?:Too Many|throttl)|Status code 429|"
       r"\bHTTP 429\b|was throttled", f"{_AZURE}; HTTP status 429 (RFC 6585)"),
    _p("unreachable", "unreachable",
       r"UnknownHostException|ConnectException|Connection refused|NoRouteToHostException|"
       r"SocketTimeoutException|connect timed out|Read timed out|Unable to execute HTTP request|"
       r"SSLHandshakeException|PKIX path building failed", _JAVA),
)


def extra_patterns(specs: Iterable[str]) -> list[Pattern]:
    """``server_log_pattern`` entries (``CAUSE:REGEX``) as patterns; UsageError for a bad one."""
    out = []
    for n, spec in enumerate(specs, start=1):
        cause, sep, regex = spec.partition(":")
        cause = cause.strip().lower()
        if not sep or cause not in CAUSES or not regex.strip():
            raise UsageError(
                f"server_log_pattern {spec!r}: expected CAUSE:REGEX with CAUSE one of {', '.join(CAUSES)}"
            )
        try:
            compiled = re.compile(regex.strip(), re.I)
        except re.error as exc:
            raise UsageError(f"server_log_pattern {spec!r}: not a regular expression ({exc})") from None
        out.append(Pattern(f"setting-{n}", cause, compiled, "the server_log_pattern setting"))
    return out


@dataclass
class Entry:
    ts: float | None
    level: str
    logger: str
    lines: list[str]  # the header's message, then the lines after it (stack traces)
    where: str  # "<input> line N"
    layout: str = ""  # "kubernetes" | "linux" | "" (no header)


@dataclass
class Finding:
    """One cause seen for one integration's plugin."""

    cause: str
    count: int = 0
    first: float | None = None
    last: float | None = None
    patterns: set[str] = field(default_factory=set)
    inferred: bool = False
    samples: list[Entry] = field(default_factory=list)

    def see(self, e: Entry, p: Pattern | None) -> None:
        self.count += 1
        if e.ts is not None:
            self.first = e.ts if self.first is None else min(self.first, e.ts)
            self.last = e.ts if self.last is None else max(self.last, e.ts)
        if p is not None:
            self.patterns.add(p.id)
            self.inferred = self.inferred or p.inferred
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(e)


@dataclass
class Reading:
    """What the server log shows for one integration in the window."""

    entries: int = 0  # entries (header lines) read in all
    in_window: int = 0
    plugin_entries: int = 0  # of those in the window, the integration's plugin's (WARN/ERROR)
    first: float | None = None
    last: float | None = None
    layout: str = ""  # "kubernetes" | "linux" | "" (no header found)
    findings: dict[str, Finding] = field(default_factory=dict)
    unreadable: bool = False  # lines, but none with a logback header


def group(lines: Iterable[tuple[str, int, str]], tz: tzinfo | None, auto_utc: bool) -> Iterable[Entry]:
    """(input, line number, text) into entries. Zone-less times are read in ``tz``; with
    ``auto_utc`` the Kubernetes layout (no thread) is read as UTC, as its pods log."""
    clock_local, clock_utc = Clock(tz), Clock(timezone.utc)
    current: Entry | None = None
    for name, n, text in lines:
        raw = text.encode("utf-8", "replace")
        head: Header | None = None
        if HEADER_START.match(raw):
            head = parse_header(raw, clock_local)
            if head is not None and auto_utc and head.thread is None and not head.zoned:
                head = parse_header(raw, clock_utc)
        if head is not None:
            if current is not None:
                yield current
            layout = "linux" if head.thread is not None else "kubernetes"
            current = Entry(head.ts, head.level, head.logger, [head.message], f"{name} line {n}", layout)
        elif current is not None and len(current.lines) < 40:
            current.lines.append(text)
        elif current is None:
            yield Entry(None, "", "", [text], f"{name} line {n}")
    if current is not None:
        yield current


def read(
    entries: Iterable[Entry],
    window: tuple[float, float],
    loggers: Sequence[str],
    patterns: Sequence[Pattern] = PATTERNS,
) -> Reading:
    """The findings for the plugin whose logger names contain one of ``loggers``."""
    r = Reading()
    start, end = window
    tied = [x.lower() for x in loggers]
    for e in entries:
        if not e.level:  # a line before the first header
            r.unreadable = r.unreadable or not r.entries
            continue
        r.entries += 1
        r.unreadable = False
        r.layout = r.layout or e.layout
        if e.ts is not None:
            r.first = e.ts if r.first is None else min(r.first, e.ts)
            r.last = e.ts if r.last is None else max(r.last, e.ts)
            if not start <= e.ts <= end:
                continue
        r.in_window += 1
        if e.level not in ("WARN", "ERROR") or not _ours(e, tied):
            continue
        r.plugin_entries += 1
        text = "\n".join(e.lines)
        hit = next((p for p in patterns if p.regex.search(text)), None)
        cause = hit.cause if hit is not None else ("error" if e.level == "ERROR" else "")
        if not cause:
            continue
        r.findings.setdefault(cause, Finding(cause)).see(e, hit)
    return r


def _ours(e: Entry, tied: Sequence[str]) -> bool:
    """Is this entry the plugin's? By its logger name (inferred: the plugins' logger names are not
    public), or by the SDK named in its first lines."""
    where = (e.logger + " " + " ".join(e.lines[:2])).lower()
    return any(t in where for t in tied)
