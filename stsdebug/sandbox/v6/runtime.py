"""The StackState 6 sandbox's own process: the receiver, the agent and the cloud plugin.

Started as ``python -m stsdebug.sandbox.runtime --run DIR`` like the StackState 5 runtime
(which hands over here when ``config.json`` says ``sts_version: "6"``), so that stopping
and finding it is the same. VictoriaMetrics and vmagent are the real binaries, started by
stsdebug.sandbox.v6.control before this process.

Timeline as in StackState 5 (stsdebug.sandbox.world): HISTORY_S of history is replayed
through the components' own code, one cycle every INTERVAL_S, the faults beginning
FAULT_AGE_S before ``up``. The history before a fault of the path behind the receiver
(vmagent down, vmagent cut off from VictoriaMetrics) went through while it still worked,
so it is written straight to VictoriaMetrics; what follows goes the broken way. Then it
waits until VictoriaMetrics can show the history (a new series is searchable about 10 s
after its first sample), writes ``ready.json`` and runs live until SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from stsdebug.errors import SourceError, UsageError
from stsdebug.promnames import HOST_LABEL, metric_name
from stsdebug.sandbox import world
from stsdebug.sandbox.agent import Agent, AgentConfig, http_deliver, in_process_deliver
from stsdebug.sandbox.formats import LogFile
from stsdebug.sandbox.v6 import world as world6
from stsdebug.sandbox.v6.receiver import Receiver6, k8s_line
from stsdebug.sandbox.world import FaultClock
from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig
from stsdebug.sources.remote_write import RemoteWriteConfig, RemoteWriter, series

SEARCHABLE_WAIT_S = 30.0  # how long `up` waits for VictoriaMetrics to show the history
LOGGER_AWS = "com.stackstate.plugins.aws.cloudwatch.CloudWatchMetricsClient"


class Agent6(Agent):
    """The StackState 5 sandbox agent, with the clock of the fault samples-too-old."""

    def __init__(self, config: AgentConfig, log: LogFile, faults: FaultClock, v6: FaultClock) -> None:
        super().__init__(config, log, faults)
        self.v6 = v6

    def clock(self, t: float) -> float:
        return t + (world6.TOO_OLD_SKEW_S if self.v6.active("samples-too-old", t) else 0.0)


class CloudPlugin:
    """StackState's AWS plugin: pulls CloudWatch and writes the series to vmagent (every
    StackState service gets PROMETHEUS_WRITE_ENDPOINT in the chart)."""

    def __init__(self, write_url: str, log: LogFile) -> None:
        self.write_url = write_url
        self.log = log
        self.history_until = float("-inf")
        self.history_url: str | None = None
        self._writers: dict[str, RemoteWriter] = {}

    def cycle(self, t: float) -> None:
        out = []
        for s in world.AWS_SERIES:
            for m in s.metrics:
                labels = {HOST_LABEL: s.host, **s.tags}
                out.append(series(metric_name(m.name), labels, samples=[(t, world.value(m, t))]))
        url = self.history_url if self.history_url and t < self.history_until else self.write_url
        writer = self._writers.get(url)
        if writer is None:
            writer = self._writers[url] = RemoteWriter(RemoteWriteConfig(url, timeout=3.0))
        try:
            writer.send(out)
        except (SourceError, UsageError) as exc:
            self.log.write(k8s_line(t, "ERROR", LOGGER_AWS,
                                    f"Writing {len(out)} CloudWatch series to {url} failed: {exc}"))

    def close(self) -> None:
        for w in self._writers.values():
            with contextlib.suppress(Exception):
                w.close()


class Runtime6:
    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.cfg = config
        self.stop_event = threading.Event()
        self.now = time.time()
        self.history_start = self.now - world.HISTORY_S
        self.fault_start = self.now - world.FAULT_AGE_S
        names = list(config.get("faults") or [])
        self.faults = FaultClock(names, self.fault_start)
        agent_names = [world6.AGENT_FAULTS[n] for n in names if n in world6.AGENT_FAULTS]
        self.agent_faults = FaultClock(agent_names, self.fault_start)
        logs = {k: Path(v) for k, v in config["logs"].items()}
        self.logs = {name: LogFile(path) for name, path in logs.items() if name != "runtime"}
        api_key = Path(config["api_key_file"]).read_text(encoding="utf-8").strip()
        self.receiver = Receiver6(api_key=api_key, write_url=config["vmagent_write_url"],
                                  log=self.logs["receiver"], port=int(config.get("receiver_port") or 0))
        self.cloud = CloudPlugin(config["vmagent_write_url"], self.logs["server"])
        if world6.PATH_FAULTS & self.faults.names:
            for part in (self.receiver, self.cloud):
                part.history_url = config["vm_write_url"]
                part.history_until = self.fault_start
        self.agent: Agent6 | None = None

    def start(self) -> None:
        t0 = self.history_start
        self.receiver.start(t0)
        self.agent = Agent6(
            AgentConfig(
                api_key=self.receiver.api_key,
                receiver_url=self.receiver.url,
                wrong_url=f"http://127.0.0.1:{int(self.cfg['wrong_port'])}",
                wrong_key=self.cfg["wrong_key"],
                out_dir=Path(self.cfg["agent_dir"]),
            ),
            self.logs["agent"],
            self.agent_faults,
            self.faults,
        )
        self.agent.startup(t0)
        self._replay(t0, self.now)
        self.receiver.flush(10.0)
        self.agent.write_outputs(self.now)
        self.receiver.serve()
        self._wait_searchable()
        self._write_ready()

    def _replay(self, start: float, end: float) -> None:
        assert self.agent is not None
        deliver = in_process_deliver(self.receiver)
        for t in world.cycle_times(start, end):
            self.agent.cycle(t, deliver)
            self.receiver.tick(t)
            self.cloud.cycle(t)

    def _wait_searchable(self) -> None:
        """Until VictoriaMetrics shows the history (bounded: a broken path shows nothing new).

        VictoriaMetrics 1.79 makes a new series searchable ~10 s after its first sample; its
        /internal/force_flush makes the backfilled ones searchable at once, so that `up`
        does not wait for that. (Only the sandbox does this: in the field the delay is real,
        and the probe allows for it.)"""
        import urllib.request

        api = PrometheusApi(PrometheusApiConfig(self.cfg["vm_url"], timeout=3.0))
        expr = 'count(last_over_time({__name__=~"system_.*"}[15m]))'
        deadline = time.monotonic() + SEARCHABLE_WAIT_S
        try:
            while time.monotonic() < deadline and not self.stop_event.is_set():
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"{self.cfg['vm_url']}/internal/force_flush", timeout=3).close()
                with contextlib.suppress(SourceError):
                    if not api.query(expr, at=time.time()).empty:
                        return
                time.sleep(0.3)
        finally:
            api.close()

    def live(self) -> None:
        assert self.agent is not None
        deliver = http_deliver()
        for t in world.live_cycles(self.stop_event, self.run_dir / "config.json"):
            _attempt(self.agent.cycle, t, deliver)
            _attempt(self.receiver.tick, t)
            _attempt(self.cloud.cycle, t)
            _attempt(self.agent.write_outputs, t)

    def shutdown(self) -> None:
        self.receiver.stop()
        self.cloud.close()
        for log in self.logs.values():
            log.close()

    def _write_ready(self) -> None:
        ready = {"pid": os.getpid(), "receiver_port": self.receiver.port, "started": self.now,
                 "fault_start": self.fault_start}
        tmp = self.run_dir / ".ready.json.tmp"
        tmp.write_text(json.dumps(ready), encoding="utf-8")
        tmp.replace(self.run_dir / "ready.json")


def _attempt(step: Any, *args: Any) -> None:
    from stsdebug.sandbox.runtime import _attempt as attempt

    attempt(step, *args)
