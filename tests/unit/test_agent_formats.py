"""The agent stage on the formats StackState Agent 2.19 (StackState 5.1) really writes.

Fixtures (fixtures/agent/README.md names the source of each): the RFC 3339 and JSON log
layouts, the transactional forwarder and go-retryablehttp lines, an sts_url without a
scheme, StackState's own Python checks logging without a check id, a check's raw metrics
in the Topology section, `status` that could not validate the key, a directory of
rotated logs, and a file that is no agent log at all.
"""

from __future__ import annotations

import calendar
import gzip
import json
from pathlib import Path

from stsdebug.model import LogSample, StageResult, Status, Text
from stsdebug.settings import Settings
from stsdebug.stages.base import load_stage
from stsdebug.trace import Trace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent"
NOW = calendar.timegm((2024, 5, 14, 10, 5, 0, 0, 0, 0))
KEY = "0123456789abcdef0123456789abcdef"


def fx(name: str) -> str:
    return str(FIXTURES / name)


def run_stage(integration: str = "mysql", now: float = NOW, **kw: object) -> StageResult:
    settings = Settings(integration=integration, **kw)  # type: ignore[arg-type]
    return Trace(settings, stages=[load_stage("agent")], now=now).run().stages[0]


def everything(result: StageResult) -> str:
    return json.dumps([result.summary, [h.text for h in result.hints], [str(e.__dict__) for e in result.evidence]])


def test_rfc3339_layout_is_read_and_a_refused_connection_fails():
    r = run_stage(agent_log=fx("agent_rfc3339_refused.log"))
    assert r.status is Status.FAIL
    assert "connection refused" in r.summary and "stackstate.example.com:7077" in r.summary
    # 12:01:19+02:00 is 10:01:19 UTC: in the window, and cited.
    assert "lines 4–5" in r.summary


def test_json_layout_is_read_and_a_refused_connection_fails():
    r = run_stage(agent_log=fx("agent_json_refused.log"))
    assert r.status is Status.FAIL and "connection refused" in r.summary


def test_a_file_that_is_no_agent_log_is_an_error_that_says_so():
    r = run_stage(agent_log=fx("agent_unknown_format.log"))
    assert r.status is Status.ERROR
    assert "is not a StackState Agent log stsdebug can read" in r.summary


def test_transactional_failures_fail_with_their_cause_and_retryablehttp_lines_are_redacted():
    r = run_stage(agent_log=fx("agent_transactional.log"))
    assert r.status is Status.FAIL
    # The last failure was refused; the earlier one timed out. Both are named, the health message
    # quoted inside the payload ("connection refused by db-01") is not mistaken for a cause.
    kinds = {e.title for e in r.evidence if isinstance(e, LogSample)}
    assert {"Connection refused", "Timeouts"} <= kinds
    refused = next(e for e in r.evidence if isinstance(e, LogSample) and e.title == "Connection refused")
    assert [ln.n for ln in refused.lines] == [6]
    timeouts = next(e for e in r.evidence if isinstance(e, LogSample) and e.title == "Timeouts")
    assert [ln.n for ln in timeouts.lines] == [3, 4]  # the forwarder's line and retryablehttp's [ERR]
    assert KEY not in everything(r)


def test_a_transactional_success_counts_as_a_post():
    r = run_stage(agent_log=fx("agent_python_check.log"), integration="custom")
    fig = next(e for e in r.evidence if getattr(e, "title", "").startswith("agent_python_check.log ("))
    assert {i.label: i.value for i in fig.items}["successful posts logged"] == 1


def test_an_sts_url_without_a_scheme_is_named_with_the_fix():
    r = run_stage(agent_log=fx("agent_no_scheme.log"))
    assert r.status is Status.FAIL
    assert "sts_url has no scheme" in r.summary
    assert any("https://HOST:7077/stsAgent" in h.text for h in r.hints)


def test_python_check_lines_without_a_check_id_belong_to_their_check():
    # The aws_topology error sits between that check's Running/Done lines; the splunk_metric one
    # is named by its file. (--metric-prefix picks the check's own names.)
    aws = run_stage(agent_log=fx("agent_python_check.log"), integration="custom", metric_prefix=["aws_"])
    assert aws.status is Status.FAIL and "aws_topology" in aws.summary and "ExpiredToken" in aws.summary
    splunk = run_stage(agent_log=fx("agent_python_check.log"), integration="custom", metric_prefix=["splunk_"])
    assert "splunk_metric" in splunk.summary and "401 Unauthorized" in splunk.summary


def test_raw_metrics_in_the_topology_section_count_as_collected():
    r = run_stage(agent_output=fx("check_aws_topology.txt"), integration="custom")
    text = everything(r)
    assert "2 raw metrics in its Topology section (aws.lambda.invocations, aws.lambda.errors" in text
    assert "collected no metrics" not in text  # Metric Samples: 0 is expected for such a check
    assert r.status is Status.WARN and "posting to the receiver was not observed" in r.summary


def test_unable_to_validate_the_api_key_is_not_an_invalid_key():
    r = run_stage(agent_output=fx("status_unable_to_validate.txt"))
    assert r.status is Status.PASS, r.summary
    note = next(e for e in r.evidence if isinstance(e, Text) and e.title.endswith("API key not checked"))
    assert "says nothing about the key itself" in note.text


def test_a_directory_of_rotated_agent_logs_is_read_oldest_first(tmp_path):
    d = tmp_path / "stackstate-agent"
    d.mkdir()
    old = Path(fx("agent_refused.log")).read_bytes().replace(b"2024-05-14", b"2024-05-13")
    (d / "agent.log.1.gz").write_bytes(gzip.compress(old))
    (d / "agent.log").write_bytes(Path(fx("agent_healthy.log")).read_bytes())
    (d / "process-agent.log").write_text("2024-05-14 10:00:00 UTC | PROCESS | ERROR | (x.go:1 in y) | boom\n")
    r = run_stage(agent_log=str(d))
    assert r.status is Status.PASS, r.summary
    titles = [getattr(e, "title", "") for e in r.evidence]
    assert any(t.startswith("agent.log.1.gz") for t in titles) and any(t.startswith("agent.log (") for t in titles)
    assert not any("process-agent" in t for t in titles)
