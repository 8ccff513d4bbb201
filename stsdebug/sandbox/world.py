"""What the sandbox simulates: the agent's checks, the pull sources, the streams, the timeline.

Pure data and arithmetic; the components (agent, receiver, mover, pull) read it.

Timeline: ``sandbox up`` backfills HISTORY_S seconds of history, one cycle every
INTERVAL_S, through the same code the live components run. Faults began FAULT_AGE_S
before ``up``. The profile's window is WINDOW (5 minutes), so a check right after
``up`` sees a full window of healthy data, or one that starts 2 minutes after the
fault began: the scenario is the same whenever the check runs.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HISTORY_S = 600.0
FAULT_AGE_S = 420.0
INTERVAL_S = 10.0
WINDOW = "5m"

AGENT_HOST = "app-01"
AGENT_VERSION = "2.19.1"
HOST_TAGS = ("env:prod",)
# The agent logs a transaction success, and a check's runs, once every this many
# (logging_frequency in stackstate.yaml; the agent's default is 500).
LOG_EVERY = 25
# The simulated proxy in front of the receiver (fault malformed-payloads) cuts request
# bodies longer than this; only the mysql check's payloads (with topology) are longer.
PROXY_BODY_LIMIT = 3072
CLOCK_SKEW_S = -7200.0  # fault stale-timestamps: the agent host's clock
CLOCK_BEHIND_S = -1200.0  # fault agent-clock-skew: behind, but within the receiver's limit
RECEIVER_MAX_AGE_S = 3600.0  # the receiver ignores points older than this
# Fault kafka-blip: Kafka refuses the receiver for BLIP_S seconds, BLIP_AGE_S before `up`
# (inside the profile's window, and long enough before its end to count as recovered).
BLIP_AGE_S = 260.0
BLIP_S = 30.0
# Fault receiver-missing-topics: how the crash-looping receiver pod restarts (Kubernetes
# CrashLoopBackOff doubles its wait up to five minutes).
RESTART_BACKOFF_S = (10.0, 20.0, 40.0, 80.0, 160.0, 300.0)

TOPIC = "sts_multi_metrics"
MM2ES_GROUP = "mm2es"
INDEX_PREFIX = "sts_multi_metrics-"
INDEX_PATTERN = "sts_multi_metrics-*"


@dataclass(frozen=True)
class MetricDef:
    name: str
    type: str  # gauge | rate | count
    base: float
    amplitude: float = 0.0


@dataclass(frozen=True)
class CheckDef:
    """One agent check: what it reports and which integration it belongs to."""

    name: str
    integration: str
    version: str
    tags: tuple[str, ...]
    metrics: tuple[MetricDef, ...]
    service_checks: tuple[str, ...] = ()
    instance: str = ""  # instance id suffix (16 hex), stable per check
    topology: bool = False  # sends a component (makes the payload larger)


def _m(name: str, base: float, amplitude: float = 0.0, kind: str = "gauge") -> MetricDef:
    return MetricDef(name, kind, base, amplitude)


CHECKS: tuple[CheckDef, ...] = (
    CheckDef(
        "cpu", "system", "0.1.0", (),
        (_m("system.cpu.user", 12.0, 6.0), _m("system.cpu.system", 4.0, 2.0),
         _m("system.cpu.iowait", 1.5, 1.0), _m("system.cpu.idle", 80.0, 8.0)),
        instance="5c1f2a9b8d7e6f01",
    ),
    CheckDef(
        "load", "system", "0.1.0", (),
        (_m("system.load.1", 0.8, 0.4), _m("system.load.5", 0.7, 0.2),
         _m("system.load.15", 0.6, 0.1), _m("system.load.norm.1", 0.2, 0.1)),
        instance="2b3c4d5e6f7a8b90",
    ),
    CheckDef(
        "memory", "system", "0.1.0", (),
        (_m("system.mem.total", 16384.0), _m("system.mem.used", 9100.0, 400.0),
         _m("system.mem.free", 7284.0, 400.0), _m("system.mem.pct_usable", 0.44, 0.03)),
        instance="0a1b2c3d4e5f6071",
    ),
    CheckDef(
        "mysql", "mysql", "1.12.0", ("port:3306", "server:localhost"),
        (_m("mysql.net.connections", 0.4, 0.2, "rate"), _m("mysql.performance.queries", 12.6, 3.0, "rate"),
         _m("mysql.innodb.buffer_pool_free", 1.2058624e8, 2e6), _m("mysql.net.max_connections", 151.0),
         _m("mysql.performance.threads_running", 3.0, 2.0)),
        service_checks=("mysql.can_connect",),
        instance="3c5f2b3e1d0a9f88",
        topology=True,
    ),
    CheckDef(
        "postgres", "postgres", "12.1.0", ("db:app", "port:5432"),
        (_m("postgresql.connections", 18.0, 4.0), _m("postgresql.rows_fetched", 250.0, 80.0, "rate"),
         _m("postgresql.percent_usage_connections", 0.18, 0.04), _m("postgresql.db.count", 3.0)),
        service_checks=("postgres.can_connect",),
        instance="7d6e5f4a3b2c1d0e",
    ),
)

# Fault reserved-metric-names: custom queries the mysql check runs on top of its own.
RESERVED_CUSTOM = (_m("timestamp.replication_lag", 0.0, 0.5), _m("host.mysql.uptime_days", 41.0))
# Fault field-limit: the metric a mysql check upgrade added.
NEW_MYSQL_METRIC = _m("mysql.performance.cpu_time", 2.4, 0.6, "rate")
# Fault renamed-metric: an agent upgrade renamed this metric.
RENAMED = ("system.cpu.iowait", "system.cpu.io_wait")


@dataclass(frozen=True)
class PullSeries:
    """A pull-side series written straight to Elasticsearch."""

    integration: str
    host: str
    tags: dict[str, str] = field(default_factory=dict)
    metrics: tuple[MetricDef, ...] = ()


AWS_SERIES = (
    PullSeries(
        "aws", "i-0abc1234def567890", {"region": "eu-west-1", "namespace": "AWS/EC2"},
        (_m("aws.ec2.cpuutilization", 23.0, 9.0), _m("aws.ec2.networkin", 1.8e6, 4e5),
         _m("aws.ec2.statuscheckfailed", 0.0)),
    ),
    PullSeries(
        "aws", "i-0fed9876cba543210", {"region": "eu-west-1", "namespace": "AWS/EC2"},
        (_m("aws.ec2.cpuutilization", 41.0, 12.0), _m("aws.ec2.networkin", 9.2e5, 2e5),
         _m("aws.ec2.statuscheckfailed", 0.0)),
    ),
)
PROMETHEUS_SERIES = (
    PullSeries(
        "prometheus", "node-exporter-01", {"job": "node", "instance": "10.0.4.17:9100"},
        (_m("prometheus.node_load1", 0.9, 0.5), _m("prometheus.node_memory_memavailable_bytes", 6.1e9, 3e8)),
    ),
)


@dataclass(frozen=True)
class StreamDefn:
    name: str
    integration: str
    conditions: tuple[tuple[str, str], ...]
    metric: str


STREAMS: tuple[StreamDefn, ...] = (
    StreamDefn("Host CPU iowait", "system", (("host", AGENT_HOST),), "values.system.cpu.iowait"),
    StreamDefn("MySQL connections", "mysql",
               (("host", AGENT_HOST), ("tags.env", "prod"), ("tags.port", "3306")),
               "values.mysql.net.connections"),
    StreamDefn("PostgreSQL connections", "postgres",
               (("host", AGENT_HOST), ("tags.db", "app")), "values.postgresql.connections"),
    StreamDefn("EC2 CPU utilization", "aws",
               (("host", AWS_SERIES[0].host), ("tags.region", "eu-west-1")),
               "values.aws.ec2.cpuutilization"),
    StreamDefn("Node load (Prometheus)", "prometheus",
               (("host", PROMETHEUS_SERIES[0].host), ("tags.job", "node")),
               "values.prometheus.node_load1"),
)
WRONG_TAG = ("MySQL connections", "tags.env", "production")  # fault wrong-tag-value

INTEGRATIONS: tuple[str, ...] = ("system", "mysql", "postgres", "aws", "prometheus")


def value(metric: MetricDef, t: float) -> float:
    """A smooth, deterministic value for ``metric`` at time ``t``."""
    if not metric.amplitude:
        return metric.base
    phase = (zlib.crc32(metric.name.encode()) % 1000) / 1000.0 * 2 * math.pi
    v = metric.base + metric.amplitude * math.sin(t / 180.0 + phase)
    return round(max(0.0, v), 4)


def cycle_times(start: float, end: float, step: float = INTERVAL_S) -> Iterable[float]:
    """Cycle instants from ``start`` up to (not including) ``end``, aligned to ``step``."""
    t = math.ceil(start / step) * step
    while t < end:
        yield t
        t += step


def live_cycles(stop: threading.Event, config_file: Path) -> Iterator[float]:
    """The live cycle instants, each waited for in real time, until ``stop`` is set or the
    run directory (``config_file``) is gone."""
    next_t = (int(time.time() / INTERVAL_S) + 1) * INTERVAL_S
    while not stop.wait(max(0.0, next_t - time.time())):
        if not config_file.exists():
            return  # the run directory is gone: nobody will ever stop us otherwise
        t = next_t
        next_t += INTERVAL_S
        if next_t < time.time():  # slept through cycles (a suspended machine): resync
            next_t = (int(time.time() / INTERVAL_S) + 1) * INTERVAL_S
        yield t


class FaultClock:
    """Which faults are active at a given instant: each began at ``since``."""

    def __init__(self, names: Iterable[str], since: float) -> None:
        self.names = frozenset(names)
        self.since = since

    def active(self, name: str, t: float) -> bool:
        return name in self.names and t >= self.since

    def __contains__(self, name: str) -> bool:
        return name in self.names
