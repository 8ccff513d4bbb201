"""The `agent` stage end to end: real fixture files (and a real subprocess) through Trace."""

from __future__ import annotations

import calendar
import json
import shlex
import sys
from pathlib import Path

import pytest

from stsdebug.errors import UsageError
from stsdebug.integrations import Matcher, find
from stsdebug.model import LogSample, StageResult, Status, Table, Text, Window
from stsdebug.settings import Settings
from stsdebug.stages import agent as stage
from stsdebug.stages import agent_common
from stsdebug.stages.base import Context, Sources, load_stage
from stsdebug.trace import Trace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent"
NOW = calendar.timegm((2024, 5, 14, 10, 5, 0, 0, 0, 0))  # the fixtures' "now"


def fx(name: str) -> str:
    return str(FIXTURES / name)


def run_stage(integration: str = "mysql", now: float = NOW, **kw: object) -> StageResult:
    settings = Settings(integration=integration, **kw)  # type: ignore[arg-type]
    trace = Trace(settings, stages=[load_stage("agent")], now=now).run()
    return trace.stages[0]


def sample(result: StageResult, title: str) -> LogSample:
    found = [e for e in result.evidence if isinstance(e, LogSample) and e.title == title]
    assert found, f"no {title!r} sample in {[getattr(e, 'title', '') for e in result.evidence]}"
    return found[0]


def cited(result: StageResult, title: str) -> list[tuple[int, str]]:
    """(line number, matched text) of every line a sample quotes."""
    out = []
    for line in sample(result, title).lines:
        assert line.match is not None
        out.append((line.n, line.text[line.match[0] : line.match[1]]))
    return out


def fixture_line(name: str, n: int) -> str:
    return Path(fx(name)).read_text().splitlines()[n - 1]


# --- skip and pass ---------------------------------------------------------------------


def test_no_agent_input_is_a_skip_that_says_what_to_give():
    result = run_stage()
    assert result.status is Status.SKIP
    assert "--agent-output" in result.summary and "--agent-log" in result.summary
    assert result.hints and "stackstate-agent check" in result.hints[0].text


def test_a_healthy_log_passes_citing_collection_and_posting():
    result = run_stage(agent_log=fx("agent_healthy.log"))
    assert result.status is Status.PASS, result.summary
    assert "mysql check ran without errors (agent_healthy.log line 20)" in result.summary
    assert "posted to https://stackstate.example.com/receiver/stsAgent/intake/ (agent_healthy.log line 16" in result.summary
    assert "api_key" not in result.summary
    # The connection errors at 09:31 are outside the 15m window and do not count.
    assert not any(isinstance(e, LogSample) for e in result.evidence)


def test_healthy_status_output_passes():
    result = run_stage(agent_output=fx("status_healthy.txt"))
    assert result.status is Status.PASS, result.summary
    assert "57 metric samples" in result.summary and "51 successful transactions" in result.summary


def test_check_output_and_log_together_can_pass():
    result = run_stage(agent_output=fx("status_healthy.txt"), agent_log=fx("agent_healthy.log"))
    assert result.status is Status.PASS


# --- delivery failures ----------------------------------------------------------------


def test_invalid_api_key_fails_citing_the_403_lines():
    result = run_stage(agent_log=fx("agent_403.log"))
    assert result.status is Status.FAIL
    assert result.summary.startswith("The receiver refused the agent's API key: 6 transactions dropped with 403")
    assert "lines 5–10" in result.summary and "no successful post follows" in result.summary
    lines = cited(result, "API key refused (403)")
    assert [n for n, _ in lines] == [5, 6, 7, 9, 10]
    assert lines[0][1].startswith("API Key invalid, dropping transaction for https://stackstate.example.com")
    assert sample(result, "API key refused (403)").total_matches == 6
    assert "api_key in /etc/stackstate-agent/stackstate.yaml" in result.hints[0].text
    assert result.hints[0].runbook == agent_common.RUNBOOK_LOG


def test_connection_refused_fails_and_shows_the_endpoint_being_given_up():
    result = run_stage(agent_log=fx("agent_refused.log"))
    assert result.status is Status.FAIL
    assert "cannot connect to the receiver at stackstate.example.com:7077: connection refused" in result.summary
    assert cited(result, "Connection refused")[0] == (5, "connection refused")
    blocked = cited(result, "Forwarder gave up on an endpoint")
    assert blocked[0][0] == 7 and blocked[0][1].startswith("Too many errors for endpoint")
    assert "sts_url" in result.hints[0].text


