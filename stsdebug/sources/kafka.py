"""Read-only access to the ``sts_multi_metrics`` topic over the Kafka protocol (kafka-python).

Read-only, always: the consumer has ``group_id=None`` and auto-commit off, so it never
joins a group and never commits; other groups' committed offsets are only read. The
topic is never created: its existence is checked through metadata that forbids
auto-creation before any offset lookup (ListOffsets creates missing topics on brokers
with ``auto.create.topics.enable``).

Timeouts. Every request has ``request_timeout_ms`` = the configured timeout, and every
phase (connect, describe, read, a group sample) also runs under a hard wall-clock
deadline, because kafka-python 3 can wait forever on some failures (for example a TLS
listener that never finishes the handshake). A phase that overruns raises a
``SourceError`` at the deadline and marks the source broken: later calls fail at once
with the same sentence instead of waiting again.

Diagnosis before kafka-python. kafka-python reports every connection problem as
"Unable to bootstrap". So the source first resolves the bootstrap host (DNS), opens a
TCP connection (refused, unreachable, timeout) and, for SSL, completes a TLS handshake
with the same settings (certificate problems), and only then bootstraps. A SASL
rejection is recognised from kafka-python's own log records of that bootstrap. After
the bootstrap, the brokers the cluster *advertises* are checked the same way: a broker
advertising an in-cluster name that does not resolve from the engineer's machine is the
classic port-forward failure.

Trust nothing the broker says about offsets that can be checked: the end offset is the
larger of ListOffsets and the fetch high-water mark, and ``offsets_for_times`` answers are
checked against the timestamps of the records around them; when the check fails the
window is measured by reading back from the end or, past the read cap, by a bounded
binary search on record timestamps. Each ``PartitionTail`` says which method it used.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from stsdebug.errors import SourceError

SYSTEM = "Kafka"
DEFAULT_PORT = 9092
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MAX_PROBES = 24  # binary-search fetches per partition: enough for 16 million records
MAX_GROUPS = 200  # consumer groups inspected when discovering who reads the topic
CLIENT_ID = "stsdebug"

T = TypeVar("T")


# --- what the reads return ----------------------------------------------------------


@dataclass
class Record:
    """One record as read, undecoded. ``value`` is bytes from Kafka, parsed JSON from the topic API."""

    partition: int
    offset: int
    timestamp: float | None  # epoch seconds: the Kafka record timestamp (None if absent)
    key: bytes | str | None
    value: Any
    size: int = 0  # serialized value size in bytes (0 when unknown)


@dataclass
class PartitionInfo:
    partition: int
    leader: int | None  # broker node id; None when unknown or leaderless (-1)
    replicas: list[int] = field(default_factory=list)
    isr: list[int] = field(default_factory=list)
    error: str | None = None


@dataclass
class TopicInfo:
    name: str
    exists: bool
    partitions: list[PartitionInfo] = field(default_factory=list)
    brokers: dict[int, str] = field(default_factory=dict)  # node id -> advertised host:port
    note: str = ""


@dataclass
class PartitionTail:
    """What one partition holds near its end and in the window."""

    partition: int
    earliest: int | None
    end: int | None  # the next offset to be written
    end_method: str  # how `end` was established
    in_window: int | None  # records with timestamp >= window start
    exact: bool  # False: `in_window` is a lower bound
    window_method: str  # how `in_window` was established
    newest: Record | None = None  # newest record of the partition (by timestamp), in window or not
    records: list[Record] = field(default_factory=list)  # in-window records read, oldest first
    read_from: int | None = None  # first offset read for `records`


@dataclass
class GroupOffsets:
    group: str
    committed: dict[int, int | None]  # partition -> committed offset (None: no commit)
    state: str | None = None  # Stable, Empty, Dead, ... (None when the broker did not say)
    members: int | None = None


@dataclass
class MultiMetric:
    """The parts of a ``MultiMetric`` message that identify whose data it is."""

    metrics: list[str]  # metric names (the keys of `values`)
    host: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    name: str | None = None  # "convertedMetric" for agent metrics
    timestamp: float | None = None  # epoch seconds, whatever unit the message used


def epoch_seconds(value: Any) -> float | None:
    """A timestamp in seconds, milli-, micro- or nanoseconds, told apart by magnitude.

    Seconds stay below 1e11 until the year 5138, so anything above is a finer unit.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or value != value or value <= 0:
        return None
    number = float(value)
    for limit, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if number > limit:
            return number / scale
    return number


def decode_value(value: Any) -> MultiMetric | None:
    """A record value as a MultiMetric, with or without the ``{"MultiMetric": ...}`` wrapper.

    Accepts bytes or text holding JSON, or JSON already parsed (the topic API). None when it
    is not JSON, or JSON without metric values.
    """
    obj = value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            obj = json.loads(bytes(value))
        except (ValueError, UnicodeDecodeError):
            return None
    elif isinstance(value, str):
        try:
            obj = json.loads(value)
        except ValueError:
            return None
    if not isinstance(obj, dict):
        return None
    for key, inner in obj.items():
        if isinstance(key, str) and key.lower() == "multimetric" and isinstance(inner, dict):
            obj = inner
            break
    values = obj.get("values")
    if isinstance(values, dict):
        metrics = [str(k) for k in values]
    elif isinstance(obj.get("metric"), str):  # one point per message
        metrics = [obj["metric"]]
    elif isinstance(obj.get("name"), str) and "value" in obj:
        metrics = [obj["name"]]
    else:
        return None
    tags: dict[str, str] = {}
    for source in (obj.get("labels"), obj.get("tags")):  # explicit tags win over labels
        if isinstance(source, dict):
            tags.update({str(k): str(v) for k, v in source.items()})
        elif isinstance(source, list):
            for item in source:
                key, sep, val = str(item).partition(":")
                if sep:
                    tags[key] = val
    host = obj.get("host")
    name = obj.get("name")
    return MultiMetric(
        metrics,
        host if isinstance(host, str) else None,
        tags,
        name if isinstance(name, str) else None,
        epoch_seconds(obj.get("timestamp")),
    )


