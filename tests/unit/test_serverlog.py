"""The StackState server log read for the pull plugins' errors: entries, patterns, judgement.

Lines are in the 5.1 chart's logback layout for the server (StackVista/helm-charts
stable/stackstate 5.1.4 templates/configmap-server-log.yaml: %date %-5level %logger{60} -
%msg%n) and the Linux package's (with [%thread]); the plugin logger names and sentences are
inferred, the exception texts are the SDKs' own (aws/aws-sdk-java AmazonServiceException).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from stsdebug.errors import UsageError
from stsdebug.model import StageResult, Status
from stsdebug.serverlog import extra_patterns, group, read
from stsdebug.settings import Settings
from stsdebug.stages import source
from stsdebug.stages.base import Stage
from stsdebug.trace import Trace

NOW = datetime(2024, 5, 14, 10, 5, tzinfo=timezone.utc).timestamp()
EXPIRED = ("com.amazonaws.services.cloudwatch.model.AmazonCloudWatchException: The security token included "
           "in the request is expired (Service: AmazonCloudWatch; Status Code: 403; Error Code: ExpiredToken; "
           "Request ID: 7e1a4c2b; Proxy: null)")


def _stamp(age: float) -> str:
    t = datetime.fromtimestamp(NOW - age, timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S,000")


def k8s(age: float, level: str, logger: str, msg: str, *more: str) -> list[str]:
    return [f"{_stamp(age)} {level:<5} {logger} - {msg}", *more]


def _lines(rows: list[str]) -> list[tuple[str, int, str]]:
    return [("server.log", n, text) for n, text in enumerate(rows, start=1)]


def test_kubernetes_lines_are_read_as_utc_and_grouped_with_their_stack_trace() -> None:
    rows = k8s(60, "ERROR", "com.stackstate.plugins.aws.cloudwatch.CloudWatchClient", "Failed to retrieve",
               EXPIRED, "\tat com.amazonaws.http.AmazonHttpClient.execute(AmazonHttpClient.java:1)")
    (entry,) = list(group(_lines(rows), None, auto_utc=True))
    assert entry.ts == pytest.approx(NOW - 60) and entry.layout == "kubernetes"
    assert len(entry.lines) == 3 and "ExpiredToken" in entry.lines[1]


def test_the_plugins_errors_by_cause_and_noise_of_others_ignored() -> None:
    rows = (k8s(600, "ERROR", "com.stackstate.plugins.aws.cloudwatch.CloudWatchClient", "Failed", EXPIRED)
            + k8s(500, "ERROR", "com.stackstate.sync.SynchronizationActor", "Synchronization failed: ExpiredToken")
            + k8s(400, "WARN", "com.stackstate.plugins.aws.cloudwatch.CloudWatchClient", "Rate exceeded, retrying")
            + k8s(300, "WARN", "com.stackstate.plugins.azure.AzureMonitorClient", "was throttled"))
    r = read(group(_lines(rows), None, True), (NOW - 900, NOW), ("com.stackstate.plugins.aws", "cloudwatch"))
    assert set(r.findings) == {"credentials", "throttled"}
    assert r.findings["credentials"].patterns == {"aws-expired-token"} and r.plugin_entries == 2


def test_numbers_inside_other_text_are_not_http_statuses() -> None:
    rows = k8s(60, "ERROR", "com.stackstate.plugins.splunk.SplunkClient",
               "Saved search took 401 ms on host splunk-401.example.com, 4290 results")
    r = read(group(_lines(rows), None, True), (NOW - 900, NOW), ("splunk",))
    assert set(r.findings) == {"error"}  # an ERROR of the plugin, but neither 401 nor 429


def test_extra_patterns_are_checked_in_one_line() -> None:
    (p,) = extra_patterns(["credentials:MyPluginAuthFailed"])
    assert p.cause == "credentials" and p.regex.search("myPluginAuthFailed")
    for bad in ("nocause", "bogus:x", "error:(unclosed"):
        with pytest.raises(UsageError) as err:
            extra_patterns([bad])
        assert "server_log_pattern" in str(err.value) and "\n" not in str(err.value)


def _run(tmp_path: Path, rows: list[str], integration: str = "aws", **kw: object) -> StageResult:
    log = tmp_path / "stackstate-server.log"
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    s = Settings(integration=integration, server_log=[str(log)], window="15m", **kw)  # type: ignore[arg-type]
    return Trace(s, stages=[Stage("source", source.TITLE, source.run)], now=NOW).run().stages[0]


def test_expired_credentials_until_the_end_fail_the_source(tmp_path: Path) -> None:
    rows = [ln for age in range(600, 0, -30)
            for ln in k8s(age, "ERROR", "com.stackstate.plugins.aws.cloudwatch.CloudWatchClient", "Failed", EXPIRED)]
    r = _run(tmp_path, rows)
    assert r.status is Status.FAIL, r.summary
    assert "refused the plugin's credentials" in r.summary and "ExpiredToken" in r.summary
    assert "wording is not public" in r.summary
    assert any("AWS StackPack" in h.text for h in r.hints)


def test_credentials_errors_long_quiet_since_only_warn(tmp_path: Path) -> None:
    rows = (k8s(840, "ERROR", "com.stackstate.plugins.aws.cloudwatch.CloudWatchClient", "Failed", EXPIRED)
            + k8s(60, "WARN", "com.stackstate.sync.SynchronizationActor", "unrelated"))
    r = _run(tmp_path, rows)
    assert r.status is Status.WARN and "none since" in r.summary


def test_a_file_that_is_no_server_log_is_an_error(tmp_path: Path) -> None:
    r = _run(tmp_path, ["2024-05-14 10:01:02 UTC | CORE | INFO | (a.go:1 in F) | hello"])
    assert r.status is Status.ERROR and "does not look like a StackState server log" in r.summary


def test_a_log_of_another_day_gives_no_verdict(tmp_path: Path) -> None:
    r = _run(tmp_path, k8s(86400, "ERROR", "com.stackstate.plugins.aws.X", "Failed", EXPIRED))
    assert r.status is Status.SKIP
