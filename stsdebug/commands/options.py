"""The command-line options, declared once.

Each option is a typed ``Annotated`` alias (its flag, metavar, help and the ``--help`` panel it
shows in). ``CheckOptions`` lists the options that say what a trace looks at; ``check``,
``tui`` and ``bundle`` take every one of them through ``@with_check_options``, and ``demo``
uses the aliases that make sense for a sandbox. Adding a check option is one alias and one
field here; every command that traces gets it, and Settings gets it under the field's name.

No value has a default here: None means "not given", so the environment, a profile and
then Settings' own defaults decide (see ``stsdebug.settings.resolve``).
"""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Concatenate, Optional, ParamSpec, TypeVar

import typer

from stsdebug.render.output import Format

# --- panels of --help, in the order they show ------------------------------------------------
TARGET = "Target"
AGENT = "Agent"
RECEIVER = "Receiver"
KAFKA = "Kafka"
ELASTICSEARCH = "Elasticsearch"
STREAMS = "Streams"
PULL = "Pull sources"
STS6 = "StackState 6"
PROBE = "Probe"
OUTPUT = "Output"

FLAG = ""  # the metavar of an on/off flag: nothing after it in --help


class FailOn(str, Enum):
    fail = "fail"
    warn = "warn"


class TextOrJson(str, Enum):
    """Output of the listing commands (validate, integrations, sandbox)."""

    text = "text"
    json = "json"


def _opt(*decls: str, metavar: str | None, panel: str, help: str, **more: Any) -> Any:
    return typer.Option(*decls, metavar=metavar, rich_help_panel=panel, help=help, **more)


def integration_names(incomplete: str) -> list[str]:
    """Shell completion of --integration: the catalog's names."""
    from stsdebug.integrations import load_catalog

    return [name for name in load_catalog() if name.startswith(incomplete.lower())]


# --- target --------------------------------------------------------------------------------
IntegrationOpt = Annotated[Optional[str], _opt("--integration", "-i", metavar="NAME", panel=TARGET, help="Integration to trace (see `stsdebug integrations`).", autocompletion=integration_names)]
MetricPrefixOpt = Annotated[Optional[list[str]], _opt("--metric-prefix", metavar="PREFIX", panel=TARGET, help="Metric name prefix identifying the data (overrides the catalog). Repeatable.")]
HostOpt = Annotated[Optional[list[str]], _opt("--host", metavar="HOST", panel=TARGET, help="Only records from this host. Repeatable.")]
CheckOpt = Annotated[Optional[list[str]], _opt("--check", metavar="CHECK", panel=TARGET, help="Agent check that produces the data (a custom check too). Repeatable.")]
KindOpt = Annotated[Optional[str], _opt("--kind", metavar="push|pull", panel=TARGET, help="Trace as push or pull, for an integration that exists both ways (splunk). Default: push when agent, receiver or Kafka input is given.")]
TagOpt = Annotated[Optional[list[str]], _opt("--tag", metavar="KEY:VALUE", panel=TARGET, help="Only records with this tag. Repeatable.")]
ProfileOpt = Annotated[Optional[str], _opt("--profile", metavar="NAME", panel=TARGET, help="Profile in the config file (`sandbox`: the one `stsdebug sandbox up` wrote).")]
ConfigOpt = Annotated[Optional[str], _opt("--config", metavar="FILE", panel=TARGET, help="Config file (TOML). Default: config.toml in the user config dir.")]
WindowOpt = Annotated[Optional[str], _opt("--window", metavar="DURATION", panel=TARGET, help="How far back to look: 30s, 15m, 2h, 1d (at most 30d). Default 15m.")]
TimeoutOpt = Annotated[Optional[float], _opt("--timeout", metavar="SECONDS", panel=TARGET, help="Seconds allowed for each network call. Default 10.")]

