"""``sandbox up``, ``down`` and ``status``: start and stop the sandbox's processes by PID.

``up`` starts, on free loopback ports (or the ports given), in ``<state dir>/run``:
noida-db serving Elasticsearch, noida-db serving Kafka (two processes, so that Kafka
can go down on its own), and the runtime process (stsdebug.sandbox.runtime). It
writes ``state.json`` as soon as each process runs, so ``down`` can clean up after
an interrupted ``up`` too, then the ``sandbox`` profile (``profile.toml``), the
stream definitions (``streams.yaml``) and the API key files. A second ``up`` in the
same state directory stops the first sandbox before starting. ``down`` stops every
process (SIGTERM, SIGKILL after a grace period), checks that their ports are closed
and removes the run directory and the profile.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stsdebug.sandbox import faults as fault_catalog
from stsdebug.sandbox import paths, procs, servers, statefile, world
from stsdebug.sandbox.profile_files import write_profile, write_secrets, write_streams
from stsdebug.sandbox.servers import ServerError, ServerProcess
from stsdebug.sandbox.statefile import CHILDREN, SCHEMA, SandboxError

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
_POLL_S = 0.02
RUNTIME_MODULE = "stsdebug.sandbox.runtime"

# What the sandbox runs: a process naming its run directory is one of ours only if it
# runs one of these (a `tail -f` of a sandbox log is left alone).
_PROGRAMS = ("noida-db", "victoria-metrics", "vmagent", "setpriv", RUNTIME_MODULE)

# SCHEMA and SandboxError live with the state file; the commands and tests import them from here.
__all__ = ["READY_TIMEOUT_S", "RUNTIME_MODULE", "SCHEMA", "STOP_GRACE_S", "SandboxError", "down", "status", "up"]


# --- up -------------------------------------------------------------------------------------


def up(
    fault_names: list[str] | None = None,
    *,
    base: Path | None = None,
    es_port: int | None = None,
    kafka_port: int | None = None,
    receiver_port: int | None = None,
    mirror_port: int | None = None,
    die_with_parent: bool = False,
    noida_binary: Path | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
    sts_version: str | None = None,
) -> dict[str, Any]:
    """Start a sandbox with ``fault_names``; return its state (what ``status`` shows).

    ``sts_version`` "6" (or a StackState 6 fault) starts the StackState 6 sandbox instead
    (stsdebug.sandbox.v6.control): the same state file, profile, ``down`` and ``status``.
    """
    chosen = fault_catalog.resolve(list(fault_names or []))
    if fault_catalog.version_of(chosen, sts_version) == "6":
        from stsdebug.sandbox.v6 import control as control6

        return control6.up(chosen, base=base, receiver_port=receiver_port,
                           die_with_parent=die_with_parent, ready_timeout=max(ready_timeout, 45.0))
    # Absolute: children get it in their command lines and environment, and cleanup
    # finds them by it (the runtime also runs with the run directory as its cwd).
    base = Path(os.path.abspath(base if base is not None else paths.state_dir()))
    for name, port in (("receiver", receiver_port), ("mirror", mirror_port)):
        if port is not None and _listening(port):
            raise SandboxError(f"Cannot start the sandbox {name}: port {port} on 127.0.0.1 is already in use.")
    base.mkdir(parents=True, exist_ok=True)
    # SIGTERM and SIGHUP (a closed terminal) clean up like Ctrl-C does.
    with procs.interrupts_as_keyboard(), statefile.locked(base):
        replaced = _stop_all(base) if paths.state_path(base).exists() else None
        t_start = time.monotonic()  # ready_s: this sandbox's own start, not the one it replaced
        run = base / "run"
        shutil.rmtree(run, ignore_errors=True)
        (run / "logs").mkdir(parents=True)
        files = write_secrets(base)
        logs = _log_paths(run)
        state = statefile.starting(base, run, [f.name for f in chosen], logs, files)
        record = statefile.recorder(base, state)

        try:
            es = _start_noida(run / "es", "elasticsearch", es_port, die_with_parent, noida_binary,
                              record("elasticsearch"))
            kafka = _start_noida(run / "kafka", "kafka", kafka_port, die_with_parent, noida_binary,
                                 record("kafka"))
            state["logs"]["elasticsearch"] = str(es.log_path)
            state["logs"]["kafka"] = str(kafka.log_path)
            config = {
                "faults": state["faults"],
                "kafka": servers.kafka_bootstrap(kafka),
                "es": servers.es_url(es),
                "kafka_server": statefile.server_dict(kafka),
                "api_key_file": str(files["api_key_file"]),
                "mirror_api_key_file": str(files["mirror_api_key_file"]),
                "receiver_port": receiver_port or 0,
                "mirror_port": mirror_port or 0,
                "wrong_port": _unused_port({es.ports["elasticsearch"], kafka.ports["kafka"]}),
                "wrong_key": secrets.token_hex(16),
                "agent_dir": str(run / "agent"),
                "logs": {k: str(v) for k, v in logs.items()},
            }
            (run / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
            runtime = _start_runtime(run, logs["runtime"], die_with_parent, base, state)
            ready = _wait_ready(run, runtime, logs["runtime"], ready_timeout)
            if ready.get("kafka_stopped"):
                kafka.stop(timeout=2.0)  # the runtime stopped it (fault kafka-down); reap it
                state["processes"]["kafka"]["stopped_by_fault"] = "kafka-down"
            state["endpoints"] = _endpoints(es, kafka, ready)
            state["ports"] = {
                "elasticsearch": es.ports["elasticsearch"],
                "kafka": kafka.ports["kafka"],
                "receiver": int(ready["receiver_port"]),
                "mirror": int(ready["mirror_port"]),
            }
            state["files"]["streams"] = str(write_streams(base, state["faults"]))
            state["files"]["profile"] = str(_write_profile(base, state))
            statefile.save_up(base, state, t_start, replaced)
        except BaseException:
            # Interrupted or failed: nothing that started may stay behind. A second
            # Ctrl-C must not cut this short (stopping is bounded by the grace periods).
            with procs.held_signals(), contextlib.suppress(Exception):
                _stop_all(base)
            raise
    return status(base)


def _start_noida(
    data_dir: Path,
    service: str,
    port: int | None,
    die_with_parent: bool,
    binary: Path | None,
    on_spawn: Callable[[ServerProcess], None],
) -> ServerProcess:
    try:
        proc = servers.start_noida(
            data_dir,
            es_port=port if service == "elasticsearch" else None,
            kafka_port=port if service == "kafka" else None,
            only=(service,),
            die_with_parent=die_with_parent,
            binary=binary,
            extra_env={procs.RUN_ENV: str(data_dir.parent)},
            on_spawn=on_spawn,
        )
    except ServerError as exc:
        text = str(exc).rstrip(".")
        if "not installed" in text or "binary" in text:
            text += "; the sandbox needs the sandbox extra: pip install 'stsdebug[sandbox]'"
        if not text.startswith("Cannot start"):
            text = f"Cannot start {service} for the sandbox: {text}"
        raise SandboxError(text + ".") from None
    return statefile.adopt(proc)


def _start_runtime(
    run: Path, log_path: Path, die_with_parent: bool, base: Path, state: dict[str, Any]
) -> subprocess.Popen[bytes]:
    """Start the runtime and record it in the state file before an interrupt can be handled."""
    argv = [sys.executable, "-m", RUNTIME_MODULE, "--run", str(run)]
    setpriv = shutil.which("setpriv") if die_with_parent else None
    if setpriv:
        argv = [setpriv, "--pdeathsig", "TERM", "--", *argv]
    env = {**os.environ, **procs.markers(**{procs.RUN_ENV: str(run)})}
    # The runtime imports this very stsdebug, wherever it was imported from.
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    with procs.held_signals(), open(log_path, "ab") as log:
        try:
            popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, env=env, cwd=str(run),
            )
        except OSError as exc:
            raise SandboxError(f"Cannot start the sandbox runtime ({sys.executable}): {exc.strerror}.") from None
        CHILDREN[popen.pid] = popen
        state["processes"]["runtime"] = {"name": "runtime", "pid": popen.pid,
                                         "log_path": str(log_path), "run_dir": str(run)}
        statefile.save(base, state)
    return popen


def _wait_ready(run: Path, popen: subprocess.Popen[bytes], log_path: Path, timeout: float) -> dict[str, Any]:
    ready_file = run / "ready.json"
    deadline = time.monotonic() + timeout
    while True:
        if ready_file.exists():
            return dict(json.loads(ready_file.read_text(encoding="utf-8")))
        if popen.poll() is not None:
            why = _runtime_failure(run, log_path)
            raise SandboxError(f"The sandbox runtime exited before it was ready: {why}.")
        if time.monotonic() > deadline:
            raise SandboxError(
                f"The sandbox runtime was not ready after {timeout:g} s; see {log_path}."
            )
        time.sleep(_POLL_S)


def _runtime_failure(run: Path, log_path: Path) -> str:
    failed = run / "failed.txt"
    if failed.exists():
        text = failed.read_text(encoding="utf-8", errors="replace").strip()
        if "Address already in use" in text or "Errno 98" in text:
            return "a port it was given is already in use"
        return text[:300]
    tail = servers.log_tail(log_path, 3)
    return tail[:300] or f"no output (see {log_path})"


def _endpoints(es: ServerProcess, kafka: ServerProcess, ready: dict[str, Any]) -> dict[str, str]:
    receiver = f"http://127.0.0.1:{int(ready['receiver_port'])}"
    return {
        "kafka": servers.kafka_bootstrap(kafka),
        "elasticsearch": servers.es_url(es),
        "receiver": receiver,
        "intake": f"{receiver}/stsAgent/intake",
        "receiver_health": f"{receiver}/health",
        "topic_api": f"{receiver}/api/topic/{world.TOPIC}",
        "mirror": f"http://127.0.0.1:{int(ready['mirror_port'])}",
    }


def _log_paths(run: Path) -> dict[str, Path]:
    logs = run / "logs"
    return {
        "agent": logs / "agent.log",
        "agent_output": run / "agent" / "check-output.txt",
        "receiver": logs / "stackstate-receiver.log",
        "mm2es": logs / "mm2es.log",
        "server": logs / "stackstate.log",
        "mirror": logs / "mirror.log",
        "runtime": logs / "runtime.log",
    }


def _write_profile(base: Path, state: dict[str, Any]) -> Path:
    e, logs, files = state["endpoints"], state["logs"], state["files"]
    values: dict[str, Any] = {
        "agent_output": logs["agent_output"],
        "agent_log": logs["agent"],
        "receiver_log": [logs["receiver"]],
        "receiver": e["receiver"],
        "api_key_file": files["api_key_file"],
        "sts_api": e["receiver"],
        "kafka": e["kafka"],
        "topic": world.TOPIC,
        "mm2es_group": world.MM2ES_GROUP,
        "es": e["elasticsearch"],
        "index_pattern": world.INDEX_PATTERN,
        "streams_file": files["streams"],
        "mirror": e["mirror"],
        "mirror_api_key_file": files["mirror_api_key_file"],
        "server_log": [logs["server"]],
        "window": world.WINDOW,
        "timeout": 3.0,
        "labels": [f"sandbox_faults={','.join(state['faults']) or 'none'}"],
    }
    title = "The `sandbox` profile, written by `stsdebug sandbox up`; `stsdebug sandbox down` removes it."
    return write_profile(base, title, state["faults"], values)


# --- down -----------------------------------------------------------------------------------


def down(base: Path | None = None) -> dict[str, Any]:
    """Stop the sandbox; ``{"stopped": [...], "was_running": bool}``. Raises if something survives."""
    base = Path(os.path.abspath(base if base is not None else paths.state_dir()))
    if not base.exists():
        return {"stopped": [], "was_running": False, "state_dir": str(base)}
    with statefile.locked(base):
        had_state = paths.state_path(base).exists()
        stopped = _stop_all(base)
    return {"stopped": stopped or [], "was_running": had_state, "state_dir": str(base)}


def _stop_all(base: Path) -> list[str]:
    """Stop every process of the state file, remove the run directory, profile and state."""
    state = statefile.load(base)
    stopped: list[str] = []
    survivors: list[str] = []
    known = (state or {}).get("processes") or {}
    runtime = known.get("runtime")
    if runtime:
        label = f"runtime (pid {runtime['pid']})"
        if _stop_runtime(int(runtime["pid"]), str(runtime.get("run_dir", ""))):
            stopped.append(label)
        else:
            survivors.append(label)
    for key, info in known.items():  # the servers: noida-db, or VictoriaMetrics and vmagent
        if key == "runtime" or not info:
            continue
        proc = statefile.server_from(info)
        label = f"{key} (pid {proc.pid})"
        if not _ours(proc):
            _reap(proc.pid)
            continue  # gone already (its PID may belong to someone else by now)
        try:
            proc.stop(timeout=STOP_GRACE_S)
            _reap(proc.pid)
            stopped.append(label)
        except ServerError:
            survivors.append(label)
    # Whatever no state file remembers (an interrupted up, a lost state file): every
    # process marked with this run directory, or naming it and being one of ours.
    run = str(base / "run")
    strays = sorted(set(procs.find(env={procs.RUN_ENV: run}))
                    | set(procs.find(naming=run, programs=_PROGRAMS)))
    if strays:
        left = procs.stop(strays, STOP_GRACE_S)
        for pid in strays:
            _reap(pid)
        stopped += [f"process {pid}" for pid in strays if pid not in left]
        survivors += [f"process {pid}" for pid in left]
    open_ports = [p for p in ((state or {}).get("ports") or {}).values() if _listening(int(p))]
    if survivors:
        raise SandboxError(f"Could not stop {', '.join(survivors)}; stop them by PID and run down again.")
    if open_ports:
        raise SandboxError(f"The sandbox's processes are stopped but ports {open_ports} still listen.")
    paths.profile_path(base).unlink(missing_ok=True)
    paths.state_path(base).unlink(missing_ok=True)
    shutil.rmtree(base / "run", ignore_errors=True)
    for name in ("api_key", "mirror_api_key", "streams.yaml", "bindings.sty"):
        (base / name).unlink(missing_ok=True)
    return stopped


def _stop_runtime(pid: int, run_dir: str) -> bool:
    """SIGTERM the runtime's process group, SIGKILL after the grace period; True once gone."""
    if not _is_runtime(pid, run_dir):
        _reap(pid)
        return True
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if not _is_runtime(pid, run_dir):
                return True
            time.sleep(_POLL_S)
    return not _is_runtime(pid, run_dir)