class TopicSource:
    """What a Kafka stage reads from, whichever way it reaches the topic."""

    access: str = ""
    endpoint: str = ""
    supports_groups: bool = False  # committed offsets of consumer groups can be read
    shows_leaders: bool = False  # partitions come with their leaders (unreadable without one)

    def describe_topic(self, topic: str) -> TopicInfo:  # pragma: no cover - interface
        raise NotImplementedError

    def read_window(
        self, topic: str, partitions: list[int], start: float, cap: int
    ) -> list[PartitionTail]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        pass


# --- deadlines ----------------------------------------------------------------------


class DeadlineExceeded(Exception):
    """A bounded call did not return in time (its thread is abandoned)."""


def bounded(
    fn: Callable[[], T],
    seconds: float,
    name: str = "stsdebug-io",
    *,
    watch: Callable[[], BaseException | None] | None = None,
    on_late: Callable[[Any], None] | None = None,
) -> T:
    """Run ``fn`` in a daemon thread and give up after ``seconds`` (raises ``DeadlineExceeded``).

    ``watch`` is asked every 50 ms whether to give up early (it returns the exception to
    raise). The thread is abandoned, not killed: whatever it waits on is the library's
    own; ``on_late`` receives a value that arrives after the caller gave up (to close it).
    """
    box: dict[str, Any] = {}
    lock = threading.Lock()
    done = threading.Event()

    def target() -> None:
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
        else:
            with lock:
                late = box.get("abandoned", False)
                if not late:
                    box["value"] = value
            if late and on_late is not None:
                with contextlib.suppress(Exception):
                    on_late(value)
        finally:
            done.set()

    def abandon() -> None:
        with lock:
            box["abandoned"] = True
            value = box.pop("value", None)
        if value is not None and on_late is not None:
            with contextlib.suppress(Exception):
                on_late(value)

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    deadline = time.monotonic() + max(0.0, seconds)
    while not done.wait(max(0.0, min(0.05, deadline - time.monotonic()))):
        early = watch() if watch is not None else None
        if early is not None:
            abandon()
            raise early
        if time.monotonic() >= deadline:
            abandon()
            raise DeadlineExceeded()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


# --- kafka-python's log, captured -----------------------------------------------------


