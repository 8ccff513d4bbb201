"""Pure parts of the Elasticsearch source: parsers (recorded answers), mappings, queries, URLs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stsdebug.errors import SourceError
from stsdebug.sources import es as es_source
from stsdebug.sources import es_answers as src
from stsdebug.sources import es_query as query
from stsdebug.sources.es_query import FieldMap

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "es"
WHERE = "http://127.0.0.1:9200"


def fx(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_parse_health_and_red() -> None:
    h = src.parse_health(fx("cluster_health"), WHERE)
    assert (h.status, h.nodes, h.unassigned_shards) == ("yellow", 1, 4)
    assert src.parse_health(fx("cluster_health_red"), WHERE).status == "red"


def test_parse_indices_sorted_with_numbers() -> None:
    rows = src.parse_indices(fx("cat_indices"), WHERE)
    assert [r.name for r in rows] == [
        "sts_multi_metrics-2026.11.19",
        "sts_multi_metrics-2026.11.20",
        "sts_multi_metrics-2026.11.21",
    ]
    assert (rows[-1].docs, rows[-1].size_bytes, rows[-1].status) == (20, 7400, "open")


def test_parse_index_settings_merges_defaults_and_explicit_blocks() -> None:
    st = src.parse_index_settings(fx("index_settings"), WHERE)
    today = st["sts_multi_metrics-2026.11.21"]
    assert today.write_blocks == ["read_only_allow_delete"]
    assert today.field_limit == 1000
    assert st["sts_multi_metrics-2026.11.20"].write_blocks == []


def test_parse_index_settings_flat_keys_and_explicit_limit() -> None:
    data = {
        "i": {
            "settings": {"index.blocks.write": "true", "index.mapping.total_fields.limit": "5000"}
        }
    }
    st = src.parse_index_settings(data, WHERE)["i"]
    assert st.write_blocks == ["write"] and st.field_limit == 5000


def test_mapping_multi_field_count_layout_and_term_fields() -> None:
    props = src.parse_mappings(fx("mapping_multi"), WHERE)
    fm = FieldMap.from_mappings(props)
    name = "sts_multi_metrics-2026.11.21"
    assert fm.layout() == "multi"
    assert fm.metric_names() == [
        "aws.ec2.cpuutilization",
        "aws.ec2.networkin",
        "system.cpu.user",
        "system.load.norm",
    ]
    assert fm.term("host") == "host.keyword"  # text with a keyword sub-field
    assert fm.term("timestamp") == "timestamp"
    assert fm.has("tags.region") and fm.has("values") and not fm.has("tags.nope")
    # Every object, leaf and multi-field counts toward index.mapping.total_fields.limit:
    # host(+keyword) labels(+keyword) name(+keyword) tags region(+kw) source(+kw) env(+kw)
    # timeReceived timestamp values aws ec2 cpuutilization networkin system cpu user load norm
    assert fm.counts[name] == 25


def test_mapping_single_layout() -> None:
    fm = FieldMap.from_mappings(src.parse_mappings(fx("mapping_single"), WHERE))
    assert fm.layout() == "single"
    assert fm.metric_names() == []
    assert fm.term("name") == "name.keyword"


def test_mapping_with_a_type_level_is_accepted() -> None:
    data = {"i": {"mappings": {"_doc": {"properties": {"value": {"type": "float"}}}}}}
    assert src.parse_mappings(data, WHERE) == {"i": {"value": {"type": "float"}}}


def test_field_caps_leaves_only() -> None:
    assert src.parse_field_names(fx("field_caps_values"), WHERE) == [
        "values.aws.ec2.cpuutilization",
        "values.aws.ec2.networkin",
        "values.system.cpu.user",
        "values.system.load.norm",
    ]


def test_allocation_skips_the_unassigned_row() -> None:
    nodes = src.parse_allocation(fx("cat_allocation"), WHERE)
    assert [n.node for n in nodes] == ["noida-db"]
    assert nodes[0].percent == 20.0
    assert src.parse_allocation(fx("cat_allocation_flood"), WHERE)[0].percent == 96.0


def test_watermarks_precedence_transient_over_persistent_over_defaults() -> None:
    w = src.parse_watermarks(fx("cluster_settings_watermarks"), WHERE)
    assert (w.low, w.high, w.flood_stage) == ("85%", "93%", "10gb")
    assert w.enabled and w.from_cluster
    empty = src.parse_watermarks({}, WHERE)
    assert (empty.flood_stage, empty.from_cluster) == ("95%", False)


@pytest.mark.parametrize(
    ("parser", "data", "detail"),
    [
        (src.parse_health, [], "expected a JSON object"),
        (src.parse_health, {"status": "purple"}, "no green/yellow/red status"),
        (src.parse_indices, {"a": 1}, "expected a JSON list"),
        (src.parse_indices, [{"health": "green"}], "a row without an index name"),
        (src.parse_mappings, {"i": {"nope": 1}}, "has no mappings object"),
        (src.parse_allocation, ["x"], "a row that is not an object"),
    ],
)
def test_malformed_answers_are_one_sentence_source_errors(parser, data, detail) -> None:
    with pytest.raises(SourceError) as err:
        parser(data, WHERE)
    assert err.value.cause == "malformed"
    assert detail in str(err.value) and WHERE in str(err.value)


def test_search_must_have_hits_and_requested_aggregations() -> None:
    ok = {"hits": {"total": {"value": 0}}, "aggregations": {}}
    assert src.parse_search(ok, WHERE, with_aggs=True) is ok
    with pytest.raises(SourceError, match="no aggregations"):
        src.parse_search({"hits": {}}, WHERE, with_aggs=True)
    with pytest.raises(SourceError, match="no hits"):
        src.parse_search({"took": 1}, WHERE, with_aggs=False)


def test_window_query_covers_seconds_and_milliseconds_without_date_math() -> None:
    q = query.window_query(1_700_000_000.5, 1_700_000_900.0)
    ranges = [c["range"]["timestamp"] for c in q["bool"]["should"]]
    assert ranges[0] == {"gte": 1_700_000_000, "lte": 1_700_000_901}
    assert ranges[1] == {"gte": 1_700_000_000_500, "lte": 1_700_000_900_999}
    assert "now" not in json.dumps(q)
    assert q["bool"]["minimum_should_match"] == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1_700_000_000_000.0, 1_700_000_000.0),
        (1_700_000_000, 1_700_000_000.0),
        (None, None),
        ("x", None),
    ],
)
def test_to_epoch_seconds(value: object, seconds: float | None) -> None:
    assert query.to_epoch_seconds(value) == seconds


def test_query_combinators() -> None:
    assert query.all_of() == {"match_all": {}}
    assert query.all_of(None, {"term": {"a": 1}}) == {"bool": {"filter": [{"term": {"a": 1}}]}}
    assert query.exists_any([]) == query.MATCH_NONE
    assert query.exists_any(["a"]) == {"exists": {"field": "a"}}
    assert query.exists_any(["a", "b"])["bool"]["minimum_should_match"] == 1


@pytest.mark.parametrize(
    ("url", "client_url", "where"),
    [
        ("http://127.0.0.1:9200", "http://127.0.0.1:9200", "http://127.0.0.1:9200"),
        ("127.0.0.1:9201", "http://127.0.0.1:9201", "http://127.0.0.1:9201"),
        ("https://es.example", "https://es.example:443", "https://es.example:443"),
        ("http://u:p4ss@es:9200/", "http://u:p4ss@es:9200/", "http://es:9200"),
    ],
)
def test_urls_and_what_messages_show(url: str, client_url: str, where: str) -> None:
    got_url, got_where, _ = es_source._parse_url(url)
    assert (got_url, got_where) == (client_url, where)
    assert "p4ss" not in got_where


@pytest.mark.parametrize("url", ["ftp://x:21", "http://", "http://host:notaport"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(SourceError) as err:
        es_source._parse_url(url)
    assert err.value.cause == "config"


def test_the_source_factory_needs_a_url() -> None:
    from stsdebug.settings import Settings
    from stsdebug.source_factory import Sources

    with pytest.raises(SourceError, match="No Elasticsearch URL"):
        Sources(Settings()).get("es")
    s = Sources(Settings(es="http://127.0.0.1:1", timeout=2.0)).get("es")
    assert s.where == "http://127.0.0.1:1" and s.requests == 0  # nothing sent on creation