# --- agent ---------------------------------------------------------------------------------
AgentOutputOpt = Annotated[Optional[str], _opt("--agent-output", metavar="FILE|-", panel=AGENT, help="Saved output of `stackstate-agent check NAME -l debug` (or `status`); - for stdin.")]
AgentLogOpt = Annotated[Optional[str], _opt("--agent-log", metavar="FILE|-", panel=AGENT, help="StackState Agent log (agent.log); - for stdin.")]
AgentCmdOpt = Annotated[Optional[str], _opt("--agent-cmd", metavar="COMMAND", panel=AGENT, help="Run the agent check command (may start with `kubectl exec ... --`).")]

# --- receiver ------------------------------------------------------------------------------
ReceiverLogOpt = Annotated[Optional[list[str]], _opt("--receiver-log", metavar="PATH|-", panel=RECEIVER, help="Receiver log file, directory of rotated logs, or - for stdin. Repeatable.")]
ReceiverOpt = Annotated[Optional[str], _opt("--receiver", metavar="URL", panel=RECEIVER, help="Receiver base URL, e.g. https://host:7077.")]
ReceiverHealthOpt = Annotated[Optional[str], _opt("--receiver-health", metavar="URL", panel=RECEIVER, help="Receiver health URL if not RECEIVER/health (Kubernetes: :1618/readiness).")]
ApiKeyEnvOpt = Annotated[Optional[str], _opt("--api-key-env", metavar="VAR", panel=RECEIVER, help="Environment variable holding the receiver API key.")]
ApiKeyFileOpt = Annotated[Optional[str], _opt("--api-key-file", metavar="FILE", panel=RECEIVER, help="File holding the receiver API key.")]

# --- kafka ---------------------------------------------------------------------------------
KafkaOpt = Annotated[Optional[str], _opt("--kafka", metavar="HOST:PORT", panel=KAFKA, help="Kafka bootstrap servers; several separated by commas.")]
TopicOpt = Annotated[Optional[str], _opt("--topic", metavar="TOPIC", panel=KAFKA, help="Topic carrying metrics. Default sts_multi_metrics.")]
Mm2esGroupOpt = Annotated[Optional[str], _opt("--mm2es-group", metavar="GROUP", panel=KAFKA, help="Consumer group of the Kafka-to-Elasticsearch mover (discovered if not given).")]
Mm2esCommitIntervalOpt = Annotated[Optional[float], _opt("--mm2es-commit-interval", metavar="SECONDS", panel=KAFKA, help="How often the mover commits its offsets. Default 5 (the Kafka consumer's auto-commit default).")]
KafkaSecurityProtocolOpt = Annotated[Optional[str], _opt("--kafka-security-protocol", metavar="PROTOCOL", panel=KAFKA, help="PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL.")]
KafkaSaslMechanismOpt = Annotated[Optional[str], _opt("--kafka-sasl-mechanism", metavar="MECHANISM", panel=KAFKA, help="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.")]
KafkaSaslUsernameOpt = Annotated[Optional[str], _opt("--kafka-sasl-username", metavar="USER", panel=KAFKA, help="SASL user name.")]
KafkaSaslPasswordEnvOpt = Annotated[Optional[str], _opt("--kafka-sasl-password-env", metavar="VAR", panel=KAFKA, help="Environment variable holding the SASL password.")]
KafkaSslCafileOpt = Annotated[Optional[str], _opt("--kafka-ssl-cafile", metavar="FILE", panel=KAFKA, help="CA file for Kafka TLS.")]
StsApiOpt = Annotated[Optional[str], _opt("--sts-api", metavar="URL", panel=KAFKA, help="StackState API base URL: reads the topic through the topic API when Kafka is not reachable.")]
StsApiTokenEnvOpt = Annotated[Optional[str], _opt("--sts-api-token-env", metavar="VAR", panel=KAFKA, help="Environment variable holding the StackState API token.")]

