"""Kafka stage cost by topic size, and raw consume throughput of kafka-python against kcat.

    python bench/kafka_scale.py [--brokers noida,tansu] [--sizes 10000,1000000] [--rounds 5]

For each broker (started here on a free loopback port, stopped by PID) and each size,
two topics are filled with MultiMetric records the way the receiver writes them
(kafka-python producer, batched, CreateTime timestamps):

- ``spread``: the records span the last 24 h (the topic's retention in StackState), so
  the 15 min window holds 1/96 of them;
- ``window``: every record is in the last 10 min: the most the stage can find in its
  window.

Each topic gets a broker of its own (both servers slow down with all the data they
hold). The Kafka stage (``--integration mysql``, default 15 min window, a caught-up
``mm2es`` group, so one consumer-group sample) runs ``--rounds`` times on each topic; the
median is reported with the CPU time stsdebug itself used (the broker is another process). Then the whole ``spread`` topic is consumed from the
beginning by kafka-python (default settings, ``group_id=None``) and by kcat
(``-C -o beginning -e``), and the ratio of their record rates is reported.

Prints a Markdown table (paste it into bench/README.md) and, with ``--json FILE``, the
raw numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402

from stsdebug.sandbox import servers  # noqa: E402
from stsdebug.settings import Settings  # noqa: E402
from stsdebug.stages.base import load_stage  # noqa: E402
from stsdebug.trace import Trace  # noqa: E402

HOSTS = 20
NOIDA_CONSUMABLE = 200_000
NOIDA_FETCH_NOTE = (
    "not measurable: noida-db answers a fetch at the start of the partition with all of it "
    "(about 250 MB), which no client accepts"
)
METRICS = [
    {"mysql.performance.queries": 12.5, "mysql.net.connections": 3.0},
    {"system.load.norm": 0.42, "system.cpu.user": 12.0},
    {"kubernetes.cpu.usage.total": 1.2e9},
    {"docker.mem.rss": 5.1e7},
    {"postgresql.connections": 9.0},
]


def start(broker: str, where: Path) -> servers.ServerProcess:
    if broker == "noida":
        return servers.start_noida(where, only=("kafka",), die_with_parent=True)
    return servers.start_tansu(log_dir=where, die_with_parent=True)


def fill(bootstrap: str, topic: str, n: int, span_s: float, now: float) -> float:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    # The Java producer's default batch size (16 KB), as the receiver uses it.
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, batch_size=16384, acks=1, request_timeout_ms=60000,
    )
    started = time.perf_counter()
    step = span_s / n
    for i in range(n):
        # Dated back from the moment of sending, so the newest record is fresh when the
        # fill ends however long it took.
        ts = int((time.time() - (n - 1 - i) * step) * 1000)
        mm = {
            "name": "convertedMetric",
            "host": f"host-{i % HOSTS}",
            "tags": {"env": "prod"},
            "labels": ["env:prod"],
            "values": METRICS[i % len(METRICS)],
            "timestamp": ts,
        }
        producer.send(topic, json.dumps({"MultiMetric": mm}, separators=(",", ":")).encode(),
                      key=f"host-{i % HOSTS}".encode(), timestamp_ms=ts)
    producer.flush(timeout=600)
    producer.close()
    # mm2es has read everything: the stage's group checks see a caught-up group.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="mm2es", enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.commit({tp: OffsetAndMetadata(n, "", -1)})
    consumer.close(autocommit=False)
    return time.perf_counter() - started


def settle(pid: int, quiet_s: float = 1.0, limit_s: float = 120.0) -> None:
    """Wait until the broker process has used no CPU for `quiet_s` (noida-db saves its data
    to disk a second after a change: timing the stage during that save would measure it)."""
    def cpu() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    deadline = time.monotonic() + limit_s
    last, quiet_since = cpu(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu()
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return


def time_stage(bootstrap: str, topic: str, rounds: int) -> tuple[float, dict[str, Any]]:
    times, cpu, last = [], [], None
    for _ in range(rounds):
        settings = Settings(integration="mysql", kafka=bootstrap, topic=topic, timeout=30.0)
        started, cpu_started = time.perf_counter(), time.process_time()
        trace = Trace(settings, stages=[load_stage("kafka")]).run()
        times.append(time.perf_counter() - started)
        # stsdebug's own CPU (all its threads); the broker is another process.
        cpu.append(time.process_time() - cpu_started)
        last = trace.stage("kafka")
    assert last is not None
    figures = {f.label: f.value for ev in last.evidence if getattr(ev, "kind", "") == "figures" for f in ev.items}
    parts = next((ev for ev in last.evidence if getattr(ev, "title", "").startswith("Partitions")), None)
    return statistics.median(times), {
        "cpu_s": round(statistics.median(cpu), 3),
        "status": last.status.value,
        "summary": last.summary,
        "in_window": figures.get("records in window") or 0,
        "decoded": figures.get("records decoded") or 0,
        "method": parts.rows[0][-1] if parts else f"({last.status.value}: {last.summary})",
    }


def consume_kafka_python(bootstrap: str, topic: str, n: int) -> float:
    """Read the partition from its first record to its end (the fetch high-water mark)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    seen, idle = 0, 0
    started = time.perf_counter()
    while idle < 5:
        got = sum(len(records) for records in consumer.poll(timeout_ms=1000).values())
        seen += got
        idle = 0 if got else idle + 1
        end = consumer.highwater(tp)
        if end is not None and consumer.position(tp) >= end:
            break
    elapsed = time.perf_counter() - started
    consumer.close(autocommit=False)
    if seen != n:
        raise SystemExit(f"kafka-python read {seen} records of {n} from {topic}")
    return elapsed


