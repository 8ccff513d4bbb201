"""CLI contract through typer's runner, and once through the installed executable."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from stsdebug.cli import app
from tests.factories import ALL

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, list(args), env=env)


def test_no_input_explains_what_is_needed():
    r = runner.invoke(app, ["check", "-i", "aws"])
    assert r.exit_code == 2
    assert "needs something to look at" in r.output and "--kafka" in r.output


def test_unknown_integration_is_one_line_with_suggestion():
    r = runner.invoke(app, ["check", "-i", "kubernets", "--es", "http://127.0.0.1:1"])
    assert r.exit_code == 2
    assert "did you mean kubernetes" in r.output
    assert "Traceback" not in r.output


def test_bad_window():
    r = runner.invoke(app, ["check", "--es", "http://x", "--window", "soon"])
    assert r.exit_code == 2 and "--window" in r.output


def test_missing_config_file():
    r = runner.invoke(app, ["check", "--es", "x", "--config", "/nope/config.toml"])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_report_renders_saved_trace_in_all_formats(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(ALL["kafka_fail"]().to_json())
    text = runner.invoke(app, ["report", str(path)])
    assert text.exit_code == 0
    assert "Verdict: ✘ FAIL" in text.output and " ✘ FAIL     agent " in text.output
    as_json = runner.invoke(app, ["report", str(path), "--format", "json"])
    assert json.loads(as_json.output)["verdict"]["stage"] == "agent"
    junit = runner.invoke(app, ["report", str(path), "-f", "junit"])
    assert junit.output.count("<testcase") == 6
    assert junit.output.count("<failure") == 3  # agent, kafka, blocked elasticsearch
    assert "<skipped" in junit.output


def test_report_of_a_non_trace_is_exit_2(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    r = runner.invoke(app, ["report", str(bad)])
    assert r.exit_code == 2 and "not a stsdebug trace" in r.output


def test_output_never_overwrites_an_input(tmp_path):
    log = tmp_path / "agent.log"
    log.write_text("2026-11-21 10:00:00 UTC | CORE | INFO | (a.go:1 in f) | hello\n")
    r = run("check", "-i", "custom", "--agent-log", str(log), "-o", str(log))
    assert r.exit_code == 2 and "refusing to overwrite" in r.output
    assert log.read_text().endswith("hello\n")


def test_output_file_and_json(tmp_path):
    out = tmp_path / "run.json"
    r = run("check", "-i", "custom", "--es", "http://127.0.0.1:1", "--timeout", "1", "-f", "json", "-o", str(out))
    data = json.loads(out.read_text())
    assert data["schema"] == "stsdebug.trace/1"
    assert r.output == ""


def test_integrations_lists_catalog():
    r = run("integrations", "--format", "json")
    names = {i["name"]: i["kind"] for i in json.loads(r.output)}
    assert names["aws"] == "pull" and names["mysql"] == "push"


@pytest.mark.skipif(shutil.which("stsdebug") is None, reason="needs the installed entry point")
def test_installed_executable_and_module():
    exe = subprocess.run(["stsdebug", "--version"], capture_output=True, text=True, timeout=30)
    assert exe.returncode == 0 and exe.stdout.startswith("stsdebug ")
    mod = subprocess.run([sys.executable, "-m", "stsdebug", "integrations"], capture_output=True, text=True, timeout=30)
    assert mod.returncode == 0 and "aws" in mod.stdout
    bad = subprocess.run(
        ["stsdebug", "report", "/nonexistent.json"], capture_output=True, text=True, timeout=30,
        env=os.environ.copy(),
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "no such file" in bad.stderr


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from typer.testing import CliRunner; from stsdebug.cli import app;"
        "CliRunner().invoke(app, ['--help']);"
        "print(','.join(m for m in ('textual','elasticsearch','kafka') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == ""
