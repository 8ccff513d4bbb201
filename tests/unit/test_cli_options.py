"""The options layer: declared once, shared by every command that traces, grouped and named
in --help, completable, and reaching Settings; mistakes are one line."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stsdebug.cli import app
from stsdebug.commands.options import CheckOptions, with_check_options
from stsdebug.settings import SECRET_FIELDS, Settings

runner = CliRunner()
COMMANDS_DIR = Path(__file__).resolve().parents[2] / "stsdebug" / "commands"
TRACING = ("check", "tui", "bundle")
PANELS = ["Target", "Agent", "Receiver", "Kafka", "Elasticsearch", "Streams", "Pull sources", "StackState 6", "Probe",
          "Output"]


def command(name: str) -> typer.core.TyperCommand:
    group = typer.main.get_command(app)
    return group.commands[name]  # type: ignore[attr-defined, no-any-return]


def params(name: str) -> dict[str, object]:
    return {p.name: p for p in command(name).params if p.name}


def help_of(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", TRACING)
def test_every_check_option_is_an_option_of_every_tracing_command(name: str) -> None:
    fields = [f.name for f in dataclasses.fields(CheckOptions)]
    got = params(name)
    assert [f for f in fields if f not in got] == []
    for f in fields:
        opt = got[f]
        assert getattr(opt, "rich_help_panel", None) in PANELS, f
        assert "--" + f.replace("_", "-") in getattr(opt, "opts", []), f


def test_the_tracing_commands_share_one_option_set() -> None:
    shared = [{n: (p.opts, p.metavar, p.help) for n, p in params(c).items()  # type: ignore[attr-defined]
               if n in {f.name for f in dataclasses.fields(CheckOptions)}} for c in TRACING]
    assert shared[0] == shared[1] == shared[2]


def test_every_check_option_reaches_settings() -> None:
    # A new option must name a Settings field (or a secret's *_env / *_file source).
    known = {f.name for f in dataclasses.fields(Settings)}
    for key in CheckOptions().flags():
        base = key.removesuffix("_env").removesuffix("_file")
        assert key in known or (base in SECRET_FIELDS and key != base), key


def test_check_options_map_to_settings_names_and_say_what_was_given() -> None:
    opts = CheckOptions(es="http://es:9200", stream=["a=b,metric=c"], receiver_log=[], window="1h")
    flags = opts.flags()
    assert flags["streams"] == ["a=b,metric=c"] and "stream" not in flags
    assert flags["es"] == "http://es:9200" and flags["kafka"] is None
    assert opts.given() == ["--window", "--es", "--stream"]  # declaration order; [] is not given


def test_check_help_shows_every_panel_in_order_with_real_metavars() -> None:
    text = help_of("check")
    titles = re.findall(r"╭─ ([A-Za-z0-9 ]+?) ─", text)
    assert [t for t in titles if t in PANELS] == PANELS
    for flag, metavar in [
        ("--receiver", "URL"), ("--es", "URL"), ("--agent-log", "FILE|-"), ("--receiver-log", "PATH|-"),
        ("--kafka", "HOST:PORT"), ("--window", "DURATION"), ("--timeout", "SECONDS"),
        ("--integration", "NAME"), ("--api-key-env", "VAR"), ("--es-password-env", "VAR"),
        ("--streams-file", "FILE"), ("--template-dir", "DIR"), ("--probe-timeout", "SECONDS"),
    ]:
        assert re.search(rf"{re.escape(flag)}\s+(-\w\s+)?{re.escape(metavar)}\s", text), (flag, metavar)
    assert not re.search(r"<(str|float|int|list\[str\])>", text)


@pytest.mark.parametrize("name, panels", [("tui", PANELS[:-1]), ("bundle", PANELS)])
def test_tui_and_bundle_help_group_the_same_panels(name: str, panels: list[str]) -> None:
    text = help_of(name)
    titles = re.findall(r"╭─ ([A-Za-z0-9 ]+?) ─", text)
    assert [t for t in titles if t in PANELS] == panels  # tui writes no output files


def test_demo_shares_the_options_that_make_sense_for_a_sandbox() -> None:
    demo = params("demo")
    for name in ("integration", "window", "timeout", "template_dir"):
        theirs, ours = demo[name], params("check")[name]
        assert (theirs.opts, theirs.help) == (ours.opts, ours.help)  # type: ignore[attr-defined]
    assert "es" not in demo  # the sandbox profile says where everything is


def test_completion_script_and_completing_names() -> None:
    script = runner.invoke(app, ["--show-completion", "bash"], prog_name="stsdebug")
    assert script.exit_code == 0
    assert "_STSDEBUG_COMPLETE=complete_bash" in script.output
    assert "complete -o default -F _stsdebug_completion stsdebug" in script.output

    def complete(words: str) -> list[str]:
        env = {"_STSDEBUG_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
        return runner.invoke(app, [], prog_name="stsdebug", env=env).output.split()

    assert complete("stsdebug che") == ["check"]
    assert complete("stsdebug check --receiver-h") == ["--receiver-health"]
    assert complete("stsdebug tui -i kube") == ["kubernetes"]
    assert complete("stsdebug demo --fault kafka-d") == ["kafka-down"]


def test_install_completion_writes_the_script_for_the_shell(tmp_path: Path) -> None:
    r = runner.invoke(app, ["--install-completion", "bash"], prog_name="stsdebug",
                      env={"HOME": str(tmp_path), "SHELL": "/bin/bash"})
    assert r.exit_code == 0, r.output
    scripts = list(tmp_path.rglob("stsdebug*"))
    assert scripts and "_stsdebug_completion" in scripts[0].read_text()
    assert str(scripts[0].relative_to(tmp_path)) in (tmp_path / ".bashrc").read_text()


@pytest.mark.parametrize(
    "args, says",
    [
        (["check", "--nope"], "stsdebug: error: No such option: --nope"),
        (["check", "-f", "xml"], "stsdebug: error: Invalid value for '--format' / '-f'"),
        (["chek"], "stsdebug: error: No such command 'chek'. Did you mean 'check'?"),
        (["bundle", "--context-lines", "9999"], "stsdebug: error: Invalid value for '--context-lines'"),
        (["check", "--window"], "stsdebug: error: Option '--window' requires an argument"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert r.output.startswith(says) and r.output.count("\n") == 1 and "--help" in r.output


def test_no_arguments_shows_the_help() -> None:
    r = runner.invoke(app, [])
    assert "Usage: stsdebug" in r.output and "check" in r.output


def test_load_names_the_option_it_cannot_be_combined_with(tmp_path: Path) -> None:
    r = runner.invoke(app, ["tui", "--load", str(tmp_path / "x.json"), "--stream", "a=b,metric=c"])
    assert r.exit_code == 2 and "cannot be combined with --stream" in r.output


def test_a_command_cannot_redeclare_a_check_option() -> None:
    def bad(opts: CheckOptions, es: str | None = None) -> None: ...

    with pytest.raises(TypeError, match="'es'"):
        with_check_options(bad)


def test_output_and_html_may_not_name_the_same_file(tmp_path: Path) -> None:
    saved = Path(__file__).resolve().parents[2] / "fixtures" / "traces" / "all_pass.json"
    out = tmp_path / "same.html"
    r = runner.invoke(app, ["report", str(saved), "-o", str(out), "--html", str(tmp_path / "." / "same.html")])
    assert r.exit_code == 2 and "is also given to --output" in r.output
    assert not out.exists()


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
    return found


def test_commands_never_import_the_cli() -> None:
    # Commands share what they need through stsdebug.commands.{options,target,errors};
    # stsdebug.cli only assembles them.
    offenders = {
        p.name: [m for m in _imports(p) if m == "stsdebug.cli" or m.startswith("stsdebug.cli.")]
        for p in COMMANDS_DIR.glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_output_is_written_over_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.p]\nes = "http://127.0.0.1:1"\ntimeout = 1\n')
    before = config.read_bytes()
    r = runner.invoke(app, ["check", "--config", str(config), "--profile", "p", "-f", "json", "-o", str(config)])
    assert r.exit_code == 2 and "refusing to overwrite" in r.output
    assert config.read_bytes() == before
