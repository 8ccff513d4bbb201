"""A test server as a child process: started in its own session, waited for, stopped by PID.

The mechanics every sandbox server shares (noida-db and Tansu in
``stsdebug.sandbox.servers``, VictoriaMetrics and vmagent in
``stsdebug.sandbox.timeseries``): free loopback ports, a log file, readiness checks,
retries when a picked port is taken first, and stopping by process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stsdebug.sandbox import procs

HOST = "127.0.0.1"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# noida-db is linked against a newer glibc symbol version than Debian 12 ships; the
# loader warns on every start and the binary works regardless.
_NOISE = ("GLIBC_2.39' not found",)
_PORT_TAKEN = ("already in use", "addrinuse", "address in use")
_POLL_S = 0.01
# Automatically picked ports can be taken by someone else before the server binds
# them; on that (and only that) failure we pick new ones.
_PORT_RETRIES = 3


class ServerError(RuntimeError):
    """A test server could not be started or stopped; the message is one sentence."""


@dataclass
class ServerProcess:
    """A running server: enough to reach it, read its log and stop it by PID.

    `ports` maps a service name ("elasticsearch", "kafka") to its loopback port.
    A ServerProcess rebuilt from these five fields alone (e.g. by a later
    `stsdebug sandbox down`) can still be checked and stopped.
    """

    name: str
    pid: int
    ports: dict[str, int]
    log_path: Path
    data_dir: Path
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _exe_name: str | None = field(default=None, repr=False, compare=False)
    _stopped: bool = field(default=False, repr=False, compare=False)

    def alive(self) -> bool:
        if self._stopped:
            return False
        if self._popen is not None:
            return self._popen.poll() is None
        return _pid_running(self.pid, self._exe_name or self.name)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL it after `timeout` s; wait for the ports to close.

        Safe to call more than once. noida-db saves its data only on SIGTERM.
        """
        if self._stopped:
            return
        if self.alive():
            self._signal_group(signal.SIGTERM)
            if not self._wait_exit(timeout):
                self._signal_group(signal.SIGKILL)
                if not self._wait_exit(2.0):
                    raise ServerError(f"{self.name} (pid {self.pid}) did not exit after SIGKILL.")
        else:
            self._gone()
        self._stopped = True
        _wait_ports_closed(self.ports.values(), timeout=max(timeout, 1.0))

    def _signal_group(self, sig: signal.Signals) -> None:
        # The server leads its own process group (start_new_session), so the group id
        # is its PID; while it is unreaped the kernel cannot give that id to another.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._gone():
                return True
            time.sleep(_POLL_S)
        return self._gone()

    def _gone(self) -> bool:
        """True once the process has exited (reaping it when it is our child)."""
        if self._popen is not None:
            return self._popen.poll() is not None
        try:
            # Our own child: only a successful reap proves it is gone (a dying process
            # lingers a moment after SIGKILL, its sockets possibly still open).
            return os.waitpid(self.pid, os.WNOHANG)[0] == self.pid
        except ChildProcessError:
            pass  # not our child: whoever adopted it reaps it
        return not _pid_running(self.pid, self._exe_name or self.name)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, timeout: float) -> None:
    """Return once something accepts TCP connections on host:port, else raise ServerError."""
    deadline = time.monotonic() + timeout
    while not _port_open(host, port):
        if time.monotonic() >= deadline:
            raise ServerError(f"Nothing is listening on {host}:{port} after {timeout:g} s.")
        time.sleep(_POLL_S)


