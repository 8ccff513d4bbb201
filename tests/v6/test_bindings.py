"""Metric bindings: loading StackState's formats, placeholders, and the PromQL selector
reader, on every binding and monitor query found in StackVista's public repositories
(fixtures/v6/bindings/expressions.json names the source of each) and on nasty cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stsdebug import bindings, promql
from stsdebug.errors import UsageError
from stsdebug.sandbox import timeseries
from stsdebug.sandbox.servers import ServerProcess
from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig

FIXTURES = Path(__file__).parents[2] / "fixtures" / "v6" / "bindings"
CORPUS = json.loads((FIXTURES / "expressions.json").read_text())
TAGS = {"cluster-name": "prod-eu", "namespace": "shop", "service.name": "cart",
        "service.namespace": "web", "service.instance.id": "i-1",
        "app.kubernetes.io/name": "suse-observability", "app.kubernetes.io/instance": "so",
        "app.kubernetes.io/component": "receiver"}


def filled(expr: str) -> str:
    return bindings.fill(expr, tags=TAGS, name="web-1", interval="1m").expression


# --- loading ------------------------------------------------------------------------


def test_docs_binding_under_nodes() -> None:
    (b,) = bindings.load((FIXTURES / "docs-replica-counts.yaml").read_text(), source="f.yaml")
    assert b.name == "Replica counts" and b.node_type == "MetricBinding"
    assert b.identifier == "urn:custom:metric-binding:my-deployment-replica-counts"
    assert b.scope == 'type = "deployment" and label = "stackpack:kubernetes"'
    assert b.unit == "short" and b.enabled and len(b.queries) == 4
    assert b.queries[1].alias == "Available - ${cluster_name} - ${namespace} - ${deployment}"
    assert b.source == "f.yaml node 1"


def test_docs_binding_written_with_type_instead_of__type() -> None:
    (b,) = bindings.load((FIXTURES / "docs-pod-restarts.yaml").read_text(), source="f")
    assert b.name == "Container restarts"
    assert b.queries[0].expression.startswith("max by (cluster_name")


def test_stackpack_template_list_with_template_markers() -> None:
    (b,) = bindings.load((FIXTURES / "stackpack-templates-metricbindings.sty").read_text(), source="s")
    assert b.identifier == "urn:stackpack:<< .Name >>:shared:metric-binding:node-memory-bytes-available-scheduling"
    assert b.unit == "bytes(IEC)"


def test_component_presentation_charts_with_custom_tags() -> None:
    found = bindings.load((FIXTURES / "contrib-vmagent-presentation.sty").read_text(), source="p")
    assert [b.identifier for b in found] == [
        "vmagent-write-duration", "vmagent-blocks-dropped", "vmagent-datapoints-rate",
        "vmagent-invalid-datapoints-rate", "vmagent-timeseries-dropped"]
    assert all(b.node_type == "ComponentPresentation" for b in found)
    assert 'app.kubernetes.io/component:vmagent' in found[0].scope
    assert found[0].unit == "s"  # from chart.unit
    receiver = bindings.load((FIXTURES / "contrib-receiver-presentation.sty").read_text(), source="r")
    assert len(receiver) >= 10


def test_sty_custom_tags_are_read_as_text() -> None:
    # The Monitor node is StackVista/contrib-stackpacks' vmagent monitor (monitors.sty), cut
    # short; STY files carry `!include` and `!icon` tags that plain YAML loaders refuse.
    sty = """nodes:
  - _type: "Monitor"
    name: "Vmagent - Persistent queue is droppingData"
    remediationHint: !include services/vmagent/persistentqueue-dropping-data.md.hbs
  - _type: MetricBinding
    name: with icon
    icon: !icon suse-observability.svg
    queries: [{expression: 'up{job="x"}'}]
