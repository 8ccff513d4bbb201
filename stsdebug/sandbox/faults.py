"""The sandbox's named faults: each breaks one real link of the pipeline.

Every fault names the integration it affects, the stage stsdebug should name first
for it (the verdict of ``stsdebug check --profile sandbox --integration <it>``: a
failure, or a warning where only part of the data is lost), and how a support
engineer meets it in the field. docs/sandbox.md tells the same
story at length; ``stsdebug sandbox faults`` lists the catalog.

Faults that stop data "began" FAULT_AGE_S before ``sandbox up`` (see
stsdebug.sandbox.world): the backfilled history shows the data flowing until then
and stopping after, so a check with the profile's window sees what it would see in
the field some minutes after the breakage.
"""

from __future__ import annotations

from dataclasses import dataclass

from stsdebug.errors import UsageError
from stsdebug.suggest import did_you_mean


@dataclass(frozen=True)
class Fault:
    name: str
    integration: str
    expected_stage: str
    description: str  # one line: what is broken
    field: str  # how it shows up for the user, before anyone runs stsdebug
    fix: str  # what makes it go away in a real installation
    # "fail" when the integration's data stops; "warn" when only part of it is lost (or a
    # problem recovered) and the rest flows, so no stage fails and the verdict is the first
    # warning; "pass" for a variant that breaks nothing (a log layout) and must change no verdict.
    expected_status: str = "fail"
    sts_version: str = "5"  # the sandbox it breaks: StackState 5 or 6

    def to_dict(self) -> dict[str, str]:
        """What `sandbox faults --format json` lists (keys are added, never renamed)."""
        return {
            "name": self.name,
            "integration": self.integration,
            "expected_stage": self.expected_stage,
            "expected_status": self.expected_status,
            "description": self.description,
            "sts_version": self.sts_version,
        }


