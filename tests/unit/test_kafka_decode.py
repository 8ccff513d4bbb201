"""Pure parts of the Kafka and topic-API sources: decoding, timestamps, settings, URLs."""

from __future__ import annotations

import bisect
import errno
import json
from collections.abc import Callable

import pytest

from stsdebug.errors import SourceError
from stsdebug.sources.errors import cannot_reach
from stsdebug.sources.kafka import KafkaSource
from stsdebug.sources.kafka_preflight import parse_bootstrap
from stsdebug.sources.topic import Record, decode_value, epoch_seconds, search_offset
from stsdebug.sources.topic_api import TopicApiSource, _messages


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (1_700_000_000, 1_700_000_000.0),
        (1_700_000_000_123, 1_700_000_000.123),
        (1_700_000_000_123_456, 1_700_000_000.123456),
        (1_700_000_000_123_456_789, 1_700_000_000.123456789),
        ("1700000000123", 1_700_000_000.123),
        (1_700_000_000.5, 1_700_000_000.5),
    ],
)
def test_epoch_seconds_tells_units_apart(raw: object, seconds: float) -> None:
    assert epoch_seconds(raw) == pytest.approx(seconds)


@pytest.mark.parametrize("raw", [None, True, -5, 0, "soon", float("nan"), [1]])
def test_epoch_seconds_refuses_what_is_not_a_time(raw: object) -> None:
    assert epoch_seconds(raw) is None


MM = {
    "name": "convertedMetric",
    "host": "db1",
    "tags": {"env": "prod"},
    "labels": ["env:staging", "team:dba"],
    "values": {"mysql.q": 1.0, "mysql.c": 2.0},
    "timestamp": 1_700_000_000_000,
}


@pytest.mark.parametrize(
    "value",
    [
        json.dumps({"MultiMetric": MM}).encode(),
        json.dumps(MM).encode(),
        json.dumps({"multiMetric": MM}),
        {"MultiMetric": MM},
        MM,
    ],
)
def test_decode_with_or_without_the_wrapper(value: object) -> None:
    mm = decode_value(value)
    assert mm is not None
    assert mm.metrics == ["mysql.q", "mysql.c"]
    assert mm.host == "db1"
    assert mm.tags == {"env": "prod", "team": "dba"}  # explicit tags win over labels
    assert mm.name == "convertedMetric"
    assert mm.timestamp == 1_700_000_000.0


@pytest.mark.parametrize(
    "value",
    [b"\x0a\x08binary", b"not json", b"[1,2]", b'"text"', b'{"MultiMetric": {"host": "x"}}', None, 42,
     b"\xff\xfe{}"],
)
def test_decode_refuses_what_is_not_a_multimetric(value: object) -> None:
    assert decode_value(value) is None


def test_decode_single_metric_and_tag_lists() -> None:
    mm = decode_value({"metric": "system.cpu", "value": 1, "host": 7, "tags": ["a:b", "plain"], "timestamp": "x"})
    assert mm is not None
    assert mm.metrics == ["system.cpu"]
    assert mm.host is None  # not a string
    assert mm.tags == {"a": "b"}
    assert mm.timestamp is None


def test_parse_bootstrap() -> None:
    assert parse_bootstrap("h1:9093, h2 ,[::1]:9094,SASL_SSL://h3:1") == [
        ("h1", 9093), ("h2", 9092), ("::1", 9094), ("h3", 1),
    ]
    for bad in ("", " , ", "h:0", "h:70000", "h:x", ":9092"):
        with pytest.raises(SourceError) as err:
            parse_bootstrap(bad)
        assert err.value.cause == "config"


