"""Helpers for the sandbox tests: start/stop a sandbox in a temporary state dir, run checks on it."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from stsdebug.sandbox import control, paths


def pid_alive(pid: int) -> bool:
    """A live process (zombies are dead: PID 1 of a container may never reap them)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def processes_naming(path: Path) -> list[tuple[int, str]]:
    """(PID, command line) of every live process whose command line names ``path``, via /proc."""
    needle = str(Path(path).absolute())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if needle in cmd and pid_alive(int(entry.name)):
            found.append((int(entry.name), cmd.strip()))
    return sorted(found)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def pids_of(state: dict[str, Any]) -> list[int]:
    return [int(p["pid"]) for p in (state.get("processes") or {}).values()]


def assert_nothing_left(state: dict[str, Any]) -> None:
    alive = [pid for pid in pids_of(state) if pid_alive(pid)]
    assert not alive, f"processes still running after down: {alive}"
    open_ports = [p for p in (state.get("ports") or {}).values() if listening(int(p))]
    assert not open_ports, f"ports still listening after down: {open_ports}"


@contextmanager
def sandbox(base: Path, faults: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """A sandbox for one test (or module); always stopped, also when the test fails."""
    try:
        yield control.up(list(faults or []), base=base, die_with_parent=True)
    finally:
        if paths.state_path(base).exists():
            control.down(base)


def run_cli(base: Path, *args: str) -> Any:
    from stsdebug.cli import app

    return CliRunner().invoke(app, list(args), env={paths.ENV_DIR: str(base)}, catch_exceptions=False)


def check(base: Path, integration: str, *extra: str) -> dict[str, Any]:
    """`stsdebug check --profile sandbox --integration X --format json`, parsed."""
    result = run_cli(base, "check", "--profile", "sandbox", "--integration", integration,
                     "--format", "json", *extra)
    assert result.exit_code in (0, 1, 3), f"check exited {result.exit_code}: {result.output[-2000:]}"
    return dict(json.loads(result.stdout))


def env_with(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[paths.ENV_DIR] = str(base)
    return env
