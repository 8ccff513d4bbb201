"""What the agent stage's judges share: findings as issues, the inputs read, the judge's
state, and the wording of evidence, sentences and hints."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from stsdebug.logs.agent_patterns import (
    API_KEY,
    BATCHER,
    BLOCKED,
    DELIVERY_KINDS,
    DNS,
    HTTP_ERROR,
    NETWORK,
    PROXY,
    REFUSED,
    REJECTED,
    SCHEME,
    SEND_ERROR,
    SUCCESS,
    TIMEOUT,
    TLS,
)
from stsdebug.logs.agent_result import (
    Finding,
    Hit,
    ScanResult,
)
from stsdebug.model import (
    Evidence,
    Figures,
    Hint,
    LogLine,
    LogSample,
    Status,
)
from stsdebug.stages.base import Context

RUNBOOK_LOG = "StackState Agent: check the Agent log for problems connecting to StackState"
RUNBOOK_CHECK = "StackState Agent: run `stackstate-agent check <check_name> -l debug`"
RUNBOOK_K8S = "StackState Agent: Kubernetes and OpenShift agent types"
RUNBOOK_RECEIVER = "StackState receiver: check the receiver logs for JSON deserialization errors"

# The StackState Cluster Agent's own checks (pkg/collector/corechecks/cluster/kubeapi):
# part of the Kubernetes and OpenShift integrations although the catalog lists node checks.
_CLUSTER_AGENT_CHECKS = frozenset({"kubernetes_api_topology", "kubernetes_api_events", "kubernetes_api_metrics"})
CACHE_METRIC_NAMES = "agent.metric_names"  # ctx.cache: names the agent emits, for later stages
_CANCEL_EVERY = 5000  # lines between looks at ctx.cancel
_TABLE_ROWS = 25

_KIND_TITLES = {
    API_KEY: "API key refused (403)",
    SCHEME: "sts_url without a scheme",
    REJECTED: "Payloads rejected by the receiver",
    HTTP_ERROR: "Receiver answers with an HTTP error",
    REFUSED: "Connection refused",
    DNS: "DNS lookup failure",
    TLS: "TLS handshake failure",
    TIMEOUT: "Timeouts",
    PROXY: "Proxy errors",
    NETWORK: "Network errors",
    BLOCKED: "Forwarder gave up on an endpoint",
    SEND_ERROR: "Transaction errors",
    BATCHER: "Batcher errors",
}


@dataclass
class _Issue:
    status: Status  # FAIL or WARN
    sentence: str
    evidence: list[Evidence] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    rank: int = 50  # among issues of one status, the lowest rank leads the summary


# Ranks: what stops the data earliest in the pipeline leads.
_RANK_INPUT, _RANK_DELIVERY, _RANK_NOT_RUN, _RANK_CHECK, _RANK_ZERO = 5, 10, 15, 20, 25
_RANK_NAMES, _RANK_TYPES, _RANK_MATCH, _RANK_SC, _RANK_COVERAGE = 40, 45, 50, 60, 90


@dataclass
class _Read:
    label: str
    kind: str  # output | log | cmd
    windowed: bool
    scan: ScanResult | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    rotated: bool = False  # an older file of a directory of rotated agent logs



class JudgeState:
    """The state of one judgement; the delivery and collection judges add to it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.integration = ctx.integration
        self.issues: list[_Issue] = []
        self.evidence: list[Evidence] = []
        self.hints: list[Hint] = []
        self.errors: list[str] = []
        self.collected: list[str] = []  # what shows the data being collected
        self.posted: list[str] = []  # what shows it being posted
        self.delivery_trouble = False
        self.names: dict[str, int] = {}
        self.checks_seen: dict[str, str] = {}  # check -> "label line n"
        self.components: set[str] = set()
        self.log_read = False  # a log with lines in the window
        self.outputs_read = False  # check or status output

    # -- relevance ---------------------------------------------------------------------

    def relevant(self, name: str | None) -> bool:
        """Does a check (or service check) name belong to the integration under diagnosis?"""
        checks = self.integration.checks
        prefixes = self.ctx.matcher.prefixes
        if not name or (not checks and not prefixes):
            return True
        if name in checks or any(name.startswith(c + ".") for c in checks):
            return True
        if self.integration.agent_types and name in _CLUSTER_AGENT_CHECKS:
            return True
        return bool(prefixes) and self.ctx.matcher.name_matches(name)


# --- evidence helpers --------------------------------------------------------------------


