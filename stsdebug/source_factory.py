"""Settings → each source's typed config → the source, in one place.

``configs_from(settings)`` is the only code that reads Settings on behalf of a source;
``Sources`` builds each source lazily from its config (once per trace, shared by the
stages) and closes them all at the end. A source whose config is missing (the user gave
no URL for it) raises ``SourceError`` with one sentence saying which option to give.

Tests substitute any source by name: ``Sources(settings, {"kafka": fake})``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from stsdebug.errors import SourceError
from stsdebug.settings import Settings
from stsdebug.sources.agent import CMD_TIMEOUT_FACTOR, AgentSource
from stsdebug.sources.config import (
    AgentConfig,
    ESConfig,
    HttpConfig,
    IntakeConfig,
    KafkaConfig,
    LogsConfig,
    MirrorConfig,
    TopicApiConfig,
)
from stsdebug.sources.es import ESSource
from stsdebug.sources.http import HttpSource
from stsdebug.sources.intake import IntakeSource
from stsdebug.sources.kafka import KafkaSource
from stsdebug.sources.logs import LogSource
from stsdebug.sources.mirror import MirrorSource
from stsdebug.sources.topic_api import TopicApiSource

S = TypeVar("S")

@dataclass(frozen=True)
class SourceConfigs:
    http: HttpConfig
    logs: LogsConfig
    agent: AgentConfig
    kafka: KafkaConfig | None = None
    topic_api: TopicApiConfig | None = None
    es: ESConfig | None = None
    mirror: MirrorConfig | None = None
    intake: IntakeConfig | None = None


def configs_from(s: Settings) -> SourceConfigs:
    timeout = float(s.timeout)
    return SourceConfigs(
        http=HttpConfig(timeout),
        logs=LogsConfig(tuple(s.receiver_log or ()), timeout),
        agent=AgentConfig(s.agent_output, s.agent_log, s.agent_cmd, max(1.0, timeout * CMD_TIMEOUT_FACTOR)),
        kafka=KafkaConfig(
            s.kafka,
            timeout,
            s.kafka_security_protocol,
            s.kafka_sasl_mechanism,
            s.kafka_sasl_username,
            s.kafka_sasl_password,
            s.kafka_ssl_cafile,
        )
        if s.kafka
        else None,
        topic_api=TopicApiConfig(s.sts_api, s.sts_api_token, timeout) if s.sts_api else None,
        es=ESConfig(
            s.es, timeout, s.es_username, s.es_password, s.es_api_key, s.es_ca_file, s.es_insecure
        )
        if s.es
        else None,
        mirror=MirrorConfig(s.mirror, s.mirror_api_key, timeout) if s.mirror else None,
        intake=IntakeConfig(s.receiver, s.api_key, timeout) if s.receiver else None,
    )


def _needs(config: S | None, message: str, system: str) -> S:
    if config is None:
        raise SourceError(message, system=system, cause="config")
    return config


# name -> how to build that source from the configs
BUILDERS: dict[str, Callable[[SourceConfigs], Any]] = {
    "http": lambda c: HttpSource(timeout=c.http.timeout),
    "logs": lambda c: LogSource(list(c.logs.receiver_log), c.logs.timeout),
    "agent": lambda c: AgentSource(
        output=c.agent.output, log=c.agent.log, cmd=c.agent.cmd, cmd_timeout=c.agent.cmd_timeout
    ),
    "kafka": lambda c: KafkaSource.from_config(
        _needs(c.kafka, "No Kafka bootstrap address given (--kafka).", "Kafka")
    ),
    "topic_api": lambda c: TopicApiSource.from_config(
        _needs(c.topic_api, "No StackState API URL given (--sts-api).", "StackState topic API")
    ),
    "es": lambda c: ESSource.from_config(
        _needs(c.es, "No Elasticsearch URL given (--es).", "elasticsearch")
    ),
    "mirror": lambda c: MirrorSource.from_config(
        _needs(c.mirror, "No Prometheus mirror URL given (--mirror).", "Prometheus mirror")
    ),
    "intake": lambda c: IntakeSource.from_config(
        _needs(c.intake, "No receiver URL given (--receiver): nothing was sent.", "StackState receiver")
    ),
}


class Sources:
    """Lazily built I/O objects, one per kind, shared by all stages of a trace.

    ``overrides`` (name -> object) replace any of them, for tests.
    """

    def __init__(self, settings: Settings, overrides: Mapping[str, Any] | None = None) -> None:
        self.configs = configs_from(settings)
        self._made: dict[str, Any] = dict(overrides or {})
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        with self._lock:
            if name not in self._made:
                self._made[name] = BUILDERS[name](self.configs)
            return self._made[name]

    def http(self) -> HttpSource:
        return cast(HttpSource, self.get("http"))

    def logs(self) -> LogSource:
        return cast(LogSource, self.get("logs"))

    def agent(self) -> AgentSource:
        return cast(AgentSource, self.get("agent"))

    def kafka(self) -> KafkaSource:
        return cast(KafkaSource, self.get("kafka"))

    def topic_api(self) -> TopicApiSource:
        return cast(TopicApiSource, self.get("topic_api"))

    def es(self) -> ESSource:
        return cast(ESSource, self.get("es"))

    def mirror(self) -> MirrorSource:
        return cast(MirrorSource, self.get("mirror"))

    def intake(self) -> IntakeSource:
        return cast(IntakeSource, self.get("intake"))

    def close(self) -> None:
        with self._lock:
            made = list(self._made.values())
        for obj in made:
            close = getattr(obj, "close", None)
            if callable(close):
                # Closing must never fail a trace.
                with contextlib.suppress(Exception):
                    close()
