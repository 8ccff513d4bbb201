"""Property: a random secret, configured and seeded into the inputs as it is, as base64 (alone
and as Basic ``user:secret``) and URL-encoded, never appears in the text, JSON, JUnit or HTML
output of a trace built from it, nor in ``check``'s outputs on log files."""

from __future__ import annotations

import base64
import html as html_mod
import json
import string
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.model import LogLine, LogSample, Status, Table, Text, TraceResult
from stsdebug.redact import MARK, secret_forms
from stsdebug.render import html, junit, text
from stsdebug.settings import SECRET_FIELDS, Settings
from stsdebug.stages.base import Context, Stage
from stsdebug.trace import Trace

NOW = 1795250000.0
_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~\"'\\ " + "äßéø日本"
secrets_st = st.text(st.sampled_from(_ALPHABET), min_size=10, max_size=24).filter(
    lambda s: s.strip() == s and MARK not in s and "redacted" not in s
)


def seeded_forms(secret: str, user: str = "elastic") -> list[str]:
    """The secret as it reaches stsdebug from outside: plain, base64, Basic user:secret, URL."""
    raw = secret.encode()
    pair = f"{user}:{secret}".encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(pair).decode(),
        quote(secret, safe=""),
        quote_plus(secret),
    ]


def forbidden(secret: str, user: str = "elastic") -> set[str]:
    """What must not appear: every seeded form and every encoding stsdebug itself writes."""
    out = set(secret_forms(secret)) | {f.rstrip("=") for f in seeded_forms(secret, user)}
    return {f for f in out if len(f) >= 4}


def leaks(output: str, secret: str, user: str = "elastic") -> list[str]:
    """Forbidden strings found in ``output`` as written, or after undoing HTML/XML/JSON escapes."""
    views = [output, html_mod.unescape(output)]
    views.append(views[1].replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&").replace("\\u005c", "\\"))
    return sorted({f for f in forbidden(secret, user) for v in views if f in v})


def seeded_lines(secret: str) -> list[str]:
    plain, b64, b64url, basic, url, url_plus = seeded_forms(secret)
    return [
        f"2026-11-21 10:01:02 UTC | CORE | ERROR | (transaction.go:225) | sending with key {plain} failed",
        f"2026-11-21 10:01:03 UTC | CORE | DEBUG | (http.go:12) | body echo: {b64} / {b64url}",
        f"2026-11-21 10:01:04 UTC | CORE | DEBUG | (http.go:13) | server said: auth {basic} is not valid",
        f'2026-11-21 10:01:05 UTC | CORE | DEBUG | (http.go:14) | GET /x?q={url}&r={url_plus} -> 401',
        f"2026-11-21 10:01:06 UTC | CORE | DEBUG | (cfg.go:7) | {json.dumps({'v': secret})}",
    ]


def leaky_trace(secret: str, field: str) -> TraceResult:
    """A real Trace run whose stage quotes the seeded lines verbatim everywhere it can."""
    lines = seeded_lines(secret)

    def run(ctx: Context) -> Any:
        return ctx.result(
            Status.FAIL,
            f"Rejected: {lines[0]}",
            [
                LogSample("Seeded", "agent.log", [LogLine(n, t, (0, 4)) for n, t in enumerate(lines, 1)]),
                Table("Seeded", ["line", "n"], [[t, n] for n, t in enumerate(lines, 1)], note=lines[2]),
                Text("Seeded", "\n".join(lines)),
            ],
        ).hint(f"Check {lines[1]}", lines[3])

    s = Settings(integration="kubernetes", es_username="elastic", **{field: secret})  # type: ignore[arg-type]
    return Trace(s, stages=[Stage("agent", "StackState Agent", run)], now=NOW).run()


def renders(trace: TraceResult) -> dict[str, str]:
    return {
        "text": text.render(trace, verbose=True),
        "json": trace.to_json(),
        "junit": junit.render(trace),
        "html": html.render(trace),
    }


_BASELINE = "\n".join(renders(leaky_trace("0" * 12, "api_key")).values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secrets_st, st.sampled_from(SECRET_FIELDS))
def test_a_configured_secret_seeded_in_every_form_never_reaches_an_output(secret: str, field: str) -> None:
    # A secret that is a word of stsdebug's own output cannot be told apart from it.
    assume(not any(f in _BASELINE for f in forbidden(secret)))
    trace = leaky_trace(secret, field)
    for name, out in renders(trace).items():
        assert leaks(out, secret) == [], name
    sample = trace.stages[0].evidence[0]
    assert isinstance(sample, LogSample) and sample.lines[0].text.startswith("2026-11-21 10:01:02 UTC")


def _receiver_log(path: Path, secret: str) -> Path:
    # Logback layout of the StackState receiver (StackVista/helm-charts stackstate chart,
    # receiver logback.xml: "%d{yyyy-MM-dd HH:mm:ss,SSS} [%thread] %-5level %logger{36} - %msg").
    t = datetime.fromtimestamp(time.time() - 5).strftime("%Y-%m-%d %H:%M:%S")
    body = "\n".join(
        f"{t},{i:03d} [akka-{i}] WARN  com.stackstate.api.ReceiverRoutes - Failed to deserialize JSON on fields: , "
        f"with message: Object is missing required member 'internalHostname' {line.split(' | ')[-1]}"
        for i, line in enumerate(seeded_lines(secret))
    )
    path.write_text(body + "\n", encoding="utf-8")
    return path


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(secrets_st)
def test_check_on_log_files_keeps_the_seeded_secret_out_of_every_output(tmp_path: Path, secret: str) -> None:
    assume(not any(f in _BASELINE for f in forbidden(secret)))
    d = tmp_path / f"run{abs(hash(secret))}"
    d.mkdir(exist_ok=True)  # hypothesis may draw the same secret twice
    log = _receiver_log(d / "stackstate-receiver.log", secret)
    env = {"SEEDED_KEY": secret, "STSDEBUG_CONFIG": str(d / "none.toml"), "STSDEBUG_ES_USERNAME": "elastic"}
    (d / "none.toml").write_text("")
    common = ["check", "--receiver-log", str(log), "--api-key-env", "SEEDED_KEY", "-i", "kubernetes", "--verbose"]
    runner = CliRunner()
    outputs: dict[str, str] = {}
    for fmt in ("text", "json", "junit"):
        r = runner.invoke(app, [*common, "-f", fmt], env=env)
        assert r.exit_code in (0, 1, 3), r.output
        outputs[fmt] = r.stdout
    r = runner.invoke(app, [*common, "-f", "json", "-o", str(d / "run.json"), "--html", str(d / "r.html")], env=env)
    assert r.exit_code in (0, 1, 3), r.output
    outputs["html"] = (d / "r.html").read_text(encoding="utf-8")
    outputs["json file"] = (d / "run.json").read_text(encoding="utf-8")
    assert "internalHostname" in outputs["text"]  # the lines were read and quoted
    for name, out in outputs.items():
        assert leaks(out, secret) == [], name
