"""The sandbox's state file (``state.json``), its lock, and the children this process started.

``up`` records every process in the state file the moment it exists, so that ``down``
(and an ``up`` that replaces a sandbox) can stop what an interrupted ``up`` left behind.
One ``up`` or ``down`` at a time holds the lock of a state directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stsdebug.errors import UsageError
from stsdebug.sandbox import paths
from stsdebug.sandbox.servers import ServerProcess

SCHEMA = "stsdebug.sandbox/1"
_LOCK_TIMEOUT_S = 60.0
# Child processes started by this process: reaped by whoever stops them here.
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class SandboxError(UsageError):
    """The sandbox could not be started or stopped; one sentence (exit 2)."""


@contextlib.contextmanager
def locked(base: Path) -> Iterator[None]:
    """One up/down at a time per state directory."""
    with open(base / ".lock", "a+") as fh:
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SandboxError(
                        f"Another `stsdebug sandbox` command holds {base}; try again when it is done."
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def save(base: Path, state: dict[str, Any]) -> None:
    path = paths.state_path(base)
    tmp = path.with_name(".state.json.tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    tmp.replace(path)


def load(base: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(paths.state_path(base).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SandboxError(f"The sandbox state file {paths.state_path(base)} cannot be read: {exc}.") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise SandboxError(f"{paths.state_path(base)} is not a sandbox state file.")
    return data


def server_dict(proc: ServerProcess) -> dict[str, Any]:
    return {"name": proc.name, "pid": proc.pid, "ports": dict(proc.ports),
            "log_path": str(proc.log_path), "data_dir": str(proc.data_dir)}


def server_from(info: dict[str, Any]) -> ServerProcess:
    pid = int(info["pid"])
    return ServerProcess(str(info["name"]), pid, {k: int(v) for k, v in info["ports"].items()},
                         Path(info["log_path"]), Path(info["data_dir"]), _popen=CHILDREN.get(pid))


def starting(base: Path, run: Path, faults: list[str], logs: dict[str, Path], files: dict[str, Path],
             sts_version: str | None = None) -> dict[str, Any]:
    """The state of a sandbox whose processes are about to start (saved as each one runs)."""
    state: dict[str, Any] = {"schema": SCHEMA}
    if sts_version is not None:
        state["sts_version"] = sts_version
    state.update({
        "status": "starting",
        "state_dir": str(base),
        "run_dir": str(run),
        "faults": faults,
        "started_at": time.time(),
        "processes": {},
        "logs": {k: str(v) for k, v in logs.items()},
        "files": {k: str(v) for k, v in files.items()},
    })
    return state


def recorder(base: Path, state: dict[str, Any]) -> Callable[[str], Callable[[ServerProcess], None]]:
    """``record(key)``: the ``on_spawn`` that saves a server under ``key`` in the state file."""
    def record(key: str) -> Callable[[ServerProcess], None]:
        # Called the moment the server exists (interrupts held): its PID is on disk
        # before a Ctrl-C can be handled.
        def on_spawn(proc: ServerProcess) -> None:
            state["processes"][key] = server_dict(proc)
            save(base, state)

        return on_spawn

    return record


def adopt(proc: ServerProcess) -> ServerProcess:
    """Remember a server this process started, so that stopping it here reaps it."""
    if proc._popen is not None:
        CHILDREN[proc.pid] = proc._popen
    return proc


def save_up(base: Path, state: dict[str, Any], t_start: float, replaced: list[str] | None) -> None:
    """Every process is ready: the sandbox is up (``ready_s`` counts from ``t_start``)."""
    state["status"] = "up"
    state["ready_s"] = round(time.monotonic() - t_start, 2)
    if replaced:
        state["replaced"] = replaced
    save(base, state)
