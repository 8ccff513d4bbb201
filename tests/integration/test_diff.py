"""`stsdebug diff` on sandbox traces: a fault, then the fix, saved as JSON, HTML report and bundle."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from stsdebug.sandbox import control
from tests.integration.sandbox_support import run_cli, sandbox

pytestmark = pytest.mark.wire


def save(base: Path, out: Path, name: str) -> None:
    """The same trace three ways: check's JSON, check's HTML report, and a bundle."""
    r = run_cli(base, "check", "--profile", "sandbox", "--integration", "system", "--format", "json",
                "-o", str(out / f"{name}.json"), "--html", str(out / f"{name}.html"))
    assert r.exit_code in (0, 1, 3), r.output
    b = run_cli(base, "bundle", "--profile", "sandbox", "--integration", "system", "-o", str(out / f"{name}.zip"))
    assert b.exit_code == 0, b.output


def test_fault_then_fix_is_no_worse_and_the_reverse_is_worse(tmp_path: Path) -> None:
    base = tmp_path / "state"
    with sandbox(base, ["kafka-down"]):
        save(base, tmp_path, "before")
        control.up([], base=base, die_with_parent=True)  # the fix: Kafka back, nothing broken
        save(base, tmp_path, "after")

    fixed = run_cli(base, "diff", str(tmp_path / "before.json"), str(tmp_path / "after.json"))
    assert fixed.exit_code == 0, fixed.output
    out = fixed.stdout
    assert "Fixed: the verdict went from FAIL at StackState receiver to pass." in out
    assert re.search(r"receiver +✘ FAIL +→ +✔ pass +better", out)
    assert re.search(r"Kafka producer problems in the window +[1-9][\d,]* → 0 +better", out)

    # Any mix of inputs: an HTML report and a bundle are traces too.
    worse = run_cli(base, "diff", str(tmp_path / "after.zip"), str(tmp_path / "before.html"), "--format", "json")
    assert worse.exit_code == 1
    data = json.loads(worse.stdout)
    assert data["worse"] is True and data["verdict_move"] == "appeared"
    changes = {c["id"]: c["change"] for c in data["stages"]}
    assert changes["receiver"] == "worse" and changes["kafka"] == "worse"
    assert data["before"]["file"].endswith("after.zip")

    # The HTML section: the later report, opening with what changed.
    page = tmp_path / "compared.html"
    r = run_cli(base, "diff", str(tmp_path / "before.zip"), str(tmp_path / "after.html"), "--html", str(page))
    assert r.exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert 'id="diff"' in html and "Compared with the trace before" in html
    assert html.index('id="verdict"') < html.index('id="diff"') < html.index('id="pipeline"')
    again = run_cli(base, "report", str(page), "--format", "json")  # still a trace
    assert json.loads(again.stdout)["verdict"]["status"] == "pass"
    assert zipfile.is_zipfile(tmp_path / "after.zip")
