"""Hand-built traces for renderer and TUI tests (no I/O).

``python -m tests.factories`` rewrites fixtures/traces/*.json from these.
"""

from __future__ import annotations

from pathlib import Path

from stsdebug.model import (
    Figure,
    Figures,
    Hint,
    Hop,
    LogLine,
    LogSample,
    StageResult,
    Status,
    Table,
    Text,
    Timeline,
    TraceResult,
    Verdict,
    Window,
)

NOW = 1795250000.0
AGENT_STEP = (
    "Save one refused payload and run `stsdebug validate payload.json` on it; the agent log lines "
    "quoted under this stage name the check that sends it."
)
KAFKA_STEP = (
    "Read the topic through StackState instead: --sts-api https://<stackstate> with a token in "
    "STSDEBUG_STS_API_TOKEN."
)
PASS_STEP = (
    "Nothing to fix: the data flows at every stage. If a chart is still empty, check its time "
    "range and the stream's aggregation in the StackState UI."
)
WINDOW = Window(NOW - 900, NOW, "15m")
TARGET = {
    "integration": "kubernetes",
    "kafka": "127.0.0.1:9092",
    "es": "http://127.0.0.1:9200",
    "api_key": "<redacted>",
    "window": "15m",
}


def _stage(sid: str, title: str, status: Status, summary: str, **kw: object) -> StageResult:
    return StageResult(sid, title, status, summary, started_at=NOW, duration_ms=12.5, **kw)  # type: ignore[arg-type]


def kafka_fail() -> TraceResult:
    """Push trace where the receiver rejects payloads and Kafka has nothing."""
    stages = [
        _stage(
            "scope",
            "Scale of impact",
            Status.PASS,
            "Only kubernetes is missing: 3 other metric prefixes are fresh in Kafka.",
            evidence=[
                Table(
                    "Metric prefixes in the window",
                    ["prefix", "kafka records", "newest age (s)", "fresh"],
                    [["system.", 1200, 4, "yes"], ["docker.", 300, 6, "yes"], ["kubernetes.", 0, None, "no"]],
                )
            ],
        ),
        _stage(
            "agent",
            "StackState Agent",
            Status.FAIL,
            "The receiver rejected 14 payloads with 400 Bad Request (deserialization error).",
            evidence=[
                Figures("Forwarder", [Figure("rejected transactions", 14), Figure("successful posts", 0)]),
                LogSample(
                    "Receiver rejections",
                    "agent.log",
                    [
                        LogLine(
                            812,
                            '2026-11-21 10:01:02 UTC | CORE | ERROR | (pkg/forwarder/transaction.go:225 in internalProcess) | '
                            'Error code "400 Bad Request" received while sending transaction to '
                            '"https://receiver:7077/stsAgent/intake/?api_key=<redacted>": Failed to deserialize JSON on fields: , '
                            "with message: Object is missing required member 'internalHostname', dropping it",
                            (97, 125),
                        )
                    ],
                    total_matches=14,
                ),
            ],
            hints=[
                Hint(
                    "Fix the payload the check sends: the receiver requires internalHostname.",
                    "StackState Agent: check the agent log",
                )
            ],
            next_step=AGENT_STEP,
        ),
        _stage(
            "receiver",
            "StackState receiver",
            Status.WARN,
            "14 JSON deserialization errors in the window.",
            next_step="Find the sender: the agent that logs 'Failed to deserialize JSON' (give its log with --agent-log).",
            evidence=[
                LogSample(
                    "Deserialization errors",
                    "stackstate-receiver.log",
                    [LogLine(10, "2026-11-21 10:01:02,123 [akka-5] ERROR c.s.r.IntakeRoute - Failed to deserialize JSON", (49, 78))],
                )
            ],
        ),
        _stage(
            "kafka",
            "Kafka topic",
            Status.FAIL,
            "No kubernetes records on sts_multi_metrics in the last 15m.",
            missing_data=True,
            evidence=[
                Table("Partitions", ["partition", "leader", "newest offset", "newest age (s)", "in window"], [[0, 1, 5012, 3.2, 1500]])
            ],
        ),
        _stage("elasticsearch", "Elasticsearch", Status.BLOCKED, "No kubernetes documents in sts_multi_metrics-* (expected: data already stops at StackState Agent)"),
        _stage("streams", "Telemetry streams", Status.SKIP, "No stream definitions given (--stream or --streams-file)."),
    ]
    return TraceResult(
        integration="kubernetes",
        kind="push",
        window=WINDOW,
        target=dict(TARGET),
        stages=stages,
        verdict=Verdict(Status.FAIL, "agent", "Data for kubernetes stops at StackState Agent: The receiver rejected 14 payloads with 400 Bad Request (deserialization error).", AGENT_STEP),
        version="0.1.0",
        started_at=NOW,
        redactions=[{"rule": "secret setting", "where": "target.api_key", "count": 1}, {"rule": "api_key parameter", "where": "stages.agent", "count": 14}],
    )