# --- elasticsearch -------------------------------------------------------------------------
EsOpt = Annotated[Optional[str], _opt("--es", metavar="URL", panel=ELASTICSEARCH, help="Elasticsearch URL.")]
IndexPatternOpt = Annotated[Optional[str], _opt("--index-pattern", metavar="PATTERN", panel=ELASTICSEARCH, help="Metric indices. Default sts_multi_metrics-*.")]
EsLayoutOpt = Annotated[Optional[str], _opt("--es-layout", metavar="multi|single", panel=ELASTICSEARCH, help="Document layout (detected from the mapping if not given).")]
EsUsernameOpt = Annotated[Optional[str], _opt("--es-username", metavar="USER", panel=ELASTICSEARCH, help="Elasticsearch user (basic auth).")]
EsPasswordEnvOpt = Annotated[Optional[str], _opt("--es-password-env", metavar="VAR", panel=ELASTICSEARCH, help="Environment variable holding the Elasticsearch password.")]
EsApiKeyEnvOpt = Annotated[Optional[str], _opt("--es-api-key-env", metavar="VAR", panel=ELASTICSEARCH, help="Environment variable holding an Elasticsearch API key.")]
EsCaFileOpt = Annotated[Optional[str], _opt("--es-ca-file", metavar="FILE", panel=ELASTICSEARCH, help="CA file for Elasticsearch TLS.")]
EsInsecureOpt = Annotated[Optional[bool], typer.Option("--es-insecure", metavar=FLAG, rich_help_panel=ELASTICSEARCH, help="Do not verify the Elasticsearch TLS certificate.")]

# --- streams -------------------------------------------------------------------------------
StreamOpt = Annotated[Optional[list[str]], _opt("--stream", metavar="FILTER", panel=STREAMS, help="A telemetry stream filter: 'KEY=VALUE,...,metric=FIELD'. Repeatable.")]
StreamsFileOpt = Annotated[Optional[str], _opt("--streams-file", metavar="FILE", panel=STREAMS, help="YAML or JSON list of streams {name, conditions, metric}.")]

# --- StackState 6 / SUSE Observability ----------------------------------------------------
StsVersionOpt = Annotated[Optional[str], _opt("--sts-version", metavar="5|6|auto", panel=TARGET, help="StackState version of the target: 5 (Kafka, Elasticsearch, streams), 6 (vmagent, VictoriaMetrics, metric bindings) or auto (default: 6 only when a StackState 6 endpoint is given or answers).")]
ReceiverMetricsOpt = Annotated[Optional[str], _opt("--receiver-metrics", metavar="URL", panel=RECEIVER, help="StackState 6: the receiver's own metrics page, e.g. http://receiver:9404/metrics.")]
VictoriaMetricsOpt = Annotated[Optional[str], _opt("--victoria-metrics", metavar="URL", panel=STS6, help="VictoriaMetrics base URL, e.g. http://suse-observability-victoriametrics:8428.")]
VmagentOpt = Annotated[Optional[str], _opt("--vmagent", metavar="URL", panel=STS6, help="vmagent base URL, e.g. http://suse-observability-vmagent:8429.")]
PrometheusApiOpt = Annotated[Optional[str], _opt("--prometheus-api", metavar="URL", panel=STS6, help="StackState's Prometheus-compatible query path, e.g. https://HOST/prometheus (when the pods cannot be reached).")]
PrometheusApiTokenEnvOpt = Annotated[Optional[str], _opt("--prometheus-api-token-env", metavar="VAR", panel=STS6, help="Environment variable holding the service token for --prometheus-api (sent as X-API-Key).")]
ScrapeIntervalOpt = Annotated[Optional[float], _opt("--scrape-interval", metavar="SECONDS", panel=STS6, help="Seconds between the two scrapes of each /metrics page (rates, not totals). Default 5.")]
BindingOpt = Annotated[Optional[list[str]], _opt("--binding", metavar="QUERY", panel=STS6, help="A metric binding's PromQL query to explain, ${tags.*} placeholders and all. Repeatable.")]
BindingsFileOpt = Annotated[Optional[str], _opt("--bindings-file", metavar="FILE", panel=STS6, help="MetricBinding (or ComponentPresentation) nodes as STY/YAML or JSON, e.g. from `sts settings describe --type MetricBinding`.")]
ComponentTagOpt = Annotated[Optional[list[str]], _opt("--component-tag", metavar="KEY=VALUE", panel=STS6, help="A label of the component the binding is shown for: fills ${tags.KEY}. Repeatable.")]
ComponentNameOpt = Annotated[Optional[str], _opt("--component-name", metavar="NAME", panel=STS6, help="The component's name: fills ${name}.")]

