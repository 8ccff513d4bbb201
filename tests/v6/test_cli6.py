"""StackState 6 options on the command line: every mistake is one line and exit 2, before
anything runs; the options are grouped under their own --help panel."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stsdebug.cli import app

runner = CliRunner()


@pytest.mark.parametrize("args, says", [
    (["--victoria-metrics", "ftp://vm"], "--victoria-metrics 'ftp://vm': it must start with http:// or https://"),
    (["--vmagent", "suse-observability-vmagent:8429"], "--vmagent 'suse-observability-vmagent:8429': it must start with http:// or https://"),
    (["--prometheus-api", "https://"], "--prometheus-api 'https://': it has no host"),
    (["--sts-version", "7", "--es", "http://e:9200"], "--sts-version must be 5, 6 or auto, not '7'"),
    (["--scrape-interval", "0.1", "--vmagent", "http://v:8429"], "--scrape-interval must be between 1 and 120"),
    (["--binding", "up", "--component-tag", "cluster"], "--component-tag 'cluster': expected KEY=VALUE"),
    (["--bindings-file", "/nonexistent/b.sty"], "--bindings-file /nonexistent/b.sty: no such file"),
])
def test_mistakes_are_one_line(args: list[str], says: str) -> None:
    result = runner.invoke(app, ["check", "-i", "system", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_bindings_file_without_bindings_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.yaml"
    f.write_text("nodes: []\n")
    result = runner.invoke(app, ["check", "--bindings-file", str(f)])
    assert result.exit_code == 2 and "no MetricBinding" in result.output and str(f) in result.output


def test_the_service_token_is_a_secret(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["check", "-i", "aws", "--prometheus-api", "http://127.0.0.1:1/prometheus",
              "--prometheus-api-token-env", "SO_TOKEN", "--format", "json", "--timeout", "1"],
        env={"SO_TOKEN": "svc-token-abcdef-123456"})
    assert result.exit_code in (1, 3) and "svc-token-abcdef-123456" not in result.output
    assert '"prometheus_api_token": "<redacted>"' in result.output


def test_help_groups_the_v6_options() -> None:
    text = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "200"}).output
    assert "StackState 6" in text
    for flag in ("--victoria-metrics", "--vmagent", "--prometheus-api", "--binding", "--bindings-file",
                 "--component-tag", "--scrape-interval", "--sts-version", "--receiver-metrics"):
        assert flag in text


def test_sandbox_up_refuses_an_unknown_version(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sandbox", "up", "--sts-version", "9"], env={"STSDEBUG_SANDBOX_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "--sts-version must be 5 or 6" in result.output