class _LogCapture(logging.Handler):
    """Keeps kafka-python's recent warnings and errors for diagnosis, off the terminal."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: deque[tuple[int, str]] = deque(maxlen=200)
        self.seq = 0

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.seq += 1
            self.lines.append((self.seq, record.getMessage()))

    def mark(self) -> int:
        return self.seq

    def since(self, mark: int) -> list[str]:
        return [text for seq, text in list(self.lines) if seq > mark]


_CAPTURE = _LogCapture()
_capture_lock = threading.Lock()
_capture_installed = False


def _install_capture() -> None:
    # kafka-python logs connection trouble at ERROR; with no handler configured Python
    # prints those to stderr, which would break stsdebug's one-line output.
    global _capture_installed
    with _capture_lock:
        if not _capture_installed:
            log = logging.getLogger("kafka")
            log.addHandler(_CAPTURE)
            log.propagate = False
            _capture_installed = True


# --- settings -----------------------------------------------------------------------


def parse_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """'h1:9092,h2' -> [('h1', 9092), ('h2', 9092)]; '[::1]:9092' works too."""
    servers: list[tuple[str, int]] = []
    for raw in bootstrap.split(","):
        item = raw.strip()
        if not item:
            continue
        for scheme in ("PLAINTEXT://", "SSL://", "SASL_PLAINTEXT://", "SASL_SSL://", "tcp://"):
            if item.upper().startswith(scheme.upper()):
                item = item[len(scheme):]
        host, port_text = item, ""
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
        try:
            port = int(port_text) if port_text else DEFAULT_PORT
        except ValueError:
            port = -1
        if not host or not 0 < port < 65536:
            raise SourceError(
                f"Kafka bootstrap {raw.strip()!r} is not HOST:PORT.", system=SYSTEM, cause="config"
            )
        servers.append((host, port))
    if not servers:
        raise SourceError("The Kafka bootstrap address is empty.", system=SYSTEM, cause="config")
    return servers


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- the source ---------------------------------------------------------------------


class KafkaSource(TopicSource):
    access = "Kafka"
    supports_groups = True
    shows_leaders = True

    def __init__(
        self,
        bootstrap: str,
        *,
        timeout: float = 10.0,
        security_protocol: str = "PLAINTEXT",
        sasl_mechanism: str | None = None,
        sasl_username: str | None = None,
        sasl_password: str | None = None,
        ssl_cafile: str | None = None,
    ) -> None:
        self.servers = parse_bootstrap(bootstrap)
        self.endpoint = ",".join(_hostport(h, p) for h, p in self.servers)
        self.timeout = float(timeout)
        protocol = (security_protocol or "PLAINTEXT").upper()
        mechanism = sasl_mechanism.upper() if sasl_mechanism else None
        if protocol not in PROTOCOLS:
            raise SourceError(
                f"Kafka security protocol {security_protocol!r} is not one of {', '.join(PROTOCOLS)}.",
                system=SYSTEM,
                cause="config",
            )
        if mechanism and not protocol.startswith("SASL_"):
            # A mechanism without a SASL protocol can only mean SASL was intended.
            protocol = "SASL_SSL" if protocol == "SSL" else "SASL_PLAINTEXT"
        if protocol.startswith("SASL_"):
            mechanism = mechanism or "PLAIN"
            if mechanism not in MECHANISMS:
                raise SourceError(
                    f"Kafka SASL mechanism {sasl_mechanism!r} is not one of {', '.join(MECHANISMS)}.",
                    system=SYSTEM,
                    cause="config",
                )
            if not sasl_username or sasl_password is None:
                raise SourceError(
                    f"Kafka SASL {mechanism} needs a user name and a password "
                    "(kafka_sasl_username, kafka_sasl_password).",
                    system=SYSTEM,
                    cause="config",
                )
        self.protocol = protocol
        self.mechanism = mechanism if protocol.startswith("SASL_") else None
        self.username = sasl_username
        self._password = sasl_password
        self.cafile = ssl_cafile
        self._ssl: ssl.SSLContext | None = None
        if protocol in ("SSL", "SASL_SSL"):
            try:
                self._ssl = ssl.create_default_context(cafile=ssl_cafile)
            except (OSError, ssl.SSLError) as exc:
                raise SourceError(
                    f"The Kafka CA file {ssl_cafile} cannot be used ({_os_reason(exc)}).",
                    system=SYSTEM,
                    cause="config",
                ) from None
        self._admin: Any = None
        self._consumer: Any = None
        self._broken: SourceError | None = None
        self._lock = threading.RLock()

    # -- connection ---------------------------------------------------------------------

    def _config(self, timeout_s: float) -> dict[str, Any]:
        ms = max(500, int(timeout_s * 1000))
        cfg: dict[str, Any] = {
            "bootstrap_servers": [_hostport(h, p) for h, p in self.servers],
            "client_id": CLIENT_ID,
            "request_timeout_ms": max(1000, int(self.timeout * 1000)),
            "bootstrap_timeout_ms": ms,
            "reconnect_backoff_ms": 50,
            "reconnect_backoff_max_ms": 1000,
            "retry_backoff_ms": 100,
            "security_protocol": self.protocol,
        }
        if self._ssl is not None:
            cfg["ssl_context"] = self._ssl
        if self.mechanism:
            cfg["sasl_mechanism"] = self.mechanism
            cfg["sasl_plain_username"] = self.username
            cfg["sasl_plain_password"] = self._password
        return cfg

    def _connect(self) -> None:
        if self._broken is not None:
            raise self._broken
        if self._admin is not None:
            return
        _install_capture()
        deadline = time.monotonic() + self.timeout
        try:
            self._preflight(self.servers, deadline, advertised=False)
            self._bootstrap(deadline)
        except SourceError as exc:
            self._broken = exc
            raise

    def _preflight(self, servers: list[tuple[str, int]], deadline: float, *, advertised: bool) -> None:
        """DNS, TCP and (SSL) TLS to the first server that answers; the first failure otherwise."""
        first: SourceError | None = None
        for host, port in servers:
            try:
                _probe(host, port, deadline, self._ssl, self.timeout, advertised=advertised)
                return
            except SourceError as exc:
                first = first or exc
                if exc.cause == "timeout":
                    break  # the deadline is spent
        assert first is not None
        raise first

    def _bootstrap(self, deadline: float) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer

        mark = _CAPTURE.mark()
        remaining = deadline - time.monotonic()

        def build() -> tuple[Any, Any]:
            admin = _admin_class(KafkaAdminClient)(**self._config(remaining))
            try:
                # The consumer reuses the broker version the admin client found, so it
                # does not bootstrap again. group_id=None: no group, no commits, ever.
                consumer = KafkaConsumer(
                    **self._config(remaining),
                    api_version=admin._manager.broker_version,
                    group_id=None,
                    enable_auto_commit=False,
                    allow_auto_create_topics=False,
                    auto_offset_reset="earliest",
                    max_poll_records=5000,
                    fetch_max_wait_ms=10,
                    # kafka-python checks CRCs in pure Python: four times the cost of the
                    # rest of the decode. The broker validated each batch when it was written.
                    check_crcs=False,
                    metrics_enabled=False,
                )
            except BaseException:
                with contextlib.suppress(Exception):
                    admin.close()
                raise
            return admin, consumer

        def watch() -> SourceError | None:
            # kafka-python retries a refused login until its bootstrap timeout; the log
            # already says so after the first attempt.
            lines = _CAPTURE.since(mark)
            decisive = any(_decisive(ln) for ln in lines) or (
                sum(1 for ln in lines if _dropped_after_versions([ln])) >= 2
            )
            return self._bootstrap_error(lines, None) if decisive else None

        def close_late(clients: tuple[Any, Any]) -> None:
            for client in clients:
                with contextlib.suppress(Exception):
                    client.close()

        try:
            self._admin, self._consumer = bounded(
                build, remaining + 0.3, "stsdebug-kafka-connect", watch=watch, on_late=close_late
            )
        except SourceError:
            raise
        except DeadlineExceeded:
            raise self._bootstrap_error(_CAPTURE.since(mark), None) from None
        except Exception as exc:  # noqa: BLE001 - every library failure becomes one sentence
            raise self._bootstrap_error(_CAPTURE.since(mark), exc) from None
        # The bootstrap server answered; the brokers it advertises are what the reads use.
        brokers = self._advertised()
        unknown = [b for b in brokers if b not in self.servers]
        if unknown:
            self._preflight_advertised(unknown, time.monotonic() + self.timeout)

    def _advertised(self) -> list[tuple[str, int]]:
        with contextlib.suppress(Exception):
            return [(b.host, int(b.port)) for b in self._admin._manager.cluster.brokers()]
        return []

    def _preflight_advertised(self, brokers: list[tuple[str, int]], deadline: float) -> None:
        for host, port in brokers:
            try:
                _probe(host, port, deadline, self._ssl, self.timeout, advertised=True)
            except SourceError as exc:
                self.close()
                raise SourceError(
                    f"Kafka at {self.endpoint} answered, but the broker it advertises is not "
                    f"reachable from here: {_lower_first(str(exc))}",
                    system=SYSTEM,
                    cause=exc.cause,
                ) from None

    def _bootstrap_error(self, lines: list[str], exc: BaseException | None) -> SourceError:
        text = " | ".join(lines)
        low = text.lower() + " " + (str(exc).lower() if exc else "")
        where = self.endpoint
        if "unsupportedsaslmechanism" in low or "does not support" in low:
            return SourceError(
                f"Kafka at {where} does not offer SASL {self.mechanism} "
                f"({_first_match(lines, ('sasl',))}); check the mechanism and the security protocol.",
                system=SYSTEM,
                cause="auth",
            )
        if exc is not None and _is_auth_error(exc):
            return self._sasl_error(str(exc))
        if self.mechanism and (
            "sasl" in low
            or "authentication" in low
            or _dropped_after_versions(lines)
        ):
            return self._sasl_error(_sasl_detail(lines))
        if any(s in low for s in ("certificate", "ssl:", "sslerror", "handshake")):
            return SourceError(
                f"TLS with Kafka at {where} failed: {_first_match(lines, ('certificate', 'ssl', 'handshake'))}.",
                system=SYSTEM,
                cause="tls",
            )
        if not self.mechanism and _dropped_after_versions(lines):
            return SourceError(
                f"Kafka at {where} closed the connection during the metadata request; it may "
                f"require SASL or SSL (security protocol here: {self.protocol}).",
                system=SYSTEM,
                cause="auth",
            )
        if exc is not None and type(exc).__name__ not in ("KafkaTimeoutError", "NoBrokersAvailable"):
            return SourceError(
                f"Kafka at {where} could not be used: {_exc_text(exc)}.", system=SYSTEM, cause="network"
            )
        return SourceError(
            f"Kafka at {where} accepted the connection but did not answer a metadata request "
            f"within {self.timeout:g} s.",
            system=SYSTEM,
            cause="timeout",
        )

    def _sasl_error(self, detail: str) -> SourceError:
        tail = f" ({detail})" if detail else ""
        return SourceError(
            f"Kafka at {self.endpoint} rejected SASL {self.mechanism} authentication as user "
            f"{self.username!r}{tail}; check the user name, password and mechanism.",
            system=SYSTEM,
            cause="auth",
        )

    def _phase(self, what: str, fn: Callable[[], T], seconds: float | None = None) -> T:
        """One bounded phase against a connected cluster, failures turned into sentences."""
        with self._lock:
            self._connect()
            limit = self.timeout if seconds is None else seconds
            try:
                return bounded(fn, limit, "stsdebug-kafka")
            except DeadlineExceeded:
                err = SourceError(
                    f"Kafka at {self.endpoint} did not answer {what} within {limit:g} s.",
                    system=SYSTEM,
                    cause="timeout",
                )
                self._broken = err
                self.close()
                raise err from None
            except SourceError:
                raise
            except Exception as exc:  # noqa: BLE001 - library errors become one sentence
                raise self._call_error(what, exc) from None

    def _call_error(self, what: str, exc: BaseException) -> SourceError:
        name = type(exc).__name__
        if _is_auth_error(exc) or "Authorization" in name:
            return SourceError(
                f"Kafka at {self.endpoint} refused {what}: {name} (the user lacks ACL permissions).",
                system=SYSTEM,
                cause="auth",
            )
        if name in ("KafkaTimeoutError", "RequestTimedOutError"):
            return SourceError(
                f"Kafka at {self.endpoint} did not answer {what} within {self.timeout:g} s.",
                system=SYSTEM,
                cause="timeout",
            )
        if name in ("KafkaConnectionError", "NoBrokersAvailable", "NodeNotReadyError"):
            return SourceError(
                f"Lost the connection to Kafka at {self.endpoint} during {what} (the broker stopped "
                "answering).",
                system=SYSTEM,
                cause="network",
            )
        return SourceError(
            f"Kafka at {self.endpoint} failed {what}: {_exc_text(exc)}.", system=SYSTEM, cause="kafka"
        )

    def close(self) -> None:
        admin, consumer = self._admin, self._consumer
        self._admin = self._consumer = None
        for client in (consumer, admin):
            if client is None:
                continue
            # close() may itself wait on a dead connection: never let it hold the trace.
            closer = (
                (lambda c=client: c.close(autocommit=False))
                if client is consumer
                else (lambda c=client: c.close())
            )
            with contextlib.suppress(Exception):
                bounded(closer, 2.0, "stsdebug-kafka-close")

    # -- topic ----------------------------------------------------------------------------

    def describe_topic(self, topic: str) -> TopicInfo:
        def run() -> TopicInfo:
            # Metadata with auto-creation off: asking never creates the topic.
            topics = self._admin.describe_topics([topic])
            brokers = {
                int(b.node_id): _hostport(b.host, int(b.port))
                for b in self._admin._manager.cluster.brokers()
            }
            entry = next((t for t in topics if t.get("name") == topic), None)
            if entry is None or entry.get("error_code") in (3,):  # UNKNOWN_TOPIC_OR_PARTITION
                return TopicInfo(topic, False, brokers=brokers)
            if entry.get("error_code"):
                from kafka.errors import for_code

                raise for_code(int(entry["error_code"]))(f"metadata for topic {topic}")
            parts = []
            for p in sorted(entry.get("partitions") or [], key=lambda p: p["partition_index"]):
                leader = int(p.get("leader_id", -1))
                err = p.get("error_code") or 0
                parts.append(
                    PartitionInfo(
                        int(p["partition_index"]),
                        leader if leader >= 0 else None,
                        [int(r) for r in p.get("replica_nodes") or []],
                        [int(r) for r in p.get("isr_nodes") or []],
                        _error_name(err) if err else None,
                    )
                )
            return TopicInfo(topic, True, parts, brokers)

        return self._phase(f"a metadata request for topic {topic}", run)

    def read_window(
        self, topic: str, partitions: list[int], start: float, cap: int
    ) -> list[PartitionTail]:
        if not partitions:
            return []
        # Reading is several requests (offsets, a high-water probe, the tail, the checks):
        # twice the per-call timeout for the lot.
        return self._phase(
            f"reads of topic {topic}",
            lambda: _WindowReader(
                self._admin, self._consumer, topic, partitions, 2 * self.timeout
            ).read(start, cap),
            seconds=2 * self.timeout,
        )

    def end_offsets(
        self, topic: str, partitions: list[int], known: dict[int, int] | None = None
    ) -> dict[int, int]:
        """End offsets from the fetch high-water mark (exact on every broker).

        With ``known`` ends from an earlier read, one fetch at each (known end - 1) is
        enough; otherwise ListOffsets first, checked by that fetch.
        """
        def run() -> dict[int, int]:
            reader = _WindowReader(self._admin, self._consumer, topic, partitions, self.timeout)
            if known and all(known.get(p, 0) > 0 for p in partitions):
                marks, _ = reader.fetch_high_water({reader.tp(p): known[p] - 1 for p in partitions})
                return {tp.partition: hw for tp, hw in marks.items()}
            earliest, listed = reader.list_offsets()
            ends, _ = reader.high_water(earliest, listed)
            return {tp.partition: end for tp, (end, _m) in ends.items()}

        return self._phase(f"end offsets of topic {topic}", run)

    def timestamps_at(self, topic: str, offsets: dict[int, int]) -> dict[int, float | None]:
        """The timestamp of the record at each partition's offset (the first one at or after it)."""
        def run() -> dict[int, float | None]:
            reader = _WindowReader(self._admin, self._consumer, topic, list(offsets), self.timeout)
            firsts = reader.first_records({reader.tp(p): o for p, o in offsets.items()})
            return {tp.partition: (r.timestamp if r else None) for tp, r in firsts.items()}

        return self._phase(f"a read of topic {topic}", run)

    # -- consumer groups ------------------------------------------------------------------

    def groups_reading(self, topic: str) -> list[GroupOffsets]:
        """Every consumer group with committed offsets on ``topic`` (bounded to MAX_GROUPS)."""
        def run() -> list[GroupOffsets]:
            listed = self._admin.list_groups()
            ids = sorted({str(g.get("group_id")) for g in listed if g.get("group_id")})[:MAX_GROUPS]
            if not ids:
                return []
            found = _group_offsets(self._admin, ids)
            out = []
            for gid in ids:
                committed = {
                    tp.partition: _committed(om) for tp, om in found.get(gid, {}).items() if tp.topic == topic
                }
                if committed:
                    out.append(GroupOffsets(gid, committed))
            return out

        return self._phase("a consumer-group listing", run)

    def group_offsets(self, groups: list[str], topic: str) -> list[GroupOffsets]:
        def run() -> list[GroupOffsets]:
            found = _group_offsets(self._admin, groups)
            return [
                GroupOffsets(
                    g,
                    {tp.partition: _committed(om) for tp, om in found.get(g, {}).items() if tp.topic == topic},
                )
                for g in groups
            ]

        return self._phase("a committed-offsets request", run)

    def group_states(self, groups: list[str]) -> dict[str, tuple[str | None, int | None]]:
        """State and member count per group; {} when the broker cannot describe groups."""
        def run() -> dict[str, tuple[str | None, int | None]]:
            try:
                described = self._admin.describe_groups(groups)
            except Exception:  # noqa: BLE001 - states are extra evidence, not a requirement
                return {}
            return {
                g: (d.get("group_state") or None, len(d.get("members") or []))
                for g, d in described.items()
            }

        return self._phase("a consumer-group description", run)


