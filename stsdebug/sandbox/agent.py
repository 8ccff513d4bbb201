"""The synthetic StackState Agent: runs a few checks, posts intake payloads, logs like the real one.

Every INTERVAL_S it runs the checks of world.CHECKS, posts one intake payload per
check to ``<sts_url>/intake/?api_key=KEY`` and writes what the agent's forwarder and
collector write to ``agent.log``. After each cycle it rewrites the output of
``stackstate-agent check <name> -l debug`` for each check (``check-<name>.txt``) and
for all of them one after another (``check-output.txt``, the profile's
``agent_output``).

Faults change what a real agent would do: another receiver port, another API key,
a proxy that cuts long bodies, a clock running behind, renamed or added metrics.
``cycle(t, deliver)`` takes the moment and the transport, so the backfill replays
history through this code with an in-process transport.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from stsdebug.sandbox import world
from stsdebug.sandbox.formats import LogFile, check_output, masked_key
from stsdebug.sandbox.formats import agent_line as _agent_line
from stsdebug.sandbox.http_base import Answer
from stsdebug.sandbox.world import CheckDef, FaultClock, MetricDef

# (status, body) of a POST; raises ConnectionRefusedError (and other OSErrors) like a socket.
Deliver = Callable[[str, bytes, float], tuple[int, str]]

_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Request Entity Too Large",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
LOC_WORKER = "pkg/forwarder/worker.go:{line} in process"
LOC_TX = "pkg/forwarder/transaction.go:{line} in internalProcess"
LOC_STARTED = "pkg/collector/worker/check_logger.go:40 in CheckStarted"
LOC_FINISHED = "pkg/collector/worker/check_logger.go:{line} in CheckFinished"


@dataclass
class AgentConfig:
    api_key: str
    receiver_url: str  # the receiver's base URL, e.g. http://127.0.0.1:7077
    wrong_url: str  # where sts_url points under the fault receiver-unreachable
    wrong_key: str  # the key the agent sends under the fault invalid-api-key
    out_dir: Path


@dataclass
class _CheckState:
    runs: int = 0
    last: dict[str, Any] = field(default_factory=dict)


class Agent:
    def __init__(self, config: AgentConfig, log: LogFile, faults: FaultClock) -> None:
        self.config = config
        self.log = log
        self.faults = faults
        self.transactions = 0
        self.successes = 0
        self._checks = {c.name: _CheckState() for c in world.CHECKS}
        # The variant agent-rfc3339 is configuration (log_format_rfc3339: true), not an event:
        # it holds from the start.
        self.rfc3339 = "agent-rfc3339" in faults

    # -- what the agent is configured with at a moment ------------------------------------

    def sts_url(self, t: float) -> str:
        base = self.config.wrong_url if self.faults.active("receiver-unreachable", t) else self.config.receiver_url
        return base.rstrip("/") + "/stsAgent"

    def key(self, t: float) -> str:
        return self.config.wrong_key if self.faults.active("invalid-api-key", t) else self.config.api_key

    def clock(self, t: float) -> float:
        if self.faults.active("stale-timestamps", t):
            return t + world.CLOCK_SKEW_S
        if self.faults.active("agent-clock-skew", t):
            return t + world.CLOCK_BEHIND_S
        return t

    def line(self, t: float, level: str, location: str, message: str) -> str:
        return _agent_line(t, level, location, message, rfc3339=self.rfc3339)

    # -- startup --------------------------------------------------------------------------

    def startup(self, t: float) -> None:
        c = self.clock(t)
        self.log.write(
            self.line(c, "INFO", "pkg/util/log/log.go:620 in func1",
                       "config.Load: Loading configuration from /etc/stackstate-agent/stackstate.yaml"),
            self.line(c, "INFO", "cmd/agent/app/run.go:251 in StartAgent",
                       f"Starting StackState Agent v{world.AGENT_VERSION}"),
            self.line(c, "INFO", "pkg/util/hostname.go:178 in GetHostnameData", f"Hostname is: {world.AGENT_HOST}"),
            self.line(c, "INFO", "pkg/forwarder/forwarder.go:356 in Start",
                       f'Forwarder started, sending to 1 endpoint(s) with 1 worker(s) each: "{self.sts_url(t)}" '
                       "(1 api key(s))"),
            *(self.line(c, "INFO", "pkg/collector/scheduler/scheduler.go:83 in Enter",
                         f"Scheduling check {chk.name} with an interval of {world.INTERVAL_S:g}s")
              for chk in world.CHECKS),
        )

    # -- one cycle ------------------------------------------------------------------------

    def cycle(self, t: float, deliver: Deliver) -> None:
        for chk in world.CHECKS:
            payload, lines = self._run_check(chk, t)
            self.log.write(*lines)
            self._post(payload, t, deliver)

    def write_outputs(self, t: float) -> None:
        """Rewrite the `check -l debug` outputs from each check's last run."""
        out_dir = self.config.out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        texts = []
        for chk in world.CHECKS:
            last = self._checks[chk.name].last
            if not last:
                continue
            text = check_output(**last)
            texts.append(text)
            _write_atomic(out_dir / f"check-{chk.name}.txt", text)
        _write_atomic(out_dir / "check-output.txt", "".join(texts))

    def _metrics(self, chk: CheckDef, t: float) -> list[MetricDef]:
        metrics = list(chk.metrics)
        if chk.name == "cpu" and self.faults.active("renamed-metric", t):
            old, new = world.RENAMED
            metrics = [MetricDef(new, m.type, m.base, m.amplitude) if m.name == old else m for m in metrics]
        if chk.name == "mysql":
            if self.faults.active("field-limit", t):
                metrics.append(world.NEW_MYSQL_METRIC)
            if self.faults.active("reserved-metric-names", t):
                metrics.extend(world.RESERVED_CUSTOM)
        return metrics

    def _run_check(self, chk: CheckDef, t: float) -> tuple[dict[str, Any], list[str]]:
        state = self._checks[chk.name]
        state.runs += 1
        c = self.clock(t)
        ts = int(c)
        host = world.AGENT_HOST
        tags = sorted({*world.HOST_TAGS, *chk.tags})
        metrics = self._metrics(chk, t)
        points = [[m.name, ts, world.value(m, t), {"hostname": host, "type": m.type, "tags": tags}] for m in metrics]
        series = [
            {"metric": m.name, "points": [[ts, world.value(m, t)]], "tags": tags, "host": host,
             "type": m.type, "interval": 0, "source_type_name": "System"}
            for m in metrics
        ]
        service_checks = [
            {"check": sc, "host_name": host, "timestamp": ts, "status": 0, "message": "", "tags": tags}
            for sc in chk.service_checks
        ]
        topology = _topology(chk, host, ts) if chk.topology else None
        payload: dict[str, Any] = {"internalHostname": host, "metrics": points, "health": [],
                                   "topologies": topology["topologies"] if topology else []}
        instance = f"{chk.name}:{chk.instance}"
        debug = [
            self.line(c, "DEBUG", "pkg/collector/python/datadog_agent.go:129 in LogMessage",
                       f"{instance} | ({chk.name}.py:187) | Collecting {len(metrics)} metrics"),
        ]
        state.last = {
            "check": chk.name, "version": chk.version, "instance": chk.instance, "host": host, "t": c,
            "series": series, "service_checks": service_checks, "topology": topology, "log_lines": debug,
        }
        lines: list[str] = []
        if state.runs <= 3 or state.runs % world.LOG_EVERY == 0:
            lines.append(self.line(c, "INFO", LOC_STARTED, f"check:{chk.name} | Running check..."))
            done = "Done running check"
            line = 59
            if state.runs == 3:
                done += f", next runs will be logged every {world.LOG_EVERY} runs"
                line = 62
            lines.append(self.line(c, "INFO", LOC_FINISHED.format(line=line), f"check:{chk.name} | {done}"))
        return payload, lines

    def _post(self, payload: dict[str, Any], t: float, deliver: Deliver) -> None:
        c = self.clock(t)
        url = f"{self.sts_url(t)}/intake/?api_key={self.key(t)}"
        shown = f"{self.sts_url(t)}/intake/?api_key={masked_key(self.key(t))}"
        body = json.dumps(payload, separators=(",", ":")).encode()
        if self.faults.active("malformed-payloads", t) and len(body) > world.PROXY_BODY_LIMIT:
            body = body[: world.PROXY_BODY_LIMIT]  # the proxy in front of the receiver cuts it
        self.transactions += 1
        try:
            status, answer = deliver(url, body, t)
        except OSError as exc:
            netloc = urlsplit(url).netloc
            cause = f"dial tcp {netloc}: connect: {_errno_text(exc)}"
            self.log.write(
                self.line(c, "DEBUG", "pkg/forwarder/transaction.go:79 in func3", f"Connection failure: {cause}"),
                self.line(c, "ERROR", LOC_WORKER.format(line=184),
                           "Error while processing transaction: error while sending transaction, rescheduling it: "
                           f'Post "{shown}": {cause}'),
                self.line(c, "ERROR", LOC_WORKER.format(line=179),
                           f"Too many errors for endpoint '{shown}': retrying later"),
            )
            return
        if 200 <= status < 300:
            self.successes += 1
            if self.successes == 1 or self.successes % world.LOG_EVERY == 0:
                self.log.write(self.line(
                    c, "INFO", LOC_TX.format(line=300),
                    f'Successfully posted payload to "{shown}", the agent will only log transaction success '
                    f"every {world.LOG_EVERY} transactions"))
            return
        code = f"{status} {_REASONS.get(status, 'Error')}"
        if status == 403:
            self.log.write(self.line(c, "ERROR", LOC_TX.format(line=276),
                                      f"API Key invalid, dropping transaction for {shown}"))
        elif status in (400, 404, 413):
            self.log.write(self.line(
                c, "ERROR", LOC_TX.format(line=264),
                f'Error code "{code}" received while sending transaction to "{shown}": {answer.strip()}, dropping it'))
        else:
            self.log.write(self.line(c, "ERROR", LOC_TX.format(line=269),
                                      f'error "{code}" while sending transaction to "{shown}", rescheduling it'))