def test_dns_failure_fails_naming_the_host():
    result = run_stage(agent_log=fx("agent_dns.log"))
    assert result.status is Status.FAIL
    assert "cannot resolve the receiver host stackstate.exmaple.com" in result.summary
    assert (4, "lookup stackstate.exmaple.com on 10.96.0.10:53: no such host") in cited(result, "DNS lookup failure")


def test_tls_failure_fails():
    result = run_stage(agent_log=fx("agent_tls.log"))
    assert result.status is Status.FAIL and "TLS handshake" in result.summary
    assert (3, "x509: certificate signed by unknown authority") in cited(result, "TLS handshake failure")
    assert "CA" in result.hints[0].text


def test_receiver_rejections_fail_and_surface_the_receivers_message():
    result = run_stage(agent_log=fx("agent_rejected.log"))
    assert result.status is Status.FAIL
    assert ("rejected 4 payloads with 400 Bad Request (agent_rejected.log lines 4–7): Failed to deserialize JSON "
            "on fields: , with message: Object is missing required member 'internalHostname'") in result.summary
    lines = cited(result, "Payloads rejected by the receiver")
    assert lines[0] == (4, "Failed to deserialize JSON on fields: , with message: Object is missing required "
                           "member 'internalHostname'")
    table = next(e for e in result.evidence if isinstance(e, Table) and e.title == "Receiver messages")
    assert table.rows[0][0] == 3
    assert result.hints[0].runbook == agent_common.RUNBOOK_RECEIVER