# --- pull sources --------------------------------------------------------------------------
MirrorOpt = Annotated[Optional[str], _opt("--mirror", metavar="URL", panel=PULL, help="Prometheus mirror base URL.")]
ServerLogOpt = Annotated[Optional[list[str]], _opt("--server-log", metavar="PATH|-", panel=PULL, help="StackState server log (file, directory of rotated logs, or - for stdin): the pull plugins' errors. Repeatable.")]
MirrorApiKeyEnvOpt = Annotated[Optional[str], _opt("--mirror-api-key-env", metavar="VAR", panel=PULL, help="Environment variable holding the mirror API key.")]

# --- probe ---------------------------------------------------------------------------------
ProbeOpt = Annotated[Optional[bool], typer.Option("--probe", metavar=FLAG, rich_help_panel=PROBE, help="Send one marked metric through the receiver and follow it (writes!).")]
ProbeHostOpt = Annotated[Optional[str], _opt("--probe-host", metavar="HOST", panel=PROBE, help="Host name the probe metric carries.")]
ProbeTimeoutOpt = Annotated[Optional[float], _opt("--probe-timeout", metavar="SECONDS", panel=PROBE, help="Seconds the probe waits at each hop. Default 30.")]

# --- output (the commands' own options; shared where commands share them) -------------------
FormatOpt = Annotated[Format, typer.Option("--format", "-f", metavar="text|json|junit", rich_help_panel=OUTPUT, help="Output format.")]
OutputOpt = Annotated[Optional[str], _opt("--output", "-o", metavar="FILE", panel=OUTPUT, help="Write the output to this file instead of stdout.")]
HtmlOpt = Annotated[Optional[str], _opt("--html", metavar="FILE", panel=OUTPUT, help="Also write a self-contained HTML report.")]
TemplateDirOpt = Annotated[Optional[str], _opt("--template-dir", metavar="DIR", panel=OUTPUT, help="Directory of Jinja2 templates overriding the built-in report.")]
FailOnOpt = Annotated[Optional[FailOn], typer.Option("--fail-on", metavar="fail|warn", rich_help_panel=OUTPUT, help="Exit 1 on a failure (default) or on a warning too.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", metavar=FLAG, rich_help_panel=OUTPUT, help="Show evidence of passing stages too.")]
TextOrJsonOpt = Annotated[TextOrJson, typer.Option("--format", "-f", metavar="text|json", help="Output format.")]


