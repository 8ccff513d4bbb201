"""Stream definitions: --stream text and --streams-file YAML/JSON, and their one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stsdebug.errors import UsageError
from stsdebug.streamdefs import Condition, load, load_file, parse_stream

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "streams"


def test_parse_stream_conditions_and_reserved_metric_key() -> None:
    s = parse_stream("host=i-0abc,tags.region=eu-west-1,metric=values.aws.ec2.cpuutilization", 2)
    assert s.conditions == (Condition("host", "i-0abc"), Condition("tags.region", "eu-west-1"))
    assert s.metric == "values.aws.ec2.cpuutilization"
    assert s.name == "stream 2" and s.origin == "--stream #2"
    assert (
        s.describe() == "host=i-0abc, tags.region=eu-west-1, metric=values.aws.ec2.cpuutilization"
    )


def test_parse_stream_whitespace_quotes_and_trailing_comma() -> None:
    s = parse_stream(' host = web-1 , labels="a,b", name=x=y ,')
    assert s.conditions == (
        Condition("host", "web-1"),
        Condition("labels", "a,b"),
        Condition("name", "x=y"),  # only the first '=' separates key and value
    )
    assert s.metric is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("host", "'host' is not KEY=VALUE"),
        ("=x", "empty key"),
        ("host=", "condition 'host' has an empty value"),
        ("host=a,host=b", "condition 'host' is given twice"),
        ("metric=a,metric=b", "metric= is given twice"),
        ("metric=", "metric= needs a field name"),
        ("host name=a", "'host name' is not a field name"),
        ('labels="a,b', "unbalanced double quote"),
        ('labels=a"b"', "quoted as a whole"),
        ("metric=values.x y", "metric field 'values.x y' is not a field name"),
    ],
)
def test_parse_stream_rejects_bad_input_in_one_line(text: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_stream(text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("--stream #1")


def test_metric_only_stream_is_allowed_but_nothing_at_all_is_not() -> None:
    assert parse_stream("metric=values.system.load.norm").conditions == ()
    with pytest.raises(UsageError, match="at least one condition"):
        parse_stream(",,")


def test_yaml_file_in_all_three_condition_shapes() -> None:
    streams = load_file(str(FIXTURES / "streams.yaml"))
    assert [s.name for s in streams] == [
        "EC2 CPU (multi-metric layout)",
        "Load (StackState's own {key, value} shape)",
        "EC2 CPU (single-metric layout)",
    ]
    assert streams[0].conditions == (
        Condition("host", "i-0abc"),
        Condition("tags.region", "eu-west-1"),
    )
    assert streams[1].conditions == (Condition("host", "web-1"), Condition("tags.env", "prod"))
    assert streams[2].conditions[0] == Condition("name", "aws.ec2.cpuutilization")
    assert streams[2].metric == "value"
    assert streams[1].origin == "streams.yaml item 2"


def test_json_file_wrapped_and_non_string_values() -> None:
    streams = load_file(str(FIXTURES / "streams.json"))
    assert streams[1].conditions == (Condition("tags.port", "8080"), Condition("tags.tls", "true"))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "bad_unknown_key.yaml",
            "item 1: unknown key 'metricField'; a stream has name, conditions, metric",
        ),
        ("bad_syntax.yaml", "not valid YAML or JSON (line 3 column"),
        ("bad_not_a_list.json", "expected a list of streams"),
        ("bad_null_value.yaml", "condition 'host' needs a single value"),
        ("missing.yaml", "no such file"),
    ],
)
def test_bad_files_give_one_line(name: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        load_file(str(FIXTURES / name))
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert f"streams file {FIXTURES / name}" in str(err.value)


def test_bad_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('[{"name": "a",\n "conditions": {"host": }}]', encoding="utf-8")
    with pytest.raises(UsageError, match=r"not valid JSON \(line 2 column"):
        load_file(str(path))


def test_empty_list_and_directory(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("[]\n", encoding="utf-8")
    with pytest.raises(UsageError, match="empty"):
        load_file(str(tmp_path / "e.yaml"))
    with pytest.raises(UsageError, match="is a directory"):
        load_file(str(tmp_path))


def test_load_combines_flags_and_file_and_rejects_duplicate_names(tmp_path: Path) -> None:
    both = load(["host=a,metric=values.x"], str(FIXTURES / "streams.yaml"))
    assert [s.origin for s in both][:2] == ["--stream #1", "streams.yaml item 1"]
    path = tmp_path / "dup.yaml"
    path.write_text("- {name: a, conditions: {host: x}}\n- {name: a, conditions: {host: y}}\n")
    with pytest.raises(UsageError, match="'a' is used twice"):
        load([], str(path))
    assert load([], None) == []


def test_unnamed_file_items_get_distinct_names(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- {conditions: {host: x}}\n- {conditions: {host: y}}\n")
    assert [s.name for s in load(["host=z"], str(path))] == ["stream 1", "s.yaml #1", "s.yaml #2"]


def test_metric_as_condition_key_in_a_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- {name: a, conditions: {metric: values.x}}\n")
    with pytest.raises(UsageError, match="names the metric field"):
        load_file(str(path))


def test_check_rejects_bad_streams_before_running_anything() -> None:
    from typer.testing import CliRunner

    from stsdebug.cli import app

    runner = CliRunner()
    # Port 1 is never contacted: the definitions are refused first.
    for args, message in (
        (["--stream", "host"], "--stream #1 'host': 'host' is not KEY=VALUE"),
        (["--streams-file", str(FIXTURES / "bad_syntax.yaml")], "not valid YAML or JSON"),
    ):
        res = runner.invoke(app, ["check", "--es", "http://127.0.0.1:1", *args])
        assert res.exit_code == 2
        assert message in res.output
        assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_streams_file_item_may_name_its_integration(tmp_path):
    from stsdebug.streamdefs import load_file

    f = tmp_path / "s.yaml"
    f.write_text("- name: a\n  integration: MySQL\n  conditions: {host: h}\n  metric: values.mysql.x\n- name: b\n  conditions: {host: h}\n")
    a, b = load_file(str(f))
    assert a.integration == "mysql" and b.integration is None


# --- StackState's own MetricStream (STJ), as exported or written in templates ----------------
# Shape: StackVista/stackstate-docs 5.1 configure/telemetry/telemetry_synchronized_topology.md.

METRIC_STREAM = {
    "_type": "MetricStream",
    "name": "Queries (per second)",
    "dataSource": 1281640519172,
    "dataType": "METRICS",
    "query": {
        "_type": "MetricTelemetryQuery",
        "conditions": [{"key": "host", "value": "db-01"}, {"key": "tags.port", "value": "3306"}],
        "metricField": "mysql.performance.queries",
        "aggregation": "MEAN",
        "id": 1281640519230,
    },
    "id": 1281640519229,
}


def _write(tmp_path: Path, name: str, data: object) -> str:
    import json

    p = tmp_path / name
    p.write_text(json.dumps(data), encoding="utf-8")
    return str(p)


def test_a_metric_stream_is_read_as_conditions_and_a_bare_metric(tmp_path: Path) -> None:
    (d,) = load_file(_write(tmp_path, "one.json", METRIC_STREAM))
    assert d.name == "Queries (per second)"
    assert d.conditions == (Condition("host", "db-01"), Condition("tags.port", "3306"))
    assert d.metric == "mysql.performance.queries" and d.aggregation == "MEAN"
    assert d.data_source == "1281640519172"


def test_an_export_keeps_its_metric_streams_and_components_streams(tmp_path: Path) -> None:
    other = {**METRIC_STREAM, "name": "Open connections"}
    export = {"_version": "1.0.39", "timestamp": "2024-05-14T10:00:00Z",
              "nodes": [{"_type": "Component", "name": "db-01", "streams": [other]}, METRIC_STREAM,
                        {"_type": "DataSource", "name": "StackState Metrics"}]}
    names = [d.name for d in load_file(_write(tmp_path, "export.json", export))]
    assert names == ["Open connections", "Queries (per second)"]


def test_a_template_placeholder_is_refused_in_one_line(tmp_path: Path) -> None:
    tpl = {**METRIC_STREAM, "query": {**METRIC_STREAM["query"],
                                      "conditions": [{"key": "host", "value": "{{ element.name }}"}]}}
    with pytest.raises(UsageError, match="template placeholder '\\{\\{ element.name \\}\\}'") as err:
        load_file(_write(tmp_path, "tpl.json", [tpl]))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"_type": "MetricStream", "name": "x"}, "needs a 'query' object"),
        ({"_type": "EventStream", "name": "x", "query": {}}, "is not a MetricStream"),
        ({"_type": "MetricStream", "name": "x", "query": {"_type": "EventTelemetryQuery"}},
         "is not a MetricTelemetryQuery"),
        ({"_type": "MetricStream", "name": "x", "query": {"conditions": []}}, "at least one condition"),
    ],
)
def test_bad_metric_streams_are_one_line_errors(tmp_path: Path, item: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_file(_write(tmp_path, "bad.json", [item]))


def test_data_sources_that_elasticsearch_answers() -> None:
    from stsdebug.streamdefs import is_stackstate_source

    for ds in (None, "StackState Metrics", "StackState Multi Metrics", "1281640519172",
               '{{ resolve "DataSource" "StackState Metrics" }}'):
        assert is_stackstate_source(ds), ds
    assert not is_stackstate_source("CloudWatch eu-west-1")