def all_pass() -> TraceResult:
    stages = [
        _stage("scope", "Scale of impact", Status.PASS, "aws data is fresh in Elasticsearch."),
        _stage("source", "Pull source", Status.PASS, "aws documents keep arriving in Elasticsearch (newest 12 s old).",
               evidence=[Text("What cannot be checked from outside", "The AWS plugin's own credentials and CloudWatch quotas are only visible inside StackState.")]),
        _stage("elasticsearch", "Elasticsearch", Status.PASS, "Cluster green; 1,234 aws documents in the window.",
               evidence=[Figures("Cluster", [Figure("health", "green"), Figure("newest document age", 12, "s")])]),
        _stage("streams", "Telemetry streams", Status.PASS, "1 stream matches data.",
               evidence=[Table("Streams", ["stream", "docs in window", "status"], [["cpu", 240, "pass"]])]),
    ]
    return TraceResult(
        integration="aws", kind="pull", window=WINDOW, target={"es": "http://127.0.0.1:9200"}, stages=stages,
        verdict=Verdict(Status.PASS, None, "Telemetry for aws was seen at every checked stage.", PASS_STEP),
        version="0.1.0", started_at=NOW,
    )


def with_error() -> TraceResult:
    t = kafka_fail()
    t.stages[3] = _stage("kafka", "Kafka topic", Status.ERROR, "Cannot connect to Kafka at 127.0.0.1:1: connection refused.",
                         next_step=KAFKA_STEP)
    t.stages[1] = _stage("agent", "StackState Agent", Status.SKIP, "No agent input given (--agent-output, --agent-log or --agent-cmd).")
    t.stages[2] = _stage("receiver", "StackState receiver", Status.PASS, "No deserialization errors in 5,000 lines.")
    t.stages[4] = _stage("elasticsearch", "Elasticsearch", Status.PASS, "Cluster green.")
    t.verdict = Verdict(Status.ERROR, "kafka", "Could not check Kafka topic: Cannot connect to Kafka at 127.0.0.1:1: connection refused.", KAFKA_STEP)
    return t


def with_probe() -> TraceResult:
    t = all_pass()
    t.stages[2].evidence.append(
        Timeline("Probe", "stsdebug-probe-1a2b3c", [
            Hop("receiver", Status.PASS, 12.0, "202 Accepted"),
            Hop("kafka", Status.PASS, 140.0, "partition 0 offset 5013"),
            Hop("elasticsearch", Status.FAIL, None, "not indexed within 30 s"),
        ])
    )
    return t


def hostile() -> TraceResult:
    """Strings an attacker controls (metric names, hosts, log lines) in every field."""
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)></script>\u202eevil'
    t = kafka_fail()
    t.integration = "kubernetes"
    t.stages[0].summary = f"metric {evil}"
    t.stages[3].evidence.append(Table(f"t {evil}", [evil, "n"], [[evil, 1]], note=evil))
    t.stages[1].evidence.append(LogSample(evil, evil, [LogLine(1, f"line {evil}", (0, 4))]))
    t.stages[1].hints.append(Hint(evil, evil))
    t.target["host"] = evil
    t.verdict = Verdict(Status.FAIL, "agent", f"Data stops at {evil}", f"Run {evil}")
    return t


ALL = {
    "kafka_fail": kafka_fail,
    "all_pass": all_pass,
    "with_error": with_error,
    "with_probe": with_probe,
    "hostile": hostile,
}

