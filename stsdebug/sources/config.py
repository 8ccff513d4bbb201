"""What each source needs to be built: one small frozen config per source.

Sources never see Settings (an import contract holds that): ``stsdebug.source_factory``
fills these from Settings in one place, and each source is built from its own config.
A config is None in ``SourceConfigs`` when the user gave nothing to build it from.
"""

from __future__ import annotations

from dataclasses import dataclass

# `stackstate-agent check` starts the whole collector; give it more than one network call.
CMD_TIMEOUT_FACTOR = 3.0
# Reading stdin or a pipe ends here, within the agent stage's budget (BUDGET_CALLS = 5 timeouts).
READ_TIMEOUT_FACTOR = 4.0


@dataclass(frozen=True)
class HttpConfig:
    """Plain HTTP reads (receiver health)."""

    timeout: float


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap: str  # host:port[,host:port]
    timeout: float
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None


@dataclass(frozen=True)
class TopicApiConfig:
    base_url: str  # the StackState base URL or its /api URL
    token: str | None
    timeout: float


@dataclass(frozen=True)
class ESConfig:
    url: str
    timeout: float
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    ca_file: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MirrorConfig:
    base_url: str
    api_key: str | None
    timeout: float


@dataclass(frozen=True)
class IntakeConfig:
    """The receiver's intake API: the probe's only write."""

    receiver: str  # receiver base URL
    api_key: str | None
    timeout: float


@dataclass(frozen=True)
class LogsConfig:
    receiver_log: tuple[str, ...]  # files, directories of rotated logs, or "-" for stdin
    timeout: float
    server_log: tuple[str, ...] = ()  # the StackState server log, given the same ways


@dataclass(frozen=True)
class AgentConfig:
    output: str | None  # saved `stackstate-agent check` output
    log: str | None  # agent.log
    cmd: str | None  # a command to run (may start with `kubectl exec ... --`)
    cmd_timeout: float
    read_timeout: float | None = None  # stdin, a named pipe or a device: read for this long
