"""The one factory from Settings to typed source configs, and the typed accessors on the context."""

from __future__ import annotations

import dataclasses

import pytest

from stsdebug.errors import SourceError
from stsdebug.integrations import Matcher, find
from stsdebug.model import Window
from stsdebug.settings import Settings
from stsdebug.source_factory import BUILDERS, Sources, build, configs_from
from stsdebug.sources.config import ESConfig, KafkaConfig
from stsdebug.sources.es import ESSource
from stsdebug.sources.kafka import KafkaSource
from stsdebug.stages.base import Context

EVERYTHING = Settings(
    integration="mysql",
    agent_output="out.txt",
    agent_log="agent.log",
    receiver_log=["receiver.log"],
    receiver="http://127.0.0.1:7077",
    api_key="k3y-value",
    sts_api="http://127.0.0.1:7070",
    sts_api_token="t0ken-value",
    kafka="127.0.0.1:9092",
    kafka_security_protocol="SASL_PLAINTEXT",
    kafka_sasl_mechanism="SCRAM-SHA-256",
    kafka_sasl_username="u",
    kafka_sasl_password="pw",
    es="http://127.0.0.1:9200",
    es_username="elastic",
    es_password="es-pw",
    mirror="http://127.0.0.1:9900",
    mirror_api_key="m-key",
    victoria_metrics="http://127.0.0.1:8428",
    vmagent="http://127.0.0.1:8429",
    receiver_metrics="http://127.0.0.1:9404/metrics",
    timeout=4.0,
)


def test_configs_carry_exactly_what_each_source_needs() -> None:
    c = configs_from(EVERYTHING)
    assert c.kafka == KafkaConfig("127.0.0.1:9092", 4.0, "SASL_PLAINTEXT", "SCRAM-SHA-256", "u", "pw", None)
    assert c.es == ESConfig("http://127.0.0.1:9200", 4.0, "elastic", "es-pw", None, None, False)
    assert c.intake is not None and (c.intake.receiver, c.intake.api_key) == ("http://127.0.0.1:7077", "k3y-value")
    assert c.logs.receiver_log == ("receiver.log",)
    assert c.agent.cmd_timeout > c.http.timeout  # the agent command may be kubectl exec
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.kafka.timeout = 1.0  # type: ignore[misc]


def test_every_source_is_built_from_its_config_without_touching_the_network() -> None:
    configs = configs_from(EVERYTHING)
    for name in BUILDERS:
        source = build(name, configs)
        assert source is not None
        close = getattr(source, "close", None)
        if callable(close):
            close()
    kafka = build("kafka", configs)
    assert isinstance(kafka, KafkaSource) and (kafka.mechanism, kafka.username) == ("SCRAM-SHA-256", "u")


@pytest.mark.parametrize(
    "name, words",
    [
        ("kafka", "No Kafka bootstrap address given (--kafka)."),
        ("topic_api", "No StackState API URL given (--sts-api)."),
        ("es", "No Elasticsearch URL given (--es)."),
        ("mirror", "No Prometheus mirror URL given (--mirror)."),
        ("intake", "No receiver URL given (--receiver)"),
    ],
)
def test_a_source_without_its_setting_is_one_sentence(name: str, words: str) -> None:
    with pytest.raises(SourceError) as err:
        Sources(Settings()).get(name)
    assert str(err.value).startswith(words) and err.value.cause == "config"


def _ctx(settings: Settings, sources: Sources) -> Context:
    integ = find("mysql")
    return Context(settings, integ, Matcher.build(integ), Window(0.0, 900.0, "15m"), 900.0, sources)


def test_accessors_are_typed_lazy_shared_and_substitutable() -> None:
    fake = object()
    sources = Sources(EVERYTHING, {"kafka": fake})
    ctx = _ctx(EVERYTHING, sources)
    assert ctx.kafka is fake
    es = ctx.es
    assert isinstance(es, ESSource) and ctx.es is es  # built once, shared by every stage
    assert Context.kafka.name == "kafka"  # on the class, the accessor itself


def test_close_closes_everything_built_and_never_fails() -> None:
    closed: list[str] = []

    class Closing:
        def __init__(self, name: str, fail: bool = False) -> None:
            self.name, self.fail = name, fail

        def close(self) -> None:
            closed.append(self.name)
            if self.fail:
                raise RuntimeError("boom")

    sources = Sources(Settings(), {"kafka": Closing("kafka", fail=True), "es": Closing("es")})
    sources.close()
    assert sorted(closed) == ["es", "kafka"]
