"""`check --html` and `report RUN --html` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.model import TraceResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "traces"
runner = CliRunner()


def test_report_rerenders_a_saved_trace_and_reads_its_own_report_back(tmp_path: Path) -> None:
    saved = FIXTURES / "kafka_fail.json"
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["report", str(saved), "--html", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output == ""  # --html alone writes only the file
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Data for kubernetes stops at StackState Agent" in page

    again = runner.invoke(app, ["report", str(out), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == json.loads(saved.read_text(encoding="utf-8"))
    # ...and an HTML report re-renders to the same HTML report.
    second = tmp_path / "second.html"
    assert runner.invoke(app, ["report", str(out), "--html", str(second)]).exit_code == 0
    assert second.read_text(encoding="utf-8") == page


def test_report_refuses_to_overwrite_the_report_it_reads(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert runner.invoke(app, ["report", str(FIXTURES / "all_pass.json"), "--html", str(out)]).exit_code == 0
    before = out.read_bytes()
    r = runner.invoke(app, ["report", str(out), "--html", str(out)])
    assert r.exit_code == 2 and "refusing to overwrite" in r.output
    assert out.read_bytes() == before


def test_template_dir_brands_the_report_and_errors_are_one_line(tmp_path: Path) -> None:
    brand = tmp_path / "brand"
    (brand / "partials").mkdir(parents=True)
    (brand / "partials" / "footer.html.j2").write_text("<footer>ACME support desk</footer>\n")
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(FIXTURES / "with_error.json"), "--html", str(out), "--template-dir", str(brand)])
    assert r.exit_code == 0, r.output
    assert "<footer>ACME support desk</footer>" in out.read_text(encoding="utf-8")

    r = runner.invoke(app, ["report", str(FIXTURES / "with_error.json"), "--html", str(out), "--template-dir", str(tmp_path / "nope")])
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0 and "--template-dir" in r.output and "Traceback" not in r.output

    (brand / "partials" / "footer.html.j2").write_text("{% for %}\n")
    r = runner.invoke(app, ["report", str(FIXTURES / "with_error.json"), "--html", str(out), "--template-dir", str(brand)])
    assert r.exit_code == 2 and "partials/footer.html.j2:1" in r.output and "Traceback" not in r.output


def test_check_writes_an_html_report_next_to_its_output(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text("2026-11-21 10:00:00 UTC | CORE | INFO | (a.go:1) | started\n")
    (tmp_path / "none.toml").write_text("")
    out = tmp_path / "r.html"
    r = runner.invoke(
        app,
        ["check", "--agent-log", str(log), "-i", "kubernetes", "--format", "json", "--html", str(out)],
        env={"STSDEBUG_CONFIG": str(tmp_path / "none.toml")},
    )
    assert r.exit_code in (0, 1, 3), r.output
    assert TraceResult.load(out).to_dict() == json.loads(r.stdout)