"""
    (b,) = bindings.load(sty, source="m.sty")
    assert b.name == "with icon" and b.queries[0].expression == 'up{job="x"}'


def test_json_export_and_single_node() -> None:
    stj = json.dumps({"_version": "1.0.85", "nodes": [
        {"_type": "MetricBinding", "name": "x", "queries": [{"expression": "up", "alias": "a"}],
         "enabled": False},
        {"_type": "Monitor", "name": "ignored"}]})
    (b,) = bindings.load(stj, source="e.stj")
    assert (b.name, b.enabled, b.queries[0].expression) == ("x", False, "up")


@pytest.mark.parametrize(("text", "wanted"), [
    ("nodes: [ {_type: MetricBinding, name: x", "cannot read the bindings at line 1"),
    ("- _type: Monitor\n  name: m\n", "no MetricBinding"),
    ("just text", "no MetricBinding"),
    ("_type: MetricBinding\nname: x\nqueries: up\n", "'queries' must be a list"),
    ("_type: MetricBinding\nname: x\nqueries: []\n", "has no queries"),
    ("_type: MetricBinding\nname: x\nqueries: [{alias: a}]\n", "a query has no expression"),
])
def test_bad_files_are_one_sentence_naming_the_file(text: str, wanted: str) -> None:
    with pytest.raises(bindings.BindingFileError) as err:
        bindings.load(text, source="my.sty")
    assert wanted in str(err.value) and str(err.value).startswith("my.sty") and "\n" not in str(err.value)


def test_binding_from_the_command_line() -> None:
    b = bindings.from_query("  up{job='x'}  ")
    assert b.queries[0].expression == "up{job='x'}" and b.node_type == "--binding"
    with pytest.raises(UsageError):
        bindings.from_query("   ")


# --- placeholders -------------------------------------------------------------------


def test_placeholder_kinds() -> None:
    expr = ("x{a=\"${tags.cluster-name}\", b=\"${tags.singleValue('service.name')}\", "
            "c=\"${name}\", d=\"${unknown.thing}\"}[${__rate_interval}] ${__interval}")
    kinds = [(p.kind, p.key) for p in bindings.placeholders(expr)]
    assert kinds == [("tag", "cluster-name"), ("tag", "service.name"), ("name", None),
                     ("unknown", None), ("interval", "__rate_interval"), ("interval", "__interval")]


def test_fill_resolves_and_reports_the_rest() -> None:
    expr = ('kubernetes_state_deployment_replicas{cluster_name="${tags.cluster-name}", '
            'namespace="${tags.namespace}", deployment="${name}"}[${__interval}]')
    ok = bindings.fill(expr, tags={"cluster-name": "prod", "namespace": "shop"}, name="cart",
                       interval="30s")
    assert ok.complete and ok.expression == ('kubernetes_state_deployment_replicas{cluster_name="prod", '
                                             'namespace="shop", deployment="cart"}[30s]')
    partial = bindings.fill(expr, tags={"cluster_name": "prod"}, name=None)
    assert not partial.complete
    reasons = [u.reason for u in partial.unresolved]
    assert reasons == ["the component has no label 'cluster-name' (the component has 'cluster_name')",
                       "the component has no label 'namespace'", "no component name was given"]
    assert '${tags.cluster-name}' in partial.expression and "[1m]" in partial.expression


def test_fill_from_component_labels_and_ambiguous_values() -> None:
    tags = bindings.component_tags(["cluster-name:prod", "stackpack:kubernetes", "env:a", "env:b",
                                    "url:http://x:80", "flag"])
    assert tags["url"] == ["http://x:80"] and tags["flag"] == [""]
    r = bindings.fill("m{c=\"${tags.cluster-name}\", e=\"${tags.singleValue('env')}\"}", tags=tags)
    assert r.used == {"${tags.cluster-name}": "prod"}
    assert r.unresolved[0].reason == "the component's label 'env' has 2 values (a, b)"


def test_rate_interval_defaults_to_interval() -> None:
    r = bindings.fill("rate(x[${__rate_interval}])", interval="2m")
    assert r.expression == "rate(x[2m])" and r.complete
    assert bindings.fill("rate(x[${__rate_interval}])", rate_interval="4m").expression == "rate(x[4m])"


# --- the selector reader --------------------------------------------------------------


def test_every_real_expression_is_read() -> None:
    assert len(CORPUS) > 250
    for item in CORPUS:
        sels = promql.selectors(item["expression"])
        assert sels, item["source"]
        for s in sels:
            assert s.metric, (item["source"], s.text())
            for m in s.matchers:
                assert item["expression"][m.start:m.end] == m.text


def test_real_expressions_and_their_variants_are_valid_for_victoria_metrics(
        victoria_metrics: ServerProcess) -> None:
    # The server parses what we rebuild: a variant that breaks the query would be refused.
    api = PrometheusApi(PrometheusApiConfig(timeseries.base_url(victoria_metrics)))
    refused = []
    checked = 0
    for i, item in enumerate(CORPUS):
        exprs = [filled(item["expression"])]
        if i % 4 == 0:
            exprs += [filled(v.expression) for v in promql.drop_variants(item["expression"])]
        for e in exprs:
            checked += 1
            try:
                api.query(e)
            except Exception as exc:  # noqa: BLE001 - collected for one readable failure
                refused.append((item["source"], e[:120], str(exc)[:160]))
    assert checked > 500
    # VictoriaMetrics 1.79 predates the "@" modifier; nothing else may be refused.
    assert [r for r in refused if "@" not in r[1]] == []


def test_nasty_selectors() -> None:
    cases = {
        'up': [("up", [])],
        '{__name__="up", job="x"}': [("up", ['__name__="up"', 'job="x"'])],
        'sum by (a, b) (rate(x{a="1"}[5m])) / on(a) group_left(b) y': [
            ("x", ['a="1"']), ("y", [])],
        'sum(rate(x[5m] offset 1h)) without (le) > bool 0': [("x", [])],
        'x{a="}{[", b=~"\\\\d+"} or vector(0)': [("x", ['a="}{["', 'b=~"\\\\d+"'])],
        "x{a='single', b=`raw\\n`}": [("x", ["a='single'", "b=`raw\\n`"])],
        'histogram_quantile(0.95, sum(rate(h_bucket{job="a",}[5m])) by (le))': [
            ("h_bucket", ['job="a"'])],
        'rate(x[5m:30s]) @ end() # a comment with y{z="1"}\n + z': [("x", []), ("z", [])],
        'x {a != "b"}': [("x", ['a != "b"'])],
        '1e-3 * x + 0x1F - .5 * inf': [("x", [])],
        'label_replace(x, "dst", "$1", "src", "(.*)")': [("x", [])],
        'x{a="1" or b="2"}': [("x", ['a="1"', 'b="2"'])],
        '{"my.metric", env="p"}': [("my.metric", ['"my.metric"', 'env="p"'])],
        'x{pod=${name}}': [("x", ["pod=${name}"])],
        'count_values("v", x) and topk(3, y{k="v"})': [("x", []), ("y", ['k="v"'])],
    }
    for expr, wanted in cases.items():
        got = [(s.metric, [m.text for m in s.matchers]) for s in promql.selectors(expr)]
        assert got == wanted, expr


@pytest.mark.parametrize(("expr", "where"), [
    ('x{a="b"', "unbalanced '{'"),
    ('x{a="b}', "unterminated string"),
    ("sum(x", "unbalanced '('"),
    ("x)", "unbalanced ')'"),
    ("rate(x[5m)", "unbalanced '['"),
    ("x]", "unbalanced ']'"),
    ("x{a}", "expected =, !=, =~ or !~"),
    ('x{a=b}', "expected a quoted value"),
    ('x{="b"}', "expected a label name"),
    ("x{a=${name", "unterminated ${...} placeholder"),
])
def test_unreadable_expressions_say_where(expr: str, where: str) -> None:
    with pytest.raises(promql.PromQLSyntaxError) as err:
        promql.selectors(expr)
    assert where in str(err.value) and "character" in str(err.value)


def test_drop_one_matcher_at_a_time_keeps_everything_else() -> None:
    expr = ('sum(rate(http_requests_total{job="api",  code=~"5..", env!="dev"}[5m])) by (code)'
            ' / sum(rate(http_requests_total{job="api"}[5m]))')
    variants = list(promql.drop_variants(expr))
    assert [(v.selector, v.matcher.text) for v in variants] == [
        (0, 'job="api"'), (0, 'code=~"5.."'), (0, 'env!="dev"'), (1, 'job="api"')]
    assert variants[1].expression == ('sum(rate(http_requests_total{job="api", env!="dev"}[5m])) by (code)'
                                      ' / sum(rate(http_requests_total{job="api"}[5m]))')
    assert promql.drop_matcher(expr, 1, 0) == (
        'sum(rate(http_requests_total{job="api",  code=~"5..", env!="dev"}[5m])) by (code)'
        ' / sum(rate(http_requests_total[5m]))')


def test_selector_helpers() -> None:
    (named,) = promql.selectors('{__name__="up", job="x"}')
    assert named.bare() == "up" and [m.label for m in named.label_matchers] == ["job"]
    assert not named.can_drop(5)
    (alone,) = promql.selectors('{job="x"}')
    assert alone.metric is None and not alone.can_drop(0) and alone.bare() == '{job="x"}'
    with pytest.raises(UsageError, match="leaves no valid selector"):
        promql.drop_matcher('{job="x"}', 0, 0)
    assert list(promql.drop_variants('{job="x"}')) == []
    assert list(promql.drop_variants('x{a="1" or b="2"}')) == []  # alternatives: not droppable
    (m,) = promql.selectors('x{a="q\\"uote"}')[0].matchers
    assert m.value == 'q"uote' and m.canonical() == 'a="q\\"uote"'
    assert promql.replace_selector('sum(x{a="1"})', 0, "y") == "sum(y)"
