"""``sandbox up --sts-version 6``: the StackState 6 sandbox, stopped by the same ``down``.

Starts, on free loopback ports, in ``<state dir>/run``: the real ``victoria-metrics``
binary (the chart's flags, one-month retention), the real ``vmagent`` remote-writing to it
(with the chart's label renames), and the runtime process (receiver, agent, cloud plugin:
stsdebug.sandbox.v6.runtime). Each process is recorded in ``state.json`` the moment it
exists and carries the sandbox's markers (stsdebug.sandbox.procs), so ``down`` stops it
whatever happens. Then it writes the ``sandbox`` profile (naming StackState 6) and the
bindings of the sandbox's integrations (``bindings.sty``).

Faults change what starts: vmagent-down leaves vmagent stopped (its URL in the profile
answers nothing), vm-unreachable points vmagent's remote-write at a port where nothing
listens; the others act in the runtime (the agent's clock, its metric names) or in the
bindings written.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stsdebug.sandbox import control as c
from stsdebug.sandbox import paths, procs, statefile, timeseries, world
from stsdebug.sandbox.faults import Fault
from stsdebug.sandbox.profile_files import write_profile, write_secrets
from stsdebug.sandbox.servers import ServerError, ServerProcess
from stsdebug.sandbox.statefile import SandboxError
from stsdebug.sandbox.v6 import world as world6

SCRAPE_INTERVAL_S = 3.0  # the profile's pause between two scrapes of a /metrics page


def up(chosen: list[Fault], *, base: Path | None, receiver_port: int | None, die_with_parent: bool,
       ready_timeout: float) -> dict[str, Any]:
    import os

    base = Path(os.path.abspath(base if base is not None else paths.state_dir()))
    if receiver_port is not None and c._listening(receiver_port):
        raise SandboxError(f"Cannot start the sandbox receiver: port {receiver_port} on 127.0.0.1 is "
                           "already in use.")
    base.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in chosen]
    with procs.interrupts_as_keyboard(), statefile.locked(base):
        replaced = c._stop_all(base) if paths.state_path(base).exists() else None
        t_start = time.monotonic()
        run = base / "run"
        shutil.rmtree(run, ignore_errors=True)
        (run / "logs").mkdir(parents=True)
        files = write_secrets(base)
        logs = _log_paths(run)
        state = statefile.starting(base, run, names, logs, files, sts_version="6")
        record = statefile.recorder(base, state)

        marks = procs.markers(**{procs.RUN_ENV: str(run)})
        try:
            vm = _start(lambda: timeseries.start_victoria_metrics(
                run / "victoria-metrics", retention=world6.RETENTION, die_with_parent=die_with_parent,
                extra_env=marks, on_spawn=record("victoria-metrics")), "VictoriaMetrics")
            state["logs"]["victoria-metrics"] = str(vm.log_path)
            dead = c._unused_port({vm.ports["http"]})
            vmagent: ServerProcess | None = None
            if "vmagent-down" in names:
                vmagent_port = c._unused_port({vm.ports["http"], dead})
                state["down_by_fault"] = {"vmagent": "vmagent-down"}
            else:
                target = (f"http://127.0.0.1:{dead}/api/v1/write" if "vm-unreachable" in names
                          else timeseries.write_url(vm))
                relabel = _write_relabel(run)
                vmagent = _start(lambda: timeseries.start_vmagent(
                    target, run / "vmagent", extra_args=(f"-remoteWrite.relabelConfig={relabel}",),
                    die_with_parent=die_with_parent, extra_env=marks, on_spawn=record("vmagent")), "vmagent")
                vmagent_port = vmagent.ports["http"]
                state["logs"]["vmagent"] = str(vmagent.log_path)
            vmagent_url = f"http://127.0.0.1:{vmagent_port}"
            config = {
                "sts_version": "6",
                "faults": names,
                "api_key_file": str(files["api_key_file"]),
                "vm_url": timeseries.base_url(vm),
                "vm_write_url": timeseries.write_url(vm),
                "vmagent_write_url": f"{vmagent_url}/api/v1/write",
                "receiver_port": receiver_port or 0,
                "wrong_port": c._unused_port({vm.ports["http"], vmagent_port, dead}),
                "wrong_key": secrets.token_hex(16),
                "agent_dir": str(run / "agent"),
                "logs": {k: str(v) for k, v in logs.items()},
            }
            (run / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
            runtime = c._start_runtime(run, logs["runtime"], die_with_parent, base, state)
            ready = c._wait_ready(run, runtime, logs["runtime"], ready_timeout)
            receiver = f"http://127.0.0.1:{int(ready['receiver_port'])}"
            state["endpoints"] = {
                "receiver": receiver,
                "intake": f"{receiver}/stsAgent/intake",
                "receiver_health": f"{receiver}/readiness",
                "receiver_metrics": f"{receiver}/metrics",
                "vmagent": vmagent_url,
                "victoria_metrics": timeseries.base_url(vm),
            }
            state["ports"] = {"victoria-metrics": vm.ports["http"], "receiver": int(ready["receiver_port"])}
            if vmagent is not None:
                state["ports"]["vmagent"] = vmagent.ports["http"]
            state["files"]["bindings"] = str(_write_bindings(base, names))
            state["files"]["profile"] = str(_write_profile(base, state))
            statefile.save_up(base, state, t_start, replaced)
        except BaseException:
            with procs.held_signals(), contextlib.suppress(Exception):
                c._stop_all(base)
            raise
    return c.status(base)


def _start(launch: Callable[[], ServerProcess], what: str) -> ServerProcess:
    try:
        proc = launch()
    except ServerError as exc:
        text = str(exc).rstrip(".")
        raise SandboxError(f"Cannot start {what} for the StackState 6 sandbox: {text}.") from None
    return statefile.adopt(proc)


def _log_paths(run: Path) -> dict[str, Path]:
    logs = run / "logs"
    return {
        "agent": logs / "agent.log",
        "agent_output": run / "agent" / "check-output.txt",
        "receiver": logs / "stackstate-receiver.log",
        "server": logs / "stackstate.log",
        "runtime": logs / "runtime.log",
    }


def relabel_config() -> str:
    """vmagent's label renames from the chart (StackVista/helm-charts
    ``stable/suse-observability/templates/vmagent/configmap-vmagent.yaml``), as labelmap and
    labeldrop rules. The chart's ``_scope_`` rules use replacement templates that vmagent 1.79
    (Debian's) does not have; they are left out."""
    lines = ["# vmagent label renames of the suse-observability chart (written by stsdebug sandbox up)"]
    from stsdebug.promnames import VMAGENT_RENAMES

    for source, target in VMAGENT_RENAMES.items():
        lines += ["- action: labelmap", f'  regex: "{source}"', f'  replacement: "{target}"']
    for source in VMAGENT_RENAMES:
        lines += ["- action: labeldrop", f'  regex: "{source}"']
    return "\n".join(lines) + "\n"


def _write_relabel(run: Path) -> Path:
    path = run / "vmagent-relabel.yaml"
    path.write_text(relabel_config(), encoding="utf-8")
    return path


def _write_bindings(base: Path, faults: list[str]) -> Path:
    import yaml

    head = "# Metric bindings of the sandbox's integrations (written by `stsdebug sandbox up`).\n"
    path = base / "bindings.sty"
    path.write_text(head + yaml.safe_dump({"nodes": world6.binding_nodes(faults)}, sort_keys=False),
                    encoding="utf-8")
    return path


def _write_profile(base: Path, state: dict[str, Any]) -> Path:
    e, logs, files = state["endpoints"], state["logs"], state["files"]
    values: dict[str, Any] = {
        "sts_version": "6",
        "agent_output": logs["agent_output"],
        "agent_log": logs["agent"],
        "receiver_log": [logs["receiver"]],
        "receiver_log_tz": "UTC",
        "receiver": e["receiver"],
        "api_key_file": files["api_key_file"],
        "receiver_health": e["receiver_health"],
        "receiver_metrics": e["receiver_metrics"],
        "vmagent": e["vmagent"],
        "victoria_metrics": e["victoria_metrics"],
        "bindings_file": files["bindings"],
        "component_tag": list(world6.COMPONENT_TAGS),
        "window": world.WINDOW,
        "timeout": 3.0,
        "scrape_interval": SCRAPE_INTERVAL_S,
        "labels": [f"sandbox_faults={','.join(state['faults']) or 'none'}"],
    }
    title = ("The `sandbox` profile (StackState 6), written by `stsdebug sandbox up`; "
             "`stsdebug sandbox down` removes it.")
    return write_profile(base, title, state["faults"], values)