def _admin_class(base: type) -> type:
    """KafkaAdminClient asking DescribeGroups v2 (no authorized-operations field).

    kafka-python 3.0.12 always asks for authorized operations and fails on bits its enum
    does not know (Tansu sets bit 15); v2 has no such field and answers state and members.
    """
    from kafka.protocol.admin import DescribeGroupsRequest

    class _Admin(base):  # type: ignore[misc, valid-type]
        def _describe_groups_request(self, group_ids: Iterable[str]) -> Any:
            return DescribeGroupsRequest(
                groups=list(group_ids), include_authorized_operations=False, max_version=2
            )

    return _Admin


def _group_offsets(admin: Any, groups: list[str]) -> dict[str, dict[Any, Any]]:
    try:
        return dict(admin.list_group_offsets({g: None for g in groups}))
    except Exception:  # noqa: BLE001 - one bad group must not hide the others
        out: dict[str, dict[Any, Any]] = {}
        for g in groups:
            with contextlib.suppress(Exception):
                out.update(admin.list_group_offsets({g: None}))
        return out


def _committed(om: Any) -> int | None:
    offset = getattr(om, "offset", om)
    return int(offset) if isinstance(offset, int) and offset >= 0 else None


# --- reading near the end -------------------------------------------------------------


class _WindowReader:
    """The read of one window: offsets, the tail, and the check of offsets_for_times."""

    def __init__(
        self, admin: Any, consumer: Any, topic: str, partitions: list[int], seconds: float
    ) -> None:
        from kafka import TopicPartition

        self.admin = admin
        self.consumer = consumer
        self.topic = topic
        self._tp = TopicPartition
        self.tps = [TopicPartition(topic, p) for p in partitions]
        # Loops stop on their own at this deadline, so an abandoned read cannot spin.
        self.deadline = time.monotonic() + seconds
        self.marks: dict[Any, int | None] = {}  # high-water marks seen by read_ranges

    def _start(self, offsets: dict[Any, int]) -> None:
        """Assign exactly these partitions at these offsets, with nothing left buffered.

        Records fetched but not returned (reads stop at what they need) would otherwise
        stay parked in the consumer and keep it from fetching those partitions again.
        """
        self.consumer.unsubscribe()
        self.consumer.assign(list(offsets))
        for tp, offset in offsets.items():
            self.consumer.seek(tp, offset)

    def _drop(self, tp: Any) -> None:
        """Stop reading one partition and forget what was fetched for it."""
        keep = {t: self.consumer.position(t) for t in self.consumer.assignment() if t != tp}
        if keep:
            self._start(keep)
        else:
            self.consumer.unsubscribe()

    def _poll(self, max_records: int = 5000) -> dict[Any, list[Any]]:
        if time.monotonic() > self.deadline:
            from kafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError("read deadline passed")
        return dict(self.consumer.poll(timeout_ms=200, max_records=max_records))

    def tp(self, partition: int) -> Any:
        return self._tp(self.topic, partition)

    def list_offsets(self) -> tuple[dict[Any, int], dict[Any, int]]:
        from kafka.protocol.consumer import OffsetSpec

        first = self.admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in self.tps})
        last = self.admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in self.tps})
        return (
            {tp: int(first[tp].offset) for tp in self.tps},
            {tp: int(last[tp].offset) for tp in self.tps},
        )

    def high_water(
        self, earliest: dict[Any, int], listed: dict[Any, int]
    ) -> tuple[dict[Any, tuple[int, str]], dict[Any, list[Record]]]:
        """(end, method) per partition: ListOffsets checked against a fetch's high-water mark.

        Some brokers answer ListOffsets LATEST with the start of the last batch + 1; the
        high-water mark in a fetch response is the log end either way.
        """
        ends: dict[Any, tuple[int, str]] = {}
        probe = {tp: max(earliest[tp], listed[tp] - 1) for tp in self.tps if listed[tp] > earliest[tp]}
        for tp in self.tps:
            if tp not in probe:
                ends[tp] = (listed[tp], "ListOffsets (empty partition)")
        marks, seen = self.fetch_high_water(probe)
        for tp in probe:
            hw = marks[tp]
            if hw > listed[tp]:
                ends[tp] = (hw, f"fetch high-water mark (ListOffsets answered {listed[tp]:,})")
            else:
                ends[tp] = (listed[tp], "ListOffsets, confirmed by the fetch high-water mark")
        return ends, seen

    def fetch_high_water(self, probe: dict[Any, int]) -> tuple[dict[Any, int], dict[Any, list[Record]]]:
        """The high-water mark of a fetch at each offset (which must hold a record).

        The mark is read only after this fetch returned a record for the partition: the
        consumer keeps the mark of earlier fetches, which would be stale.
        """
        seen: dict[Any, list[Record]] = {}
        if not probe:
            return {}, seen
        self._start(probe)
        waiting = set(probe)
        while waiting:
            batch = self._poll()
            for tp, records in batch.items():
                if records:
                    seen.setdefault(tp, []).extend(_record(r) for r in records)
                    waiting.discard(tp)
        return {tp: int(self.consumer.highwater(tp)) for tp in probe}, seen

    def read_ranges(self, ranges: dict[Any, tuple[int, int]]) -> dict[Any, list[Record]]:
        """Records with from <= offset < to, per partition (the caller bounds the sizes)."""
        out: dict[Any, list[Record]] = {tp: [] for tp in ranges}
        todo = {tp: r for tp, r in ranges.items() if r[0] < r[1]}
        if not todo:
            return out
        self._start({tp: lo for tp, (lo, _hi) in todo.items()})
        while todo:
            # Ask for no more than is still wanted: kafka-python decodes lazily, so the
            # rest of a large fetch (up to 1 MB of records) is never decoded.
            wanted = sum(max(1, hi - self.consumer.position(tp)) for tp, (_lo, hi) in todo.items())
            batch = self._poll(max_records=min(5000, wanted))
            for tp, records in batch.items():
                if tp not in todo:
                    continue
                lo, hi = todo[tp]
                out[tp].extend(_record(r) for r in records if lo <= r.offset < hi)
            for tp in list(todo):
                if self.consumer.position(tp) >= todo[tp][1]:
                    self.marks[tp] = self.consumer.highwater(tp)
                    del todo[tp]
                    if todo:
                        self._drop(tp)
        return out

    def first_records(self, offsets: dict[Any, int]) -> dict[Any, Record | None]:
        """The first record at or after each offset (None past the end)."""
        out: dict[Any, Record | None] = {tp: None for tp in offsets}
        todo = dict(offsets)
        if not todo:
            return out
        self._start(todo)
        while todo:
            # One record at a time: kafka-python decodes lazily, so the rest of the
            # fetched batch is never decoded.
            batch = self._poll(max_records=1)
            for tp, records in batch.items():
                if tp in todo:
                    hits = [r for r in records if r.offset >= todo[tp]]
                    if hits:
                        out[tp] = _record(min(hits, key=lambda r: r.offset))
                        del todo[tp]
                        if todo:
                            self._drop(tp)
            for tp in list(todo):
                hw = self.consumer.highwater(tp)
                if hw is not None and self.consumer.position(tp) >= hw:
                    del todo[tp]
                    if todo:
                        self._drop(tp)
        return out

    def offsets_for_times(self, start_ms: int, tps: list[Any]) -> dict[Any, Any] | None:
        if not tps:
            return {}
        try:
            return dict(self.consumer.offsets_for_times({tp: start_ms for tp in tps}))
        except Exception as exc:  # noqa: BLE001 - an old broker: fall back to reading
            if type(exc).__name__ in ("UnsupportedVersionError", "IncompatibleBrokerVersion"):
                return None
            raise

    def read(self, start: float, cap: int) -> list[PartitionTail]:
        earliest, listed = self.list_offsets()
        start_ms = int(start * 1000)
        start = start_ms / 1000.0  # compare at the brokers' precision (milliseconds)
        # The tail up to the listed end; the fetch that returns it also carries the
        # high-water mark, which checks that end. Past it: read the real tail again.
        ranges = {tp: (max(earliest[tp], listed[tp] - cap), listed[tp]) for tp in self.tps}
        tails = self.read_ranges(ranges)
        ends: dict[Any, tuple[int, str]] = {}
        again: dict[Any, tuple[int, int]] = {}
        for tp in self.tps:
            hw = self.marks.get(tp) if tails.get(tp) else None
            if listed[tp] <= earliest[tp]:
                ends[tp] = (listed[tp], "ListOffsets (empty partition)")
            elif hw is not None and hw > listed[tp]:
                ends[tp] = (int(hw), f"fetch high-water mark (ListOffsets answered {listed[tp]:,})")
                again[tp] = ranges[tp] = (max(earliest[tp], int(hw) - cap), int(hw))
            else:
                ends[tp] = (listed[tp], "ListOffsets, confirmed by the fetch high-water mark")
        if again:
            tails.update(self.read_ranges(again))
        # Only where the window starts before the tail does its start need looking up.
        beyond = [
            tp for tp in self.tps
            if ranges[tp][0] > earliest[tp]
            and not any(r.timestamp is not None and r.timestamp < start for r in tails.get(tp, []))
        ]
        by_time = self.offsets_for_times(start_ms, beyond)
        out = []
        for tp in self.tps:
            end, end_method = ends[tp]
            lo, _hi = ranges[tp]
            records = sorted(tails.get(tp, []), key=lambda r: r.offset)
            newest = max(
                (r for r in records if r.timestamp is not None), key=lambda r: r.timestamp or 0, default=None
            )
            answer = by_time.get(tp) if by_time is not None else None
            count, exact, method, first = self._window(
                tp, start, earliest[tp], end, lo, records, by_time is not None and tp in beyond, answer
            )
            in_window = [r for r in records if r.offset >= first] if first is not None else []
            out.append(
                PartitionTail(
                    tp.partition, earliest[tp], end, end_method, count, exact, method,
                    newest, in_window, lo,
                )
            )
        return out

    def _window(
        self,
        tp: Any,
        start: float,
        earliest: int,
        end: int,
        lo: int,
        tail: list[Record],
        asked: bool,
        answer: Any,
    ) -> tuple[int, bool, str, int | None]:
        """(records in window, exact, method, first in-window offset among `tail`)."""
        if end <= earliest:
            return 0, True, "empty partition", None
        older = [r for r in tail if r.timestamp is not None and r.timestamp < start]
        if older or lo <= earliest:
            # The window starts inside what was read: count it there, nothing to look up.
            cut = max((r.offset for r in older), default=lo - 1)
            count = sum(1 for r in tail if r.offset > cut)
            return count, True, f"counted in the last {len(tail):,} records read", cut + 1
        if asked:
            by_offset = {r.offset: r for r in tail}
            ok, offset = self._check(tp, start, earliest, end, by_offset, answer)
            if ok and offset is not None:
                return end - offset, True, "offsets_for_times (checked against record timestamps)", offset
            why = "the broker's offsets_for_times answer failed the timestamp check"
        else:
            why = "the broker does not support offsets_for_times"
        first, probes = self._search(tp, start, earliest, tail)
        if first is not None:
            return (
                end - first, True,
                f"searched on record timestamps, {probes} fetch{'es' if probes != 1 else ''} ({why})", lo,
            )
        return end - lo, False, f"at least: the last {end - lo:,} records are all in the window ({why})", lo

    def _check(
        self, tp: Any, start: float, earliest: int, end: int, by_offset: dict[int, Record], answer: Any
    ) -> tuple[bool, int | None]:
        """Is the broker's offsets_for_times answer consistent with the records around it?"""
        if answer is None:
            newest = max((r.timestamp or 0.0 for r in by_offset.values()), default=None)
            # "No record at or after start": true only if the newest record is older.
            return (newest is not None and newest < start), None
        offset = int(answer.offset)
        if not earliest <= offset < end:
            return False, None
        need = [o for o in (offset - 1, offset) if o >= earliest and o not in by_offset]
        if need:
            got = self.read_ranges({tp: (min(need), max(need) + 1)})[tp]
            by_offset = {**by_offset, **{r.offset: r for r in got}}
        at = by_offset.get(offset)
        before = by_offset.get(offset - 1)
        if at is None or at.timestamp is None or at.timestamp < start:
            return False, None
        if offset > earliest and (before is None or before.timestamp is None or before.timestamp >= start):
            return False, None
        return True, offset

    def _search(self, tp: Any, start: float, earliest: int, tail: list[Record]) -> tuple[int | None, int]:
        """First in-window offset before the tail: (offset or None, fetches used)."""
        oldest = next((r for r in tail if r.timestamp is not None), None)
        first = self.first_records({tp: earliest})[tp]
        if oldest is None or first is None or first.timestamp is None:
            return None, 1
        if first.timestamp >= start:
            return first.offset, 1  # the whole partition is in the window
        found, probes = search_offset(start, first, oldest, lambda x: self.first_records({tp: x})[tp])
        return found, probes + 1