_ALL = (
    Fault(
        "receiver-unreachable",
        "system",
        "agent",
        "The agent posts to a receiver address where nothing listens (wrong port in sts_url).",
        "Every push integration goes quiet at once; the agent keeps running and its checks "
        "keep collecting.",
        "Point sts_url in stackstate.yaml at the receiver (port 7077, or <base>/receiver on "
        "Kubernetes) and check firewalls between the agent and the receiver.",
    ),
    Fault(
        "invalid-api-key",
        "system",
        "agent",
        "The agent sends an API key the receiver does not know; the receiver answers 403.",
        "After a reinstall or key rotation no push data arrives; the receiver is up and "
        "answers health checks.",
        "Set api_key in stackstate.yaml (stackstate.apiKey in the agent's Helm values) to the "
        "receiver API key of this installation and restart the agent.",
    ),
    Fault(
        "malformed-payloads",
        "mysql",
        "agent",
        "A proxy between agent and receiver cuts the larger mysql payloads short; the "
        "receiver rejects them with 400 Failed to deserialize JSON.",
        "MySQL metrics are gone while small checks (cpu, load, memory) still arrive.",
        "Raise the proxy's request body limit or route the agent around it; the receiver "
        "log's deserialization errors name the field and the parser's complaint.",
    ),
    Fault(
        "reserved-metric-names",
        "mysql",
        "agent",
        "Custom queries in the mysql check name metrics timestamp.* and host.*; the receiver "
        "drops every metric whose name starts with a reserved prefix (the rest flows).",
        "Two custom MySQL metrics never show up although `stackstate-agent check mysql` "
        "reports them; the integration's other metrics arrive.",
        "Rename the metrics in conf.d/mysql.d/conf.yaml custom_queries so that no name starts "
        "with host, labels, name, tags, timeReceived, timestamp or values.",
        expected_status="warn",
    ),
    Fault(
        "stale-timestamps",
        "system",
        "receiver",
        "The agent host's clock runs 2 hours behind; the receiver ignores points older than "
        "its 1 hour limit and logs each payload whose points it dropped.",
        "Host metrics stop although the agent log shows it posting successfully (with "
        "timestamps two hours old).",
        "Fix NTP on the agent host; points the receiver ignored are not resent.",
    ),
    Fault(
        "agent-clock-skew",
        "system",
        "kafka",
        "The agent host's clock runs 20 minutes behind: within the receiver's 1 hour limit, so its "
        "points are accepted and produced on time, stamped 20 minutes in the past.",
        "The host's charts stay empty for the last 20 minutes although everything looks healthy; "
        "the data shows up later, at the wrong time.",
        "Fix NTP on the agent host (timedatectl, chronyc); `stackstate-agent status` shows the NTP "
        "offset under Clocks.",
    ),
    Fault(
        "receiver-missing-topics",
        "system",
        "agent",
        "Kafka lost its data and the Helm job that creates the topics did not run again: "
        "sts_multi_metrics is missing, so the receiver stops itself at start-up ('Stopping receiver "
        "app. Topic check failed.', StsKafkaAdminClient$MissingKafkaTopics) and crash-loops; the "
        "agents' posts get 503 from the ingress.",
        "Every push integration stops after Kafka's volumes were replaced; the receiver pod is in "
        "CrashLoopBackOff.",
        "Create the topics (run the Helm release's topic job again, or kafka-topics.sh --create for "
        "sts_multi_metrics and the others), then restart the receiver.",
    ),
    Fault(
        "kafka-blip",
        "system",
        "receiver",
        "Kafka refuses the receiver for 30 seconds (a broker restart) and comes back: the receiver "
        "logs producer failures, then nothing; the data flows again.",
        "A short gap in every push chart; the engineer wants to know whether it is over.",
        "Nothing to fix if it stays quiet; the points of those 30 seconds are lost. Look at the "
        "Kafka broker's log if it repeats.",
        expected_status="warn",
    ),
    Fault(
        "agent-rfc3339",
        "system",
        "",
        "Not a fault: the agent logs with log_format_rfc3339: true (dates like "
        "2024-05-14T09:52:04Z); every verdict must be the same as with the default layout.",
        "Nothing is wrong; the agent's log only looks different.",
        "Nothing to fix.",
        expected_status="pass",
    ),
    Fault(
        "kafka-down",
        "system",
        "receiver",
        "Kafka is down behind the receiver: the receiver accepts payloads but cannot produce "
        "them to sts_multi_metrics.",
        "All push integrations stop; the agents report successful posts.",
        "Bring Kafka back (pods, disk, broker logs); the receiver logs Kafka producer "
        "errors until it can produce again.",
    ),
    Fault(
        "mover-stopped",
        "system",
        "elasticsearch",
        "The Kafka-to-Elasticsearch mover (mm2es) stopped; its consumer group lag grows and "
        "the metric indices go stale.",
        "Every push integration's charts stop at the same moment while Kafka keeps filling.",
        "Restart mm2es and read its log for why it stopped; it resumes from its committed "
        "offsets.",
    ),
    Fault(
        "es-read-only",
        "system",
        "elasticsearch",
        "Elasticsearch hit the flood-stage disk watermark and put a read_only_allow_delete "
        "block on today's metric index; bulk writes get 429.",
        "All metrics stop at once; Elasticsearch answers reads normally.",
        "Free disk space, then lift the block (PUT <index>/_settings "
        '{"index.blocks.read_only_allow_delete": null}).',
    ),
    Fault(
        "field-limit",
        "mysql",
        "elasticsearch",
        "Today's index reached index.mapping.total_fields.limit; documents carrying a new "
        "mysql metric name are rejected.",
        "After a check upgrade added a metric, that integration's data stops; others flow.",
        "Raise index.mapping.total_fields.limit in the sts_multi_metrics index template "
        "(installations often use 5000) and look for metric names that embed ids.",
    ),
    Fault(
        "renamed-metric",
        "system",
        "streams",
        "An agent upgrade renamed system.cpu.iowait to system.cpu.io_wait; the stream's "
        "metric field matches nothing any more.",
        "One chart is empty while the host's other streams draw data.",
        "Edit the stream and pick the metric again with auto-complete.",
    ),
    Fault(
        "wrong-tag-value",
        "mysql",
        "streams",
        "The MySQL stream filters on tags.env = production; the data carries env:prod.",
        "A newly added stream never shows data; the integration itself is healthy.",
        "Correct the condition (use auto-complete: it offers the stored values).",
    ),
    Fault(
        "mirror-unreachable",
        "prometheus",
        "source",
        "The Prometheus mirror is down: StackState cannot reach it for the pull path.",
        "Prometheus streams show no data and Test Connection in the mirror source settings "
        "fails.",
        "Start the mirror and make its port reachable from StackState.",
    ),
    Fault(
        "mirror-store-error",
        "prometheus",
        "source",
        "The mirror runs but cannot reach Prometheus; it answers MetricStoreConnectionError.",
        "Test Connection reports a failure from the mirror; streams are empty.",
        "Fix the connection details JSON of the mirror source (Prometheus URL, "
        "credentials).",
    ),
    # --- StackState 6: receiver -> vmagent -> VictoriaMetrics -> metric bindings ---------
    Fault(
        "vmagent-down",
        "system",
        "receiver",
        "vmagent is down behind the receiver: the receiver's remote writes to it are refused.",
        "Every metric stops in SUSE Observability at once while the agents report successful "
        "posts; topology and events still arrive.",
        "Bring vmagent back (kubectl get pods | grep vmagent; its PVC, its memory limit); the "
        "receiver does not keep what it could not write, so the gap stays.",
        sts_version="6",
    ),
    Fault(
        "vm-unreachable",
        "system",
        "vmagent",
        "vmagent cannot reach VictoriaMetrics (wrong remote-write URL, network policy, pods "
        "down): it buffers on disk and its buffer grows.",
        "All charts stop at the same minute; vmagent is up and healthy, its disk fills.",
        "Make VictoriaMetrics reachable from vmagent on 8428 (pods, service, network policy); "
        "vmagent sends its buffer once it can, oldest first.",
        sts_version="6",
    ),
    Fault(
        "samples-too-old",
        "system",
        "victoriametrics",
        "The agent host's clock runs 45 days behind: VictoriaMetrics ignores the samples as "
        "older than its retention (vm_rows_ignored_total{reason=\"small_timestamp\"}).",
        "A host's metrics stop although the agent, the receiver and vmagent all report success.",
        "Fix NTP on the agent host; VictoriaMetrics never stores what it ignored.",
        sts_version="6",
    ),
    Fault(
        "binding-wrong-label",
        "mysql",
        "bindings",
        "The MySQL connections binding filters on env=\"production\"; the data carries env=prod.",
        "A newly added chart stays empty while the integration itself is healthy.",
        "Correct the matcher in the binding (sts settings apply -f); the metrics explorer "
        "offers the stored label values.",
        sts_version="6",
    ),
    Fault(
        "binding-unresolved-tag",
        "postgres",
        "bindings",
        "The PostgreSQL binding uses ${tags.database}; the component has a label db, not "
        "database, so StackState cannot fill it.",
        "The chart is empty on every PostgreSQL component; the inspector's query still shows "
        "${tags.database}.",
        "Use the component's label name in the binding (${tags.db}) or add the label.",
        sts_version="6",
    ),
    Fault(
        "binding-renamed-metric",
        "system",
        "bindings",
        "An agent upgrade renamed system.cpu.iowait to system.cpu.io_wait; the CPU iowait "
        "binding still queries system_cpu_iowait.",
        "One chart stopped at the upgrade while the host's other charts go on.",
        "Change the binding's metric to the new name (the metrics explorer lists it).",
        sts_version="6",
    ),
    Fault(
        "aws-credentials-expired",
        "aws",
        "source",
        "The AWS StackPack's credentials expired; the plugin's CloudWatch calls fail with "
        "ExpiredToken in the StackState server log and no aws.* data is stored any more.",
        "AWS charts stop; StackState's server log shows ExpiredToken errors.",
        "Renew the credentials (or the role) in the AWS StackPack instance.",
    ),
)