# --- for the HTML report tests (not in ALL, so other suites' parametrisations stay as they are)

PWNED = "__stsdebug_pwned"  # the browser tests assert this window flag stays unset


def every_kind() -> TraceResult:
    """One trace with every status and every evidence kind (push plan, probe run)."""
    t = kafka_fail()
    t.stages[5] = _stage("streams", "Telemetry streams", Status.ERROR, "Cannot connect to Elasticsearch at 127.0.0.1:9200: timed out.")
    t.stages[5].hints.append(Hint("Check that Elasticsearch answers on 127.0.0.1:9200.", "Troubleshooting step 4 / Elasticsearch"))
    t.stages[4].evidence.append(Text("Why blocked", "Nothing reached Kafka, so Elasticsearch cannot have it either."))
    t.stages[2].evidence.append(
        Timeline("Probe", "stsdebug-probe-9f8e7d", [
            Hop("receiver", Status.PASS, 11.0, "202 Accepted"),
            Hop("kafka", Status.WARN, 2400.0, "slow: partition 0 offset 5013"),
            Hop("elasticsearch", Status.FAIL, None, "not indexed within 30 s"),
            Hop("stream", Status.SKIP, None, "no stream given"),
        ])
    )
    for ev, needle in ((t.stages[1].evidence[1], 'Error code "400 Bad Request"'), (t.stages[2].evidence[0], "Failed to deserialize JSON")):
        line = ev.lines[0]
        line.match = (line.text.index(needle), line.text.index(needle) + len(needle))
    for offset, s in enumerate(t.stages):
        # Sequential start times, as a real run has them, for the timing waterfall.
        s.started_at = NOW + offset * 0.4
        s.duration_ms = [35.0, 410.0, 120.0, 2300.0, 8.0, 0.0][offset]
    return t


def hostile_everywhere() -> TraceResult:
    """Attacker-controlled text in every string field the report shows, aimed at setting PWNED."""
    vectors = [
        f"<script>window.{PWNED}=1</script>",
        f"\"><img src=x onerror=\"window.{PWNED}=2\">",
        f"</script><script>window.{PWNED}=3</script>",
        f"<svg onload=window.{PWNED}=4>",
        f"'><iframe srcdoc='<script>parent.{PWNED}=5</script>'>",
        "<!--<script>",
        f"javascript:window.{PWNED}=6",
        "\u2028\u2029\\u003c/script>",
        "\u202eevil\u202c \u2066isolate\u2069 zero\u200bwidth",
        "{{ 7*7 }} {% raw %}",
    ]
    evil = " ".join(vectors)
    t = every_kind()
    t.integration = f"kubernetes {evil}"
    t.window = Window(t.window.start, t.window.end, evil)
    t.version = evil
    t.target = {evil: evil, "hosts": [evil, "plain"], "n": 1}
    t.redactions = [{"rule": evil, "where": evil, "count": 1}]
    for s in t.stages:
        s.title = f"{s.title} {evil}"
        s.summary = f"{s.summary} {evil}"
        s.hints.append(Hint(evil, evil))
        for ev in s.evidence:
            ev.title = f"{ev.title} {evil}"
            if isinstance(ev, Figures):
                ev.items.append(Figure(evil, evil, evil))
            elif isinstance(ev, Table):
                ev.columns.append(evil)
                ev.rows = [[*r, evil] for r in ev.rows]
                ev.note = evil
            elif isinstance(ev, LogSample):
                ev.source = evil
                ev.lines.append(LogLine(99, f"match {evil} here", (6, 6 + len(evil))))
            elif isinstance(ev, Text):
                ev.text = evil
            elif isinstance(ev, Timeline):
                ev.probe_id = evil
                ev.hops.append(Hop(evil, Status.FAIL, 1.0, evil))
    t.verdict = Verdict(Status.FAIL, "agent", f"Data stops at {evil}", f"Next {evil}")
    for s in t.stages:
        if s.next_step:
            s.next_step = f"{s.next_step} {evil}"
    return t


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "fixtures" / "traces"
    out.mkdir(parents=True, exist_ok=True)
    for name, make in ALL.items():
        (out / f"{name}.json").write_text(make().to_json() + "\n", encoding="utf-8")
        print("wrote", out / f"{name}.json")
