"""Support bundles: what goes in, how it is redacted, and the refusal when a secret survives."""

from __future__ import annotations

import gzip
import hashlib
import html as html_mod
import json
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stsdebug import bundle
from stsdebug.cli import app
from stsdebug.errors import UsageError
from stsdebug.model import LogLine, LogSample, Status, Text, TraceResult
from stsdebug.render import html
from stsdebug.settings import Settings
from stsdebug.stages.base import Context, Stage
from stsdebug.trace import Trace
from tests.factories import ALL

# Seeded secrets: configured values, and credentials in the shapes they take in inputs.
API_KEY = "sk0live0RECEIVERKEY0123456789"
ES_PASSWORD = "Pa55-w0rd-ES-only"
STS_TOKEN = "stsTOKENabcdefghijklmnop"
SASL_PASSWORD = "kafka-sasl-Secret-77"
MIRROR_KEY = "mirrorKEY-9f8e7d6c5b4a"
ES_API_KEY = "ZXNhcGlrZXk6c2VjcmV0dmFsdWU"
BEARER = "bearerTOKEN.abc.DEF-1234567890"
URL_PASSWORD = "urlpassw0rdXYZ"
LOG_KEY = "logonlyKEY55555aaaaabbbbb"  # not configured: only the api_key= pattern catches it
CONFIGURED = [API_KEY, ES_PASSWORD, STS_TOKEN, SASL_PASSWORD, MIRROR_KEY, ES_API_KEY]
ALL_SECRETS = [*CONFIGURED, BEARER, URL_PASSWORD, LOG_KEY]

runner = CliRunner()


def secret_lines() -> list[str]:
    return [
        f"2026-11-21 10:01:02 UTC | CORE | ERROR | (transaction.go:225) | Error code \"403\" sending to "
        f"\"https://receiver:7077/stsAgent/intake/?api_key={API_KEY}\": dropping it",
        f"2026-11-21 10:01:03 UTC | CORE | DEBUG | (http.go:12) | Authorization: Bearer {BEARER}",
        f"2026-11-21 10:01:04 UTC | CORE | DEBUG | (es.go:40) | es at http://elastic:{URL_PASSWORD}@127.0.0.1:9200",
        f"2026-11-21 10:01:05 UTC | CORE | DEBUG | (cfg.go:7) | password={ES_PASSWORD} sasl {SASL_PASSWORD}",
        f"2026-11-21 10:01:06 UTC | CORE | WARN | (fwd.go:9) | posting with api_key={LOG_KEY} and X-MIRROR-API-KEY: {MIRROR_KEY}",
        f"2026-11-21 10:01:07 UTC | CORE | DEBUG | (topic.go:3) | token {STS_TOKEN} / es key {ES_API_KEY}",
    ]


def settings_for(tmp_path: Path, **kw: object) -> Settings:
    return Settings(
        integration="kubernetes",
        api_key=API_KEY,
        es_password=ES_PASSWORD,
        sts_api_token=STS_TOKEN,
        kafka_sasl_password=SASL_PASSWORD,
        mirror_api_key=MIRROR_KEY,
        es_api_key=ES_API_KEY,
        es=f"http://elastic:{URL_PASSWORD}@127.0.0.1:9",
        **kw,  # type: ignore[arg-type]
    )


def agent_log(tmp_path: Path, n: int = 830, at: int = 812, extra: dict[int, str] | None = None) -> Path:
    """An agent.log of ``n`` lines with the seeded secrets starting at line ``at``."""
    lines = [f"2026-11-21 09:00:00 UTC | CORE | INFO | (a.go:1) | routine line {i}" for i in range(1, n + 1)]
    for i, text in enumerate(secret_lines()):
        lines[at - 1 + i] = text
    for i, text in (extra or {}).items():
        lines[i - 1] = text
    path = tmp_path / "agent.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def exposed(data: bytes, secrets: list[str]) -> list[str]:
    """Secrets found in ``data`` as they are, or behind JSON/HTML/report escaping."""
    text = data.decode("utf-8", errors="replace")
    plain = html_mod.unescape(
        text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&").replace("\\u005c", "\\")
    )
    return [s for s in secrets if s in text or s in plain or json.dumps(s)[1:-1] in text]


