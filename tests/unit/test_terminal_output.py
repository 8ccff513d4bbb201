"""No control sequence from data reaches the terminal: text output of check and report."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.model import Hint, LogLine, LogSample, Table, Text
from stsdebug.render import text
from tests import factories

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
EVIL = (
    "\x1b]0;owned\x07\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\"
    "\x1bP$q\"p\x1b\\\x9b2J\x1b[2Jhidden\rshown\b\x00\x07\u202eevil"
)


def _everywhere() -> object:
    t = factories.kafka_fail()
    t.integration = f"kubernetes{EVIL}"
    for s in t.stages:
        s.summary += EVIL
        s.hints.append(Hint(EVIL, EVIL))
        s.evidence.append(Table(EVIL, [EVIL, "n"], [[EVIL, 1]], note=EVIL))
        s.evidence.append(LogSample(EVIL, EVIL, [LogLine(1, f"line {EVIL}", (0, 4))]))
        s.evidence.append(Text(EVIL, EVIL))
    t.verdict.sentence += EVIL
    return t


def test_text_render_strips_every_control_sequence_but_keeps_the_words() -> None:
    out = text.render(_everywhere(), verbose=True)  # type: ignore[arg-type]
    assert not CONTROL.search(out), repr(CONTROL.search(out))
    assert "linkhiddenshownevil" in out  # the readable part of every field stays
    assert "owned" not in out and "evil.example" not in out  # OSC payloads are not text


def test_report_text_of_a_hand_edited_trace_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(_everywhere().to_json(), encoding="utf-8")  # type: ignore[attr-defined]
    r = CliRunner().invoke(app, ["report", str(path), "--verbose"])
    assert r.exit_code == 0, r.output
    assert not CONTROL.search(r.stdout) and "linkhiddenshownevil" in r.stdout


def test_check_on_a_log_full_of_escape_sequences_prints_clean_text(tmp_path: Path) -> None:
    # Receiver log lines in logback's format (StackVista/helm-charts stackstate receiver
    # logback.xml: "%d{yyyy-MM-dd HH:mm:ss,SSS} [%thread] %-5level %logger{36} - %msg"),
    # with a hostile payload in the message the receiver echoes.
    t = datetime.fromtimestamp(time.time() - 5).strftime("%Y-%m-%d %H:%M:%S")
    log = tmp_path / "stackstate-receiver.log"
    log.write_text(
        f"{t},000 [d] WARN  com.stackstate.api.ReceiverRoutes - Failed to deserialize JSON on fields: , "
        f"with message: Object is missing required member 'internalHostname' {EVIL}\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(app, ["check", "-i", "custom", "--receiver-log", str(log), "--verbose"])
    assert r.exit_code in (0, 1, 3), r.output
    assert "internalHostname" in r.stdout
    assert not CONTROL.search(r.stdout), repr(CONTROL.search(r.stdout))