def test_errors_followed_by_a_success_are_a_warning():
    result = run_stage(agent_log=fx("agent_intermittent.log"))
    assert result.status is Status.WARN
    assert "time out" in result.summary and "posted successfully after the last one" in result.summary
    assert "(agent_intermittent.log line 5)" in result.summary
    assert cited(result, "Timeouts") == [
        (2, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
        (4, "Client.Timeout exceeded while awaiting headers"),
    ]


def test_a_success_before_the_errors_does_not_excuse_them(tmp_path: Path):
    lines = Path(fx("agent_refused.log")).read_text().splitlines()
    success = ('2024-05-14 09:58:10 UTC | CORE | INFO | (pkg/forwarder/transaction.go:300 in internalProcess) | '
               'Successfully posted payload to "https://stackstate.example.com:7077/stsAgent/intake/"')
    log = tmp_path / "agent.log"
    log.write_text("\n".join(lines[:4] + [success] + lines[4:]) + "\n")
    result = run_stage(agent_log=str(log))
    assert result.status is Status.FAIL
    assert "no successful post follows" in result.summary


def test_the_forwarder_giving_up_after_a_success_keeps_it_a_failure(tmp_path: Path):
    lines = Path(fx("agent_refused.log")).read_text().splitlines()
    success = ('2024-05-14 10:01:52 UTC | CORE | INFO | (pkg/forwarder/transaction.go:305 in internalProcess) | '
               'Successfully posted payload to "https://stackstate.example.com:7077/stsAgent/intake/"')
    log = tmp_path / "agent.log"
    # refused (last at line 12), a success (line 13), then "Too many errors for endpoint" (line 14)
    log.write_text("\n".join(lines[:11] + [lines[12 - 1], success, lines[12]]) + "\n")
    result = run_stage(agent_log=str(log))
    assert result.status is Status.FAIL, result.summary


def test_a_crlf_windows_log_is_read():
    result = run_stage(integration="custom", agent_log=fx("agent_windows_crlf.log"))
    assert result.status is Status.WARN
    line = sample(result, "Connection refused").lines[0]
    assert line.n == 5 and not line.text.endswith("\r")
    assert line.text[line.match[0] : line.match[1]] == "No connection could be made"  # type: ignore[index]


def test_a_gzip_rotated_log_is_judged_like_a_plain_one():
    result = run_stage(agent_log=fx("agent.log.1.gz"))
    assert result.status is Status.WARN
    assert [n for n, _ in cited(result, "Connection refused")] == [3, 5]
    figures = next(e for e in result.evidence if getattr(e, "title", "").startswith("agent.log.1.gz"))
    values = {f.label: f.value for f in figures.items}  # type: ignore[union-attr]
    assert values["lines before the window"] == 2 and values["lines in the last 15m"] == 5


def test_time_zones_and_a_dst_switch_place_lines_in_the_window():
    now = calendar.timegm((2024, 3, 31, 1, 5, 0, 0, 0, 0))
    result = run_stage(integration="postgres", agent_log=fx("agent_timezones.log"), now=now)
    figures = next(e for e in result.evidence if getattr(e, "title", "").startswith("agent_timezones.log"))
    values = {f.label: f.value for f in figures.items}  # type: ignore[union-attr]
    # 00:40 UTC and 01:48 CET (00:48 UTC) are before 00:50 UTC; 01:59:50 CET and the CEST lines are in.
    assert values["lines before the window"] == 3 and values["lines in the last 15m"] == 4
    assert result.status is Status.WARN
    assert cited(result, "Timeouts")[0][0] == 4 and "line 5" in result.summary


def test_a_window_without_lines_says_so_instead_of_failing():
    result = run_stage(agent_log=fx("agent_refused.log"), now=NOW + 6 * 3600)
    assert result.status is Status.WARN
    assert result.summary.startswith("agent_refused.log has no lines in the last 15m (newest line 2024-05-14 10:01:53 UTC)")
    assert not any(isinstance(e, LogSample) for e in result.evidence)


def test_an_empty_log_is_a_warning(tmp_path: Path):
    empty = tmp_path / "agent.log"
    empty.write_text("")
    result = run_stage(agent_log=str(empty))
    assert result.status is Status.WARN and "is empty" in result.summary


def test_quiet_log_without_posts_is_a_warning_that_explains_logging_frequency(tmp_path: Path):
    log = tmp_path / "agent.log"
    log.write_text(
        "2024-05-14 10:00:04 UTC | CORE | INFO | (pkg/collector/worker/check_logger.go:40 in CheckStarted) | check:mysql | Running check...\n"
        "2024-05-14 10:00:05 UTC | CORE | INFO | (pkg/collector/worker/check_logger.go:59 in CheckFinished) | check:mysql | Done running check\n"
    )
    result = run_stage(agent_log=str(log))
    assert result.status is Status.WARN
    assert "every 500" in result.summary and "Successfully posted payload" in result.summary


def test_keys_in_log_lines_do_not_leak(tmp_path: Path):
    key = "0123456789abcdef0123456789abcdef"
    log = tmp_path / "agent.log"
    log.write_text(
        "2024-05-14 10:00:04 UTC | CORE | ERROR | (pkg/forwarder/worker.go:184 in process) | Error while processing "
        f'transaction: error while sending transaction, rescheduling it: Post "https://sts.example/stsAgent/intake/?api_key={key}": '
        f"dial tcp 10.0.0.1:443: connect: connection refused\n"
        f"2024-05-14 10:00:05 UTC | CORE | ERROR | (pkg/forwarder/transaction.go:276 in internalProcess) | API Key invalid, dropping transaction for https://sts.example/stsAgent/intake/?api_key={key}\n"
    )
    settings = Settings(integration="mysql", agent_log=str(log), api_key=key)
    trace = Trace(settings, stages=[load_stage("agent")], now=NOW).run()
    text = trace.to_json()
    assert key not in text and key[-8:] not in text
    result = trace.stages[0]
    assert result.status is Status.FAIL and "api_key" not in result.summary
    line = sample(result, "Connection refused").lines[0]
    assert line.text[line.match[0] : line.match[1]] == "connection refused"  # type: ignore[index]


# --- check and status output ----------------------------------------------------------


def test_check_output_with_a_refused_name_and_type_warns_and_cites_them():
    result = run_stage(agent_output=fx("check_mysql.txt"))
    assert result.status is Status.WARN
    assert result.summary.startswith("1 of 6 metric names the check emits would be refused by the receiver, e.g. "
                                     "'timestamp.replication_lag'")
    assert cited(result, "Refused metric names") == [(76, "timestamp.replication_lag")]
    assert '"metric": "timestamp.replication_lag"' in fixture_line("check_mysql.txt", 76)
    assert cited(result, "Refused metric types") == [(106, "distribution")]
    sc = cited(result, "Failing service checks")
    assert sc == [(126, "mysql.replication.slave_running"), (129, '"status": 1')]
    table = next(e for e in result.evidence if isinstance(e, Table) and e.title == "Metric names in check_mysql.txt")
    assert table.rows[0][0] == "timestamp.replication_lag" and table.rows[0][2] == "no"
    assert all(r[2] == "yes" for r in table.rows[1:])
    assert "posting" not in result.summary  # the posting warning ranks below the names
    assert any("posts to the receiver" in h.text for h in result.hints)


def test_check_output_with_a_traceback_and_zero_samples_fails():
    result = run_stage(agent_output=fx("check_mysql_error.txt"))
    assert result.status is Status.FAIL
    assert result.summary.startswith("The mysql check reported 2 errors (check_mysql_error.txt line 11): "
                                     "pymysql.err.OperationalError: (1045")
    tb = cited(result, "Python tracebacks")
    assert [n for n, _ in tb] == [4, 11, 45, 54]
    assert tb[0][1] == "Traceback (most recent call last):" and tb[1][1].startswith("pymysql.err.OperationalError")
    assert [n for n, _ in cited(result, "Check errors")] == [3, 44]
    assert cited(result, "Zero metric samples") == [(38, "Metric Samples: Last Run: 0")]
    assert cited(result, "Failing service checks")[1] == (18, '"status": 2')
    assert result.hints[0].runbook == agent_common.RUNBOOK_CHECK


def test_an_empty_series_section_fails_for_the_integrations_check():
    result = run_stage(integration="system", agent_output=fx("check_cpu_empty_series.txt"))
    assert result.status is Status.FAIL
    assert result.summary == ("The cpu check collected no metrics: an empty Series section "
                              "(check_cpu_empty_series.txt line 1).")
    assert cited(result, "Zero metric samples") == [(1, "=== Series ==="), (17, "Metric Samples: Last Run: 0")]


def test_json_check_output_is_read_with_its_runner_stats():
    result = run_stage(integration="custom", agent_output=fx("check_app_json.txt"))
    assert result.status is Status.WARN
    assert "'host.requests'" in result.summary
    assert cited(result, "Refused metric names") == [(23, "host.requests")]
    assert cited(result, "Refused metric types") == [(50, "Gauge")]
    assert cited(result, "Failing service checks")[1] == (60, '"status": 3')


def test_all_names_refused_fails(tmp_path: Path):
    body = {"series": [{"metric": m, "points": [[1715681005, 1]], "tags": [], "host": "h", "type": "gauge"}
                       for m in ("host.cpu", "tags.count")]}
    out = tmp_path / "check.txt"
    out.write_text("=== Series ===\n" + json.dumps(body, indent=2) + "\n")
    result = run_stage(integration="custom", agent_output=str(out))
    assert result.status is Status.FAIL
    assert result.summary.startswith("All 2 metric names the check emits would be refused by the receiver")


def test_output_of_another_check_is_pointed_out():
    result = run_stage(integration="postgres", agent_output=fx("check_cpu_empty_series.txt"))
    assert result.status is Status.WARN
    assert "output of the cpu check, not of the postgres check" in result.summary
    assert "stackstate-agent check postgres -l debug" in result.hints[0].text


def test_status_with_an_invalid_key_fails():
    result = run_stage(agent_output=fx("status_api_key_invalid.txt"))
    assert result.status is Status.FAIL
    assert "API Key invalid" in result.summary
    assert cited(result, "API key refused (403)") == [(58, "API Key invalid")]
    assert cited(result, "Forwarder errors") == [(50, "Total number: 51"), (54, "403: 51")]


def test_status_without_the_integrations_check_fails():
    result = run_stage(integration="postgres", agent_output=fx("status_healthy.txt"))
    assert result.status is Status.FAIL
    assert result.summary == "The agent does not run the postgres check: status_healthy.txt lists cpu, mysql only."


# --- Kubernetes agent types -------------------------------------------------------------


def test_kubernetes_explains_agent_types_and_which_log_to_read():
    result = run_stage(integration="kubernetes", agent_log=fx("cluster_agent.log"))
    assert result.status is Status.FAIL and "time out" in result.summary
    text = next(e for e in result.evidence if isinstance(e, Text) and e.title.startswith("Which agent supplies"))
    assert "Cluster Agent" in text.text and "Kubernetes events" in text.text and "ClusterCheck Agent" in text.text
    hint = next(h for h in result.hints if h.runbook == agent_common.RUNBOOK_K8S)
    assert "node Agent" in hint.text and "written by component CLUSTER (the Cluster Agent)" in hint.text


def test_the_cluster_agents_own_checks_count_for_kubernetes(tmp_path: Path):
    lines = Path(fx("cluster_agent.log")).read_text().splitlines()[:5]
    lines.append("2024-05-14T09:58:49.1Z stdout F 2024-05-14 09:58:49 UTC | CLUSTER | INFO | "
                 "(pkg/forwarder/transaction.go:300 in internalProcess) | Successfully posted payload to "
                 '"https://stackstate.example.com/receiver/stsAgent/intake/"')
    log = tmp_path / "cluster-agent.log"
    log.write_text("\n".join(lines) + "\n")
    result = run_stage(integration="kubernetes", agent_log=str(log))
    assert result.status is Status.PASS, result.summary
    assert result.summary.startswith("The kubernetes_api_topology check ran without errors (cluster-agent.log line 5)")
    table = next(e for e in result.evidence if isinstance(e, Table) and e.title == "Checks seen")
    assert table.rows == [["kubernetes_api_topology", "cluster-agent.log line 3", "yes"]]


def test_errors_of_another_integrations_check_do_not_count(tmp_path: Path):
    lines = Path(fx("agent_healthy.log")).read_text().splitlines()
    cpu_error = ("2024-05-14 09:58:04 UTC | CORE | ERROR | (pkg/collector/worker/check_logger.go:71 in Error) | "
                 "check:cpu | Error running check: could not read /proc/stat")
    log = tmp_path / "agent.log"
    log.write_text("\n".join(lines[:12] + [cpu_error] + lines[12:]) + "\n")
    assert run_stage(agent_log=str(log)).status is Status.PASS
    system = run_stage(integration="system", agent_log=str(log))
    assert system.status is Status.FAIL
    assert system.summary.startswith("The cpu check reported 1 error (agent.log line 13): could not read /proc/stat")


def test_other_integrations_get_no_agent_type_explanation():
    result = run_stage(agent_log=fx("cluster_agent.log"))
    assert not any(isinstance(e, Text) and e.title.startswith("Which agent") for e in result.evidence)


# --- --agent-cmd and unreadable inputs ----------------------------------------------------


def test_agent_cmd_runs_a_real_process_and_is_judged_like_the_file():
    fixture = fx("check_mysql_error.txt")
    cmd = f"{shlex.quote(sys.executable)} -c \"import sys; sys.stdout.write(open(sys.argv[1]).read())\" {shlex.quote(fixture)}"
    from_cmd = run_stage(agent_cmd=cmd)
    from_file = run_stage(agent_output=fixture)
    assert from_cmd.status is from_file.status is Status.FAIL
    assert from_cmd.summary.replace(cmd, "check_mysql_error.txt") == from_file.summary
    assert cited(from_cmd, "Python tracebacks") == cited(from_file, "Python tracebacks")
    assert sample(from_cmd, "Python tracebacks").source == cmd


def test_an_unreadable_only_input_is_an_error():
    result = run_stage(agent_cmd="stackstate-agent-missing-binary check mysql")
    assert result.status is Status.ERROR
    assert "was not found" in result.summary


def test_a_failure_found_elsewhere_wins_over_a_command_that_cannot_run():
    cmd = "stackstate-agent-missing-binary status"
    result = run_stage(agent_log=fx("agent_403.log"), agent_cmd=cmd)
    assert result.status is Status.FAIL
    assert "(1 input(s) could not be read.)" in result.summary
    note = next(e for e in result.evidence if isinstance(e, Text) and e.title == f"{cmd}: not read")
    assert "was not found" in note.text


def test_a_missing_input_file_ends_the_run_as_a_usage_error(tmp_path: Path):
    missing = tmp_path / "agent.log"
    with pytest.raises(UsageError, match=f"--agent-log {missing}: no such file"):
        run_stage(agent_log=str(missing))


def test_a_slow_command_is_an_error_within_its_timeout():
    result = run_stage(agent_cmd="sleep 30", timeout=0.5)
    assert result.status is Status.ERROR
    assert "did not finish within 1.5 s" in result.summary
    assert result.duration_ms < 3000


# --- direct call with a built Context --------------------------------------------------------


def test_run_with_a_built_context_caches_the_metric_names():
    settings = Settings(integration="mysql", agent_output=fx("check_mysql.txt"))
    integration = find("mysql")
    ctx = Context(
        settings=settings,
        integration=integration,
        matcher=Matcher.build(integration),
        window=Window(NOW - 900, NOW, "15m"),
        now=NOW,
        sources=Sources(settings),
        stage_id="agent",
        stage_title=stage.TITLE,
    )
    result = stage.run(ctx)
    assert result.status is Status.WARN
    assert set(ctx.cache[stage.CACHE_METRIC_NAMES]) == {
        "mysql.net.connections", "mysql.performance.queries", "mysql.innodb.buffer_pool_free",
        "mysql.net.max_connections", "timestamp.replication_lag", "mysql.queries.latency",
    }


DST_NOW = calendar.timegm((2024, 3, 31, 1, 5, 0, 0, 0, 0))
# What fixtures/agent/README.md promises for each fixture: (integration, status, now).
EXPECTED = {
    "agent_healthy.log": ("mysql", Status.PASS, NOW),
    "agent_403.log": ("mysql", Status.FAIL, NOW),
    "agent_refused.log": ("mysql", Status.FAIL, NOW),
    "agent_dns.log": ("mysql", Status.FAIL, NOW),
    "agent_tls.log": ("mysql", Status.FAIL, NOW),
    "agent_rejected.log": ("mysql", Status.FAIL, NOW),
    "agent_intermittent.log": ("mysql", Status.WARN, NOW),
    "agent_windows_crlf.log": ("mysql", Status.WARN, NOW),
    "agent.log.1.gz": ("mysql", Status.WARN, NOW),
    "agent_timezones.log": ("mysql", Status.WARN, DST_NOW),
    "cluster_agent.log": ("kubernetes", Status.FAIL, NOW),
    "check_mysql.txt": ("mysql", Status.WARN, NOW),
    "check_mysql_error.txt": ("mysql", Status.FAIL, NOW),
    "check_cpu_empty_series.txt": ("system", Status.FAIL, NOW),
    "check_app_json.txt": ("custom", Status.WARN, NOW),
    "status_healthy.txt": ("mysql", Status.PASS, NOW),
    "status_api_key_invalid.txt": ("mysql", Status.FAIL, NOW),
    "agent_rfc3339_refused.log": ("mysql", Status.FAIL, NOW),
    "agent_json_refused.log": ("mysql", Status.FAIL, NOW),
    "agent_transactional.log": ("mysql", Status.FAIL, NOW),
    "agent_no_scheme.log": ("mysql", Status.FAIL, NOW),
    "agent_python_check.log": ("custom", Status.FAIL, NOW),
    "agent_unknown_format.log": ("mysql", Status.ERROR, NOW),
    "check_aws_topology.txt": ("custom", Status.WARN, NOW),
    "status_unable_to_validate.txt": ("mysql", Status.PASS, NOW),
}


def test_every_fixture_is_listed():
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES.iterdir() if p.name != "README.md")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_gives_its_documented_judgement_with_valid_spans(name: str):
    integration, status, now = EXPECTED[name]
    kind = "agent_output" if name.endswith(".txt") else "agent_log"
    result = run_stage(integration=integration, now=now, **{kind: fx(name)})
    assert result.status is status, result.summary
    assert result.summary.endswith((".", ")"))
    quoted = 0
    for ev in result.evidence:
        if isinstance(ev, LogSample):
            for line in ev.lines:
                quoted += 1
                assert line.n >= 1
                assert line.match is None or 0 <= line.match[0] < line.match[1] <= len(line.text)
    # Every problem cites its lines; a pass, an unreadable input or "not observed" has none to cite.
    assert quoted or status in (Status.PASS, Status.ERROR) or "not observed" in result.summary
