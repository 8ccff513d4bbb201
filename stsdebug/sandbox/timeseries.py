"""Start and stop the real time-series parts of StackState 6: VictoriaMetrics and vmagent.

SUSE Observability stores metrics in VictoriaMetrics (single-node, port 8428) and puts a
vmagent (port 8429, an on-disk buffer) between the receiver and it
(StackVista/helm-charts ``stable/suse-observability``). Debian's ``victoria-metrics``
package ships both binaries (``victoria-metrics`` and ``vmagent``, 1.79.5 on Debian 12).
They run here exactly like the Kafka/Elasticsearch test servers of
``stsdebug.sandbox.servers``: free loopback ports, their own session and process group,
output in a log file, readiness checked over HTTP (``/health`` answers ``OK``), stopped
by PID. What the binaries do in each state is written down in docs/v6/facts.md.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
from collections.abc import Callable, Mapping
from pathlib import Path

from stsdebug.sandbox.servers import (
    _HTTP,
    HOST,
    ServerError,
    ServerProcess,
    _checked_binary,
    _launch,
    _pick_ports,
    _with_port_retries,
)

VM_BINARY = "victoria-metrics"
VMAGENT_BINARY = "vmagent"
DEBIAN_PACKAGE = "victoria-metrics"
INSTALL_HINT = f"install the Debian package {DEBIAN_PACKAGE}: apt-get install -y {DEBIAN_PACKAGE}"
# Environment variables both binaries can read flags from (with -envflag.enable); dropped
# so that a developer's shell cannot change the test servers.
_ENV_DROP_PREFIXES = ("VM_", "VMAGENT_")


def find_binary(name: str) -> Path:
    """The path of `victoria-metrics` or `vmagent` on PATH, or a one-line ServerError."""
    found = shutil.which(name)
    if not found:
        raise ServerError(f"The {name} binary is not installed ({INSTALL_HINT}).")
    return Path(found)


def base_url(server: ServerProcess) -> str:
    """http://127.0.0.1:PORT of a VictoriaMetrics or vmagent started here."""
    return f"http://{HOST}:{server.ports['http']}"


def write_url(server: ServerProcess) -> str:
    """The Prometheus remote-write URL of a VictoriaMetrics or vmagent started here."""
    return f"{base_url(server)}/api/v1/write"


def start_victoria_metrics(
    data_dir: Path,
    *,
    retention: str = "1",
    port: int | None = None,
    latency_offset: str | None = None,
    extra_args: tuple[str, ...] = (),
    ready_timeout: float = 15.0,
    binary: Path | None = None,
    die_with_parent: bool = False,
    extra_env: Mapping[str, str] | None = None,
    on_spawn: Callable[[ServerProcess], None] | None = None,
) -> ServerProcess:
    """Start single-node VictoriaMetrics on loopback, storing in `data_dir/storage`.

    `retention` is VictoriaMetrics' ``-retentionPeriod`` ("1" = one month, the chart's
    default; "3d" is the chart's trial profile; suffixes h, d, w, y). Samples older than
    it are refused (``vm_rows_ignored_total{reason="small_timestamp"}``).
    `latency_offset` sets ``-search.latencyOffset`` (default 30s: the newest 30 s are
    hidden from queries; tests lower it). The chart's own flags are added:
    ``-dedup.minScrapeInterval=1ms`` and ``-maxLabelsPerTimeseries=60``
    (``local/victoria-metrics-single/values.yaml``). `extra_env` and `on_spawn` as for
    ``servers.start_noida`` (the sandbox marks and records its children with them).
    """
    exe = _checked_binary(binary if binary is not None else find_binary(VM_BINARY), VM_BINARY)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    flags = [
        f"-storageDataPath={data_dir / 'storage'}",
        f"-retentionPeriod={retention}",
        "-dedup.minScrapeInterval=1ms",
        "-maxLabelsPerTimeseries=60",
    ]
    if latency_offset is not None:
        flags.append(f"-search.latencyOffset={latency_offset}")
    return _start_http(VM_BINARY, exe, [*flags, *extra_args], data_dir, port=port, ready_timeout=ready_timeout,
                       die_with_parent=die_with_parent, extra_env=extra_env, on_spawn=on_spawn)


def start_vmagent(
    remote_write_url: str,
    buffer_dir: Path,
    *,
    port: int | None = None,
    flush_interval: str = "1s",
    show_url: bool = False,
    extra_args: tuple[str, ...] = (),
    ready_timeout: float = 15.0,
    binary: Path | None = None,
    die_with_parent: bool = False,
    extra_env: Mapping[str, str] | None = None,
    on_spawn: Callable[[ServerProcess], None] | None = None,
) -> ServerProcess:
    """Start vmagent on loopback, remote-writing to `remote_write_url`.

    Its on-disk buffer (``-remoteWrite.tmpDataPath``, ``/tmpData`` in the chart) is
    `buffer_dir/buffer`; its log is `buffer_dir/vmagent.log`. vmagent answers /health
    even when it cannot reach the remote-write URL: it buffers, and that is the point.
    `show_url` exposes the URL in its metrics' ``url`` label (the chart leaves it hidden,
    so real installations show ``1:secret-url``).
    """
    exe = _checked_binary(binary if binary is not None else find_binary(VMAGENT_BINARY),
                          VMAGENT_BINARY)
    buffer_dir = Path(buffer_dir)
    buffer_dir.mkdir(parents=True, exist_ok=True)

    flags = [
        f"-remoteWrite.url={remote_write_url}",
        f"-remoteWrite.tmpDataPath={buffer_dir / 'buffer'}",
        f"-remoteWrite.flushInterval={flush_interval}",
    ]
    if show_url:
        flags.append("-remoteWrite.showURL")
    return _start_http(VMAGENT_BINARY, exe, [*flags, *extra_args], buffer_dir, port=port,
                       ready_timeout=ready_timeout, die_with_parent=die_with_parent, extra_env=extra_env,
                       on_spawn=on_spawn)


def _start_http(
    name: str,
    exe: Path,
    flags: list[str],
    work_dir: Path,
    *,
    port: int | None,
    ready_timeout: float,
    die_with_parent: bool,
    extra_env: Mapping[str, str] | None,
    on_spawn: Callable[[ServerProcess], None] | None,
) -> ServerProcess:
    """Start ``name`` listening on one HTTP port, logging to ``work_dir/<name>.log``; ready
    when its /health answers. Both binaries take the same listen flag and answer /health."""

    def attempt() -> ServerProcess:
        ports = _pick_ports({"http": port}, name)
        argv = [str(exe), f"-httpListenAddr={HOST}:{ports['http']}", *flags]
        return _launch(
            name, exe, argv, ports, work_dir / f"{name}.log", work_dir,
            [lambda t: _healthy(ports["http"], t)], ready_timeout,
            env={**_clean_env(), **(extra_env or {})}, die_with_parent=die_with_parent,
            on_spawn=on_spawn,
        )

    return _with_port_retries(attempt, fixed=port is not None)


def buffer_bytes(server: ServerProcess) -> int:
    """Bytes in a vmagent's on-disk buffer directory (what its pending-bytes gauge counts)."""
    root = server.data_dir / "buffer"
    total = 0
    for path in root.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_ENV_DROP_PREFIXES)}


def _healthy(port: int, timeout: float) -> bool:
    try:
        with _HTTP.open(f"http://{HOST}:{port}/health", timeout=timeout) as resp:
            return bool(resp.status == 200 and resp.read().strip() == b"OK")
    except (OSError, urllib.error.URLError, ValueError):
        return False
