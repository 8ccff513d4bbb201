"""The StackState 6 scope, VictoriaMetrics and bindings stages against the real VictoriaMetrics
(Debian's 1.79.5 binary, started for the session by tests/v6/conftest.py), directly and
through a stand-in of StackState's /prometheus path (tests/v6/support.py).

Series are written with remote-write, as vmagent writes them, under metric names no other
test uses, and made searchable at once (support.write)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stsdebug.model import Status, Table, Text
from stsdebug.promnames import prefix_regex, selector
from stsdebug.sandbox import timeseries
from stsdebug.sandbox.servers import ServerProcess
from stsdebug.settings import Settings
from stsdebug.sources import remote_write as rw
from stsdebug.sources.prom_metrics import PromMetricsConfig, PromMetricsSource
from stsdebug.sources.prometheus_api import PrometheusApi, PrometheusApiConfig
from stsdebug.stages.base import load_stage
from stsdebug.stages.v6 import explain
from stsdebug.stages.v6.pages import Pair
from stsdebug.trace import Trace
from tests.v6 import support

NOW = time.time()


def _samples(until: float, start: float | None = None, step: float = 15.0) -> list[tuple[float, float]]:
    start = NOW - 1200 if start is None else start
    out, t = [], start
    while t <= until:
        out.append((t, 1.0))
        t += step
    return out


@pytest.fixture(scope="module")
def data(victoria_metrics: ServerProcess) -> str:
    """What the tests read (NOW is the moment the module was imported):

    - t6ok_*: two metrics on two hosts, fresh (last sample 5 s before NOW);
    - t6half_*: four series, two of them stopped 10 minutes before NOW;
    - t6gone_*: one series that stopped 40 minutes before NOW (none in a 15 min window);
    - t6b_http_requests: 12 series in cluster prod-eu (pods web-0..11, env=prod), 3 in prod-us;
      t6b_http_request_errors: 2 series; t6b_cpu_io_wait renamed from t6b_cpu_iowait 30 min ago.
    """
    vm = timeseries.base_url(victoria_metrics)
    fresh = _samples(NOW - 5)
    series = [rw.series(f"t6ok_{m}", {"host": h}, samples=fresh) for m in ("cpu_user", "cpu_idle")
              for h in ("h1", "h2")]
    series += [rw.series("t6half_load", {"host": h}, samples=fresh if i < 2 else _samples(NOW - 600))
               for i, h in enumerate(("a", "b", "c", "d"))]
    series += [rw.series("t6gone_disk", {"host": "x"}, samples=_samples(NOW - 2400, NOW - 3600))]
    series += [rw.series("t6b_http_requests", {"cluster_name": "prod-eu", "pod_name": f"web-{i}", "env": "prod"},
                         samples=fresh) for i in range(12)]
    series += [rw.series("t6b_http_requests", {"cluster_name": "prod-us", "pod_name": f"api-{i}", "env": "prod"},
                         samples=fresh) for i in range(3)]
    series += [rw.series("t6b_http_request_errors", {"cluster_name": "prod-eu", "pod_name": f"web-{i}"},
                         samples=fresh) for i in range(2)]
    series += [rw.series("t6b_cpu_iowait", {"host": "h1"}, samples=_samples(NOW - 1800, NOW - 3600))]
    series += [rw.series("t6b_cpu_io_wait", {"host": "h1"}, samples=_samples(NOW - 5, NOW - 1800))]
    support.write(vm, series)
    return vm


def run(stage: str, vm: str, *, now: float = NOW, sources: dict[str, Any] | None = None, **kw: Any):  # noqa: ANN201
    s = Settings(integration=kw.pop("integration", "custom"), victoria_metrics=kw.pop("victoria_metrics", vm),
                 window=kw.pop("window", "15m"), timeout=5.0, scrape_interval=1.0, **kw)
    return Trace(s, stages=[load_stage(stage, "6")], sources=sources, now=now).run().stages[0]


# --- VictoriaMetrics -------------------------------------------------------------------------


def test_fresh_series_pass_with_their_numbers(data: str) -> None:
    st = run("victoriametrics", data, metric_prefix=["t6ok."])
    assert st.status is Status.PASS, st.summary
    assert st.summary.startswith("4 series of custom in 2 metrics") and "no rows ignored" in st.summary
    table = next(e for e in st.evidence if isinstance(e, Table))
    assert sorted(r[0] for r in table.rows) == ["t6ok_cpu_idle", "t6ok_cpu_user"]


def test_a_host_filter_narrows_the_series(data: str) -> None:
    st = run("victoriametrics", data, metric_prefix=["t6ok."], host=["h2"])
    assert st.summary.startswith("2 series of custom")


def test_half_the_series_stopped_is_a_warning_naming_them(data: str) -> None:
    st = run("victoriametrics", data, metric_prefix=["t6half."])
    assert st.status is Status.WARN and "2 of 4 series stopped" in st.summary
    stalest = next(e for e in st.evidence if isinstance(e, Table) and e.title.startswith("Series that stopped"))
    assert {r[0].split("host=")[1] for r in stalest.rows[:2]} == {"c", "d"}


def test_no_series_in_the_window_is_missing_data_with_its_last_sample(data: str) -> None:
    st = run("victoriametrics", data, metric_prefix=["t6gone."])
    assert st.status is Status.FAIL and st.missing_data
    assert "No series of custom has a sample in the last 15m" in st.summary
    assert "newest sample is 40 min old, so the data stopped" in st.summary


def test_nothing_identifying_the_integration_is_a_skip(data: str) -> None:
    st = run("victoriametrics", data)
    assert st.status is Status.SKIP and "--metric-prefix" in st.summary


def test_an_unreachable_victoria_metrics_is_an_error(data: str) -> None:
    st = run("victoriametrics", data, victoria_metrics="http://127.0.0.1:1", metric_prefix=["t6ok."])
    assert st.status is Status.ERROR and "could not be queried" in st.summary


def test_rows_ignored_between_the_scrapes_are_counted_by_reason() -> None:
    from stsdebug import promtext
    from stsdebug.stages.v6.victoriametrics import _ignored_direct

    v6 = Path(__file__).parents[2] / "fixtures" / "v6" / "victoria-metrics"
    before = promtext.parse((v6 / "healthy.prom").read_text())
    after = promtext.parse((v6 / "small-timestamp.prom").read_text())
    before.taken_at, after.taken_at = 0.0, 5.0
    ignored = _ignored_direct(Pair(before, after))
    assert ignored.by_reason == {"small_timestamp": 10.0} and "10 too old" in ignored.text()


@pytest.fixture(scope="module")
def short_retention(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A VictoriaMetrics keeping one day (the chart keeps a month, its trial profile 3 days)."""
    proc = timeseries.start_victoria_metrics(tmp_path_factory.mktemp("vm-1d"), retention="1d",
                                             latency_offset="1s", die_with_parent=True)
    try:
        yield timeseries.base_url(proc)
    finally:
        proc.stop()