def _is_runtime(pid: int, run_dir: str) -> bool:
    """Is ``pid`` a live (non-zombie) sandbox runtime of this run directory?"""
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():  # no procfs: a bare signal probe
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return False
    return RUNTIME_MODULE in cmdline and (not run_dir or run_dir in cmdline)


def _ours(proc: ServerProcess) -> bool:
    """Is ``proc.pid`` still the server started on ``proc.data_dir`` (not a reused PID)?"""
    if proc._popen is not None:
        return True
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return not Path("/proc/self").exists()  # no procfs: trust the PID
    return str(proc.data_dir) in cmdline or not cmdline  # a dying process has an empty cmdline


def _reap(pid: int) -> None:
    popen = CHILDREN.get(pid)
    if popen is not None and popen.poll() is not None:
        CHILDREN.pop(pid, None)


# --- status ---------------------------------------------------------------------------------


def status(base: Path | None = None) -> dict[str, Any]:
    """What runs, where: endpoints, logs, PIDs and whether each process is alive."""
    base = Path(base) if base is not None else paths.state_dir()
    state = statefile.load(base)
    if state is None:
        return {"running": False, "state_dir": str(base)}
    procs = state.get("processes") or {}
    out_procs: dict[str, Any] = {}
    for key, info in procs.items():
        if key == "runtime":
            alive = _is_runtime(int(info["pid"]), str(info.get("run_dir", "")))
        else:
            proc = statefile.server_from(info)
            alive = _ours(proc) and proc.alive()
        entry = {"pid": int(info["pid"]), "alive": alive}
        if info.get("stopped_by_fault"):
            entry["stopped_by_fault"] = info["stopped_by_fault"]
        out_procs[key] = entry
    runtime_alive = bool(out_procs.get("runtime", {}).get("alive"))
    result = {
        "running": state.get("status") == "up" and runtime_alive,
        "status": state.get("status"),
        "state_dir": str(base),
        "faults": list(state.get("faults") or []),
        "started_at": state.get("started_at"),
        "ready_s": state.get("ready_s"),
        "endpoints": dict(state.get("endpoints") or {}),
        "ports": dict(state.get("ports") or {}),
        "processes": out_procs,
        "logs": dict(state.get("logs") or {}),
        "files": dict(state.get("files") or {}),
        "profile": paths.PROFILE_NAME,
        "window": world.WINDOW,
        "sts_version": str(state.get("sts_version") or "5"),
    }
    if state.get("down_by_fault"):
        result["down_by_fault"] = dict(state["down_by_fault"])
    if state.get("replaced"):
        result["replaced"] = state["replaced"]
    return result


# --- helpers --------------------------------------------------------------------------------


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _unused_port(taken: set[int]) -> int:
    port = servers.free_port()
    while port in taken:
        port = servers.free_port()
    return port
