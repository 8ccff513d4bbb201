"""Fuzzing the agent parsers and stage: any input gives a result, never an exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdebug.agentlog import AgentScan, parse_line, parse_timestamp
from stsdebug.model import Status
from stsdebug.payloads import metric_name_problem, metric_type_problem
from stsdebug.settings import Settings
from stsdebug.stages.base import load_stage
from stsdebug.trace import Trace

SECRET = "secret-token-123456"

FRAGMENTS = [
    "2024-05-14 09:58:19 UTC | CORE | ERROR | (pkg/forwarder/worker.go:184 in process) | ",
    "2024-05-14 09:58:19 CEST | CLUSTER | INFO | ",
    "2024-02-30 25:61:61 +99 | CORE | WARN | (",
    "2024-05-14T09:58:51.4Z stdout F ",
    "check:mysql | ",
    "mysql:3c5f2b3e1d0a9f88 | (mysql.py:1) | ",
    "Error while processing transaction: ",
    "connect: connection refused",
    "no such host",
    "x509: ",
    "context deadline exceeded",
    "Too many errors for endpoint '",
    "API Key invalid, dropping transaction for ",
    'Error code "400 Bad Request" received while sending transaction to "',
    '": ',
    ", dropping it",
    'Successfully posted payload to "',
    "Error running check",
    "Running check...",
    "Done running check",
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in f',
    "During handling of the above exception, another exception occurred:",
    "ValueError: x",
    "=== Series ===",
    "=== JSON ===",
    "=== Service Checks ===",
    '"metric": "host.cpu",',
    '"metric": "',
    '"type": "histogram"',
    '"check": "a.b",',
    '"status": 2,',
    '"message": "\\"',
    '"CheckName": "mysql",',
    '"MetricSamples": 0,',
    '"LastError": "[{\\"message\\": 1}]"',
    "=========",
    "Collector",
    "Forwarder",
    "  Transactions",
    "API Keys status",
    "    ----",
    "Instance ID: mysql:ab [ERROR]",
    "Metric Samples: Last Run: 0, Total: 1,2,3",
    "Error: ",
    "API key ending with abcde: API Key invalid",
    "Success: 12",
    "403: 7",
    "Total number: 9",
    "\x1b[34m",
    "\x1b]0;title\x07",
    "\ufffd",
    "api_key=" + SECRET,
    "password=" + SECRET,
    SECRET,
    "…",
    "    ",
]

fragment_line = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=8).map("".join)
line = st.one_of(st.text(max_size=120), fragment_line)


@given(st.lists(line, max_size=60), st.booleans())
@settings(max_examples=400, deadline=None)
def test_the_scanner_never_raises_and_cites_valid_lines(lines: list[str], windowed: bool):
    scan = AgentScan(
        window=(1.7e9, 1.8e9) if windowed else None,
        secrets=[SECRET],
        name_problem=metric_name_problem,
        type_problem=metric_type_problem,
    )
    for n, text in enumerate(lines, 1):
        scan.feed(n, text)
    result = scan.finish()
    assert result.lines == len(lines)
    assert result.lines_in_window + result.lines_before_window + result.lines_after_window == len(lines)
    for finding in result.findings.values():
        shown = finding.samples.shown()
        assert finding.total >= len(shown) and len(shown) <= 5
        for hit in shown:
            for h in (hit, *hit.context):
                assert 1 <= h.n <= len(lines)
                assert h.span is None or 0 <= h.span[0] <= h.span[1] <= len(h.text)
                assert SECRET not in h.text and SECRET not in h.detail
        assert all(SECRET not in d for d in finding.details)


@given(st.text(max_size=300), st.sampled_from(FRAGMENTS[:4] + [""]))
@settings(max_examples=300, deadline=None)
def test_parse_line_never_raises(text: str, prefix: str):
    rec = parse_line(prefix + text)
    if rec is not None:
        assert 0 <= rec.msg_start <= len(prefix + text)


@given(st.text(max_size=12), st.text(max_size=10), st.text(max_size=8))
def test_parse_timestamp_never_raises(date: str, time_: str, tz: str):
    ts = parse_timestamp(date, time_, tz)
    assert ts is None or isinstance(ts, (int, float))


@given(st.lists(line, max_size=25), st.sampled_from(["agent_log", "agent_output"]), st.sampled_from(["mysql", "kubernetes", "custom"]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_stage_always_judges_any_file(lines: list[str], kind: str, integration: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.txt"
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        settings_ = Settings(integration=integration, api_key=SECRET, **{kind: str(path)})
        trace = Trace(settings_, stages=[load_stage("agent")], now=1715681100).run()
    result = trace.stages[0]
    if result.status is Status.ERROR:
        # An agent log none of whose lines is an agent record cannot be judged, and says so.
        assert kind == "agent_log" and "is not a StackState Agent log stsdebug can read" in result.summary
    else:
        assert result.status in (Status.PASS, Status.WARN, Status.FAIL), result.summary
    assert SECRET not in trace.to_json()