def test_security_settings() -> None:
    src = KafkaSource("h:1", sasl_mechanism="scram-sha-512", sasl_username="u", sasl_password="p")
    assert (src.protocol, src.mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
    src = KafkaSource("h:1", security_protocol="SSL", sasl_mechanism="PLAIN", sasl_username="u", sasl_password="p")
    assert src.protocol == "SASL_SSL"
    assert KafkaSource("h:1", security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p").mechanism == "PLAIN"
    with pytest.raises(SourceError, match="needs a user name and a password"):
        KafkaSource("h:1", security_protocol="SASL_SSL", sasl_mechanism="PLAIN")
    with pytest.raises(SourceError, match="is not one of PLAINTEXT, SSL"):
        KafkaSource("h:1", security_protocol="TLS")
    with pytest.raises(SourceError, match="The Kafka CA file /no/such.pem cannot be used"):
        KafkaSource("h:1", security_protocol="SSL", ssl_cafile="/no/such.pem")


def test_unreachable_networks_are_named() -> None:
    # No loopback address can produce ENETUNREACH/EHOSTUNREACH, and tests may not leave
    # loopback, so the classification is checked on the errno itself.
    for code, words in ((errno.ENETUNREACH, "network is unreachable"), (errno.EHOSTUNREACH, "no route to host")):
        err = cannot_reach(OSError(code, __import__("os").strerror(code)), system="Kafka", what="Kafka",
                           where="10.0.0.1:9092")
        assert err.cause == "unreachable"
        assert str(err) == f"Cannot connect to Kafka at 10.0.0.1:9092: {words}."
    refused = cannot_reach(OSError(errno.ECONNREFUSED, "Connection refused"), system="Kafka", what="Kafka",
                           where="h:1")
    assert refused.cause == "refused"


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("https://sts.example.com", "https://sts.example.com/api"),
        ("https://sts.example.com/", "https://sts.example.com/api"),
        ("https://sts.example.com/api", "https://sts.example.com/api"),
        ("http://127.0.0.1:7070/stackstate/api/", "http://127.0.0.1:7070/stackstate/api"),
    ],
)
def test_topic_api_base_url(given: str, base: str) -> None:
    assert TopicApiSource(given).base == base


def test_topic_api_refuses_urls_that_are_not_http() -> None:
    with pytest.raises(SourceError, match="is not an http:// or https:// URL"):
        TopicApiSource("ftp://sts")


def test_topic_api_listing_shape() -> None:
    ok = {"messages": [{"key": None, "partition": 0, "offset": 3, "message": {}}]}
    assert _messages(ok, "u") == ok["messages"]
    for bad in ({"messages": {}}, [], {"messages": [{"partition": 0, "offset": True}]},
                {"messages": [{"partition": "0", "offset": 1}]}):
        with pytest.raises(SourceError) as err:
            _messages(bad, "u")
        assert err.value.cause == "malformed"


def _log(timestamps: list[float], gaps: set[int] = frozenset()) -> tuple[list[Record], list[int]]:
    records = [Record(0, i, ts, None, None) for i, ts in enumerate(timestamps) if i not in gaps]
    fetched: list[int] = []
    return records, fetched


def _fetcher(records: list[Record], fetched: list[int]) -> Callable[[int], Record | None]:
    offsets = [r.offset for r in records]

    def fetch(offset: int) -> Record | None:
        fetched.append(offset)
        i = bisect.bisect_left(offsets, offset)
        return records[i] if i < len(records) else None

    return fetch


@pytest.mark.parametrize(
    ("timestamps", "gaps", "start", "expected", "most_probes"),
    [
        ([float(i) for i in range(200_000)], set(), 190_000.0, 190_000, 3),  # steady rate: interpolation
        ([float(i) ** 3 for i in range(100_000)], set(), 5.0e13, 36_841, 40),  # uneven: bisection bounds it
        ([float(i) for i in range(100)], {50, 51, 52}, 51.0, 53, 10),  # a gap where the answer would be
    ],
)
def test_search_offset(timestamps: list[float], gaps: set[int], start: float, expected: int, most_probes: int) -> None:
    records, fetched = _log(timestamps, gaps)
    found, probes = search_offset(start, records[0], records[-1], _fetcher(records, fetched))
    assert found == expected
    assert probes == len(fetched) <= most_probes


def test_search_offset_gives_up_after_its_probes() -> None:
    records, fetched = _log([float(i) ** 3 for i in range(100_000)])
    found, probes = search_offset(5.0e13, records[0], records[-1], _fetcher(records, fetched), max_probes=3)
    assert (found, probes) == (None, 3)
