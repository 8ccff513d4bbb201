"""The real formats the sandbox writes, so the stages read what they would read in the field.

- agent log lines: ``2006-01-02 15:04:05 MST | CORE | LEVEL | (path/file.go:LINE in Func) | message``;
- ``stackstate-agent check <name> -l debug`` output (log lines, ``=== Series ===`` JSON,
  ``=== Service Checks ===``, ``=== Events ===``, ``=== Topology ===``, the Collector block);
- receiver and mm2es logs in logback's ``%date [%thread] %-5level %logger{60} - %msg%n``
  (``%date`` is ISO8601 local time without a zone, as on a Linux install);
- ``{"MultiMetric": {...}}`` records and the multi-metric Elasticsearch documents.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# --- log files ----------------------------------------------------------------------------


class LogFile:
    """An append-only log file shared by threads; each write is one or more whole lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fh = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in close()

    def write(self, *lines: str) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.write("".join(line + "\n" for line in lines))

    def close(self) -> None:
        with self._lock:
            self._fh.close()


def agent_line(
    t: float, level: str, location: str, message: str, component: str = "CORE", *, rfc3339: bool = False
) -> str:
    """One agent log line, stamped in UTC as an agent on a UTC host writes it: the default
    layout (``2006-01-02 15:04:05 MST``) or, with ``log_format_rfc3339: true``, RFC 3339
    (``2006-01-02T15:04:05Z07:00``, UTC written ``Z``; StackVista/stackstate-agent 2.19.1
    pkg/config/log.go getLogDateFormat)."""
    when = datetime.fromtimestamp(t, timezone.utc)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ") if rfc3339 else when.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} | {component} | {level} | ({location}) | {message}"


def logback_line(t: float, thread: str, level: str, logger: str, message: str) -> str:
    """One logback line, ``%date [%thread] %-5level %logger{60} - %msg`` in local time."""
    local = datetime.fromtimestamp(t)
    stamp = local.strftime("%Y-%m-%d %H:%M:%S") + f",{int((t % 1) * 1000):03d}"
    return f"{stamp} [{thread}] {level:<5} {_abbreviate(logger, 60)} - {message}"


def _abbreviate(logger: str, width: int) -> str:
    """logback's %logger{N}: shorten leading packages to their first letter until it fits."""
    if len(logger) <= width:
        return logger
    parts = logger.split(".")
    for i in range(len(parts) - 1):
        parts[i] = parts[i][:1]
        if len(".".join(parts)) <= width:
            break
    return ".".join(parts)


def masked_key(api_key: str) -> str:
    """The agent's own masking: every character but the last five as '*'."""
    return "*" * max(0, len(api_key) - 5) + api_key[-5:]


# --- `stackstate-agent check <name> -l debug` ---------------------------------------------

_BLUE = "\x1b[34m"
_YELLOW = "\x1b[33m"
_RESET = "\x1b[0m"


def check_output(
    *,
    check: str,
    version: str,
    instance: str,
    host: str,
    t: float,
    series: Sequence[dict[str, Any]],
    service_checks: Sequence[dict[str, Any]],
    topology: dict[str, Any] | None,
    log_lines: Iterable[str],
) -> str:
    """The text `stackstate-agent check <check> -l debug` prints (it runs once, sends nothing)."""
    stamp = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    out = list(log_lines)
    out.append(f"=== {_BLUE}Series{_RESET} ===")
    out.append(json.dumps({"series": list(series)}, indent=2))
    out.append(f"=== {_BLUE}Service Checks{_RESET} ===")
    out.append(json.dumps(list(service_checks), indent=2))
    out.append(f"=== {_BLUE}Events{_RESET} ===")
    out.append("[]")
    if topology is not None:
        out.append(f"=== {_BLUE}Topology{_RESET} ===")
        out.append(json.dumps(topology, indent=2))
    samples = len(series)
    out += [
        "=========",
        "Collector",
        "=========",
        "",
        "  Running Checks",
        "  ==============",
        "",
        f"    {check} ({version})",
        "    " + "-" * (len(check) + len(version) + 3),
        f"      Instance ID: {check}:{instance} [OK]",
        f"      Configuration Source: file:/etc/stackstate-agent/conf.d/{check}.d/conf.yaml",
        "      Total Runs: 1",
        f"      Metric Samples: Last Run: {samples}, Total: {samples}",
        "      Events: Last Run: 0, Total: 0",
        f"      Service Checks: Last Run: {len(service_checks)}, Total: {len(service_checks)}",
        "      Average Execution Time : 41ms",
        f"      Last Execution Date : {stamp} ({int(t * 1000)})",
        f"      Last Successful Execution Date : {stamp} ({int(t * 1000)})",
        "",
        f"{_YELLOW}Check has run only once, if some metrics are missing you can try again with "
        f"--check-rate to see any other metric if available.{_RESET}",
    ]
    return "\n".join(out) + "\n"


# --- Kafka records and Elasticsearch documents ----------------------------------------------


def split_tags(tags: Iterable[str]) -> dict[str, str]:
    """Agent tags ``key:value`` as the ``tags`` object of a MultiMetric (bare tags keep '')."""
    out: dict[str, str] = {}
    for tag in tags:
        key, _, val = str(tag).partition(":")
        out[key] = val
    return out


def multi_metrics(
    metrics: Sequence[Sequence[Any]], fallback_host: str
) -> list[dict[str, Any]]:
    """Group intake metrics ``[name, ts, value, {hostname, type, tags}]`` into MultiMetrics.

    One MultiMetric per (host, timestamp, tag set), ``name`` ``convertedMetric`` as the
    receiver names agent metrics, timestamps in epoch milliseconds.
    """
    groups: dict[tuple[str, float, tuple[str, ...]], dict[str, Any]] = {}
    for name, ts, val, meta in metrics:
        meta = meta if isinstance(meta, dict) else {}
        host = str(meta.get("hostname") or fallback_host)
        tags = tuple(sorted(str(t) for t in meta.get("tags") or ()))
        key = (host, float(ts), tags)
        mm = groups.get(key)
        if mm is None:
            mm = groups[key] = {
                "name": "convertedMetric",
                "host": host,
                "tags": split_tags(tags),
                "labels": list(tags),
                "values": {},
                "timestamp": int(float(ts) * 1000),
            }
        mm["values"][str(name)] = float(val)
    return list(groups.values())


def record_value(mm: dict[str, Any]) -> bytes:
    return json.dumps({"MultiMetric": mm}, separators=(",", ":")).encode()


def es_document(mm: dict[str, Any], received_ms: int) -> dict[str, Any]:
    """The mm2es document of one MultiMetric: the multi-metric layout."""
    return {
        "name": mm.get("name", "convertedMetric"),
        "host": mm.get("host", ""),
        "labels": list(mm.get("labels") or []),
        "tags": dict(mm.get("tags") or {}),
        "values": dict(mm.get("values") or {}),
        "timestamp": int(mm.get("timestamp") or 0),
        "timeReceived": int(received_ms),
    }


def index_for(timestamp_ms: int, prefix: str) -> str:
    """The daily index a document dated ``timestamp_ms`` goes to."""
    seconds = min(max(timestamp_ms / 1000.0, 0.0), 253402300799.0)  # clamp into datetime's range
    return prefix + datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y.%m.%d")


def now_ms() -> int:
    return int(time.time() * 1000)