FAULTS: dict[str, Fault] = {f.name: f for f in _ALL}


def find(name: str) -> Fault:
    key = name.strip().lower()
    if key in FAULTS:
        return FAULTS[key]
    hint = did_you_mean(key, FAULTS, cutoff=0.5)
    raise UsageError(f"unknown fault {name!r}{hint} (see `stsdebug sandbox faults`)")


def resolve(names: list[str]) -> list[Fault]:
    """Faults by name, in catalog order, each once."""
    wanted = {find(n).name for n in names}
    return [f for f in _ALL if f.name in wanted]


def version_of(faults: list[Fault], wanted: str | None) -> str:
    """The StackState version of a sandbox with `faults`: the one asked for (5 or 6), else
    the faults' own, else 5. A fault of the other version is a UsageError."""
    versions = {f.sts_version for f in faults}
    if wanted in ("5", "6"):
        other = [f.name for f in faults if f.sts_version != wanted]
        if other:
            raise UsageError(f"fault {other[0]} breaks the StackState {_other(wanted)} sandbox, not the "
                             f"StackState {wanted} one (see `stsdebug sandbox faults`)")
        return wanted
    if wanted not in (None, "", "auto"):
        raise UsageError(f"--sts-version must be 5 or 6, not {wanted!r}")
    if len(versions) > 1:
        raise UsageError("these faults break different sandboxes (StackState 5 and 6): start one at a time")
    return versions.pop() if versions else "5"


def _other(version: str) -> str:
    return "6" if version == "5" else "5"
