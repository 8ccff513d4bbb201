"""Next steps: a stage's own, the table's, the first hint; the verdict's; none when blocked.

Results are built with the words the stages use (the sandbox scenarios check the same table
against the real stages: tests/integration/test_scenarios.py)."""

from __future__ import annotations

import pytest

from stsdebug.integrations import Matcher, find
from stsdebug.model import Figures, Hint, StageResult, Status
from stsdebug.settings import Settings
from stsdebug.stages import next_steps
from stsdebug.stages.base import Context, Stage
from stsdebug.trace import Trace, verdict


def ctx(**settings: object) -> Context:
    s = Settings(**{"integration": "mysql", "es": "http://es.example:9200", **settings})  # type: ignore[arg-type]
    integration = find(s.integration or "custom")
    from stsdebug.model import Window
    from stsdebug.source_factory import Sources

    return Context(settings=s, integration=integration, matcher=Matcher.build(integration, [], [], []),
                   window=Window(0, 900, "15m"), now=900, sources=Sources(s))


def result(stage: str, status: Status, summary: str, *hints: str, **kw: object) -> StageResult:
    return StageResult(stage, stage.title(), status, summary, hints=[Hint(h) for h in hints], **kw)  # type: ignore[arg-type]


CASES = [
    # (stage, status, summary, must appear in the step)
    ("agent", Status.FAIL, "The receiver refused the agent's API key: 3 transactions dropped with 403 \"API Key invalid\"",
     ["api_key", "stackstate.apiKey", "systemctl restart stackstate-agent"]),
    ("agent", Status.FAIL, "The agent cannot connect to the receiver at r.example:7077: connection refused",
     ["sts_url", "curl -sv https://r.example:7077/health"]),
    ("agent", Status.FAIL, "the agent cannot resolve the receiver host stackstate.intra (3 lines)",
     ["getent hosts stackstate.intra"]),
    ("agent", Status.FAIL, "The mysql check reported 4 errors (agent.log line 12): Access denied",
     ["conf.d/mysql.d/conf.yaml", "stackstate-agent check mysql -l debug"]),
    ("receiver", Status.FAIL, "The receiver cannot put messages on Kafka: 12 Kafka producer failures",
     ["kubectl get pods -n stackstate -l app.kubernetes.io/name=kafka", "--kafka"]),
    ("receiver", Status.ERROR, "stackstate.log does not look like a StackState receiver log: none of its 10 lines",
     ["--receiver-log /opt/stackstate/var/log/stackstate-receiver/stackstate-receiver.log"]),
    ("kafka", Status.ERROR, "Cannot connect to Kafka at 10.0.0.1:9092: connection refused.",
     ["--sts-api", "STSDEBUG_STS_API_TOKEN"]),
    ("kafka", Status.FAIL, "No records at all on sts_multi_metrics in the last 15m (the newest record is 2 h old).",
     ["kubectl logs deploy/stackstate-receiver", "stsdebug check --receiver-log -"]),
    ("elasticsearch", Status.FAIL, "Index sts_multi_metrics-2026.12.06 has a write block index.blocks.read_only_allow_delete",
     ["curl -X PUT 'http://es.example:9200/sts_multi_metrics-2026.12.06/_settings'", "read_only_allow_delete\": null"]),
    ("elasticsearch", Status.FAIL, "Cluster health is red: some primary shards are unassigned.",
     ["_cluster/allocation/explain"]),
    ("elasticsearch", Status.ERROR, "Cannot connect to Elasticsearch at es.example:9200: timed out.",
     ["kubectl port-forward svc/stackstate-elasticsearch-master 9200"]),
    ("source", Status.FAIL, "No mysql documents arrived in Elasticsearch in the last 15m.",
     ["StackPack instance", "kubectl logs deploy/stackstate-server"]),
    ("streams", Status.ERROR, "The stream definitions cannot be used: streams.yaml line 3: not a list.",
     ["Fix the stream definitions in s.yaml"]),
]


