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

Diagnosis before kafka-python (``kafka_preflight``): DNS, TCP and TLS to the bootstrap
server first, then the bootstrap, then the same checks on the brokers the cluster
advertises (the classic port-forward failure). Reading near the end of each partition,
trusting no offset that can be checked, is ``kafka_window``.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from stsdebug.deadline import DeadlineExceeded, bounded
from stsdebug.errors import SourceError
from stsdebug.sources import kafka_bounds
from stsdebug.sources.errors import lower_first, os_reason
from stsdebug.sources.kafka_preflight import (
    CAPTURE,
    SYSTEM,
    bootstrap_error,
    decisive,
    dropped_after_versions,
    exc_text,
    hostport,
    install_capture,
    is_auth_error,
    parse_bootstrap,
    probe,
)
from stsdebug.sources.kafka_window import WindowReader
from stsdebug.sources.topic import (
    GroupOffsets,
    PartitionInfo,
    PartitionTail,
    TopicInfo,
    TopicSource,
)

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MAX_GROUPS = 200  # consumer groups inspected when discovering who reads the topic
CLIENT_ID = "stsdebug"

T = TypeVar("T")


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
        self.endpoint = ",".join(hostport(h, p) for h, p in self.servers)
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
                    f"The Kafka CA file {ssl_cafile} cannot be used ({os_reason(exc)}).",
                    system=SYSTEM,
                    cause="config",
                ) from None
        self._admin: Any = None
        self._consumer: Any = None
        self._broken: SourceError | None = None
        self._lock = threading.RLock()

    def _config(self, timeout_s: float) -> dict[str, Any]:
        ms = max(500, int(timeout_s * 1000))
        cfg: dict[str, Any] = {
            "bootstrap_servers": [hostport(h, p) for h, p in self.servers],
            "client_id": CLIENT_ID,
            "request_timeout_ms": max(1000, int(self.timeout * 1000)),
            "bootstrap_timeout_ms": ms,
            "reconnect_backoff_ms": 50,
            "reconnect_backoff_max_ms": 1000,
            "retry_backoff_ms": 100,
            "security_protocol": self.protocol,
            "receive_message_max_bytes": kafka_bounds.MAX_FRAME,
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
        install_capture()
        kafka_bounds.install()
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
                probe(host, port, deadline, self._ssl, self.timeout, advertised=advertised)
                return
            except SourceError as exc:
                first = first or exc
                if exc.cause == "timeout":
                    break  # the deadline is spent
        assert first is not None
        raise first

    def _bootstrap(self, deadline: float) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer

        mark = CAPTURE.mark()
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
            lines = CAPTURE.since(mark)
            settled = any(decisive(ln) for ln in lines) or (
                sum(1 for ln in lines if dropped_after_versions([ln])) >= 2
            )
            return self._bootstrap_error(lines, None) if settled else None

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
            raise self._bootstrap_error(CAPTURE.since(mark), None) from None
        except Exception as exc:  # noqa: BLE001 - every library failure becomes one sentence
            raise self._bootstrap_error(CAPTURE.since(mark), exc) from None
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
                probe(host, port, deadline, self._ssl, self.timeout, advertised=True)
            except SourceError as exc:
                self.close()
                raise SourceError(
                    f"Kafka at {self.endpoint} answered, but the broker it advertises is not "
                    f"reachable from here: {lower_first(str(exc))}",
                    system=SYSTEM,
                    cause=exc.cause,
                ) from None

    def _bootstrap_error(self, lines: list[str], exc: BaseException | None) -> SourceError:
        return bootstrap_error(
            lines,
            exc,
            endpoint=self.endpoint,
            protocol=self.protocol,
            mechanism=self.mechanism,
            username=self.username,
            timeout=self.timeout,
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
        if is_auth_error(exc) or "Authorization" in name:
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
            f"Kafka at {self.endpoint} failed {what}: {exc_text(exc)}.", system=SYSTEM, cause="kafka"
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
                int(b.node_id): hostport(b.host, int(b.port))
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
            lambda: WindowReader(
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
            reader = WindowReader(self._admin, self._consumer, topic, partitions, self.timeout)
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
            reader = WindowReader(self._admin, self._consumer, topic, list(offsets), self.timeout)
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

    class _Admin(base):  # type: ignore[misc, valid-type, unused-ignore]
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


def _error_name(code: int) -> str:
    with contextlib.suppress(Exception):
        from kafka.errors import for_code

        return str(for_code(int(code)).__name__)
    return f"error {code}"