@dataclasses.dataclass(frozen=True)
class CheckOptions:
    """What a trace looks at, as given on the command line (None: not given)."""

    integration: IntegrationOpt = None
    metric_prefix: MetricPrefixOpt = None
    host: HostOpt = None
    tag: TagOpt = None
    check: CheckOpt = None
    kind: KindOpt = None
    profile: ProfileOpt = None
    config: ConfigOpt = None
    window: WindowOpt = None
    timeout: TimeoutOpt = None
    agent_output: AgentOutputOpt = None
    agent_log: AgentLogOpt = None
    agent_cmd: AgentCmdOpt = None
    receiver_log: ReceiverLogOpt = None
    receiver: ReceiverOpt = None
    receiver_health: ReceiverHealthOpt = None
    api_key_env: ApiKeyEnvOpt = None
    api_key_file: ApiKeyFileOpt = None
    kafka: KafkaOpt = None
    topic: TopicOpt = None
    mm2es_group: Mm2esGroupOpt = None
    mm2es_commit_interval: Mm2esCommitIntervalOpt = None
    kafka_security_protocol: KafkaSecurityProtocolOpt = None
    kafka_sasl_mechanism: KafkaSaslMechanismOpt = None
    kafka_sasl_username: KafkaSaslUsernameOpt = None
    kafka_sasl_password_env: KafkaSaslPasswordEnvOpt = None
    kafka_ssl_cafile: KafkaSslCafileOpt = None
    sts_api: StsApiOpt = None
    sts_api_token_env: StsApiTokenEnvOpt = None
    es: EsOpt = None
    index_pattern: IndexPatternOpt = None
    es_layout: EsLayoutOpt = None
    es_username: EsUsernameOpt = None
    es_password_env: EsPasswordEnvOpt = None
    es_api_key_env: EsApiKeyEnvOpt = None
    es_ca_file: EsCaFileOpt = None
    es_insecure: EsInsecureOpt = None
    stream: StreamOpt = None
    streams_file: StreamsFileOpt = None
    mirror: MirrorOpt = None
    mirror_api_key_env: MirrorApiKeyEnvOpt = None
    server_log: ServerLogOpt = None
    sts_version: StsVersionOpt = None
    receiver_metrics: ReceiverMetricsOpt = None
    victoria_metrics: VictoriaMetricsOpt = None
    vmagent: VmagentOpt = None
    prometheus_api: PrometheusApiOpt = None
    prometheus_api_token_env: PrometheusApiTokenEnvOpt = None
    scrape_interval: ScrapeIntervalOpt = None
    binding: BindingOpt = None
    bindings_file: BindingsFileOpt = None
    component_tag: ComponentTagOpt = None
    component_name: ComponentNameOpt = None
    probe: ProbeOpt = None
    probe_host: ProbeHostOpt = None
    probe_timeout: ProbeTimeoutOpt = None

    def given(self) -> list[str]:
        """The options given, as their flags (``--es``), in declaration order."""
        return [_flag(f.name) for f in dataclasses.fields(self) if _is_given(getattr(self, f.name))]

    def flags(self) -> dict[str, Any]:
        """The values for ``settings.resolve``, named as Settings names them."""
        return {_SETTING.get(f.name, f.name): getattr(self, f.name) for f in dataclasses.fields(self)}


# Renamed on the way into Settings (flags named *_env / *_file are resolved there).
_SETTING = {"stream": "streams", "binding": "bindings"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _is_given(value: object) -> bool:
    return value is not None and value != [] and value != ()


def check_parameters() -> list[inspect.Parameter]:
    """CheckOptions' fields as the keyword parameters typer reads (the alias is the annotation)."""
    hints = typing.get_type_hints(CheckOptions, include_extras=True)
    return [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
        for f in dataclasses.fields(CheckOptions)
    ]


P = ParamSpec("P")
R = TypeVar("R")


def with_check_options(command: Callable[Concatenate[CheckOptions, P], R]) -> Callable[P, R]:
    """Give ``command`` every check option; it receives them as one ``CheckOptions``.

    ``command`` takes the CheckOptions first and its own options after. Typer sees the
    check options (each field's alias) followed by the command's own, so ``--help`` lists
    them panel by panel.
    """
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in list(inspect.signature(command).parameters.values())[1:]
    ]
    shared = check_parameters()
    names = [p.name for p in shared]
    if clash := {p.name for p in own} & set(names):
        raise TypeError(f"{command.__name__} declares check options of its own: {sorted(clash)}")

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        given: dict[str, Any] = {name: kwargs.pop(name) for name in names}
        return command(CheckOptions(**given), *args, **kwargs)

    signature = inspect.Signature([*shared, *own])
    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    return run