def test_samples_older_than_the_retention_are_named_as_the_cause(short_retention: str) -> None:
    old = NOW - 3 * 86400
    support.write(short_retention, [rw.series("t6old_cpu", {"host": "skewed"}, samples=_samples(old, old - 300))])
    st = run("victoriametrics", short_retention, metric_prefix=["t6old."])
    assert st.status is Status.FAIL and not st.missing_data
    assert "too old (older than the retention)" in st.summary
    figures = st.evidence[0]
    assert any(f.label.startswith("Retention") and f.value == "1d" for f in figures.items)  # type: ignore[union-attr]
    assert "clock runs behind" in st.hints[0].text


def test_the_query_count_does_not_grow_with_the_series(victoria_metrics: ServerProcess) -> None:
    """Bounded cost: the VictoriaMetrics stage sends the same requests for 10 and 2,000 series."""
    vm = timeseries.base_url(victoria_metrics)
    for n in (10, 2000):
        support.write(vm, [rw.series(f"t6n{n}_m{i % 20}", {"pod": f"p{i}"}, samples=_samples(NOW - 5, NOW - 120))
                           for i in range(n)])
    counts = {}
    for n in (10, 2000):
        api = PrometheusApi(PrometheusApiConfig(vm))
        page = PromMetricsSource(PromMetricsConfig(f"{vm}/metrics"))
        st = run("victoriametrics", vm, metric_prefix=[f"t6n{n}."], sources={"prometheus": api, "vm_metrics": page})
        assert st.status is Status.PASS and st.summary.startswith(f"{n:,} series"), st.summary
        counts[n] = (api.requests_sent, page.requests_sent)
    assert counts[10] == counts[2000] == (2, 2)  # /health and the one query; two scrapes


# --- the census (scope) -------------------------------------------------------------------------


def test_census_counts_each_catalog_prefix_in_one_query(data: str, victoria_metrics: ServerProcess) -> None:
    from stsdebug.stages.v6.census import census_query

    q = census_query(["t6ok_", "t6gone_"], selector(("t6ok.",)), 900)
    result = PrometheusApi(PrometheusApiConfig(data)).query(q, at=NOW)
    stats = {(s.labels.get("prefix"), s.labels["stat"]): s.points[-1][1] for s in result.series}
    assert stats[("t6ok_", "series")] == 4 and ("t6gone_", "series") not in stats
    assert stats[(None, "own_series")] == 4 and NOW - 20 < stats[(None, "own_newest")] <= NOW - 5