def http_deliver(timeout: float = 5.0) -> Deliver:
    """The live transport: a plain HTTP POST (the sandbox's receiver speaks HTTP on loopback)."""

    def deliver(url: str, body: bytes, t: float) -> tuple[int, str]:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
        try:
            conn.request("POST", f"{parts.path}?{parts.query}", body=body,
                         headers={"Content-Type": "application/json", "User-Agent": f"stackstate-agent/{world.AGENT_VERSION}"})
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    return deliver


class _Intake(Protocol):
    port: int

    def intake(self, body: bytes, api_key: str | None, t: float) -> Answer: ...


def in_process_deliver(receiver: _Intake) -> Deliver:
    """The backfill's transport: the receiver's own intake, or a refused connection."""

    def deliver(url: str, body: bytes, t: float) -> tuple[int, str]:
        parts = urlsplit(url)
        if parts.port != receiver.port:
            raise ConnectionRefusedError(111, "Connection refused")
        keys = parse_qs(parts.query).get("api_key")
        key = keys[0] if keys else None
        answer = receiver.intake(body, key, t)
        return answer.status, answer.body

    return deliver


def _errno_text(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "i/o timeout"
    return (exc.strerror or str(exc)).lower()


def _topology(chk: CheckDef, host: str, ts: int) -> dict[str, Any]:
    components = [
        {"externalId": f"urn:{chk.name}:/{host}:3306/{schema}", "type": {"name": f"{chk.name}-schema"},
         "data": {"host": host, "name": f"{schema} on {host}", "labels": ["env:prod", f"schema:{schema}"],
                  "tags": {"engine": "InnoDB", "charset": "utf8mb4"}}}
        for schema in ("orders", "customers", "inventory", "billing", "audit", "sessions")
    ]
    components.insert(0, {"externalId": f"urn:{chk.name}:/{host}:3306", "type": {"name": chk.name},
                          "data": {"host": host, "name": f"{chk.name} {host}:3306", "version": "8.0.36"}})
    relations = [
        {"externalId": f"urn:{chk.name}:/{host}:3306->{c['externalId']}", "type": {"name": "has"},
         "sourceId": f"urn:{chk.name}:/{host}:3306", "targetId": c["externalId"], "data": {}}
        for c in components[1:]
    ]
    return {
        "apiKey": "", "collection_timestamp": ts, "internalHostname": host, "events": {}, "metrics": [],
        "service_checks": [], "health": [],
        "topologies": [{"start_snapshot": False, "stop_snapshot": False,
                        "instance": {"type": chk.name, "url": f"{host}:3306"},
                        "components": components, "relations": relations}],
    }


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