def leaky_stage(log: Path) -> Stage:
    """A stage that quotes every log line and the settings verbatim, secrets and all.

    The trace's redaction, not the stage, must keep them out of every output.
    """

    def run(ctx: Context):
        lines = log.read_text(encoding="utf-8").splitlines()
        quoted = [LogLine(n, t, (0, 10)) for n, t in enumerate(lines, 1) if "routine" not in t]
        return ctx.result(
            Status.FAIL,
            f"Rejected with api_key={API_KEY}.",
            [
                LogSample("Rejections", "agent.log", quoted, total_matches=len(quoted)),
                Text("Settings as seen", json.dumps(ctx.settings.__dict__, default=str)),
            ],
        ).hint(f"Check the key {API_KEY} and the password {ES_PASSWORD}.", "StackState Agent: check the agent log")

    return Stage("agent", "StackState Agent", run)


# --- secrets never leave ----------------------------------------------------------------------


def test_seeded_secrets_appear_in_no_output(tmp_path: Path) -> None:
    log = agent_log(tmp_path)
    out = tmp_path / "agent-output.txt"
    out.write_text("=== Series ===\n" + "\n".join(secret_lines()) + "\n", encoding="utf-8")
    s = settings_for(tmp_path, agent_log=str(log), agent_output=str(out))
    trace = Trace(s, stages=[leaky_stage(log)], now=1795250000.0).run()
    assert trace.stages[0].evidence[0].lines  # the stage did quote the lines

    page = html.render(trace).encode()
    as_json = trace.to_json().encode()
    made = bundle.build(trace, s, created_at=1795250000.0)
    outputs = {"report (html)": page, "trace (json)": as_json} | {f.name: f.data for f in made.files}
    assert {n: exposed(d, ALL_SECRETS) for n, d in outputs.items() if exposed(d, ALL_SECRETS)} == {}
    # ...and the lines are still there, with the secrets replaced.
    excerpt = made.file("inputs/agent-log/agent.log.excerpts.txt").data.decode()
    assert f"> 812  {secret_lines()[0].split(API_KEY)[0]}<redacted>" in excerpt
    settings = json.loads(made.file("settings.json").data)
    assert all(settings[k] == "<redacted>" for k in ("api_key", "es_password", "sts_api_token",
                                                     "kafka_sasl_password", "mirror_api_key", "es_api_key"))
    assert settings["es"] == "http://elastic:<redacted>@127.0.0.1:9"