@pytest.mark.parametrize(("stage", "status", "summary", "want"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_the_table_names_the_concrete_action(stage: str, status: Status, summary: str, want: list[str]) -> None:
    step = next_steps.derive(result(stage, status, summary), ctx(streams_file="s.yaml"))
    assert step is not None
    missing = [w for w in want if w not in step]
    assert not missing, f"{missing} not in {step!r}"


def test_a_stages_own_step_wins_and_an_uncovered_stage_falls_back_to_its_first_hint() -> None:
    own = result("agent", Status.FAIL, "connection refused", next_step="Call the network team.")
    assert next_steps.derive(own, ctx()) == "Call the network team."
    odd = result("agent", Status.FAIL, "Something no rule knows.", "Look at the quoted lines.", "Second hint.")
    assert next_steps.derive(odd, ctx()) == "Look at the quoted lines."
    assert next_steps.derive(result("agent", Status.FAIL, "Something no rule knows."), ctx()) is None
    assert next_steps.derive(result("agent", Status.PASS, "connection refused"), ctx()) is None


def test_cues_are_read_in_the_hints_and_evidence_titles_too() -> None:
    r = result("elasticsearch", Status.FAIL, "Documents are rejected.")
    r.evidence.append(Figures("Index sts_multi_metrics-2026.01.01 has a write block"))
    assert "sts_multi_metrics-2026.01.01/_settings" in (next_steps.derive(r, ctx()) or "")


def test_nothing_arrived_sends_the_reader_to_the_warning_before_it() -> None:
    receiver = result("receiver", Status.WARN, "The receiver dropped metric points as too old 150 times",
                      next_step="Fix the clock of the agent hosts.")
    kafka = result("kafka", Status.FAIL, "No records at all on sts_multi_metrics", missing_data=True,
                   next_step="Read the receiver's log.")
    scope = result("scope", Status.WARN, "Only mysql is missing", next_step="Follow the stages.")
    v = verdict([scope, receiver, kafka], "mysql")
    assert v.next_step == "Nothing arrives at Kafka, and Receiver before it warns: Fix the clock of the agent hosts."
    # A failure with a cause of its own keeps its own step.
    kafka.missing_data = False
    assert verdict([scope, receiver, kafka], "mysql").next_step == "Read the receiver's log."


def test_verdicts_without_a_stage_get_a_step_too() -> None:
    passed = [result("scope", Status.PASS, "ok"), result("streams", Status.SKIP, "No stream given.")]
    v = verdict(passed, "mysql")
    assert v.status is Status.PASS and "--stream" in (v.next_step or "")
    skipped = [result("scope", Status.SKIP, "none"), result("kafka", Status.SKIP, "none")]
    assert "--kafka" in (verdict(skipped, "mysql").next_step or "")


def test_the_trace_names_steps_redacts_them_and_leaves_blocked_stages_without_one() -> None:
    secret = "s3cr3t-api-key-value"

    def refused(c: Context) -> StageResult:
        return c.result(Status.FAIL, "The agent cannot connect to the receiver: connection refused")

    def nothing(c: Context) -> StageResult:
        return c.result(Status.FAIL, "No records at all on sts_multi_metrics.", missing_data=True,
                        hints=[Hint("Look upstream.")])

    s = Settings(integration="mysql", receiver=f"https://r.example:7077/stsAgent/intake?api_key={secret}",
                 api_key=secret)
    trace = Trace(s, stages=[Stage("agent", "StackState Agent", refused), Stage("kafka", "Kafka topic", nothing)]).run()
    agent, kafka = trace.stages
    assert agent.next_step and "curl -sv https://r.example:7077/health" in agent.next_step
    assert kafka.status is Status.BLOCKED and kafka.next_step is None
    assert trace.verdict.next_step == agent.next_step
    assert secret not in trace.to_json()
