"""The agent's proxy failing (Go net/http wraps a failed dial to the proxy as "proxyconnect
tcp: <cause>"; a proxy that refuses CONNECT answers with its status text, e.g. "Proxy
Authentication Required"), and payloads dropped by the forwarder's retry queue
(StackVista/stackstate-agent 2.19.1 pkg/forwarder/domain_forwarder.go retryTransactions).
A proxy failure must not be read as the receiver refusing: the fix is elsewhere."""

from __future__ import annotations

import time

import pytest

from stsdebug.logs.agent_chunks import LogFeeder
from stsdebug.logs.agent_patterns import DROPPED, PROXY, REFUSED
from stsdebug.logs.agent_scan import AgentScan
from stsdebug.stages.agent_common import proxy_problem

TX = "pkg/collector/transactional/transactionforwarder/forwarder.go:108 in Start"
POST = 'POST https://sts.example.com:7077/stsAgent/intake giving up after 1 attempt(s): Post "https://sts.example.com:7077/stsAgent/intake": '


def _scan(lines: list[tuple[str, str]]) -> AgentScan:
    now = time.time()
    scan = AgentScan(window=(now - 900, now))
    feeder = LogFeeder(scan)
    text = ""
    for k, (loc, msg) in enumerate(lines):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now - 600 + k))
        text += f"{stamp} | CORE | ERROR | ({loc}) | {msg}\n"
    feeder.feed(text.encode())
    feeder.close()
    return scan


@pytest.mark.parametrize("cause, says", [
    ("proxyconnect tcp: dial tcp 10.1.1.1:3128: connect: connection refused",
     "the agent cannot reach its proxy at 10.1.1.1:3128: connection refused"),
    ("proxyconnect tcp: dial tcp: lookup proxy.corp on 10.0.0.2:53: no such host",
     "the agent cannot resolve its proxy's host proxy.corp"),
    ("proxyconnect tcp: EOF", "the agent cannot reach its proxy: it closed the connection (EOF)"),
    ("proxyconnect tcp: dial tcp [fd00::5]:3128: i/o timeout",
     "the agent cannot reach its proxy at [fd00::5]:3128: i/o timeout"),
    ("Proxy Authentication Required", "the agent's proxy asks for credentials (407 Proxy Authentication Required)"),
])
def test_a_proxy_failure_is_the_proxys_not_the_receivers(cause: str, says: str) -> None:
    r = _scan([(TX, "Sending transactional payload failed, content: {}. " + POST + cause)]).finish()
    assert r.count(PROXY) == 1 and r.count(REFUSED) == 0
    f = r.finding(PROXY)
    assert f is not None and f.samples.latest is not None
    hit = f.samples.latest
    assert proxy_problem(hit.text[hit.span[0] : hit.span[1]] if hit.span else hit.text) == says


def test_retry_queue_drops_are_summed_by_reason() -> None:
    loc = "pkg/forwarder/domain_forwarder.go:115 in retryTransactions"
    msg = "Dropped {n} transactions in this retry attempt: {f} for exceeding the retry queue size limit of 30, {b} because the workers are too busy"
    r = _scan([(loc, msg.format(n=7, f=7, b=0)), (loc, msg.format(n=5, f=3, b=2)), (loc, msg.format(n=7, f=7, b=0))]).finish()
    f = r.finding(DROPPED)
    assert f is not None and f.total == 3
    assert dict(f.details.items()) == {"7/0/30": 2, "3/2/30": 1}
