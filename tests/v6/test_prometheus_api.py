"""The Prometheus query API source against the real VictoriaMetrics.

The StackState path (``https://<host>/prometheus/api/v1/...`` with a service token in
X-API-Key) is exercised through a small stand-in of StackState's router and API, since no
StackState server can run here: it checks the header and forwards to the real
VictoriaMetrics with the router's rewrite (``/prometheus/api/v1/`` -> ``/api/metrics/``,
which the API answers like ``/api/v1/``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from stsdebug.errors import SourceError, UsageError
from stsdebug.sandbox import timeseries
from stsdebug.sandbox.servers import ServerProcess, free_port
from stsdebug.sources import remote_write as rw
from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig, PromQueryError
from tests.v6 import support

TOKEN = "svctok-test-0123456789"


@pytest.fixture(scope="module")
def written(victoria_metrics: ServerProcess) -> tuple[str, float]:
    """Six series written straight to VictoriaMetrics, visible before return.

    Module-scoped: VictoriaMetrics 1.79 makes a new series searchable only ~10 s after
    its first sample (docs/v6/facts.md), so the tests share one write.
    """
    metric_name = "stsdebug_test_prometheus_api"
    vm_url = timeseries.base_url(victoria_metrics)
    now = time.time()
    series = [rw.series(metric_name, {"cluster_name": c, "pod_name": f"web-{i}"},
                        samples=[(now - 120, i), (now - 60, i), (now, i)])
              for c in ("prod-eu", "prod-us") for i in range(3)]
    with rw.RemoteWriter(rw.RemoteWriteConfig(timeseries.write_url(victoria_metrics))) as w:
        w.send(series)
    api = PrometheusApi(PrometheusApiConfig(vm_url))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(api.query(f"{metric_name}", at=now + 1).series) == 6:
            break
        time.sleep(0.2)
    return metric_name, now


@pytest.fixture
def stackstate_stand_in(vm_url: str) -> Iterator[str]:
    with support.stackstate_stand_in(vm_url, TOKEN) as url:
        yield url


def test_instant_query_returns_labels_and_values(vm_url: str, written: tuple[str, float]) -> None:
    name, now = written
    with PrometheusApi(PrometheusApiConfig(vm_url)) as api:
        result = api.query(f'{name}{{cluster_name="prod-eu"}}', at=now + 1)
    assert result.result_type == "vector" and not result.empty
    got = sorted((s.labels["pod_name"], s.newest[1]) for s in result.series if s.newest)
    assert got == [("web-0", 0.0), ("web-1", 1.0), ("web-2", 2.0)]
    assert all(s.name == name for s in result.series)
    assert api.requests_sent == 1


def test_range_query_returns_points_oldest_first(vm_url: str, written: tuple[str, float]) -> None:
    name, now = written
    api = PrometheusApi(PrometheusApiConfig(vm_url))
    result = api.query_range(f'{name}{{pod_name="web-2", cluster_name="prod-us"}}',
                             start=now - 180, end=now + 1, step=30)
    (series,) = result.series
    stamps = [t for t, _ in series.points]
    assert result.result_type == "matrix" and stamps == sorted(stamps) and len(stamps) >= 4
    assert {v for _, v in series.points} == {2.0}


def test_empty_result_is_not_an_error(vm_url: str, written: tuple[str, float]) -> None:
    name, now = written
    result = PrometheusApi(PrometheusApiConfig(vm_url)).query(f'{name}{{cluster_name="nowhere"}}',
                                                               at=now)
    assert result.empty and result.result_type == "vector"


def test_victoria_metrics_answers_scalars_as_an_unlabelled_vector(vm_url: str) -> None:
    result = PrometheusApi(PrometheusApiConfig(vm_url)).query("scalar(vector(3))")
    assert result.result_type == "vector"
    assert [(dict(s.labels), s.newest[1] if s.newest else None) for s in result.series] == [({}, 3.0)]


def test_scalar_and_special_values_as_prometheus_sends_them() -> None:
    # Prometheus itself answers scalars as such; values are strings, "NaN"/"+Inf" included.
    from stsdebug.sources.prometheus_api import _result

    scalar = _result({"resultType": "scalar", "result": [1700000000.5, "3"]}, "x")
    assert scalar.scalar == (1700000000.5, 3.0) and not scalar.empty
    vec = _result({"resultType": "vector", "result": [
        {"metric": {"a": "1"}, "value": [1, "+Inf"]}, {"metric": {}, "value": [1, "NaN"]}]}, "x")
    assert vec.series[0].points[0][1] == float("inf")
    assert vec.series[1].points[0][1] != vec.series[1].points[0][1]  # NaN
    bad: Any
    for bad in ({"resultType": "vector", "result": [{"value": [1]}]},
                {"resultType": "histogram", "result": []}, [], None):
        with pytest.raises(SourceError, match="could not read"):
            _result(bad, "x")


def test_series_and_label_values_with_match(vm_url: str, written: tuple[str, float]) -> None:
    name, now = written
    api = PrometheusApi(PrometheusApiConfig(vm_url))
    listing = api.series([f'{name}{{pod_name="web-1"}}'], start=now - 300, end=now + 1)
    assert sorted(s["cluster_name"] for s in listing.items) == ["prod-eu", "prod-us"]
    assert not listing.truncated
    values = api.label_values("cluster_name", match=[name], start=now - 300, end=now + 1)
    assert sorted(values.items) == ["prod-eu", "prod-us"]
    names = api.label_values("__name__", match=['{cluster_name="prod-eu", pod_name="web-0"}'],
                             start=now - 300, end=now + 1)
    assert name in names.items
    assert set(api.label_names(match=[name], start=now - 300)) == {"__name__", "cluster_name", "pod_name"}
    assert api.requests_sent == 4


def test_limit_cuts_the_listing_and_says_so(vm_url: str, written: tuple[str, float]) -> None:
    name, now = written
    listing = PrometheusApi(PrometheusApiConfig(vm_url)).series([name], start=now - 300, limit=4)
    assert len(listing.items) == 4 and listing.truncated


def test_tsdb_status_counts_series_by_metric(vm_url: str, written: tuple[str, float]) -> None:
    name, _ = written
    status = PrometheusApi(PrometheusApiConfig(vm_url)).tsdb_status(match=name, top_n=5)
    assert {"name": name, "value": 6} in status["seriesCountByMetricName"]


def test_health_and_flags(vm_url: str) -> None:
    api = PrometheusApi(PrometheusApiConfig(vm_url))
    assert api.health() == "OK"
    assert api.flags()["retentionPeriod"] == "1"
    assert api.requests_sent == 2


@pytest.mark.parametrize(("query", "wanted"), [
    ("sum(foo", "unexpected token"),
    ("foo{a=}", 'unexpected token "}"'),
])
def test_refused_query_carries_the_servers_reason(vm_url: str, query: str, wanted: str) -> None:
    with pytest.raises(PromQueryError) as err:
        PrometheusApi(PrometheusApiConfig(vm_url)).query(query)
    assert err.value.cause == "query" and err.value.status == 422
    assert wanted in str(err.value)
    assert "\n" not in str(err.value)


def test_through_stackstate_with_service_token(stackstate_stand_in: str,
                                               written: tuple[str, float]) -> None:
    name, now = written
    for base in (f"{stackstate_stand_in}/prometheus", f"{stackstate_stand_in}/api/metrics",
                 f"{stackstate_stand_in}/prometheus/api/v1/"):
        api = PrometheusApi(PrometheusApiConfig(base, api_key=TOKEN))
        assert api.via_stackstate
        result = api.query(f'{name}{{pod_name="web-0"}}', at=now + 1)
        assert len(result.series) == 2
        assert api.label_values("pod_name", match=[name], start=now - 300).items == \
            ["web-0", "web-1", "web-2"]


def test_through_stackstate_without_token_is_auth_error(stackstate_stand_in: str) -> None:
    api = PrometheusApi(PrometheusApiConfig(f"{stackstate_stand_in}/prometheus", api_key="wrong"))
    with pytest.raises(SourceError) as err:
        api.query("up")
    assert err.value.cause == "auth" and "wrong" not in str(err.value)


def test_not_a_prometheus_api_is_malformed(stackstate_stand_in: str) -> None:
    # vmagent answers 400 text for query paths: not a query API.
    api = PrometheusApi(PrometheusApiConfig(f"{stackstate_stand_in}/elsewhere", api_key=TOKEN))
    with pytest.raises(SourceError) as err:
        api.query("up")
    assert err.value.cause == "http"


def test_vmagent_is_not_a_query_api(vmagent: ServerProcess) -> None:
    api = PrometheusApi(PrometheusApiConfig(timeseries.base_url(vmagent)))
    with pytest.raises(SourceError) as err:
        api.query("up")
    assert err.value.cause == "http" and "400" in str(err.value)


def test_unreachable_and_bad_urls() -> None:
    api = PrometheusApi(PrometheusApiConfig(f"http://127.0.0.1:{free_port()}", timeout=2))
    with pytest.raises(SourceError) as err:
        api.query("up")
    assert err.value.cause == "refused" and api.requests_sent == 1
    with pytest.raises(UsageError):
        PrometheusApi(PrometheusApiConfig("vm:8428"))
    with pytest.raises(UsageError):
        PrometheusApi(PrometheusApiConfig("http://vm:8428")).series([])


def test_body_cap_applies(vm_url: str, written: tuple[str, float]) -> None:
    name, now = written
    api = PrometheusApi(PrometheusApiConfig(vm_url, max_body=200))
    with pytest.raises(SourceError) as err:
        api.series([name], start=now - 300)
    assert err.value.cause == "malformed" and "larger than" in str(err.value)