def _overview(read: _Read, scan: ScanResult, ctx: Context) -> Figures:
    fig = Figures(f"{read.label} ({_SHAPES.get(scan.shape, scan.shape)})")
    fig.add("lines read", scan.lines)
    if read.windowed:
        fig.add(f"lines in the last {ctx.window.spec}", scan.lines_in_window)
        if scan.lines_before_window:
            fig.add("lines before the window", scan.lines_before_window)
        if scan.lines_after_window:
            fig.add("lines after the window end", scan.lines_after_window)
    if scan.log_lines:
        fig.add("agent log lines", scan.log_lines)
    if scan.newest_ts:
        fig.add("newest timestamp", _when(scan.newest_ts))
    ok = scan.count(SUCCESS)
    if ok or scan.shape == "log":
        fig.add("successful posts logged", ok)
    failed = sum(scan.count(k) for k in DELIVERY_KINDS)
    if failed or scan.shape == "log":
        fig.add("forwarder error lines", failed)
    for key in ("Success", "Errors", "Dropped"):
        if key in scan.forwarder_counts:
            fig.add(f"forwarder {key.lower()} (since start)", scan.forwarder_counts[key])
    if scan.series_sections or scan.series_entries:
        fig.add("metric series", scan.series_entries)
        fig.add("distinct metric names", len(scan.metric_names))
    if scan.raw_points:
        fig.add("raw metrics (Topology section)", scan.raw_points)
        fig.add("raw metric names", ", ".join(n for n, _ in scan.raw_metrics.most_common(8))
                + (" …" if len(scan.raw_metrics) > 8 else ""))
    if scan.service_checks:
        fig.add("service checks", scan.service_checks)
    if scan.events:
        fig.add("events", scan.events)
    return fig


_SHAPES = {
    "log": "agent log",
    "check": "check output",
    "status": "status output",
    "text": "text without agent log lines",
    "empty": "empty",
}


def _lines_of(hits: Iterable[Hit]) -> list[LogLine]:
    out: list[LogLine] = []
    for h in hits:
        for c in h.context:
            out.append(LogLine(c.n, c.text, c.span))
        out.append(LogLine(h.n, h.text, h.span))
    return out


def _sample(title: str, label: str, finding: Finding) -> LogSample:
    return LogSample(title, label, _lines_of(finding.samples.shown()), total_matches=finding.total)


def _sample_hits(title: str, label: str, hits: list[Hit], total: int) -> LogSample:
    return LogSample(title, label, _lines_of(hits), total_matches=max(total, len(hits)))


def _filtered(finding: Finding | None, keep: Any) -> list[Hit]:
    if finding is None:
        return []
    return [h for h in finding.samples.shown() if keep(h)]


def _count_of(finding: Finding | None, keep: Any) -> int:
    """How many hits of a finding belong to the integration (all of them when it cannot tell)."""
    if finding is None:
        return 0
    shown = finding.samples.shown()
    kept = [h for h in shown if keep(h)]
    if len(kept) == len(shown):
        return finding.total
    return len(kept)


def _where(label: str, finding: Finding) -> str:
    first = finding.samples.first[0].n if finding.samples.first else None
    last = finding.samples.latest.n if finding.samples.latest else first
    if first is None:
        return label
    if first == last:
        return f"{label} line {first}"
    return f"{label} lines {first}–{last}"


def _top_detail(finding: Finding) -> str:
    common = finding.details.most_common(1)
    return common[0][0] if common else ""


def _top_url(finding: Finding) -> str:
    for detail, _ in finding.details.most_common():
        if "://" in detail:
            return detail
    return ""


def _endpoint(url: str) -> str:
    """A URL without its query string (API keys live there) or credentials."""
    if not url:
        return "the receiver"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the receiver"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if host else "the receiver"


