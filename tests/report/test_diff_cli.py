"""`stsdebug diff` on the command line: exit codes, output forms, and one clean line for bad input."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.model import Status
from tests import factories

runner = CliRunner()


def saved(tmp_path: Path, name: str, trace: object) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(trace.to_json(), encoding="utf-8")  # type: ignore[attr-defined]
    return path


def one_line_error(result: object) -> str:
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    err = result.stderr.strip()  # type: ignore[attr-defined]
    assert err.count("\n") == 0 and err.startswith("stsdebug: error: ") and "Traceback" not in err
    return err


def test_exit_0_when_no_worse_1_when_worse(tmp_path: Path) -> None:
    a = saved(tmp_path, "a", factories.kafka_fail())
    b = saved(tmp_path, "b", factories.with_error())  # the verdict moved downstream
    assert runner.invoke(app, ["diff", str(a), str(b)]).exit_code == 0
    worse = runner.invoke(app, ["diff", str(b), str(a)])
    assert worse.exit_code == 1
    assert "Worse: the data now stops earlier, at FAIL at StackState Agent" in worse.stdout
    same = runner.invoke(app, ["diff", str(a), str(a)])
    assert same.exit_code == 0 and "The verdict is unchanged" in same.stdout and "6 stages unchanged" in same.stdout


def test_piped_text_has_no_escape_codes_and_json_is_one_document(tmp_path: Path) -> None:
    a, b = saved(tmp_path, "a", factories.kafka_fail()), saved(tmp_path, "b", factories.with_error())
    text = runner.invoke(app, ["diff", str(a), str(b)])
    assert "\x1b" not in text.stdout
    data = json.loads(runner.invoke(app, ["diff", str(a), str(b), "-f", "json"]).stdout)
    assert data["schema"] == "stsdebug.diff/1"
    out = tmp_path / "d.json"
    r = runner.invoke(app, ["diff", str(a), str(b), "-f", "json", "-o", str(out)])
    assert r.exit_code == 0 and r.stdout == "" and json.loads(out.read_text())["worse"] is False


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    a = saved(tmp_path, "a", factories.kafka_fail())
    assert "no such file" in one_line_error(runner.invoke(app, ["diff", str(a), str(tmp_path / "nope.json")]))
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    assert "not a stsdebug trace" in one_line_error(runner.invoke(app, ["diff", str(junk), str(a)]))
    other = saved(tmp_path, "aws", factories.all_pass())
    assert "compare two traces of the same integration" in one_line_error(runner.invoke(app, ["diff", str(a), str(other)]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("report.html", "<html></html>")
    nozip = tmp_path / "bundle.zip"
    nozip.write_bytes(buf.getvalue())
    assert "without trace.json" in one_line_error(runner.invoke(app, ["diff", str(nozip), str(a)]))
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert "not a readable zip" in one_line_error(runner.invoke(app, ["diff", str(broken), str(a)]))
    assert "refusing to overwrite" in one_line_error(runner.invoke(app, ["diff", str(a), str(a), "-o", str(a)]))


@pytest.mark.parametrize("args", [["diff"], ["diff", "only-one.json"]])
def test_missing_arguments_are_a_usage_error(args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_statuses_in_the_text_keep_their_marks(tmp_path: Path) -> None:
    a, b = saved(tmp_path, "a", factories.kafka_fail()), saved(tmp_path, "b", factories.with_error())
    out = runner.invoke(app, ["diff", str(a), str(b)]).stdout
    assert f"{Status.FAIL.mark} FAIL" in out and f"{Status.ERROR.mark} ERROR" in out