def log_tail(path: Path, lines: int = 5) -> str:
    """The last `lines` meaningful lines of a server log, joined by ' | '."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [
        _ANSI.sub("", ln).strip()
        for ln in text.splitlines()
        if ln.strip() and not any(n in ln for n in _NOISE)
    ]
    return " | ".join(kept[-lines:])


# --- internals -------------------------------------------------------------------

class _PortTaken(ServerError):
    """The server exited because a port it was given is in use."""


def _with_port_retries(attempt: Callable[[], ServerProcess], *, fixed: bool) -> ServerProcess:
    for tries_left in range(_PORT_RETRIES - 1, -1, -1):
        try:
            return attempt()
        except _PortTaken:
            if fixed or tries_left == 0:
                raise
    raise AssertionError("unreachable")


def _launch(
    name: str,
    exe: Path,
    argv: list[str],
    ports: dict[str, int],
    log_path: Path,
    data_dir: Path,
    checks: list[Callable[[float], bool]],
    ready_timeout: float,
    *,
    env: dict[str, str],
    die_with_parent: bool,
    on_spawn: Callable[[ServerProcess], None] | None = None,
) -> ServerProcess:
    setpriv = shutil.which("setpriv") if die_with_parent else None
    if setpriv:
        # setpriv sets the parent-death signal and then execs the server, so the PID
        # stays the server's own; no preexec_fn (unsafe with threads) is needed.
        argv = [setpriv, "--pdeathsig", "TERM", "--", *argv]
    env = {**env, **procs.markers()}
    # Ctrl-C between fork and the caller knowing the PID would leave the server behind.
    with procs.held_signals(), open(log_path, "wb") as log:
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
        except OSError as exc:
            raise ServerError(f"Could not run the {name} binary {exe}: {exc.strerror}.") from exc
        proc = ServerProcess(
            name, popen.pid, dict(ports), log_path, data_dir, _popen=popen, _exe_name=exe.name
        )
        if on_spawn is not None:
            try:
                on_spawn(proc)
            except BaseException:
                with contextlib.suppress(ServerError):
                    proc.stop(timeout=2.0)
                raise
    try:
        _wait_ready(proc, checks, ready_timeout)
    except BaseException:
        with contextlib.suppress(ServerError):
            proc.stop(timeout=2.0)
        raise
    return proc


def _wait_ready(
    proc: ServerProcess, checks: list[Callable[[float], bool]], ready_timeout: float
) -> None:
    deadline = time.monotonic() + ready_timeout
    pending = list(checks)
    while pending:
        if not proc.alive():
            _raise_exited(proc)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            tail = log_tail(proc.log_path)
            raise ServerError(
                f"{proc.name} did not become ready in {ready_timeout:g} s"
                + (f"; last log lines: {tail}" if tail else "")
                + "."
            )
        if pending[0](min(remaining, 1.0)):
            pending.pop(0)
        else:
            time.sleep(_POLL_S)


def _raise_exited(proc: ServerProcess) -> None:
    code = proc._popen.returncode if proc._popen is not None else None
    tail = log_tail(proc.log_path)
    low = tail.lower()
    if any(marker in low for marker in _PORT_TAKEN):
        named = sorted({int(p) for p in re.findall(r"port (\d+)", tail)} & set(proc.ports.values()))
        which = ", ".join(str(p) for p in (named or proc.ports.values()))
        raise _PortTaken(f"{proc.name} could not listen on {HOST}: port {which} is already in use.")
    if "already running" in low:
        raise ServerError(
            f"{proc.name} refused to start because another one already uses {proc.data_dir}."
        )
    # Tansu exits 0 even when its listener thread panics, so the code alone says little.
    raise ServerError(
        f"{proc.name} exited with code {code} before it was ready"
        + (f"; last log lines: {tail}" if tail else "")
        + "."
    )


def _checked_binary(path: Path, name: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ServerError(f"The {name} binary was not found at {path}.")
    if not os.access(path, os.X_OK):
        raise ServerError(f"The {name} binary at {path} is not executable.")
    return path


def _pick_ports(wanted: dict[str, int | None], name: str) -> dict[str, int]:
    """Explicit ports must be free now; missing ones are picked, all distinct."""
    ports: dict[str, int] = {}
    for service, port in wanted.items():
        if port is not None:
            if _port_open(HOST, port):
                raise ServerError(f"Cannot start {name}: port {port} on {HOST} is already in use.")
            ports[service] = port
    for service, port in wanted.items():
        if port is None:
            picked = free_port()
            while picked in ports.values():
                picked = free_port()
            ports[service] = picked
    return {s: ports[s] for s in wanted}


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_ports_closed(ports: Iterable[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for port in list(ports):
        while _port_open(HOST, port) and time.monotonic() < deadline:
            time.sleep(_POLL_S)


def _pid_running(pid: int, exe_name: str) -> bool:
    """True if `pid` is a live (non-zombie) process running `exe_name`.

    Comparing the executable name guards against the PID having been reused after
    the server we started had exited.
    """
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():  # no procfs: fall back to a bare signal probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        stat = (proc / "stat").read_text()
        argv0 = (proc / "cmdline").read_bytes().split(b"\0")[0]
        comm = (proc / "comm").read_text().strip()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X"):
        return False
    # A process being torn down has an empty cmdline but keeps its comm (15 chars).
    return Path(os.fsdecode(argv0)).name == exe_name or comm == exe_name[:15]
