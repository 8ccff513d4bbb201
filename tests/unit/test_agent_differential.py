"""The agent log's fast chunked reading against feeding every line to the scanner.

The reference is the plain way: split the bytes into lines, clean each one
(``clean_line``) and feed every line, in order, to ``AgentScan``, judging every message
afresh (no remembered findings). The fast way
(``LogFeeder``) counts most lines in bulk and parses only those that can matter; both
must give the same findings (cited lines, line numbers, totals, details), the same line
counts in, before and after the window, and the same checks seen, on generated logs:
every mix of the benchmark, random Python tracebacks, CRLF, colour codes, invalid UTF-8,
long lines, and arbitrary piece sizes. Without hyperscan the fast way searches with
memchr; both matchers are checked.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdebug.logs import agent_chunks
from stsdebug.logs.agent_chunks import LogFeeder, clean_line
from stsdebug.logs.agent_scan import AgentScan
from stsdebug.payloads import metric_name_problem, metric_type_problem

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import loggen  # noqa: E402

UTC = timezone.utc
T0 = 1715680800.0  # 2024-05-14 10:00:00 UTC


def _scan(window) -> AgentScan:
    return AgentScan(window=window, secrets=["abcde12345secret"], name_problem=metric_name_problem,
                     type_problem=metric_type_problem)


def reference(data: bytes, window) -> dict:
    scan = _scan(window)
    scan.remember_messages = False  # every message judged afresh
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, raw in enumerate(lines, start=1):
        scan.feed(n, clean_line(raw))
    return summary(scan.finish())


def fast(data: bytes, window, pieces: list[int]) -> dict:
    scan = _scan(window)
    feeder = LogFeeder(scan)
    i = k = 0
    while i < len(data):
        step = pieces[k % len(pieces)]
        feeder.feed(data[i : i + step])
        i += step
        k += 1
    feeder.close()
    return summary(scan.finish())


def summary(r) -> dict:
    return {
        "findings": {k: (f.total, [(h.n, h.text, h.span, h.ts, h.check, h.detail,
                                    tuple((c.n, c.text) for c in h.context)) for h in f.samples.shown()],
                         dict(f.details), dict(f.checks)) for k, f in r.findings.items()},
        "counts": (r.lines, r.lines_in_window, r.lines_before_window, r.lines_after_window, r.log_lines),
        "components": sorted(r.components), "checks_seen": r.checks_seen, "shape": r.shape,
        "runs": {k: (v.runs, v.errors, v.clean, v.last_clean_n) for k, v in r.check_runs.items()},
        "newest": r.newest_ts, "oldest": r.oldest_ts, "ran_before": r.ran_before,
    }


MESSAGES = [
    ("INFO", "pkg/collector/worker/check_logger.go:55 in CheckStarted", "check:cpu | Running check..."),
    ("INFO", "pkg/collector/worker/check_logger.go:72 in CheckFinished", "check:cpu | Done running check"),
    ("INFO", "cmd/agent/app/run.go:{n} in StartAgent", "Starting StackState Agent v2.19.1"),
    ("DEBUG", "pkg/aggregator/aggregator.go:{n} in flushSeries", "Flushing {n} series to the forwarder"),
    ("INFO", "pkg/collector/python/datadog_agent.go:{n} in LogMessage",
     "mysql:0f1e2d3c4b5a6978 | (mysql.py:{n}) | Collected {n} rows"),
    ("ERROR", "pkg/collector/python/datadog_agent.go:{n} in LogMessage",
     "mysql:0f1e2d3c4b5a6978 | (mysql.py:{n}) | Can't connect to MySQL server on 'db-{n}' (111)"),
    ("ERROR", "pkg/forwarder/transaction/transaction.go:{n} in Process",
     'Error while processing transaction: error while sending transaction, rescheduling it: Post '
     '"https://sts.example.com:7077/stsAgent/intake?api_key=abcde12345secret": dial tcp 10.0.0.{n}:7077: '
     'connect: connection refused'),
    ("INFO", "pkg/forwarder/transaction/transaction.go:{n} in Process",
     'Successfully posted payload to "https://sts.example.com:7077/stsAgent/intake?api_key=*************12345", '
     'the agent will only log transaction success every 500 transactions'),
    ("WARN", "pkg/forwarder/worker.go:{n} in process",
     "Too many errors for endpoint 'https://sts.example.com:7077/stsAgent/intake': retrying later"),
    ("ERROR", "pkg/collector/worker/check_logger.go:{n} in Error", "check:mysql | Error running check: boom {n}"),
    ("ERROR", "pkg/forwarder/transaction/transaction.go:{n} in Process",
     'API Key invalid, dropping transaction for https://sts.example.com:7077/stsAgent/intake'),
]
TRACE = ["Traceback (most recent call last):", '  File "/x/base.py", line {n}, in run', "    self.check(i)",
         "ValueError: bad {n}"]


@st.composite
def agent_log(draw) -> bytes:
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    t = T0
    out: list[bytes] = []
    for _ in range(draw(st.integers(1, 30))):
        t += draw(st.sampled_from([0, 1, 30, 61, 300]))
        stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        level, loc, msg = draw(st.sampled_from(MESSAGES))
        n = str(draw(st.integers(0, 9999)))
        line = f"{stamp} | CORE | {level} | ({loc.replace('{n}', n)}) | {msg.replace('{n}', n)}".encode()
        if draw(st.integers(0, 15)) == 0:
            line += b" \xff bad"
        if draw(st.integers(0, 15)) == 0:
            line = line.replace(level.encode(), b"\x1b[31m" + level.encode() + b"\x1b[0m", 1)
        if draw(st.integers(0, 30)) == 0:
            line += b" " + b"y" * draw(st.integers(300, 5000))
        out.append(line + eol)
        if draw(st.integers(0, 6)) == 0:
            out.extend(x.replace("{n}", n).encode() + eol for x in TRACE)
    data = b"".join(out)
    return data.rstrip(b"\r\n") if draw(st.booleans()) else data


@pytest.fixture(params=["hyperscan", "memchr"])
def matcher(request, monkeypatch):
    if request.param == "memchr":
        monkeypatch.setattr(agent_chunks, "_hs", None)
    elif agent_chunks._hs is None:
        pytest.fail("hyperscan is a dependency on this platform and should be installed")
    return request.param


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fast_reading_matches_feeding_every_line(matcher, data):
    log = data.draw(agent_log())
    kind = data.draw(st.sampled_from(["none", "part"]))
    a = T0 + data.draw(st.integers(0, 3000))
    window = None if kind == "none" else (a, a + data.draw(st.integers(0, 3000)))
    pieces = data.draw(st.lists(st.integers(1, 4000), min_size=1, max_size=3))
    assert fast(log, window, pieces) == reference(log, window)


def test_benchmark_mixes_match_feeding_every_line(tmp_path, matcher):
    for rate in (0.001, 0.01, 0.05, 0.2):
        for vary in (False, True):
            for stacks in (False, True):
                path = tmp_path / "agent.log"
                loggen.write(path, "agent", 400_000, T0 + 3600, rate=rate, vary=vary, stacks=stacks, span=3600,
                             seed=int(rate * 1000) + stacks)
                log = path.read_bytes()
                for window in (None, (T0 + 900, T0 + 2000)):
                    assert fast(log, window, [1 << 17]) == reference(log, window), (rate, vary, stacks, window)


def test_gzip_rotated_agent_logs_match_feeding_every_line(tmp_path, matcher):
    """A directory of rotated agent logs, the older one gzipped and cut in the middle of a
    traceback by the 4 MB reads: each file read fast gives what feeding its lines gives."""
    import gzip

    from stsdebug.sources import agent as agent_source

    d = tmp_path / "logs"
    d.mkdir()
    datas = {}
    for i, name in enumerate(["agent.log.1.gz", "agent.log"]):
        path = tmp_path / "x.log"
        loggen.write(path, "agent", 300_000, T0 + 1800 * (i + 1), rate=0.05, vary=bool(i), stacks=True, span=1800,
                     seed=i + 3)
        data = path.read_bytes()
        (d / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        datas[name] = data
    window = (T0 + 900, T0 + 2700)
    source = agent_source.AgentSource(log=str(d))
    inputs = source.inputs()
    assert [inp.label for inp in inputs] == ["agent.log.1.gz", "agent.log"]
    for inp in inputs:
        got = summary(source.scan(inp, _scan(window)))
        assert got == reference(datas[inp.label], window), inp.label


def test_messages_seen_before_give_the_same_findings(matcher):
    """The same forwarder message written again, with other times and source lines: each
    writing is a finding of its own, cited with its own line, as when judged afresh."""
    lines = []
    for k in range(40):
        stamp = datetime.fromtimestamp(T0 + k, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        msg = MESSAGES[5 + k % 5]
        lines.append(f"{stamp} | CORE | {msg[0]} | ({msg[1].replace('{n}', str(k * 37))}) | "
                     f"{msg[2].replace('{n}', str(k % 3))}")
    log = ("\n".join(lines) + "\n").encode()
    assert fast(log, None, [1 << 16]) == reference(log, None)
    assert fast(log, (T0 + 10, T0 + 30), [97]) == reference(log, (T0 + 10, T0 + 30))
