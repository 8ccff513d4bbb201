"""What stsdebug recognises in the StackState Agent's output: finding kinds and patterns. Pure.

One list per concern, in the order they are tried, so that a new agent message is a
one-line addition (docs/stages/agent.md lists them).
"""

from __future__ import annotations

import json
import re

# --- finding kinds -----------------------------------------------------------------

API_KEY = "api_key_invalid"  # 403: "API Key invalid, dropping transaction for ..."
REJECTED = "rejected"  # 400/404/413: "Error code ... received while sending transaction to ..."
HTTP_ERROR = "http_error"  # other >= 400: "error "503 ..." while sending transaction to ..."
REFUSED = "refused"
DNS = "dns"
TLS = "tls"
TIMEOUT = "timeout"
NETWORK = "network"  # no route to host, connection reset, EOF
PROXY = "proxy"  # Go's "proxyconnect tcp: ...", or the proxy's 407: the agent's proxy fails
DROPPED = "dropped"  # "Dropped N transactions in this retry attempt: ..." (retry queue full)
BLOCKED = "endpoint_blocked"  # "Too many errors for endpoint '...': retrying later"
SEND_ERROR = "send_error"  # a transaction error with no recognised cause
SCHEME = "no_scheme"  # `unsupported protocol scheme ""`: sts_url without https://
BATCHER = "batcher_error"  # "error in SendJSONToV1Intake: ..."
SUCCESS = "success"  # "Successfully posted payload to ..."
CHECK_ERROR = "check_error"
TRACEBACK = "traceback"
ZERO_SAMPLES = "zero_samples"
SERVICE_CHECK = "service_check"  # a service check with status 1, 2 or 3
BAD_NAME = "metric_name"  # a metric name the receiver refuses
BAD_TYPE = "metric_type"  # a metric type the receiver refuses
CHECK_RAN = "check_ran"
STATUS_POSTED = "status_posted"  # `status`: Forwarder transactions succeeded
STATUS_ERRORS = "status_errors"  # `status`: Forwarder transaction errors
API_KEY_UNCHECKED = "api_key_unchecked"  # `status`: "Unable to validate API Key" (not an invalid key)
CLOCK_OFF = "clock_off"  # `status`: Clocks, "NTP offset is high" (pkg/status/templates/header.tmpl)

DELIVERY_KINDS: tuple[str, ...] = (
    API_KEY,
    SCHEME,
    REJECTED,
    HTTP_ERROR,
    REFUSED,
    DNS,
    TLS,
    TIMEOUT,
    PROXY,
    NETWORK,
    BLOCKED,
    SEND_ERROR,
    BATCHER,
)
CONNECTIVITY_KINDS: tuple[str, ...] = (
    SCHEME, REFUSED, DNS, TLS, TIMEOUT, PROXY, NETWORK, BLOCKED, SEND_ERROR, BATCHER, HTTP_ERROR)

SERVICE_CHECK_STATUS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


# --- forwarder messages (pkg/forwarder/transaction.go, worker.go; pkg/batcher) ----------

