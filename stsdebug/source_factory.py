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
from dataclasses import asdict, dataclass
from typing import Any

from stsdebug.errors import SourceError
from stsdebug.settings import Settings
from stsdebug.sources.agent import CMD_TIMEOUT_FACTOR, READ_TIMEOUT_FACTOR, AgentSource
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
from stsdebug.sources.prom_metrics import PromMetricsConfig, PromMetricsSource
from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig
from stsdebug.sources.topic_api import TopicApiSource


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
    # StackState 6: the query API (VictoriaMetrics itself, or StackState's /prometheus path)
    # and the /metrics pages of VictoriaMetrics, vmagent and the receiver.
    prometheus: PrometheusApiConfig | None = None
    vm_metrics: PromMetricsConfig | None = None
    vmagent_metrics: PromMetricsConfig | None = None
    receiver_metrics: PromMetricsConfig | None = None


def base_url(url: str) -> str:
    """A VictoriaMetrics or vmagent URL as given (``.../metrics``, ``.../api/v1``, ``.../health``
    or bare) reduced to its base, which serves ``/metrics`` and ``/health``."""
    base = url.split("?", 1)[0].rstrip("/")
    for suffix in ("/metrics", "/health", "/api/v1/write", "/api/v1"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def metrics_page(url: str) -> str:
    """The /metrics page of a base URL (a URL already naming a page is kept)."""
    return url if url.split("?", 1)[0].rstrip("/").endswith("/metrics") else base_url(url) + "/metrics"


def _prometheus(s: Settings, timeout: float) -> PrometheusApiConfig | None:
    """VictoriaMetrics itself when given (it has more to say), else StackState's query path."""
    if s.victoria_metrics:
        return PrometheusApiConfig(base_url(s.victoria_metrics), timeout=timeout, system="VictoriaMetrics")
    if s.prometheus_api:
        return PrometheusApiConfig(s.prometheus_api, s.prometheus_api_token, timeout=timeout,
                                   system="StackState Prometheus API")
    return None


def _page(url: str | None, timeout: float, system: str) -> PromMetricsConfig | None:
    return PromMetricsConfig(metrics_page(url), timeout=timeout, system=system) if url else None


def configs_from(s: Settings) -> SourceConfigs:
    timeout = float(s.timeout)
    return SourceConfigs(
        http=HttpConfig(timeout),
        logs=LogsConfig(tuple(s.receiver_log or ()), timeout, tuple(s.server_log or ())),
        agent=AgentConfig(s.agent_output, s.agent_log, s.agent_cmd, max(1.0, timeout * CMD_TIMEOUT_FACTOR),
                          max(1.0, timeout * READ_TIMEOUT_FACTOR)),
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
        prometheus=_prometheus(s, timeout),
        vm_metrics=_page(s.victoria_metrics, timeout, "VictoriaMetrics metrics page"),
        vmagent_metrics=_page(s.vmagent, timeout, "vmagent metrics page"),
        receiver_metrics=_page(s.receiver_metrics, timeout, "receiver metrics page"),
    )


@dataclass(frozen=True)
class Builder:
    """How one source is built: its class, called with its config's fields as keywords."""

    make: Callable[..., Any]
    config: Callable[[SourceConfigs], Any]
    missing: str = ""  # the sentence when the user gave nothing to build it from
    system: str = ""


# name -> builder; every config's field names are its source's keyword arguments
# (tests/unit/test_source_factory.py builds each one).
BUILDERS: dict[str, Builder] = {
    "http": Builder(HttpSource, lambda c: c.http),
    "logs": Builder(LogSource, lambda c: c.logs),
    "agent": Builder(AgentSource, lambda c: c.agent),
    "kafka": Builder(KafkaSource, lambda c: c.kafka, "No Kafka bootstrap address given (--kafka).", "Kafka"),
    "topic_api": Builder(
        TopicApiSource, lambda c: c.topic_api, "No StackState API URL given (--sts-api).", "StackState topic API"
    ),
    "es": Builder(ESSource, lambda c: c.es, "No Elasticsearch URL given (--es).", "elasticsearch"),
    "mirror": Builder(MirrorSource, lambda c: c.mirror, "No Prometheus mirror URL given (--mirror).", "Prometheus mirror"),
    "intake": Builder(
        IntakeSource, lambda c: c.intake, "No receiver URL given (--receiver): nothing was sent.", "StackState receiver"
    ),
    "prometheus": Builder(
        lambda **kw: PrometheusApi(PrometheusApiConfig(**kw)),
        lambda c: c.prometheus,
        "No VictoriaMetrics or StackState Prometheus API URL given (--victoria-metrics or --prometheus-api).",
        "Prometheus query API",
    ),
    "vm_metrics": Builder(
        lambda **kw: PromMetricsSource(PromMetricsConfig(**kw)),
        lambda c: c.vm_metrics,
        "No VictoriaMetrics URL given (--victoria-metrics); its own /metrics page is not served "
        "through the StackState API.",
        "VictoriaMetrics",
    ),
    "vmagent_metrics": Builder(
        lambda **kw: PromMetricsSource(PromMetricsConfig(**kw)),
        lambda c: c.vmagent_metrics,
        "No vmagent URL given (--vmagent).",
        "vmagent",
    ),
    "receiver_metrics": Builder(
        lambda **kw: PromMetricsSource(PromMetricsConfig(**kw)),
        lambda c: c.receiver_metrics,
        "No receiver metrics URL given (--receiver-metrics).",
        "StackState receiver metrics",
    ),
}


def build(name: str, configs: SourceConfigs) -> Any:
    """The source ``name``, built from its config; SourceError when it has none."""
    builder = BUILDERS[name]
    config = builder.config(configs)
    if config is None:
        raise SourceError(builder.missing, system=builder.system, cause="config")
    return builder.make(**asdict(config))


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
                self._made[name] = build(name, self.configs)
            return self._made[name]

    def close(self) -> None:
        with self._lock:
            made = list(self._made.values())
        for obj in made:
            close = getattr(obj, "close", None)
            if callable(close):
                # Closing must never fail a trace.
                with contextlib.suppress(Exception):
                    close()