def test_longest_prefix_first() -> None:
    assert prefix_regex(["kubernetes.", "kubernetes_state.", "kube_"]) == "(kubernetes_state_|kubernetes_|kube_)"


# --- through StackState's /prometheus path --------------------------------------------------------


def test_victoria_metrics_stage_through_stackstate(data: str) -> None:
    with support.stackstate_stand_in(data) as url:
        s = Settings(integration="custom", metric_prefix=["t6ok."], prometheus_api=f"{url}/prometheus",
                     prometheus_api_token=support.TOKEN, window="15m", timeout=5.0)
        st = Trace(s, stages=[load_stage("victoriametrics", "6")], now=NOW).run().stages[0]
    assert st.status is Status.PASS and st.summary.startswith("4 series of custom")
    assert "rows ignored: not known" in st.summary  # no self-monitoring stored here


def test_a_wrong_service_token_is_an_error_not_a_verdict(data: str) -> None:
    with support.stackstate_stand_in(data) as url:
        s = Settings(integration="custom", metric_prefix=["t6ok."], prometheus_api=f"{url}/prometheus",
                     prometheus_api_token="wrong", window="15m", timeout=5.0)
        st = Trace(s, stages=[load_stage("victoriametrics", "6")], now=NOW).run().stages[0]
    assert st.status is Status.ERROR and "401" in st.summary


# --- the binding explainer -------------------------------------------------------------------


def bindings(vm: str, *queries: str, tags: tuple[str, ...] = (), **kw: Any):  # noqa: ANN201
    return run("bindings", vm, bindings=list(queries), component_tag=list(tags), **kw)


def fixes(st: Any) -> str:
    return " ".join(e.text for e in st.evidence if isinstance(e, Text))


def test_a_binding_that_draws_data_passes(data: str) -> None:
    st = bindings(data, 'sum by (cluster_name) (rate(t6b_http_requests{cluster_name="${tags.cluster-name}"}'
                        '[${__rate_interval}]))', tags=("cluster-name=prod-eu",))
    assert st.status is Status.PASS and st.summary == "1 binding query draws fresh data."


def test_a_wrong_label_value_gets_the_nearest_stored_values_by_series(data: str) -> None:
    st = bindings(data, 't6b_http_requests{cluster_name="prod-eu1", env="prod"}')
    assert st.status is Status.FAIL and not st.missing_data
    assert 'cluster_name="prod-eu1" empties it (without it: 15 series)' in st.summary
    assert "did you mean cluster_name=prod-eu — 12 series" in st.summary
    ranked = next(e for e in st.evidence if isinstance(e, Table) and "cluster_name values" in e.title)
    assert ranked.rows[0][:2] == ["prod-eu", 12]


def test_a_label_vmagent_renamed_is_named(data: str) -> None:
    st = bindings(data, 't6b_http_requests{kube_cluster_name="prod-eu"}')
    assert st.status is Status.FAIL
    assert "vmagent stores kube_cluster_name as cluster_name" in st.summary
    assert 'use cluster_name="prod-eu"' in st.summary


def test_a_renamed_metric_gets_its_new_name(data: str) -> None:
    st = bindings(data, 'avg(t6b_cpu_iowait{host="h1"})')
    assert st.status is Status.FAIL and not st.missing_data
    assert "the metric t6b_cpu_iowait has no sample in the window; its newest sample is 30 min old" in st.summary
    assert "did you mean t6b_cpu_io_wait — 1 series" in st.summary


def test_an_unresolved_placeholder_names_the_label_the_component_has(data: str) -> None:
    st = bindings(data, 't6b_http_requests{cluster_name="${tags.cluster-name}"}', tags=("cluster_name=prod-eu",))
    assert st.status is Status.FAIL and "cannot be filled" in st.summary
    assert "${tags.cluster-name}" in st.summary and "(the component has 'cluster_name')" in st.summary
    assert "use ${tags.cluster_name}" in fixes(st)


def test_two_matchers_that_cannot_hold_together(data: str) -> None:
    st = bindings(data, 't6b_http_requests{cluster_name="prod-us", pod_name="web-1"}')
    assert st.status is Status.FAIL
    assert 'cluster_name="prod-us" empties it' in st.summary and 'pod_name="web-1" empties it' in st.summary


def test_a_metric_with_no_data_at_all_is_missing_data_not_the_binding(data: str) -> None:
    st = bindings(data, 'zz_nothing_like_it_total{job="x"}')
    assert st.status is Status.FAIL and st.missing_data


