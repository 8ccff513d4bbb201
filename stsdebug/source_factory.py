"""Settings → each source's typed config → the source, in one place.

``configs_from(settings)`` is the only code that reads Settings on behalf of a source;
``Sources`` builds each source lazily from its config (once per trace, shared by the
stages) and closes them all at the end. A source whose config is missing (the user gave
no URL for it) raises ``SourceError`` with one sentence saying which option to give.

Tests substitute any source by name: ``Sources(settings, {"kafka": fake})``.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from stsdebug.errors import SourceError
from stsdebug.settings import Settings
from stsdebug.sources.config import (
    CMD_TIMEOUT_FACTOR,
    READ_TIMEOUT_FACTOR,
    AgentConfig,
    ESConfig,
    HttpConfig,
    IntakeConfig,
    KafkaConfig,
    LogsConfig,
    MirrorConfig,
    TopicApiConfig,
)

if TYPE_CHECKING:  # StackState 6 sources (and httpx) load only when a v6 endpoint is given
    from stsdebug.sources.prom_metrics import PromMetricsConfig
    from stsdebug.sources.prometheus_api import PrometheusApiConfig


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
    if not (s.victoria_metrics or s.prometheus_api):
        return None
    from stsdebug.sources.prometheus_api import PrometheusApiConfig

    if s.victoria_metrics:
        return PrometheusApiConfig(base_url(s.victoria_metrics), timeout=timeout, system="VictoriaMetrics")
    if s.prometheus_api:
        return PrometheusApiConfig(s.prometheus_api, s.prometheus_api_token, timeout=timeout,
                                   system="StackState Prometheus API")
    return None


def _page(url: str | None, timeout: float, system: str) -> PromMetricsConfig | None:
    if not url:
        return None
    from stsdebug.sources.prom_metrics import PromMetricsConfig

    return PromMetricsConfig(metrics_page(url), timeout=timeout, system=system)


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


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """A source class imported when the first source of its kind is built: a check that
    reads only a log does not load the Kafka, Elasticsearch and HTTP clients."""

    def make(**kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(**kwargs)

    make.__qualname__ = name
    return make


def _wrapped(module: str, name: str, config: str) -> Callable[..., Any]:
    """As ``_lazy``, for a source that takes its config whole (the StackState 6 sources)."""

    def make(**kwargs: Any) -> Any:
        mod = importlib.import_module(module)
        return getattr(mod, name)(getattr(mod, config)(**kwargs))

    make.__qualname__ = name
    return make


# name -> builder; every config's field names are its source's keyword arguments
# (tests/unit/test_source_factory.py builds each one).
BUILDERS: dict[str, Builder] = {
    "http": Builder(_lazy("stsdebug.sources.http", "HttpSource"), lambda c: c.http),
    "logs": Builder(_lazy("stsdebug.sources.logs", "LogSource"), lambda c: c.logs),
    "agent": Builder(_lazy("stsdebug.sources.agent", "AgentSource"), lambda c: c.agent),
    "kafka": Builder(_lazy("stsdebug.sources.kafka", "KafkaSource"), lambda c: c.kafka, "No Kafka bootstrap address given (--kafka).", "Kafka"),
    "topic_api": Builder(_lazy("stsdebug.sources.topic_api", "TopicApiSource"), lambda c: c.topic_api, "No StackState API URL given (--sts-api).", "StackState topic API"
    ),
    "es": Builder(_lazy("stsdebug.sources.es", "ESSource"), lambda c: c.es, "No Elasticsearch URL given (--es).", "elasticsearch"),
    "mirror": Builder(_lazy("stsdebug.sources.mirror", "MirrorSource"), lambda c: c.mirror, "No Prometheus mirror URL given (--mirror).", "Prometheus mirror"),
    "intake": Builder(_lazy("stsdebug.sources.intake", "IntakeSource"), lambda c: c.intake, "No receiver URL given (--receiver): nothing was sent.", "StackState receiver"
    ),
    "prometheus": Builder(
        _wrapped("stsdebug.sources.prometheus_api", "PrometheusApi", "PrometheusApiConfig"),
        lambda c: c.prometheus,
        "No VictoriaMetrics or StackState Prometheus API URL given (--victoria-metrics or --prometheus-api).",
        "Prometheus query API",
    ),
    "vm_metrics": Builder(
        _wrapped("stsdebug.sources.prom_metrics", "PromMetricsSource", "PromMetricsConfig"),
        lambda c: c.vm_metrics,
        "No VictoriaMetrics URL given (--victoria-metrics); its own /metrics page is not served "
        "through the StackState API.",
        "VictoriaMetrics",
    ),
    "vmagent_metrics": Builder(
        _wrapped("stsdebug.sources.prom_metrics", "PromMetricsSource", "PromMetricsConfig"),
        lambda c: c.vmagent_metrics,
        "No vmagent URL given (--vmagent).",
        "vmagent",
    ),
    "receiver_metrics": Builder(
        _wrapped("stsdebug.sources.prom_metrics", "PromMetricsSource", "PromMetricsConfig"),
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