def _host(url_or_phrase: str) -> str:
    if "://" not in url_or_phrase:
        return url_or_phrase
    try:
        parts = urlsplit(url_or_phrase)
        return (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return url_or_phrase


def _connectivity_sentence(kind: str, count: int, where: str, endpoint: str, detail: str) -> str:
    n = f"{count} line{_s(count)}"
    host = _host(endpoint)
    if kind == SCHEME:
        return (f"the agent's sts_url has no scheme (Go: unsupported protocol scheme \"\"), so it "
                f"cannot post anything ({n}, {where})")
    if kind == REFUSED:
        return f"the agent cannot connect to the receiver at {host}: connection refused ({n}, {where})"
    if kind == DNS:
        return f"the agent cannot resolve the receiver host {host} ({n}, {where})"
    if kind == TLS:
        return f"the TLS handshake with the receiver at {host} fails ({n}, {where})"
    if kind == TIMEOUT:
        return f"requests from the agent to the receiver at {host} time out ({n}, {where})"
    if kind == PROXY:
        return f"{proxy_problem(detail)}, so nothing reaches the receiver at {host} ({n}, {where})"
    if kind == NETWORK:
        return f"the network connection from the agent to the receiver at {host} fails ({n}, {where})"
    if kind == HTTP_ERROR:
        return f"the receiver answers {detail or 'an HTTP error'} and the agent keeps retrying ({n}, {where})"
    if kind == BLOCKED:
        return f"the agent's forwarder gave up on {endpoint} after repeated errors ({n}, {where})"
    if kind == BATCHER:
        return f"the agent cannot hand its batch to the forwarder: {_clip(detail, 160)} ({n}, {where})"
    return f"sending from the agent to the receiver fails: {_clip(detail, 160)} ({n}, {where})"


def proxy_problem(cause: str) -> str:
    """What Go's proxy error says, as a clause: "the agent cannot reach its proxy at
    10.1.1.1:3128: connection refused"."""
    if "Proxy Authentication Required" in cause:
        return "the agent's proxy asks for credentials (407 Proxy Authentication Required)"
    lookup = re.search(r"lookup ([^\s:]+)", cause)
    if lookup:
        return f"the agent cannot resolve its proxy's host {lookup.group(1)}"
    at = re.search(r"dial tcp (\[[^\]]+\]:\d+|[^\s:\[]+:\d+):", cause)
    reason = cause.rsplit(": ", 1)[-1].strip() or "it fails"
    if reason == "EOF":
        reason = "it closed the connection (EOF)"
    return f"the agent cannot reach its proxy{' at ' + at.group(1) if at else ''}: {reason}"


def _connectivity_hint(kind: str, host: str) -> Hint:
    text = {
        SCHEME: "Write sts_url with its scheme in /etc/stackstate-agent/stackstate.yaml (Kubernetes: "
                "stackstate.url in the agent's Helm values): https://HOST:7077/stsAgent on Linux, "
                "https://BASE/receiver/stsAgent on Kubernetes; then restart the agent.",
        REFUSED: "Nothing accepts connections at the receiver address the agent uses: check sts_url in "
                 "/etc/stackstate-agent/stackstate.yaml (Linux: https://HOST:7077/stsAgent; Kubernetes: "
                 "https://BASE/receiver/stsAgent) and that the receiver runs (--receiver checks its health).",
        DNS: "The agent host cannot resolve the receiver's host name: check sts_url for typos and the "
             "DNS configuration of the agent host (or pod).",
        TLS: "Install the CA that signed the receiver's certificate on the agent host, or set "
             "skip_ssl_validation: true in stackstate.yaml while testing; an https URL pointing at "
             "a plain-http port fails the handshake too.",
        TIMEOUT: "Check firewalls and proxies between the agent and the receiver (proxy settings in "
                 "stackstate.yaml), and the receiver's load; forwarder_timeout sets the agent's patience.",
        PROXY: "The agent posts through a proxy (proxy: https: in /etc/stackstate-agent/stackstate.yaml, "
               "or HTTPS_PROXY in its environment; Kubernetes: the agent's proxy values): check the "
               "proxy's address and that it runs, give its credentials in the proxy URL "
               "(http://USER:PASSWORD@HOST:PORT) if it asks for them (407), or list the receiver's host "
               "under proxy: no_proxy: when it should be reached directly.",
        NETWORK: "Check the route, firewall and proxy between the agent and the receiver.",
        HTTP_ERROR: "The receiver is reachable but failing: check its log and health (--receiver, "
                    "--receiver-log).",
        BLOCKED: "The errors logged before \"Too many errors for endpoint\" say why the endpoint fails.",
        BATCHER: "The agent log around these lines says why the batch could not be sent.",
        SEND_ERROR: "The quoted errors say why sending fails; check sts_url and the receiver.",
    }[kind]
    return Hint(text, RUNBOOK_LOG)


def _rejection_hint(code: str, message: str) -> Hint:
    if code.startswith("404"):
        return Hint("The receiver has no such path: sts_url must end in /stsAgent (Kubernetes: "
                    "https://BASE/receiver/stsAgent).", RUNBOOK_LOG)
    if code.startswith("413"):
        return Hint("The payloads are too large for the receiver or a proxy in front of it: raise "
                    "the proxy's body size limit.", RUNBOOK_LOG)
    return Hint("The receiver could not deserialize the payload (\"" + _clip(message, 120) + "\"): "
                "find the same error in the receiver log and fix the check or agent that sends it "
                "(`stsdebug validate` checks a saved payload).", RUNBOOK_RECEIVER)


def _checks_phrase(checks: Iterable[str]) -> str:
    names = list(checks)
    if len(names) == 1:
        return f"the {names[0]} check"
    return "any of the " + ", ".join(names) + " checks"


def _reason(problem: str) -> str:
    """payloads' sentence without the metric's name (already shown) and the list of prefixes."""
    first = problem.split("; ", 1)[0]
    return re.sub(r'^metric name ".*?" ', "", first)


def _unique(hints: list[Hint]) -> list[Hint]:
    seen: set[str] = set()
    out = []
    for h in hints:
        if h.text not in seen:
            seen.add(h.text)
            out.append(h)
    return out


def _when(ts: float | None) -> str:
    if ts is None:
        return "unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _s(n: int) -> str:
    return "" if n == 1 else "s"