def search_offset(
    start: float,
    a: Record,
    b: Record,
    fetch: Callable[[int], Record | None],
    max_probes: int = MAX_PROBES,
) -> tuple[int | None, int]:
    """The offset of the first record at or after ``start``, between record ``a`` (older than
    ``start``) and record ``b`` (not older). Returns (offset, probes); offset None when the
    probes run out or a record has no timestamp.

    ``fetch(x)`` gives the first record at or after offset x. Probes alternate between
    interpolating on timestamps (a few probes when records arrive at a steady rate) and
    bisecting (so an uneven log still converges within twice log2 of the range). Assumes
    timestamps grow with offsets, as they do for records from one producer.
    """
    assert a.timestamp is not None and b.timestamp is not None
    lo, t_lo, hi, t_hi, hi_offset = a.offset, a.timestamp, b.offset, b.timestamp, b.offset
    probes, interpolate = 0, True
    while hi - lo > 1:
        if probes >= max_probes:
            return None, probes
        if interpolate and t_hi > t_lo:
            guess = lo + int((start - t_lo) / (t_hi - t_lo) * (hi - lo))
        else:
            guess = (lo + hi) // 2
        guess = min(max(guess, lo + 1), hi - 1)
        interpolate = not interpolate
        probes += 1
        rec = fetch(guess)
        if rec is None or rec.timestamp is None:
            return None, probes
        if rec.offset >= hi or rec.timestamp >= start:
            # Nothing older than `start` at or after `guess`: the answer is at or before it.
            hi = guess
            if rec.offset < hi_offset:
                hi_offset, t_hi = rec.offset, rec.timestamp
        else:
            lo, t_lo = rec.offset, rec.timestamp
    return hi_offset, probes


