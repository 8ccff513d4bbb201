"""The sandbox's own process: receiver, mover, agent, AWS plugin and mirror in threads.

``python -m stsdebug.sandbox.runtime --run DIR`` reads ``DIR/config.json`` (written by
stsdebug.sandbox.control), backfills world.HISTORY_S of history through the
components' own code, applies the faults' physical side at the moment they began
(stop Kafka, block the index, cap the field limit, stop the mirror), writes
``DIR/ready.json`` and then runs live until SIGTERM. It exits by itself when its run
directory disappears, so a lost sandbox cannot run forever.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from stsdebug.sandbox import world
from stsdebug.sandbox.agent import Agent, AgentConfig, http_deliver, in_process_deliver
from stsdebug.sandbox.formats import LogFile, index_for, logback_line
from stsdebug.sandbox.mover import INDEX_MAPPINGS, INDEX_SETTINGS, Mover
from stsdebug.sandbox.pull import AwsPlugin, EsWriter, MirrorPlugin, MirrorStub, server_log_start
from stsdebug.sandbox.receiver import Receiver
from stsdebug.sandbox.world import FaultClock

CATCH_UP_S = 10.0  # how long the backfill waits for the mover


class Runtime:
    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.cfg = config
        self.stop_event = threading.Event()
        self.now = time.time()
        self.history_start = self.now - world.HISTORY_S
        self.fault_start = self.now - world.FAULT_AGE_S
        self.faults = FaultClock(config.get("faults") or [], self.fault_start)
        logs = {k: Path(v) for k, v in config["logs"].items()}
        self.logs = {name: LogFile(path) for name, path in logs.items() if name != "runtime"}
        api_key = Path(config["api_key_file"]).read_text(encoding="utf-8").strip()
        mirror_key = Path(config["mirror_api_key_file"]).read_text(encoding="utf-8").strip()
        self.receiver = Receiver(api_key=api_key, kafka_bootstrap=config["kafka"],
                                 log=self.logs["receiver"], port=int(config.get("receiver_port") or 0))
        self.mover = Mover(kafka_bootstrap=config["kafka"], es_url=config["es"], log=self.logs["mm2es"])
        if "mover-stopped" in self.faults:
            self.mover.stop_before_ms = int(self.fault_start * 1000)
        if "kafka-blip" in self.faults:
            start = self.now - world.BLIP_AGE_S
            self.receiver.blip = (start, start + world.BLIP_S)
        self.mirror = MirrorStub(mirror_key, self.logs["mirror"], self.faults, port=int(config.get("mirror_port") or 0))
        self.writer = EsWriter(config["es"])
        self.aws = AwsPlugin(self.writer, self.logs["server"], self.faults)
        self.mirror_plugin = MirrorPlugin(self.mirror.url, self.writer, self.logs["server"])
        self.agent: Agent | None = None
        self.mirror_up = False

    # -- startup ---------------------------------------------------------------------------

    def start(self) -> None:
        t0 = self.history_start
        self.receiver.start(t0)
        server_log_start(self.logs["server"], t0)
        self._create_topic()
        self.mover.start(t0)
        self.mirror.serve()
        self.mirror_up = True
        self.agent = Agent(
            AgentConfig(
                api_key=self.receiver.api_key,
                receiver_url=self.receiver.url,
                wrong_url=f"http://127.0.0.1:{int(self.cfg['wrong_port'])}",
                wrong_key=self.cfg["wrong_key"],
                out_dir=Path(self.cfg["agent_dir"]),
            ),
            self.logs["agent"],
            self.faults,
        )
        self.agent.startup(t0)
        split = self.fault_start if self.faults.names else self.now
        self._replay(t0, split)
        if self.faults.names:
            self._settle(expect_all=True)
            self._apply_faults()
            self._replay(split, self.now)
        self._settle(expect_all=not ({"kafka-down", "es-read-only", "mover-stopped", "receiver-missing-topics"}
                                     & self.faults.names))
        self.agent.write_outputs(self.now)
        self.receiver.serve()
        self._write_ready()

    def _replay(self, start: float, end: float) -> None:
        assert self.agent is not None
        deliver = in_process_deliver(self.receiver)
        self.writer.hold()
        for t in world.cycle_times(start, end):
            self.agent.cycle(t, deliver)
            self.receiver.tick(t)
            self.aws.cycle(t)
        # The mirror plugin asks for the whole span at once, as it does to catch up.
        first = next(iter(world.cycle_times(start, end)), None)
        if first is not None:
            self.mirror_plugin.pull(first - world.INTERVAL_S, end - 1e-3)
        problem = self.writer.release()
        if problem:
            self.logs["server"].write(logback_line(
                end, "StackStateGlobalActorSystem-akka.actor.default-dispatcher-12", "ERROR",
                "com.stackstate.plugins.aws.cloudwatch.CloudWatchMetricsClient",
                f"Storing CloudWatch and mirror datapoints failed: {problem}"))

    def _create_topic(self) -> None:
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        admin = KafkaAdminClient(bootstrap_servers=self.cfg["kafka"], request_timeout_ms=5000,
                                 bootstrap_timeout_ms=5000)
        try:
            if world.TOPIC not in admin.list_topics():
                admin.create_topics([NewTopic(world.TOPIC, num_partitions=1, replication_factor=1)])
        finally:
            admin.close()

    def _settle(self, *, expect_all: bool) -> None:
        """Let the receiver produce what it queued and, if it can, the mover index it."""
        self.receiver.flush(CATCH_UP_S)
        if not expect_all or not self.receiver.kafka_reachable():
            time.sleep(0.2)  # give a stuck mover the moment to log why
            return
        end = self._end_offset()
        if end is not None:
            self.mover.wait_position(end, CATCH_UP_S)

    def _end_offset(self) -> int | None:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.cfg["kafka"], group_id=None,
                                 request_timeout_ms=5000, bootstrap_timeout_ms=5000)
        try:
            tp = TopicPartition(world.TOPIC, 0)
            return int(consumer.end_offsets([tp])[tp])
        except Exception:  # noqa: BLE001 - no end offset: do not wait
            return None
        finally:
            consumer.close()

    # -- faults: what physically changes at the moment a fault began -------------------------

    def _apply_faults(self) -> None:
        t = self.fault_start
        if "kafka-down" in self.faults:
            self._stop_kafka()
        if "receiver-missing-topics" in self.faults:
            self._delete_topic()
            self.receiver.stop_app(t)
        if "mirror-unreachable" in self.faults:
            self.mirror.stop()
            self.mirror_up = False
        if {"es-read-only", "field-limit"} & self.faults.names:
            from elasticsearch import Elasticsearch

            es = Elasticsearch(self.cfg["es"], request_timeout=5, max_retries=0)
            self.mover.invalidate()
            for index in sorted({index_for(int(t * 1000), world.INDEX_PREFIX),
                                 index_for(int(self.now * 1000), world.INDEX_PREFIX)}):
                if not es.indices.exists(index=index):
                    es.indices.create(index=index, settings=INDEX_SETTINGS, mappings=INDEX_MAPPINGS)
                if "field-limit" in self.faults:
                    facts = self.mover.index_facts(es, index)
                    limit = facts.count if facts else 1000
                    es.indices.put_settings(index=index, body={"index.mapping.total_fields.limit": limit})
                    self.mover.invalidate()
                if "es-read-only" in self.faults:
                    es.indices.put_settings(index=index, body={"index.blocks.read_only_allow_delete": True})
            if "es-read-only" in self.faults:
                self.logs["server"].write(logback_line(
                    t, "elasticsearch[node-1][management][T#1]", "WARN",
                    "org.elasticsearch.cluster.routing.allocation.DiskThresholdMonitor",
                    "flood stage disk watermark [95%] exceeded on [node-1][/usr/share/elasticsearch/data] "
                    "free: 1.1gb[4.2%], all indices on this node will be marked read-only"))

    def _delete_topic(self) -> None:
        """Kafka's data is gone: the topic the receiver needs no longer exists."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.cfg["kafka"], request_timeout_ms=5000)
        try:
            admin.delete_topics([world.TOPIC], timeout_ms=5000)
        finally:
            admin.close()

    def _stop_kafka(self) -> None:
        from stsdebug.sandbox.servers import ServerProcess

        k = self.cfg["kafka_server"]
        proc = ServerProcess(k["name"], int(k["pid"]), dict(k["ports"]), Path(k["log_path"]), Path(k["data_dir"]))
        proc.stop(timeout=3.0)

    # -- live -------------------------------------------------------------------------------

    def live(self) -> None:
        assert self.agent is not None
        deliver = http_deliver()
        for t in world.live_cycles(self.stop_event, self.run_dir / "config.json"):
            _attempt(self.agent.cycle, t, deliver)
            _attempt(self.receiver.tick, t)
            _attempt(self.aws.cycle, t)
            _attempt(self.mirror_plugin.cycle, t)
            _attempt(self.agent.write_outputs, t)

    def shutdown(self) -> None:
        self.mover.stop()
        self.receiver.stop()
        if self.mirror_up:
            self.mirror.stop()
        for log in self.logs.values():
            log.close()

    def _write_ready(self) -> None:
        ready = {
            "pid": os.getpid(),
            "receiver_port": self.receiver.port,
            "mirror_port": self.mirror.port,
            "started": self.now,
            "fault_start": self.fault_start,
            "kafka_stopped": "kafka-down" in self.faults,
        }
        tmp = self.run_dir / ".ready.json.tmp"
        tmp.write_text(json.dumps(ready), encoding="utf-8")
        tmp.replace(self.run_dir / "ready.json")


