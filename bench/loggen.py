"""Generated StackState receiver and agent logs for the log scan benchmark and tests.

Formats (sources named where the lines come from):

* receiver, Linux package: logback ``%date [%thread] %-5level %logger{60} - %msg%n``;
  Kubernetes: ``%date %-5level %logger{60} - %msg%n`` (StackVista/helm-charts
  stable/stackstate 5.1, the receiver's logback configuration);
* agent: ``2006-01-02 15:04:05 MST | CORE | LEVEL | (file.go:N in Func) | msg``
  (StackVista/stackstate-agent 2.19.1 pkg/config/log_format.go), with forwarder messages
  from pkg/forwarder/transaction/transaction.go and worker.go.

``rate`` is the share of problem entries; ``vary`` makes every problem message differ in
its numbers, ids, hosts and durations (``Slow send to sts_multi_metrics: 1234 ms``);
``stacks`` adds multi-line Java stack traces (receiver) or Python tracebacks (agent).
Time advances with the bytes written, so a log covers ``span`` seconds ending at ``end``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

RECEIVER_INFO = [
    ("com.stackstate.receiver.intake.IntakeRoutes", "Received intake request from agent host-{a}: {b} metrics, 12 events"),
    ("com.stackstate.receiver.kafka.MultiMetricsProducer", "Produced {a} records to sts_multi_metrics partition 0"),
    ("akka.http.impl.engine.client.PoolGateway", "Connection pool for host-{a}:443 idle, shutting down"),
    ("com.stackstate.receiver.intake.AgentIntake", "Agent host-{a} reported {b} components and 52 relations"),
]

# (level, logger, message, stack trace); {n} {h} {d} {u} vary when asked to.
RECEIVER_PROBLEMS = [
    ("WARN", "com.stackstate.receiver.kafka.MultiMetricsProducer", "Slow send to sts_multi_metrics: {d} ms", []),
    ("WARN", "com.stackstate.api.ReceiverRoutes",
     "Failed to deserialize JSON on fields: , with message: Object is missing required member 'internalHostname'", []),
    ("WARN", "org.apache.kafka.clients.NetworkClient",
     "[Producer clientId=producer-{n}] Connection to node -1 (stackstate-kafka-headless/10.42.0.{n}:9092) "
     "could not be established. Broker may not be available.", []),
    ("ERROR", "com.stackstate.receiver.intake.IntakeRoutes", "Failed to parse intake payload {u} from host-{h}", [
        "com.fasterxml.jackson.core.JsonParseException: Unexpected character ('}}' (code 125)): was expecting "
        "double-quote to start field name",
        " at [Source: (akka.util.ByteIterator$ByteArrayIterator$$anon$1); line: 1, column: {d}]",
        "\tat com.fasterxml.jackson.core.JsonParser._constructError(JsonParser.java:2337)",
        "\tat com.fasterxml.jackson.core.base.ParserMinimalBase._reportError(ParserMinimalBase.java:720)",
        "\tat com.stackstate.receiver.intake.IntakeRoutes.$anonfun$route$3(IntakeRoutes.scala:88)",
        "\t... 42 more",
    ]),
    ("ERROR", "com.stackstate.receiver.kafka.MultiMetricsProducer", "Failed to send record to sts_multi_metrics", [
        "org.apache.kafka.common.errors.TimeoutException: Expiring {n} record(s) for sts_multi_metrics-0:{d} ms "
        "has passed since batch creation",
    ]),
]

# Chatter: the collector logs a check's first runs and then one in 500 (logging_frequency),
# so check run lines are rare; most lines are the aggregator's and the tagger's.
AGENT_INFO = [
    ("DEBUG", "(pkg/aggregator/aggregator.go:{a} in flushSeries)", "Flushing {b} series to the forwarder"),
    ("DEBUG", "(pkg/aggregator/aggregator.go:{a} in flushServiceChecks)", "Flushing {b} service checks to the forwarder"),
    ("INFO", "(pkg/metadata/host/host.go:{a} in getHostMetadata)", "Collected host metadata in {a} ms"),
    ("DEBUG", "(pkg/tagger/collectors/docker_extract.go:{a} in extractFromInspect)", "Extracted {b} tags for container {b}"),
    ("DEBUG", "(pkg/util/kubernetes/kubelet/kubelet.go:{a} in query)", "Queried kubelet /pods in {a} ms"),
    ("INFO", "(pkg/collector/python/datadog_agent.go:{a} in LogMessage)", "mysql:0f1e2d3c4b5a6978 | (mysql.py:{a}) | Collected {b} rows"),
]
AGENT_RARE = [
    ("INFO", "(pkg/collector/worker/check_logger.go:55 in CheckStarted)", "check:cpu | Running check..."),
    ("INFO", "(pkg/collector/worker/check_logger.go:72 in CheckFinished)", "check:cpu | Done running check"),
]

AGENT_PROBLEMS = [
    ("ERROR", "(pkg/forwarder/transaction/transaction.go:{n} in Process)",
     'Error while processing transaction: error while sending transaction, rescheduling it: Post '
     '"https://sts-{h}.example.com:7077/stsAgent/intake?api_key=***********************abcde": dial tcp '
     '10.0.{n}.{h}:7077: connect: connection refused'),
    ("WARN", "(pkg/forwarder/worker.go:{n} in process)", "Too many errors for endpoint 'https://sts-{h}.example.com:7077/stsAgent/intake': retrying later"),
    ("ERROR", "(pkg/collector/worker/check_logger.go:{n} in Error)", "check:mysql | Error running check: connection {u} timed out after {d} ms"),
]

PY_TRACE = [
    "Traceback (most recent call last):",
    '  File "/opt/stackstate-agent/embedded/lib/python3.8/site-packages/stackstate_checks/base/checks/base.py", line {n}, in run',
    "    self.check(instance)",
    '  File "/etc/stackstate-agent/checks.d/mysql.py", line {d}, in check',
    "    raise ConnectionError('host-{h} refused')",
    "ConnectionError: host-{h} refused",
]


def _filler(rng: random.Random, vary: bool) -> dict[str, object]:
    if not vary:
        return {"n": 1, "h": 7, "d": 1500, "u": "3f2a9c1b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"}
    return {"n": rng.randrange(1, 250), "h": rng.randrange(1000), "d": rng.randrange(100, 99999),
            "u": str(uuid.UUID(int=rng.getrandbits(128)))}


def receiver_lines(layout: str, rate: float, vary: bool, stacks: bool, seed: int = 7
                   ) -> Iterator[tuple[int, Callable[[str], list[str]]]]:
    """Endless (is_problem, render(stamp) -> lines) for a receiver log."""
    rng = random.Random(seed)
    problems = RECEIVER_PROBLEMS if stacks else [p for p in RECEIVER_PROBLEMS if not p[3]] + [
        (lv, lg, msg, []) for lv, lg, msg, tr in RECEIVER_PROBLEMS if tr]
    i = 0
    while True:
        i += 1
        thread = f"[StackStateReceiver-akka.actor.default-dispatcher-{i % 30 + 1}] " if layout == "linux" else ""
        if rng.random() < rate:
            level, logger, msg, trace = problems[rng.randrange(len(problems))]
            fill = _filler(rng, vary)
            head = f"{level:<5} {logger} - {msg.format(**fill)}"
            rest = [t.format(**fill) for t in trace]
            yield 1, (lambda stamp, t=thread, h=head, r=rest: [f"{stamp} {t}{h}", *r])
        else:
            logger, msg = RECEIVER_INFO[rng.randrange(len(RECEIVER_INFO))]
            text = f"INFO  {logger} - {msg.format(a=rng.randrange(1000), b=rng.randrange(400))}"
            yield 0, (lambda stamp, t=thread, x=text: [f"{stamp} {t}{x}"])


def agent_lines(rate: float, vary: bool, stacks: bool, seed: int = 7
                ) -> Iterator[tuple[int, Callable[[str], list[str]]]]:
    rng = random.Random(seed)
    while True:
        if rng.random() < rate:
            level, loc, msg = AGENT_PROBLEMS[rng.randrange(len(AGENT_PROBLEMS))]
            fill = _filler(rng, vary)
            head = f"| CORE | {level} | {loc.format(**fill)} | {msg.format(**fill)}"
            rest = [t.format(**fill) for t in PY_TRACE] if stacks and "Error running check" in msg else []
            yield 1, (lambda stamp, h=head, r=rest: [f"{stamp} {h}", *r])
        else:
            pool = AGENT_RARE if rng.random() < 0.002 else AGENT_INFO
            level, loc, msg = pool[rng.randrange(len(pool))]
            a, b = rng.randrange(1, 900), rng.randrange(1, 400)
            text = f"| CORE | {level} | {loc.format(a=a)} | {msg.format(a=a, b=b)}"
            yield 0, (lambda stamp, x=text: [f"{stamp} {x}"])


def write(path: Path, kind: str, size: int, end: float, *, rate: float, vary: bool, stacks: bool,
          layout: str = "linux", span: float = 86400.0, seed: int = 7, crlf: bool = False) -> int:
    """Write about ``size`` bytes; return the number of problem entries written."""
    gen = agent_lines(rate, vary, stacks, seed) if kind == "agent" else receiver_lines(layout, rate, vary, stacks, seed)
    start = end - span
    written = problems = 0
    nl = "\r\n" if crlf else "\n"
    with path.open("wb", buffering=8 << 20) as f:
        while written < size:
            t = start + span * written / size
            dt = datetime.fromtimestamp(t, timezone.utc)
            if kind == "agent":
                stamp = dt.strftime("%Y-%m-%d %H:%M:%S UTC")
            else:
                stamp = dt.strftime("%Y-%m-%d %H:%M:%S,") + f"{dt.microsecond // 1000:03d}"
            parts: list[str] = []
            for _ in range(200):
                bad, render = next(gen)
                problems += bad
                parts.extend(render(stamp))
            block = (nl.join(parts) + nl).encode()
            f.write(block)
            written += len(block)
    return problems