def _record(r: Any) -> Record:
    ts = getattr(r, "timestamp", None)
    size = getattr(r, "serialized_value_size", 0) or 0
    return Record(
        int(r.partition),
        int(r.offset),
        ts / 1000.0 if isinstance(ts, (int, float)) and ts >= 0 else None,
        r.key,
        r.value,
        int(size) if size and size > 0 else 0,
    )


# --- diagnosis helpers ---------------------------------------------------------------


def _probe(
    host: str,
    port: int,
    deadline: float,
    context: ssl.SSLContext | None,
    timeout: float,
    *,
    advertised: bool,
) -> None:
    where = _hostport(host, port)
    what = "the advertised Kafka broker" if advertised else "Kafka"

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SourceError(
                f"{_cap(what)} at {where} did not answer within {timeout:g} s.", system=SYSTEM, cause="timeout"
            )
        return remaining

    try:
        infos = bounded(
            lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM), left(), "stsdebug-dns"
        )
    except DeadlineExceeded:
        raise SourceError(
            f"Resolving the host name {host!r} of {what} took longer than {timeout:g} s.",
            system=SYSTEM,
            cause="dns",
        ) from None
    except (socket.gaierror, UnicodeError) as exc:
        raise SourceError(
            f"Cannot resolve the host name {host!r} of {what} ({where}): {_os_reason(exc)}.",
            system=SYSTEM,
            cause="dns",
        ) from None
    last: SourceError | None = None
    for family, kind, proto, _name, addr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left())
            sock.connect(addr)
        except SourceError:
            sock.close()
            raise
        except TimeoutError:
            sock.close()
            raise SourceError(
                f"Cannot connect to {what} at {where}: no answer within {timeout:g} s "
                "(a firewall, or the host is down).",
                system=SYSTEM,
                cause="timeout",
            ) from None
        except OSError as exc:
            sock.close()
            last = _connect_error(exc, what, where)
            continue
        try:
            if context is not None:
                _handshake(sock, context, host, left, what, where, timeout)
        finally:
            sock.close()
        return
    assert last is not None
    raise last