@pytest.mark.parametrize("query, says", [
    ("sum(t6b_http_requests", "cannot be read: unbalanced '('"),
    ("t6b_http_requests[", "cannot be read"),
    ('histogram_quantile(0.9, t6b_http_requests{le="x"} offset)', "is refused by the query API"),
])
def test_broken_queries_say_why(data: str, query: str, says: str) -> None:
    st = bindings(data, query)
    assert st.status is Status.FAIL and says in st.summary


def test_the_explainer_stops_at_its_budget(data: str) -> None:
    api = PrometheusApi(PrometheusApiConfig(data))
    e = explain.Explainer(api, NOW - 900, NOW, fresh_after=NOW - 180, budget=explain.Budget(2))
    with pytest.raises(explain.BudgetSpent):
        e.explain("b", 't6b_http_requests{cluster_name="x"}', {}, None, "1m")
    assert api.requests_sent == e.budget.used == 2


def test_bindings_from_a_file_are_those_of_the_integration(data: str, tmp_path: Path) -> None:
    f = tmp_path / "b.sty"
    f.write_text("nodes:\n"
                 "- _type: MetricBinding\n  name: Requests\n  queries:\n  - expression: sum(t6b_http_requests)\n"
                 "- _type: MetricBinding\n  name: Other\n  queries:\n  - expression: up\n"
                 "- _type: MetricBinding\n  name: Off\n  enabled: false\n  queries:\n  - expression: t6b_x\n")
    st = run("bindings", data, bindings_file=str(f), metric_prefix=["t6b."])
    assert st.status is Status.PASS and st.summary == "1 binding query draws fresh data."
    note = st.evidence[0].note  # type: ignore[union-attr]
    assert "1 binding read other metrics" in note and "1 disabled" in note


def test_bindings_through_stackstate(data: str) -> None:
    with support.stackstate_stand_in(data) as url:
        s = Settings(bindings=['t6b_http_requests{cluster_name="prod-eu1"}'], prometheus_api=f"{url}/prometheus",
                     prometheus_api_token=support.TOKEN, window="15m", timeout=5.0)
        st = Trace(s, stages=[load_stage("bindings", "6")], now=NOW).run().stages[0]
    assert st.status is Status.FAIL and "did you mean cluster_name=prod-eu — 12 series" in st.summary


def test_a_rarely_reported_metric_is_not_called_stopped(victoria_metrics: ServerProcess) -> None:
    """An hourly metric is old most of the time; a regular one that stopped is worth saying."""
    vm = timeseries.base_url(victoria_metrics)
    fresh = _samples(NOW - 5)
    support.write(vm, [rw.series("t6rare_up", {"host": "h"}, samples=fresh),
                       rw.series("t6rare_backup_done", {"host": "h"}, samples=[(NOW - 600, 1.0)])])
    assert run("victoriametrics", vm, metric_prefix=["t6rare."]).status is Status.PASS
    support.write(vm, [rw.series("t6reg_up", {"host": "h"}, samples=fresh),
                       rw.series("t6reg_load", {"host": "h"}, samples=_samples(NOW - 600))])
    st = run("victoriametrics", vm, metric_prefix=["t6reg."])
    assert st.status is Status.WARN and "1 metric stopped while the others go on (t6reg_load)" in st.summary


def test_a_binding_the_api_refuses_does_not_hide_the_others(data: str) -> None:
    """VictoriaMetrics 1.79 refuses a quoted label name: that binding says so, the next is explained."""
    st = bindings(data, 't6b_http_requests{"cluster.name"="prod-eu"}', 't6b_http_requests{cluster_name="prod-eu1"}')
    assert st.status is Status.FAIL and "is refused by the query API" in st.summary
    assert "(2 of 2 binding queries draw nothing.)" in st.summary
    assert "did you mean cluster_name=prod-eu — 12 series" in fixes(st)


def test_a_source_error_in_one_binding_is_that_bindings_error(data: str) -> None:
    from stsdebug.errors import SourceError

    class Flaky(PrometheusApi):
        def label_values(self, *args: Any, **kw: Any) -> Any:
            raise SourceError("VictoriaMetrics answered HTTP 503", system="VictoriaMetrics")

    api = Flaky(PrometheusApiConfig(data))
    s = Settings(bindings=["t6b_cpu_iowait", 't6b_http_requests{cluster_name="prod-eu1"}'], victoria_metrics=data,
                 window="15m", timeout=5.0)
    st = Trace(s, stages=[load_stage("bindings", "6")], sources={"prometheus": api}, now=NOW).run().stages[0]
    assert st.status is Status.FAIL and "did you mean cluster_name=prod-eu" in st.summary
    table = st.evidence[0]
    assert [r[-1] for r in table.rows] == ["ERROR", "FAIL"]  # type: ignore[union-attr]