def test_cli_bundle_and_html_keep_seeded_secrets_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = agent_log(tmp_path, n=40, at=20)
    rlog = tmp_path / "stackstate-receiver.log"
    rlog.write_text("\n".join(f"2026-11-21 10:01:0{i},000 [akka-1] ERROR c.s.r.Intake - {t}"
                              for i, t in enumerate(secret_lines())) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    env = {
        "STSDEBUG_API_KEY_TEST": API_KEY,
        "STSDEBUG_ES_PASSWORD": ES_PASSWORD,
        "STSDEBUG_STS_API_TOKEN": STS_TOKEN,
        "STSDEBUG_KAFKA_SASL_PASSWORD": SASL_PASSWORD,
        "STSDEBUG_ES_API_KEY": ES_API_KEY,
        "STSDEBUG_MIRROR_API_KEY": MIRROR_KEY,
        "STSDEBUG_CONFIG": str(tmp_path / "none.toml"),
    }
    (tmp_path / "none.toml").write_text("")
    common = ["--agent-log", str(log), "--receiver-log", str(rlog), "--api-key-env", "STSDEBUG_API_KEY_TEST",
              "-i", "kubernetes"]
    r = runner.invoke(app, ["bundle", *common, "-o", "b.zip"], env=env)
    assert r.exit_code == 0, r.output
    assert "Wrote b.zip" in r.output and "Verdict:" in r.output
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        names = zf.namelist()
        assert {"report.html", "trace.json", "settings.json", "manifest.json"} <= set(names)
        assert any(n.startswith("inputs/agent-log/agent.log.") for n in names)
        assert any(n.startswith("inputs/receiver-log/stackstate-receiver.log.") for n in names)
        leaks = {n: exposed(zf.read(n), ALL_SECRETS) for n in names}
    assert {n: v for n, v in leaks.items() if v} == {}

    r = runner.invoke(app, ["check", *common, "--format", "json", "--html", "r.html"], env=env)
    assert r.exit_code in (0, 1, 3), r.output
    assert exposed(r.stdout.encode(), ALL_SECRETS) == []
    assert exposed((tmp_path / "r.html").read_bytes(), ALL_SECRETS) == []
    assert TraceResult.load(tmp_path / "r.html").to_dict() == json.loads(r.stdout)


# --- what goes in --------------------------------------------------------------------------


def test_bundle_layout_manifest_and_inputs(tmp_path: Path) -> None:
    log = agent_log(tmp_path)  # kafka_fail quotes agent.log line 812
    rdir = tmp_path / "receiver"
    rdir.mkdir()
    (rdir / "stackstate-receiver.log").write_text("".join(f"receiver line {i}\n" for i in range(1, 31)))
    with gzip.open(rdir / "stackstate-receiver.2026-11-20.log.gz", "wt") as fh:
        fh.write("".join(f"old line {i}\n" for i in range(1, 5)))
    out = tmp_path / "check-output.txt"
    out.write_text("=== Series ===\n[]\n")
    streams = tmp_path / "streams.yaml"
    streams.write_text("- name: cpu\n  metric: values.cpu\n")
    s = settings_for(
        tmp_path, agent_log=str(log), receiver_log=[str(rdir), "-"], agent_output=str(out),
        streams_file=str(streams), agent_cmd="stackstate-agent check kubernetes -l debug",
    )
    made = bundle.build(ALL["kafka_fail"](), s, created_at=1795250000.0)
    names = [f.name for f in made.files]
    assert names == [
        "report.html",
        "trace.json",
        "settings.json",
        "inputs/agent-output/check-output.txt",
        "inputs/agent-log/agent.log.excerpts.txt",
        "inputs/receiver-log/stackstate-receiver.log.excerpts.txt",
        "inputs/streams-file/streams.yaml",
        "manifest.json",
    ]
    m = made.manifest
    assert m["schema"] == "stsdebug.bundle/1" and m["stsdebug_version"] == "0.1.0"
    assert m["created_at"] == "2026-11-21T08:33:20Z"
    for entry, f in zip(m["files"], made.files[:-1], strict=True):
        assert entry == {"name": f.name, "size": len(f.data), "sha256": hashlib.sha256(f.data).hexdigest()}
    inputs = {(i["setting"], i["kind"]): i for i in m["inputs"]}
    assert inputs[("agent_log", "excerpts")]["lines"] == [[792, 830]]  # the file ends at 830
    assert inputs[("receiver_log", "excerpts")]["lines"] == [[1, 30]]  # line 10 quoted, file shorter than the context
    assert inputs[("receiver_log", "not included")]["path"] == "-"
    assert "stdin" in inputs[("receiver_log", "not included")]["note"]
    assert "not run again" in inputs[("agent_cmd", "not included")]["note"]
    assert inputs[("agent_output", "full")]["lines"] == [[1, 2]]
    # The report inside is the same trace, re-readable.
    report = tmp_path / "report.html"
    report.write_bytes(made.file("report.html").data)
    assert TraceResult.load(report).to_dict() == json.loads(made.file("trace.json").data)

    excerpt = made.file("inputs/agent-log/agent.log.excerpts.txt").data.decode().splitlines()
    assert excerpt[2] == "  792  2026-11-21 09:00:00 UTC | CORE | INFO | (a.go:1) | routine line 792"
    assert excerpt[-1].startswith("  830  ")
    assert [ln.split()[1] for ln in excerpt if ln.startswith(">")] == ["812"]

    target = tmp_path / "b.zip"
    bundle.write(made, target)
    with zipfile.ZipFile(target) as zf:
        assert zf.namelist() == names
        assert zf.read("manifest.json") == made.file("manifest.json").data
        assert zf.testzip() is None


def test_excerpts_merge_overlapping_context_and_mark_gaps(tmp_path: Path) -> None:
    path = tmp_path / "agent.log"
    path.write_text("".join(f"line {i}\n" for i in range(1, 101)))
    trace = ALL["kafka_fail"]()
    trace.stages[1].evidence[1] = LogSample("x", "agent.log", [LogLine(10, "line 10"), LogLine(14, "line 14"), LogLine(60, "line 60")])
    made = bundle.build(trace, Settings(agent_log=str(path)), context=3)
    text = made.file("inputs/agent-log/agent.log.excerpts.txt").data.decode().splitlines()[2:]
    assert [ln[2:5].strip() for ln in text] == ["7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "…", "57", "58", "59", "60", "61", "62", "63"]
    assert text[11] == "# …"
    assert made.manifest["inputs"][0]["lines"] == [[7, 17], [57, 63]]


def test_logs_without_findings_contribute_their_tail(tmp_path: Path) -> None:
    path = tmp_path / "other.log"
    path.write_text("".join(f"l{i}\n" for i in range(1, bundle.TAIL_LINES + 51)))
    made = bundle.build(ALL["kafka_fail"](), Settings(agent_log=str(path)))  # it quotes agent.log only
    text = made.file("inputs/agent-log/other.log.tail.txt").data.decode().splitlines()
    assert text[2].split() == ["51", "l51"] and text[-1].split() == [str(bundle.TAIL_LINES + 50), f"l{bundle.TAIL_LINES + 50}"]
    assert made.manifest["inputs"][0]["lines"] == [[51, bundle.TAIL_LINES + 50]]


def receiver_trace(*quoted: tuple[str, int]) -> TraceResult:
    """kafka_fail, its receiver stage quoting the given (source, line) pairs."""
    trace = ALL["kafka_fail"]()
    stage = trace.stage("receiver")
    assert stage is not None
    stage.evidence = [LogSample("Quoted", src, [LogLine(n, f"line {n}")]) for src, n in quoted]
    return trace


def test_a_directory_contributes_only_the_files_the_trace_reads(tmp_path: Path) -> None:
    # The log source reads the receiver's own logs of a directory (rotated ones too, gzip
    # told by its magic, not its name) and nothing else lying there.
    rdir = tmp_path / "logs"
    rdir.mkdir()
    (rdir / "stackstate-receiver.log").write_text("".join(f"live {i}\n" for i in range(1, 6)))
    (rdir / "stackstate-receiver.log.1").write_bytes(gzip.compress(b"".join(b"rotated %d\n" % i for i in range(1, 6))))
    (rdir / "mm2es.log").write_text("mover line\n")
    (rdir / "notes.txt").write_text("not a log\n")
    (rdir / "heap.hprof").write_bytes(b"\x00\x01binary")
    trace = receiver_trace((f"{rdir}/stackstate-receiver.log.1", 3))
    made = bundle.build(trace, Settings(receiver_log=[str(rdir)]), context=1)
    inputs = [f.name for f in made.files if f.name.startswith("inputs/")]
    assert inputs == ["inputs/receiver-log/stackstate-receiver.log.1.excerpts.txt"]
    body = made.file(inputs[0]).data.decode().splitlines()
    assert body[2:] == ["  2  rotated 2", "> 3  rotated 3", "  4  rotated 4"]  # decompressed, numbered as read
    assert made.manifest["inputs"] == [{
        "setting": "receiver_log", "path": str(rdir / "stackstate-receiver.log.1"), "file": inputs[0],
        "kind": "excerpts", "lines": [[2, 4]], "note": "",
    }]


def test_without_quotes_a_directory_gives_the_tail_of_its_live_file_only(tmp_path: Path) -> None:
    rdir = tmp_path / "logs"
    rdir.mkdir()
    (rdir / "stackstate-receiver.log").write_text("newest\n")
    (rdir / "stackstate-receiver.2026-11-01.0.log").write_text("old, maybe before the window\n")
    made = bundle.build(receiver_trace(), Settings(receiver_log=[str(rdir)]))
    inputs = [f.name for f in made.files if f.name.startswith("inputs/")]
    assert inputs == ["inputs/receiver-log/stackstate-receiver.log.tail.txt"]
    assert made.file(inputs[0]).data.decode().splitlines()[2:] == ["  1  newest"]


def test_inputs_of_a_stage_not_in_the_plan_are_not_read(tmp_path: Path) -> None:
    # aws is pulled: its plan has no agent and no receiver stage, so the trace read neither log.
    log = tmp_path / "agent.log"
    log.write_text("2026-11-21 10:01:02 UTC | CORE | INFO | (a.go:1) | hello\n")
    rlog = tmp_path / "stackstate-receiver.log"
    rlog.write_text("x\n")
    made = bundle.build(ALL["all_pass"](), Settings(agent_log=str(log), receiver_log=[str(rlog)]))
    assert [f.name for f in made.files] == ["report.html", "trace.json", "settings.json", "manifest.json"]
    assert [(i["setting"], i["kind"], i["note"]) for i in made.manifest["inputs"]] == [
        ("agent_log", "not included", "not read by the trace: the aws plan has no agent stage"),
        ("receiver_log", "not included", "not read by the trace: the aws plan has no receiver stage"),
    ]


def test_unreadable_inputs_are_noted_not_fatal(tmp_path: Path) -> None:
    s = Settings(agent_log=str(tmp_path / "gone.log"), agent_output=str(tmp_path / "gone.txt"))
    made = bundle.build(ALL["kafka_fail"](), s)
    assert [f.name for f in made.files] == ["report.html", "trace.json", "settings.json", "manifest.json"]
    notes = [i["note"] for i in made.manifest["inputs"]]
    assert notes == [f"cannot read: --agent-output {tmp_path / 'gone.txt'}: no such file or directory",
                     f"cannot read: --agent-log {tmp_path / 'gone.log'}: no such file or directory"]


# --- refusal -------------------------------------------------------------------------------


def test_a_secret_that_survives_redaction_stops_the_bundle_with_file_and_line(tmp_path: Path) -> None:
    # An AWS key id has no redaction rule; it sits at line 815, inside the excerpt
    # around the finding at 812 (792..832): the excerpt's 2 header lines + 24.
    log = agent_log(tmp_path, extra={815: "2026-11-21 10:01:09 UTC | CORE | DEBUG | (aws.go:1) | using AKIAIOSFODNN7EXAMPLE"})
    with pytest.raises(bundle.SecretLeak) as err:
        bundle.build(ALL["kafka_fail"](), Settings(agent_log=str(log)))
    assert (err.value.name, err.value.line) == ("inputs/agent-log/agent.log.excerpts.txt", 26)
    assert err.value.exit_code == 2
    assert str(err.value).startswith(
        "bundle not written: inputs/agent-log/agent.log.excerpts.txt line 26 still holds what looks like an AWS access key id"
    )


@pytest.mark.parametrize(
    "line, what",
    [
        ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
        ("token ghp_" + "a1B2" * 9, "a GitHub token"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdHNkZWJ1ZyJ9.c2lnbmF0dXJlc2lnbmF0dXJl", "a JSON web token"),
    ],
)
def test_known_token_formats_are_refused(tmp_path: Path, line: str, what: str) -> None:
    out = tmp_path / "check.txt"
    out.write_text(f"=== Series ===\n{line}\n")
    with pytest.raises(bundle.SecretLeak, match=f"inputs/agent-output/check.txt line 2 still holds what looks like {what}"):
        bundle.build(ALL["kafka_fail"](), Settings(agent_output=str(out)))


def test_scan_sees_through_html_and_json_escaping() -> None:
    secret = "p<a>ss&word\"1"
    for form in (html_mod.escape(secret), json.dumps(secret)[1:-1], str(html.embed_json(secret))[1:-1]):
        with pytest.raises(bundle.SecretLeak):
            bundle.scan([bundle.BundleFile("x", f"line\n{form}\n".encode())], [secret])
    bundle.scan([bundle.BundleFile("x", b"api_key=<redacted> password: &lt;redacted&gt;\n")], [secret])


def test_cli_refuses_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "agent.log"
    log.write_text("one\nusing AKIAIOSFODNN7EXAMPLE for cloudwatch\nthree\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "none.toml").write_text("")
    r = runner.invoke(app, ["bundle", "--agent-log", str(log), "-o", "b.zip"], env={"STSDEBUG_CONFIG": str(tmp_path / "none.toml")})
    assert r.exit_code == 2
    assert re.search(r"bundle not written: \S+ line \d+ still holds what looks like an AWS access key id", r.output)
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "b.zip").exists()
    assert [p.name for p in tmp_path.iterdir() if "stsdebug-tmp" in p.name] == []


def test_bundle_never_overwrites_an_input(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text("x\n")
    made = bundle.build(ALL["all_pass"](), Settings(agent_log=str(log)))
    with pytest.raises(UsageError, match="is one of the inputs"):
        bundle.write(made, log, protected=[log])
    assert log.read_text() == "x\n"
    with pytest.raises(UsageError, match="is a directory"):
        bundle.write(made, tmp_path)


def test_cli_bundle_needs_input(tmp_path: Path) -> None:
    (tmp_path / "none.toml").write_text("")
    r = runner.invoke(app, ["bundle", "-o", str(tmp_path / "b.zip")], env={"STSDEBUG_CONFIG": str(tmp_path / "none.toml")})
    assert r.exit_code == 2 and "needs something to look at" in r.output