def _handshake(
    sock: socket.socket,
    context: ssl.SSLContext,
    host: str,
    left: Callable[[], float],
    what: str,
    where: str,
    timeout: float,
) -> None:
    try:
        sock.settimeout(left())
        with context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False) as tls:
            tls.do_handshake()
    except SourceError:
        raise
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or _ssl_reason(exc)
        raise SourceError(
            f"TLS with {what} at {where} failed: certificate verify failed ({reason}).",
            system=SYSTEM,
            cause="tls",
        ) from None
    except TimeoutError:
        raise SourceError(
            f"TLS with {what} at {where} failed: no handshake answer within {timeout:g} s "
            "(is the port plaintext?).",
            system=SYSTEM,
            cause="tls",
        ) from None
    except (ssl.SSLError, OSError) as exc:
        raise SourceError(
            f"TLS with {what} at {where} failed: {_ssl_reason(exc)} (is the port plaintext?).",
            system=SYSTEM,
            cause="tls",
        ) from None


def _connect_error(exc: OSError, what: str, where: str) -> SourceError:
    code = exc.errno
    if code == errno.ECONNREFUSED:
        return SourceError(f"Cannot connect to {what} at {where}: connection refused.", system=SYSTEM, cause="refused")
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN):
        return SourceError(
            f"Cannot connect to {what} at {where}: {_os_reason(exc).lower()}.", system=SYSTEM, cause="unreachable"
        )
    return SourceError(f"Cannot connect to {what} at {where}: {_os_reason(exc)}.", system=SYSTEM, cause="network")


