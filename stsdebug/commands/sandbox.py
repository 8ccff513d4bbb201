"""`stsdebug sandbox up|down|status|faults`: the local StackState-shaped pipeline with faults."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional, ParamSpec, TypeVar

import typer

from stsdebug.commands.errors import clean_errors as shared_clean_errors
from stsdebug.commands.options import TextOrJson as Format
from stsdebug.commands.options import TextOrJsonOpt

P = ParamSpec("P")
R = TypeVar("R")


def fault_names(incomplete: str) -> list[str]:
    """Shell completion of --fault: the sandbox's faults."""
    from stsdebug.sandbox.faults import FAULTS

    return [name for name in FAULTS if name.startswith(incomplete.lower())]


def register_sandbox_profile() -> None:
    """`--profile sandbox` means the profile file of the sandbox that is up."""
    from stsdebug.sandbox.paths import PROFILE_NAME, locate_profile
    from stsdebug.settings import register_profile

    register_profile(PROFILE_NAME, locate_profile)


def clean_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Known errors as one line and their exit code; Ctrl-C as exit 130 (after cleanup)."""
    return shared_clean_errors(
        fn, interrupted="stsdebug: interrupted; every sandbox process that had started was stopped"
    )


def register(app: typer.Typer) -> None:
    register_sandbox_profile()
    sandbox = typer.Typer(
        name="sandbox",
        help="A local StackState-shaped pipeline (Kafka, Elasticsearch, receiver, mm2es, agent, "
        "pull plugins) with named faults, for trying stsdebug out and for testing it.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
    )

    @sandbox.command()
    @clean_errors
    def up(
        fault: Annotated[Optional[list[str]], typer.Option("--fault", metavar="NAME", autocompletion=fault_names, help="Break one link (see `sandbox faults`). Repeatable.")] = None,
        es_port: Annotated[Optional[int], typer.Option(metavar="PORT", help="Elasticsearch port (default: a free one).")] = None,
        kafka_port: Annotated[Optional[int], typer.Option(metavar="PORT", help="Kafka port (default: a free one).")] = None,
        receiver_port: Annotated[Optional[int], typer.Option(metavar="PORT", help="Receiver port (default: a free one).")] = None,
        mirror_port: Annotated[Optional[int], typer.Option(metavar="PORT", help="Prometheus mirror port (default: a free one).")] = None,
        sts_version: Annotated[Optional[str], typer.Option("--sts-version", metavar="5|6", help="StackState 5 (Kafka, Elasticsearch; the default) or 6 (the real VictoriaMetrics and vmagent). A fault implies its own.")] = None,
        format: TextOrJsonOpt = Format.text,
    ) -> None:
        """Start the sandbox (stopping one already up) and write the `sandbox` profile."""
        from stsdebug.sandbox import control

        state = control.up(list(fault or []), es_port=es_port, kafka_port=kafka_port,
                           receiver_port=receiver_port, mirror_port=mirror_port, sts_version=sts_version)
        if format is Format.json:
            sys.stdout.write(json.dumps(state, indent=2) + "\n")
            return
        sys.stdout.write(render_up(state))

    @sandbox.command()
    @clean_errors
    def down(
        format: TextOrJsonOpt = Format.text,
    ) -> None:
        """Stop every sandbox process and remove its data, logs and profile."""
        from stsdebug.sandbox import control

        result = control.down()
        if format is Format.json:
            sys.stdout.write(json.dumps(result, indent=2) + "\n")
            return
        if not result["was_running"]:
            sys.stdout.write(f"No sandbox is up (state in {result['state_dir']}).\n")
            return
        sys.stdout.write(f"Sandbox stopped: {', '.join(result['stopped']) or 'nothing was running'}.\n")

    @sandbox.command()
    @clean_errors
    def status(
        format: TextOrJsonOpt = Format.text,
    ) -> None:
        """Show the running sandbox: endpoints, PIDs, logs, faults. Exit 1 if none is up."""
        from stsdebug.sandbox import control

        state = control.status()
        if format is Format.json:
            sys.stdout.write(json.dumps(state, indent=2) + "\n")
        else:
            sys.stdout.write(render_status(state))
        raise typer.Exit(0 if state["running"] else 1)

    @sandbox.command()
    @clean_errors
    def faults(
        format: TextOrJsonOpt = Format.text,
    ) -> None:
        """List the faults: what each breaks, the integration it affects, the stage stsdebug should name."""
        from stsdebug.sandbox.faults import FAULTS

        if format is Format.json:
            sys.stdout.write(json.dumps([f.to_dict() for f in FAULTS.values()], indent=2) + "\n")
            return
        width = max(len(n) for n in FAULTS)
        sys.stdout.write(f"{'fault':<{width}}  {'sts':<3}  {'integration':<11}  {'expected stage':<15}  what it breaks\n")
        for f in FAULTS.values():
            sys.stdout.write(f"{f.name:<{width}}  {f.sts_version:<3}  {f.integration:<11}  "
                             f"{f.expected_stage or '-':<15}  {f.description}\n")
        sys.stdout.write("\nStart one with `stsdebug sandbox up --fault NAME` (a StackState 6 fault starts the "
                         "StackState 6 sandbox), then `stsdebug check --profile sandbox --integration INTEGRATION`.\n")

    app.add_typer(sandbox, name="sandbox")


def render_up(state: dict[str, Any]) -> str:
    faults = state.get("faults") or []
    head = (f"Sandbox up in {state.get('ready_s', 0):.1f} s"
            + (f" with fault{'s' if len(faults) > 1 else ''} {', '.join(faults)}" if faults else " (healthy)")
            + f"; state in {state['state_dir']}\n")
    if state.get("replaced"):
        head = f"Stopped the sandbox that was up ({', '.join(state['replaced'])}).\n" + head
    from stsdebug.sandbox.faults import FAULTS

    integration = FAULTS[faults[0]].integration if faults else "system"
    six = state.get("sts_version") == "6"
    which = ("Integrations in the sandbox (StackState 6): system, mysql, postgres (push); aws (pull).\n" if six
             else "Integrations in the sandbox: system, mysql, postgres (push); aws, prometheus (pull).\n")
    return (
        head
        + _endpoints_text(state)
        + "\nThe `sandbox` profile points stsdebug at all of it. Try:\n"
        + f"  stsdebug check --profile sandbox --integration {integration}\n"
        + f"  stsdebug tui --profile sandbox --integration {integration}\n"
        + which
        + "Stop it with `stsdebug sandbox down`.\n"
    )


def render_status(state: dict[str, Any]) -> str:
    if state.get("status") is None:
        return f"No sandbox is up (state in {state['state_dir']}). Start one with `stsdebug sandbox up`.\n"
    faults = state.get("faults") or []
    lines = [
        f"Sandbox {'up' if state['running'] else 'NOT running (' + str(state.get('status')) + ')'}"
        f"; faults: {', '.join(faults) or 'none'}; state in {state['state_dir']}",
    ]
    return "\n".join(lines) + "\n" + _endpoints_text(state)


def _endpoints_text(state: dict[str, Any]) -> str:
    e = state.get("endpoints") or {}
    procs = state.get("processes") or {}
    logs = state.get("logs") or {}
    files = state.get("files") or {}

    def pid(name: str) -> str:
        p = procs.get(name) or {}
        if not p:
            return ""
        if p.get("stopped_by_fault"):
            return f"  (pid {p['pid']}, stopped by fault {p['stopped_by_fault']})"
        return f"  (pid {p['pid']}{'' if p.get('alive') else ', not running'})"

    if state.get("sts_version") == "6":
        down = state.get("down_by_fault") or {}
        vmagent = (f"{e.get('vmagent', '?')}  (not running: fault {down['vmagent']})" if down.get("vmagent")
                   else f"{e.get('vmagent', '?')}{pid('vmagent')}")
        rows6 = [
            ("StackState", "6 (SUSE Observability metrics path)"),
            ("VictoriaMetrics", f"{e.get('victoria_metrics', '?')}{pid('victoria-metrics')}"),
            ("vmagent", vmagent),
            ("Receiver", f"{e.get('intake', '?')}?api_key=…{pid('runtime')}"),
            ("Readiness", e.get("receiver_health", "?")),
            ("Metrics page", e.get("receiver_metrics", "?")),
            ("Agent log", logs.get("agent", "?")),
            ("Check output", logs.get("agent_output", "?")),
            ("Receiver log", logs.get("receiver", "?")),
            ("Bindings", files.get("bindings", "?")),
            ("Profile", files.get("profile", "?")),
            ("API key file", files.get("api_key_file", "?")),
        ]
        return "".join(f"  {k:<15} {v}\n" for k, v in rows6)
    rows = [
        ("Kafka", f"{e.get('kafka', '?')}{pid('kafka')}"),
        ("Elasticsearch", f"{e.get('elasticsearch', '?')}{pid('elasticsearch')}"),
        ("Receiver", f"{e.get('intake', '?')}?api_key=…  health {e.get('receiver_health', '?')}{pid('runtime')}"),
        ("Topic API", e.get("topic_api", "?")),
        ("Mirror", e.get("mirror", "?")),
        ("Agent log", logs.get("agent", "?")),
        ("Check output", logs.get("agent_output", "?")),
        ("Receiver log", logs.get("receiver", "?")),
        ("mm2es log", logs.get("mm2es", "?")),
        ("Server log", logs.get("server", "?")),
        ("Streams", files.get("streams", "?")),
        ("Profile", files.get("profile", "?")),
        ("API key file", files.get("api_key_file", "?")),
    ]
    return "".join(f"  {k:<14} {v}\n" for k, v in rows)
