"""The next step: the one action to take first, for a stage that fails, cannot look or warns.

A stage may set ``StageResult.next_step`` itself when it knows the fix exactly. Otherwise
the trace derives one here from what the stage found: ``RULES`` is a table, read top to
bottom, of (stage, statuses, a cue in the result's words, the step). The cue is matched
against the summary, the evidence titles and the hints, so a rule keeps working when a
stage words its summary differently; the step names the command, the setting with its
file and key, or the team to hand it to, filled with what the user gave (URLs, topic,
index pattern). A stage no rule covers falls back to its first hint, which is the stage's
own advice. ``for_verdict`` gives the step under a verdict that names no stage (all
passed, or nothing could be checked).

Kubernetes names are those of StackState 5.1's Helm charts installed as release
``stackstate`` in namespace ``stackstate`` (StackVista/helm-charts stable/stackstate:
``<release>-receiver``, ``<release>-mm2es`` labelled ``app.kubernetes.io/component``,
Bitnami Kafka ``<release>-kafka``, ``<release>-elasticsearch-master``; stable/stackstate-agent:
DaemonSet ``<release>-node-agent``); Linux paths are those of the StackState and agent
packages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stsdebug.model import StageResult, Status
from stsdebug.stages.base import Context

NS = "-n stackstate"
RECEIVER_LOG = "/opt/stackstate/var/log/stackstate-receiver/stackstate-receiver.log"
AGENT_CONF = "/etc/stackstate-agent/stackstate.yaml"
RESTART_AGENT = (
    "sudo systemctl restart stackstate-agent (Kubernetes: kubectl rollout restart "
    f"daemonset/stackstate-node-agent {NS})"
)
PLATFORM = "the team that runs the StackState platform"


@dataclass(frozen=True)
class Facts:
    """What the user pointed stsdebug at, for filling a step in."""

    integration: str
    kind: str
    check: str  # the integration's first agent check, or a placeholder
    receiver: str  # base URL, or a placeholder
    kafka: str
    topic: str
    es: str
    index_pattern: str
    mirror: str
    streams_file: str | None

    @classmethod
    def of(cls, ctx: Context) -> Facts:
        s = ctx.settings
        return cls(
            integration=ctx.integration.name,
            kind=ctx.integration.kind,
            check=(ctx.integration.checks or ("<check>",))[0],
            receiver=_base(s.receiver) or "https://<receiver>:7077",
            kafka=s.kafka or "127.0.0.1:9092",
            topic=s.topic,
            es=(s.es or "http://<elasticsearch>:9200").rstrip("/"),
            index_pattern=s.index_pattern,
            mirror=(s.mirror or "http://<mirror>:9900").rstrip("/"),
            streams_file=s.streams_file,
        )


Step = Callable[[Facts, "re.Match[str]", StageResult], str]


@dataclass(frozen=True)
class Rule:
    stage: str  # a stage id, or "*" for any
    statuses: frozenset[Status]
    cue: re.Pattern[str]
    step: Step


BAD = frozenset({Status.FAIL, Status.ERROR})
ANY = frozenset({Status.FAIL, Status.ERROR, Status.WARN})
WARN = frozenset({Status.WARN})


def _rule(stage: str, statuses: frozenset[Status], cue: str, step: Step) -> Rule:
    return Rule(stage, statuses, re.compile(cue, re.IGNORECASE | re.DOTALL), step)


# --- the table ---------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    # agent: delivery to the receiver. A receiver that answers 5xx is reachable but failing
    # itself: the fix is there, whatever else the agent's own evidence mentions.
    _rule("agent", ANY, r"receiver answers 5\d\d|answers with an HTTP error",
          lambda f, m, r: f"Look at the receiver, which answers but fails: kubectl logs "
          f"deploy/stackstate-receiver {NS} --tail=200 | stsdebug check --receiver-log - (Linux: "
          f"--receiver-log {RECEIVER_LOG}), and its pod: kubectl get pods {NS} "
          "-l app.kubernetes.io/component=receiver."),
    # The agent's proxy, not the receiver, refuses or fails: fix the proxy setting first.
    _rule("agent", ANY, r"its proxy(?:'s host)?(?: at (\S+):\s)?|proxy asks for credentials",
          lambda f, m, r: f"Fix the agent's proxy (proxy: https: in {AGENT_CONF}, or HTTPS_PROXY in its "
          f"environment): from the agent host, curl -sv -x {m.group(1) or 'PROXY:PORT'} {f.receiver}/health "
          "must answer; add USER:PASSWORD@ to the proxy URL if it asks for credentials, or the receiver "
          f"host to proxy: no_proxy: to bypass it; then restart the agent: {RESTART_AGENT}."),
    _rule("agent", ANY, r"dropped [\d,]+ payloads?",
          lambda f, m, r: "Find why the posts fail or lag in the agent log lines before the drops, and "
          f"judge the receiver: stsdebug check --receiver {f.receiver} with its log (--receiver-log); "
          f"a busy node may need forwarder_num_workers raised in {AGENT_CONF}."),
    _rule("agent", ANY, r"api key.{0,80}(refus|invalid)|403",
          lambda f, m, r: f"Set api_key in {AGENT_CONF} (Kubernetes: stackstate.apiKey in the agent's "
          "Helm values) to this installation's receiver API key, then restart the agent: "
          f"{RESTART_AGENT}."),
    _rule("agent", ANY, r"cannot connect to the receiver at ([\w.-]+(?::\d+)?)|connection refused|cannot connect to the receiver",
          lambda f, m, r: f"Point sts_url in {AGENT_CONF} (Kubernetes: stackstate.url in the agent's "
          "Helm values) at the receiver, https://HOST:7077/stsAgent (Kubernetes: "
          f"https://BASE/receiver/stsAgent), and check from the agent host that it answers: "
          f"curl -sv {_receiver(f, m)}/health."),
    _rule("agent", ANY, r"cannot resolve the receiver host (\S+)|DNS lookup",
          lambda f, m, r: "Fix the receiver host name in sts_url in "
          f"{AGENT_CONF}: on the agent host `getent hosts {_host(m.group(1)) or 'HOST'}` must "
          "answer (Kubernetes: kubectl exec into the agent pod and run nslookup)."),
    _rule("agent", ANY, r"TLS handshake",
          lambda f, m, r: "Install the CA that signed the receiver's certificate on the agent host "
          f"(test with curl -v {f.receiver}/health there), or fix an https sts_url that points at "
          "a plain-http port; skip_ssl_validation: true in stackstate.yaml only while testing."),
    _rule("agent", ANY, r"time out|timeouts",
          lambda f, m, r: f"Check the path from the agent host to the receiver: curl -m 10 -sv "
          f"{f.receiver}/health there, then the firewalls and the proxy settings (proxy: in "
          f"{AGENT_CONF}) between them."),
    _rule("agent", ANY, r"\b404\b",
          lambda f, m, r: f"Make sts_url in {AGENT_CONF} end in /stsAgent (Kubernetes: "
          f"https://BASE/receiver/stsAgent), then restart the agent: {RESTART_AGENT}."),
    _rule("agent", ANY, r"\b413\b|too large",
          lambda f, m, r: "Raise the request body limit of the proxy or ingress in front of the "
          "receiver (nginx: client_max_body_size; ingress-nginx: the "
          "nginx.ingress.kubernetes.io/proxy-body-size annotation on the receiver's ingress)."),
    _rule("agent", ANY, r"rejected .{0,40}payload|deserializ",
          lambda f, m, r: "Save one refused payload and run `stsdebug validate payload.json` on it; "
          "the agent log lines quoted under this stage name the check that sends it."),
    _rule("agent", ANY, r"does not run (?:the )?(\S+?) check|does not run",
          lambda f, m, r: f"Configure the {f.check} check in /etc/stackstate-agent/conf.d/"
          f"{f.check}.d/conf.yaml and restart the agent: {RESTART_AGENT}."),
    _rule("agent", ANY, r"would be refused by the receiver|reserved (?:prefix|name)",
          lambda f, m, r: f"Rename the metrics in /etc/stackstate-agent/conf.d/{f.check}.d/conf.yaml "
          "(custom queries included) so that no name starts with host, labels, name, tags, "
          "timeReceived, timestamp or values."),
    _rule("agent", ANY, r"metric type",
          lambda f, m, r: f"Make the {f.check} check submit gauge, count, rate, counter or raw "
          "metrics only, then confirm with "
          f"`sudo -u stackstate-agent stackstate-agent check {f.check} -l debug`."),
    _rule("agent", ANY, r"the (\S+) checks? reported|check errors|traceback|collected no metrics",
          lambda f, m, r: f"Fix what the {_check(m, f)} check reports (credentials, address, "
          f"permissions) in /etc/stackstate-agent/conf.d/{_check(m, f)}.d/conf.yaml, then confirm "
          f"with `sudo -u stackstate-agent stackstate-agent check {_check(m, f)} -l debug`."),
    _rule("agent", ANY, r"no lines in the last",
          lambda f, m, r: "Check that the agent runs and writes this log (`sudo stackstate-agent "
          "status`; Kubernetes: kubectl get pods -l app.kubernetes.io/component=node-agent "
          f"{NS}), or widen --window to the time the log covers."),
    # receiver
    _rule("receiver", ANY, r"stopping itself|MissingKafkaTopics|Topic check failed|Missing Kafka topics",
          lambda f, m, r: f"The receiver stops because Kafka lacks its topics (MissingKafkaTopics): list "
          f"them (kubectl exec stackstate-kafka-0 {NS} -- kafka-topics.sh --bootstrap-server "
          "localhost:9092 --list), recreate the missing ones (rerun the chart's topic setup with "
          f"helm upgrade, or kafka-topics.sh --create), then restart the receiver. Hand it to {PLATFORM}."),
    _rule("receiver", ANY, r"cannot put messages on Kafka|Kafka producer failure",
          lambda f, m, r: f"Bring Kafka back for the receiver: kubectl get pods {NS} "
          f"-l app.kubernetes.io/name=kafka and kubectl logs stackstate-kafka-0 {NS} (Linux: the "
          f"StackState server's Kafka service); then rerun with --kafka {f.kafka}. Hand it to "
          f"{PLATFORM}."),
    _rule("receiver", ANY, r"unhealthy|health endpoint answered HTTP 5",
          lambda f, m, r: f"Look at the receiver itself: kubectl get pods {NS} "
          f"-l app.kubernetes.io/component=receiver and kubectl logs deploy/stackstate-receiver {NS} "
          f"--tail=200 (Linux: {RECEIVER_LOG})."),
    _rule("receiver", ANY, r"refused intake payloads|deserializ",
          lambda f, m, r: "Find the sender: the agent that logs 'Failed to deserialize JSON' "
          "(give its log with --agent-log), and check a captured payload with "
          "`stsdebug validate payload.json`."),
    _rule("receiver", ANY, r"API key|authoriz",
          lambda f, m, r: f"Make api_key in the sending agents' {AGENT_CONF} match this "
          "installation's receiver API key (Kubernetes: stackstate.receiver.apiKey in the "
          "StackState Helm values), then restart those agents."),
    _rule("receiver", ANY, r"too large",
          lambda f, m, r: "Raise the request body limit of the proxy or ingress in front of the "
          "receiver, or make the agents send smaller batches."),
    _rule("receiver", ANY, r"too old",
          lambda f, m, r: "Fix the clock of the agent hosts that send old points (timedatectl "
          "status; chronyc tracking): the receiver ignores them and they are not resent."),
    _rule("receiver", BAD, r"does not look like a StackState receiver log",
          lambda f, m, r: f"Give the receiver's own log: --receiver-log {RECEIVER_LOG}, or "
          f"`kubectl logs deploy/stackstate-receiver {NS} | stsdebug check --receiver-log -`."),
    _rule("receiver", BAD, r"health endpoint could not be checked|could not check the receiver",
          lambda f, m, r: f"Check the receiver address: curl -sv {f.receiver}/health; on Kubernetes "
          "the health endpoint is on port 1618: give --receiver-health "
          "http://<receiver-pod>:1618/readiness."),
    # kafka
    _rule("kafka", BAD, r"SASL|authenticat|SSL|certificate",
          lambda f, m, r: "Give Kafka's security settings: --kafka-security-protocol SASL_SSL (or "
          "SSL), --kafka-sasl-mechanism, --kafka-sasl-username, --kafka-sasl-password-env and "
          "--kafka-ssl-cafile."),
    _rule("kafka", frozenset({Status.ERROR}), r"(cannot connect|not reachable|refused|timed out).{0,200}topic API",
          lambda f, m, r: "Neither Kafka nor the StackState topic API could read the topic, so "
          f"Kafka itself is likely down: kubectl get pods {NS} -l app.kubernetes.io/name=kafka and "
          f"their logs. Hand it to {PLATFORM}."),
    _rule("kafka", frozenset({Status.ERROR}), r"cannot connect|not reachable|refused|timed out|resolve",
          lambda f, m, r: "Read the topic through StackState instead: --sts-api https://<stackstate> "
          "with a token in STSDEBUG_STS_API_TOKEN. Kafka itself is rarely reachable from outside "
          f"the cluster (kubectl port-forward svc/stackstate-kafka-headless 9092 {NS} works only "
          "where the broker's advertised name resolves)."),
    _rule("kafka", BAD, r"does not exist",
          lambda f, m, r: f"List the topics (kubectl exec stackstate-kafka-0 {NS} -- kafka-topics.sh "
          f"--bootstrap-server localhost:9092 --list) and give the one StackState uses with --topic; "
          f"the receiver creates {f.topic} when it first produces, so see the receiver stage too."),
    _rule("kafka", BAD, r"no leader|offline",
          lambda f, m, r: f"Bring the Kafka brokers back: kubectl get pods {NS} "
          f"-l app.kubernetes.io/name=kafka, then their logs. Hand it to {PLATFORM}."),
    _rule("kafka", BAD, r"no records at all",
          lambda f, m, r: f"Nothing reaches {f.topic}: read the receiver's log for Kafka producer "
          f"errors (`kubectl logs deploy/stackstate-receiver {NS} | stsdebug check --receiver-log -`) "
          "and give --receiver URL for its health."),
    _rule("kafka", BAD, r"none of .{0,40}are \S+'s",
          lambda f, m, r: f"Other data reaches {f.topic} but not {f.integration}'s: run "
          f"`sudo -u stackstate-agent stackstate-agent check {f.check} -l debug` on the agent host and "
          "give its log with --agent-log; if the metrics are named differently, pass --metric-prefix."),
    _rule("kafka", WARN, r"lag|behind|mm2es|not moving",
          lambda f, m, r: f"Look at the Kafka-to-Elasticsearch mover: kubectl logs deploy/stackstate-mm2es "
          f"{NS} --tail=200 (rejected bulk items, Elasticsearch errors); restart it if it is stuck."),
    # elasticsearch
    _rule("elasticsearch", BAD, r"Index (\S+) has a write block",
          lambda f, m, r: "Free disk space on the Elasticsearch data nodes, then lift the block: "
          f"curl -X PUT '{f.es}/{m.group(1)}/_settings' -H 'Content-Type: application/json' "
          "-d '{\"index.blocks.read_only_allow_delete\": null}'. Hand the disk to "
          f"{PLATFORM}."),
    _rule("elasticsearch", BAD, r"Index (\S+) is closed",
          lambda f, m, r: f"Open the index: curl -X POST '{f.es}/{m.group(1)}/_open'."),
    _rule("elasticsearch", ANY, r"Index (\S+) has [\d,]+ fields",
          lambda f, m, r: "Raise the field limit: curl -X PUT "
          f"'{f.es}/{m.group(1)}/_settings' -H 'Content-Type: application/json' -d "
          "'{\"index.mapping.total_fields.limit\": 5000}', and set the same in the index template "
          f"for {f.index_pattern}; look for metric names that embed ids."),
    _rule("elasticsearch", BAD, r"flood-stage",
          lambda f, m, r: "Free disk space on the full Elasticsearch node or add nodes (curl "
          f"'{f.es}/_cat/allocation?v'), then lift the read_only_allow_delete blocks. Hand it to "
          f"{PLATFORM}."),
    _rule("elasticsearch", BAD, r"health is red",
          lambda f, m, r: "Find why shards are unassigned: curl "
          f"'{f.es}/_cluster/allocation/explain?pretty'. Hand it to {PLATFORM}."),
    _rule("elasticsearch", BAD, r"No index matches",
          lambda f, m, r: f"List the metric indices (curl '{f.es}/_cat/indices/sts_multi_metrics-*?v') "
          "and give the pattern they follow with --index-pattern."),
    _rule("elasticsearch", BAD, r"401|403|unauthori[sz]ed|forbidden|security",
          lambda f, m, r: "Give Elasticsearch credentials: --es-username with --es-password-env, "
          "or --es-api-key-env."),
    _rule("elasticsearch", frozenset({Status.ERROR}), r"cannot connect|not reachable|refused|timed out|resolve",
          lambda f, m, r: f"Make Elasticsearch reachable from here: kubectl port-forward "
          f"svc/stackstate-elasticsearch-master 9200 {NS}, then rerun with --es http://127.0.0.1:9200."),
    _rule("elasticsearch", BAD, r"stopped arriving|no \S+ documents",
          lambda f, m, r: _es_no_data(f)),
    # streams
    _rule("streams", frozenset({Status.ERROR}), r"stream definitions cannot be used",
          lambda f, m, r: f"Fix the stream definitions{' in ' + f.streams_file if f.streams_file else ''}: "
          "a list of {name, conditions, metric}, or --stream 'KEY=VALUE,...,metric=FIELD'."),
    _rule("streams", BAD, r"no documents at all",
          lambda f, m, r: "No data reached Elasticsearch in the window: fix the earlier stage where "
          "it stops first; the streams cannot draw anything until then."),
    _rule("streams", ANY, r"Stream '([^']+)'",
          lambda f, m, r: _stream_step(m.group(1), r)),
    # pull sources
    _rule("source", BAD, r"MetricStoreConnectionError|cannot reach Prometheus",
          lambda f, m, r: "Fix the mirror's connection to Prometheus: the Prometheus URL and "
          "credentials in the connection details JSON of the mirror source in StackState."),
    _rule("source", BAD, r"mirror.{0,80}(could not be tested|unreachable|refused|cannot connect)",
          lambda f, m, r: f"Start the Prometheus mirror and make {f.mirror} reachable from StackState "
          "(its default port is 9900); Test Connection in the mirror source's settings must pass."),
    _rule("source", BAD, r"No (\S+) documents arrived",
          lambda f, m, r: f"Open the {f.integration} StackPack instance in StackState and check its "
          "credentials and last sync; the server log (kubectl logs deploy/stackstate-server "
          f"{NS}, Linux /opt/stackstate/var/log/stackstate.log) names the plugin's errors. Hand "
          f"expired credentials to the team that owns the {f.integration} account."),
    # scope: only warns
    _rule("scope", WARN, r"All metrics are missing",
          lambda f, m, r: "Every integration stops, so start at the shared path: the receiver "
          f"(`kubectl logs deploy/stackstate-receiver {NS} | stsdebug check --receiver-log -`), "
          "then Kafka and mm2es."),
    _rule("scope", WARN, r"did not reach Elasticsearch",
          lambda f, m, r: f"Look at the Kafka-to-Elasticsearch mover: kubectl logs deploy/stackstate-mm2es "
          f"{NS} --tail=200 (rejected bulk items), and the Elasticsearch stage's limits."),
    # any stage
    _rule("*", frozenset({Status.ERROR}), r"Did not finish within",
          lambda f, m, r: f"The system behind {r.title} does not answer in time: check that it is "
          "up, or rerun with a larger --timeout."),
    _rule("*", frozenset({Status.ERROR}), r"Internal error",
          lambda f, m, r: "Rerun with --format json -o trace.json and report the problem to the "
          "stsdebug maintainers with that file; the other stages' results still hold."),
)


def derive(result: StageResult, ctx: Context) -> str | None:
    """The next step for ``result`` (its own, a rule's, or its first hint); None for a pass or skip."""
    if result.next_step:
        return result.next_step
    if result.status not in ANY:
        return None
    facts = Facts.of(ctx)
    text = _haystack(result)
    for rule in RULES:
        if rule.stage not in ("*", result.id) or result.status not in rule.statuses:
            continue
        m = rule.cue.search(text)
        if m:
            return rule.step(facts, m, result)
    return result.hints[0].text if result.hints else None


def for_stage(stage: StageResult, results: Sequence[StageResult]) -> str | None:
    """The verdict's step when it names ``stage``: its own, unless the stage only says that
    nothing arrived there and a stage before it warns, which then says why."""
    if stage.status is Status.FAIL and stage.missing_data:
        before = results[: next((i for i, r in enumerate(results) if r is stage), len(results))]
        upstream = [r for r in before if r.status is Status.WARN and r.id != "scope" and r.next_step]
        if upstream:
            lead = upstream[-1]
            step = lead.next_step or ""
            return f"Nothing arrives at {stage.title}, and {lead.title} before it warns: {step}"
    if stage.id == "agent" and stage.next_step and re.search(r"receiver answers 5\d\d", stage.summary):
        # The agent sees the failure first; the receiver stage after it may know why.
        receiver = next((r for r in results if r.id == "receiver" and r.status is Status.FAIL), None)
        if receiver is not None and receiver.next_step:
            return f"The receiver answers but fails, and its own stage says why: {receiver.next_step}"
    return stage.next_step


def for_verdict(status: Status, results: Sequence[StageResult]) -> str | None:
    """The step under a verdict that names no stage: everything passed, or nothing was checked."""
    if status is Status.SKIP:
        return (
            "Point stsdebug at something to check: --receiver-log, --kafka or --sts-api, --es "
            "and --stream (or a profile with --profile); `stsdebug check --help` lists them."
        )
    if status is not Status.PASS:
        return None
    skipped = [r.id for r in results if r.status is Status.SKIP]
    if "streams" in skipped:
        return (
            "Nothing is wrong where stsdebug looked. If a chart is still empty, give its stream's "
            "filters with --stream 'KEY=VALUE,...,metric=FIELD' so the streams stage checks them."
        )
    if skipped:
        return (
            f"Nothing is wrong where stsdebug looked; {', '.join(skipped)} could not be checked. "
            "Give their inputs, or add --probe to follow one marked metric end to end."
        )
    return (
        "Nothing to fix: the data flows at every stage. If a chart is still empty, check its time "
        "range and the stream's aggregation in the StackState UI."
    )


# --- helpers -----------------------------------------------------------------------------------


def _haystack(r: StageResult) -> str:
    titles = [str(getattr(e, "title", "")) for e in r.evidence]
    return "\n".join([r.summary, *titles, *(h.text for h in r.hints)])


def _base(url: str | None) -> str | None:
    if not url:
        return None
    base = url.split("?", 1)[0].rstrip("/")
    for suffix in ("/stsAgent/intake", "/stsAgent"):
        base = base.removesuffix(suffix)
    return base


def _host(text: str | None) -> str:
    return (text or "").strip(" .,;:()'\"")


def _receiver(f: Facts, m: re.Match[str]) -> str:
    """The receiver URL the user gave; else the address the agent used, from the finding."""
    if not f.receiver.startswith("https://<"):
        return f.receiver
    named = m.group(1) if m.re.groups and m.group(1) else None
    return f"https://{named}" if named else f.receiver


def _check(m: re.Match[str], f: Facts) -> str:
    named = m.group(1) if m.re.groups and m.group(1) else None
    return _host(named) or f.check


def _es_no_data(f: Facts) -> str:
    if f.kind == "pull":
        return (
            f"{f.integration} is pulled by a StackState plugin straight into Elasticsearch: check "
            f"its StackPack instance and the server log (kubectl logs deploy/stackstate-server {NS})."
        )
    return (
        "If the Kafka stage saw the records, the mover is not writing them: kubectl logs "
        f"deploy/stackstate-mm2es {NS} --tail=200 (rejected bulk items, write blocks, field limit), "
        f"and kubectl rollout restart deploy/stackstate-mm2es {NS} if it is stuck."
    )


def _stream_step(name: str, r: StageResult) -> str:
    own = next((h.text for h in r.hints if h.text.startswith(f"Stream '{name}':")), None)
    fix = own.split(":", 1)[1].strip() if own else "fill its filters with the UI's auto-complete"
    return f"Edit stream '{name}' in the StackState UI: {fix[0].lower() + fix[1:] if fix else fix}"