_API_KEY_RE = re.compile(r"API Key invalid, dropping transaction for (?P<url>\S+)")
_REJECTED_RE = re.compile(
    r'Error code "(?P<status>\d{3}[^"]*)" received while sending transaction to '
    r'"(?P<url>[^"]*)": (?P<body>.*?)(?:, dropping it)?\s*$'
)
_HTTP_ERROR_RE = re.compile(
    r'error "(?P<status>\d{3}[^"]*)" while sending transaction to "(?P<url>[^"]*)"'
)
_BLOCKED_RE = re.compile(r"Too many errors for endpoint '(?P<url>[^']*)': retrying later")
_SUCCESS_RE = re.compile(r'Successfully posted payload to "(?P<url>[^"]*)"')
_BATCHER_RE = re.compile(r"error in SendJSONToV1Intake: (?P<detail>.*)")
# pkg/forwarder (domain_forwarder.go retryTransactions; forwarder.go before 2.x): transactions lost.
_DROPPED_RE = re.compile(
    r"Dropped (?P<n>\d+) transactions in this retry attempt: (?P<full>\d+) for exceeding the retry "
    r"queue size limit of (?P<limit>\d+), (?P<busy>\d+) because the workers are too busy"
)
# `status`, Clocks block (StackVista/stackstate-agent 2.19.1 pkg/status/templates/header.tmpl):
# "NTP offset: 2h1m4s", and when it is high "NTP offset is high. Datadog may ignore metrics sent
# by this Agent."
_NTP_OFFSET_RE = re.compile(r"^\s*NTP offset: (?P<offset>-?[0-9hmsµun.]+)\s*$")
_NTP_HIGH_RE = re.compile(r"NTP offset is high")
# The transactional forwarder (agent 2.18+; StackVista/stackstate-agent 2.19.1
# pkg/collector/transactional/transactionforwarder/forwarder.go). Its failure line quotes the
# whole payload, then go-retryablehttp's error: "POST <url> giving up after N attempt(s): <cause>".
_TX_SENT_RE = re.compile(r"Sent transactional payload, size: (?P<size>\d+) bytes")
_TX_FAILED_RE = re.compile(r"Sending transactional payload failed, content: ")
_GIVING_UP_RE = re.compile(r"(?P<url>\S+) giving up after (?P<n>\d+) attempt\(s\): (?P<cause>.*)$")
# go-retryablehttp's own logger (stderr, Go's log format, the API key in the URL unmasked):
# "2024/05/14 10:00:00 [ERR] POST https://...?api_key=... request failed: <cause>",
# "[DEBUG] POST https://... (status: 503): retrying in 1s (2 left)".
_RETRYABLE_RE = re.compile(
    r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?P<lvl>\[(?:ERR|ERROR|WARN|DEBUG|INFO)\]) (?P<msg>.*)$"
)
_RETRYABLE_FAILED_RE = re.compile(r"^(?:POST|GET|PUT) (?P<url>\S+) request failed: (?P<cause>.*)$")
_RETRYABLE_STATUS_RE = re.compile(r"^(?:POST|GET|PUT) (?P<url>\S+) \(status: (?P<status>\d{3})\): retrying")
# StackState's own Python checks (stackstate_checks_base) log "(file.py:N) | msg" without a check id.
_PY_FILE_RE = re.compile(r"^\((?P<file>[A-Za-z0-9_.-]+?)\.py:\d+\) \| ")
_SEND_ERROR_RE = re.compile(r"Error while processing transaction: (?P<detail>.*)")
# A message that speaks for the forwarder even when its location is not shown.
_FORWARDER_CONTEXT_RE = re.compile(
    r"transaction|Too many errors for endpoint|TLS Handshake failure|DNS Lookup failure|"
    r"Connection failure|SendJSONToV1Intake|Successfully posted payload|protocol scheme"
)

# Why a transaction failed, in priority order (Go net/http and crypto/tls wording).
CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (SCHEME, re.compile(r'unsupported protocol scheme "[^"]*"')),
    # Before the others: "proxyconnect tcp: dial tcp 10.1.1.1:3128: connect: connection refused"
    # is the proxy refusing, not the receiver. A proxy that refuses CONNECT surfaces as its
    # status text alone (net/http transport.go), e.g. "Proxy Authentication Required".
    (PROXY, re.compile(r'proxyconnect tcp: [^"\n]*?(?=, dropping|"|$)|Proxy Authentication Required')),
    (TIMEOUT, re.compile(r"TLS handshake timeout")),
    (DNS, re.compile(
        r"DNS Lookup failure: .*|lookup [^\s:]+(?: on [^\s]+)?: (?:no such host|server misbehaving|"
        r"Temporary failure in name resolution|i/o timeout|no such host)|no such host"
    )),
    (TLS, re.compile(
        r"TLS Handshake failure: .*|x509: [^\"]+|tls: [a-z][\w .'-]*|"
        r"certificate (?:signed by unknown authority|has expired|is not valid)"
    )),
    (REFUSED, re.compile(r"connect(?:ion)? refused|No connection could be made")),
    (TIMEOUT, re.compile(
        r"context deadline exceeded(?: \(Client\.Timeout exceeded[^)]*\))?|"
        r"Client\.Timeout exceeded[^)]*|i/o timeout|timeout awaiting response headers"
    )),
    (NETWORK, re.compile(
        r"no route to host|network is unreachable|connection reset by peer|broken pipe|\bEOF\b"
    )),
)

# Words each of CAUSES cannot match without (a cause's every alternative holds one of its
# words): a substring test (tens of nanoseconds) spares the regex search of a cause a
# message does not name, and a transaction error names one.
_CAUSE_WORDS: tuple[tuple[str, ...], ...] = (
    ('unsupported protocol scheme "',),
    ("proxyconnect tcp: ", "Proxy Authentication Required"),
    ("TLS handshake timeout",),
    ("DNS Lookup failure: ", "lookup ", "no such host"),
    ("TLS Handshake failure: ", "x509: ", "tls: ", "certificate "),
    ("refused", "No connection could be made"),
    ("context deadline exceeded", "Client.Timeout exceeded", "i/o timeout", "timeout awaiting response headers"),
    ("no route to host", "network is unreachable", "connection reset by peer", "broken pipe", "EOF"),
)
_GUARDED_CAUSES = tuple(
    (kind, pattern, words) for (kind, pattern), words in zip(CAUSES, _CAUSE_WORDS, strict=True))