class _Stopped(BaseException):
    """SIGTERM or SIGINT arrived before the runtime was live."""


def _attempt(step: Any, *args: Any) -> None:
    """Run one live step; a failure is logged and must not end the sandbox."""
    try:
        step(*args)
    except Exception as exc:  # noqa: BLE001 - see above
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {getattr(step, '__qualname__', step)} failed: "
                         f"{type(exc).__name__}: {exc}\n")


def _quiet_libraries() -> None:
    warnings.filterwarnings("ignore")
    for name in ("kafka", "elasticsearch", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stsdebug.sandbox.runtime")
    parser.add_argument("--run", required=True, help="the sandbox's run directory (holds config.json)")
    args = parser.parse_args(argv)
    run_dir = Path(args.run)
    _quiet_libraries()
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    runtime: Any
    if config.get("sts_version") == "6":  # StackState 6: receiver -> vmagent -> VictoriaMetrics
        from stsdebug.sandbox.v6.runtime import Runtime6

        runtime = Runtime6(run_dir, config)
    else:
        runtime = Runtime(run_dir, config)
    live = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        runtime.stop_event.set()
        if not live.is_set():
            # Stopped while it starts (Ctrl-C during `sandbox up`): the backfill can take
            # seconds, more than `down` waits before SIGKILL; leave now, through shutdown().
            raise _Stopped

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        runtime.start()
        live.set()
        runtime.live()
    except _Stopped:
        return 0
    except Exception as exc:  # noqa: BLE001 - the reason goes to runtime.log for `sandbox up` to show
        sys.stderr.write(f"sandbox runtime failed: {type(exc).__name__}: {exc}\n")
        (run_dir / "failed.txt").write_text(f"{type(exc).__name__}: {exc}", encoding="utf-8")
        return 1
    finally:
        with contextlib.suppress(Exception):
            runtime.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