def consume_kcat(bootstrap: str, topic: str, n: int, broker: str) -> float:
    cmd = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-e", "-q", "-f", "%o\n"]
    # Tansu needs the old protocol fallback and a literal offset (docs/test-servers.md).
    cmd += ["-o", "0", "-X", "api.version.request=false", "-X", "broker.version.fallback=0.9.0"] \
        if broker == "tansu" else ["-o", "beginning"]
    started = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, timeout=1800).stdout
    elapsed = time.perf_counter() - started
    got = out.count(b"\n")
    if got != n:
        raise SystemExit(f"kcat read {got} records of {n} from {topic}")
    return elapsed


def measure(
    broker: str, server: servers.ServerProcess, n: int, layout: str, span: float, args: argparse.Namespace
) -> dict[str, Any]:
    if broker == "noida" and layout == "window" and n > NOIDA_CONSUMABLE:
        # Checking the window start means fetching the partition's first record, and
        # noida-db answers that fetch with the whole partition (see below).
        return {"broker": broker, "records": n, "layout": layout, "skipped": NOIDA_FETCH_NOTE}
    bootstrap = servers.kafka_bootstrap(server)
    topic = f"sts_multi_metrics_{layout}_{n}"
    fill_s = fill(bootstrap, topic, n, span, time.time())
    settle(server.pid)
    reads_s, info = time_stage(bootstrap, topic, args.rounds)
    row: dict[str, Any] = {
        "broker": broker, "records": n, "layout": layout, "fill_s": round(fill_s, 1),
        "stage_reads_s": round(reads_s, 3), **info,
    }
    print(json.dumps(row), file=sys.stderr, flush=True)
    # noida-db answers a fetch with everything from the fetch offset on, ignoring the
    # size limits: past ~400k records from offset 0 the answer exceeds what any client
    # accepts, so such a topic cannot be consumed from the beginning at all.
    consumable = broker != "noida" or n <= NOIDA_CONSUMABLE
    if layout == "spread" and not args.no_consume and consumable:
        row["kafka_python_s"] = round(consume_kafka_python(bootstrap, topic, n), 2)
        row["kcat_s"] = round(consume_kcat(bootstrap, topic, n, broker), 2)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", default="noida,tansu")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-consume", action="store_true", help="skip the kafka-python / kcat comparison")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        for broker in args.brokers.split(","):
            for n in sizes:
                for layout, span in (("spread", 86400.0), ("window", 600.0)):
                    # A fresh broker per topic: both servers' answers slow down with all
                    # the data they hold, not only the topic's.
                    server = start(broker, tmp / f"{broker}-{n}-{layout}")
                    try:
                        results.append(measure(broker, server, n, layout, span, args))
                    finally:
                        server.stop(timeout=10)
    print(render(results, sizes))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def render(results: list[dict[str, Any]], sizes: list[int]) -> str:
    lines = [
        "| broker | layout | records | in window | decoded | window counted by | stage (ms) | "
        "its CPU (ms) | status |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['broker']} | {r['layout']} | {r['records']:,} | | | {r['skipped']} | | | |")
            continue
        lines.append(
            f"| {r['broker']} | {r['layout']} | {r['records']:,} | {r['in_window']:,} | {r['decoded']:,} | "
            f"{r['method'].split(' (')[0]} | {r['stage_reads_s'] * 1000:.0f} | {r['cpu_s'] * 1000:.0f} | "
            f"{r['status']} |"
        )
    lines += ["", "| broker | layout | stage: largest / smallest | its CPU: largest / smallest |",
              "| --- | --- | ---: | ---: |"]
    small, large = min(sizes), max(sizes)
    for broker in sorted({r["broker"] for r in results}):
        for layout in ("spread", "window"):
            a = next((r for r in results if (r["broker"], r["layout"], r["records"]) == (broker, layout, small)), None)
            b = next((r for r in results if (r["broker"], r["layout"], r["records"]) == (broker, layout, large)), None)
            if a and b and "skipped" not in a and "skipped" not in b:
                lines.append(f"| {broker} | {layout} | {b['stage_reads_s'] / a['stage_reads_s']:.2f}x | "
                             f"{b['cpu_s'] / a['cpu_s']:.2f}x |")
    lines += ["", "| broker | records | kafka-python (s) | kcat (s) | kafka-python rate / kcat rate |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for r in results:
        if "kcat_s" in r:
            lines.append(f"| {r['broker']} | {r['records']:,} | {r['kafka_python_s']:.2f} | {r['kcat_s']:.2f} | "
                         f"{r['kcat_s'] / r['kafka_python_s']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