def _os_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).rstrip(".")


def _ssl_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason).replace("_", " ").lower()
    text = str(exc)
    if "] " in text:
        text = text.split("] ", 1)[1]
    return text.split(" (_ssl.c", 1)[0].strip().rstrip(".") or "handshake failed"


def _is_auth_error(exc: BaseException) -> bool:
    return type(exc).__name__ in (
        "SaslAuthenticationFailedError",
        "AuthenticationFailedError",
        "UnsupportedSaslMechanismError",
        "IllegalSaslStateError",
        "AuthenticationMethodNotSupported",
    )


def _decisive(line: str) -> bool:
    """A log line that settles the bootstrap: retrying cannot help."""
    low = line.lower()
    return any(
        s in low
        for s in ("saslauthenticationfailed", "unsupportedsaslmechanism", "saslhandshake failed",
                  "illegalsaslstate", "authentication failed")
    )


def _dropped_after_versions(lines: list[str]) -> bool:
    """The broker answered ApiVersions (a version is known) and then dropped the connection."""
    return any(
        "broker_version=(" in ln and ("connection lost" in ln.lower() or "abort" in ln.lower())
        for ln in lines
    )


def _sasl_detail(lines: list[str]) -> str:
    for ln in lines:
        low = ln.lower()
        if "in the clear" in low:  # kafka-python's warning about SASL without TLS, not a cause
            continue
        if "sasl" in low or "authentication" in low:
            return _trim(ln.split(">: ", 1)[-1])
    return "the broker closed the connection during the SASL exchange"


def _first_match(lines: list[str], words: tuple[str, ...]) -> str:
    for ln in lines:
        if any(w in ln.lower() for w in words):
            return _trim(ln.split(">: ", 1)[-1])
    return "handshake failed"


def _trim(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    body = text[0] if text else ""
    name = type(exc).__name__
    return _trim(body if body.startswith(name) else f"{name}: {body}" if body else name)


def _error_name(code: int) -> str:
    with contextlib.suppress(Exception):
        from kafka.errors import for_code

        return str(for_code(int(code)).__name__)
    return f"error {code}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    # "Cannot resolve ..." -> "cannot resolve ...", but "TLS with ..." stays.
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def from_settings(settings: Any) -> KafkaSource:
    if not settings.kafka:
        raise SourceError("No Kafka bootstrap address given (--kafka).", system=SYSTEM, cause="config")
    return KafkaSource(
        settings.kafka,
        timeout=float(settings.timeout),
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        sasl_username=settings.kafka_sasl_username,
        sasl_password=settings.kafka_sasl_password,
        ssl_cafile=settings.kafka_ssl_cafile,
    )