def first_cause(text: str) -> tuple[str, re.Match[str]] | None:
    """The first of CAUSES (priority order) that ``text`` names, and its match."""
    for kind, pattern, words in _GUARDED_CAUSES:
        for word in words:
            if word in text:
                c = pattern.search(text)
                if c:
                    return kind, c
                break
    return None


# --- check messages (pkg/collector/worker, runner; check command and status output) -----

_CHECK_ERROR_RE = re.compile(r"Error running check(?: (?P<name>[A-Za-z0-9_.:-]+))?: (?P<msg>.*)")
_RUNNING_RE = re.compile(
    r"(?P<done>Done r|R)unning check(?:\.\.\.|,| '?(?P<name>[A-Za-z0-9_.-]+)'?)?"
)
_TRIGGER_RE = re.compile(
    r"transaction|Too many errors|TLS Handshake|DNS Lookup|Connection failure|Successfully posted|"
    r"SendJSONToV1Intake|unning check|API Key|protocol scheme"
)
# _TRIGGER_RE's alternatives are plain words: substring tests find one several times faster
# than the regex, which tries the alternation at every offset of the message.
_TRIGGER_WORDS: tuple[str, ...] = tuple(_TRIGGER_RE.pattern.split("|"))


def has_trigger(msg: str) -> bool:
    """Whether ``msg`` holds one of the trigger words (``_TRIGGER_RE.search(msg)``)."""
    for word in _TRIGGER_WORDS:  # noqa: SIM110 - a loop: any() over a generator is twice as slow
        if word in msg:
            return True
    return False


_SECTION_RE = re.compile(r"^=== (?P<name>[A-Za-z][A-Za-z ]*?) ===$")
_TITLE_RE = re.compile(r"^[A-Za-z][\w .()/'-]*$")
_INSTANCE_RE = re.compile(
    r"Instance ID: (?P<id>(?P<name>[A-Za-z0-9_.-]+)(?::\S.*?)?) \[(?P<state>[A-Z]+)\]"
)
_SAMPLES_RE = re.compile(r"Metric Samples: Last Run: (?P<last>[\d,]+), Total: (?P<total>[\d,]+)")
_ERROR_LINE_RE = re.compile(r"^\s*Error: (?P<msg>\S.*)$")
_COUNT_RE = re.compile(r"^\s*(?P<key>[A-Za-z][\w ]*?|\d{3}): (?P<value>[\d,]+)\s*$")
_API_KEY_STATUS_RE = re.compile(
    r"API key ending with (?P<end>\S+): (?P<state>API Key (?P<word>\w+).*|Unable to validate API Key.*)$"
)
_JSON_KEY_RE = re.compile(
    r'"(?P<key>metric|type|host|check|status|message|msg_title|CheckName|MetricSamples|LastError)"'
    r'\s*:\s*(?P<value>"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|null|true|false)'
)
JSON_SECTIONS = frozenset({"series", "service checks", "events", "json"})
_COLLECTOR_BLOCKS = frozenset(
    {"collector", "running checks", "check initialization errors", "loading errors",
     "config errors", "python checks loading errors"}
)
_ERROR_BLOCKS = frozenset(
    {"check initialization errors", "loading errors", "config errors", "python checks loading errors"}
)
_FORWARDER_BLOCKS = frozenset(
    {"forwarder", "transactions", "transaction successes", "transaction errors", "api keys status"}
)
_ERROR_TYPE_KEYS = frozenset(
    {"DNSErrors", "TLSErrors", "ConnectionErrors", "SentRequestErrors", "WroteRequestErrors"}
)



# --- small pure helpers ------------------------------------------------------------------


def _int(text: str) -> int:
    try:
        return int(text.replace(",", ""))
    except ValueError:
        return 0


def _first_line(text: str) -> str:
    text = text.replace("\\n", "\n")
    return text.strip().split("\n", 1)[0][:300]


_URL_RE = re.compile(r'(?:Post|Get|sending transaction to) "?(?P<url>[a-z]+://[^"\s]+)')


def _url_of(msg: str) -> str:
    m = _URL_RE.search(msg)
    return m.group("url") if m else ""


def _json_value(raw: str) -> object:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        return None


def _error_of_json(value: str) -> str:
    """The message of a LastError string, which may itself be JSON [{message, traceback}]."""
    if value.lstrip()[:1] != "[":  # only a JSON list is read otherwise: spare the failed parse
        return _first_line(value)
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        return _first_line(value)
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return _first_line(str(data[0].get("message", "")))
    return _first_line(value)

