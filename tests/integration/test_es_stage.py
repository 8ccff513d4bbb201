"""The Elasticsearch stage against noida-db (wire-compatible Elasticsearch), seeded by the client.

Each test writes its own daily indices (a unique name stem), so tests sharing the
session's server never see each other's data.
"""

from __future__ import annotations

import time

import pytest

from stsdebug.model import Status
from stsdebug.settings import Settings
from stsdebug.sources.es import ESSource
from tests.integration import es_support as sup
from tests.integration.es_support import AWS, DAY, SYSTEM, Series

pytestmark = pytest.mark.wire


def _settings(es_url: str, base: str, **kw: object) -> Settings:
    values: dict[str, object] = {
        "integration": "aws",
        # The CloudWatch plugin stores nothing in 5.1 (on demand); these tests give aws data
        # that is stored, as an installation that keeps it does.
        "storage": "elasticsearch",
        "es": es_url,
        "index_pattern": base + "*",
        "timeout": 5.0,
        "window": "15m",
    }
    values.update(kw)
    return Settings(**values)  # type: ignore[arg-type]


def test_healthy_multi_metric_layout_passes_with_counts(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    sup.seed(es_url, sup.multi_docs(base, now, [AWS, SYSTEM]))
    trace = sup.run(_settings(es_url, base), ["elasticsearch"], now=now)
    r = sup.stage(trace, "elasticsearch")
    assert r.status is Status.PASS, r.summary
    figs = sup.figures(r)
    assert figs["aws documents in the last 15m"] == AWS.points
    assert figs["documents in the last 15m"] == AWS.points + SYSTEM.points
    assert figs["newest aws document age"] == pytest.approx(AWS.newest_age, abs=1.5)
    assert figs["document layout"] == "multi (mapping)"
    assert figs["today's index"] == sup.day_index(base, now)
    assert f"{AWS.points} aws documents" in r.summary
    rows = sup.table(r, "Indices matching").rows
    assert rows[0][0] == sup.day_index(base, now) + " (write index)"
    assert rows[0][3] == AWS.points + SYSTEM.points  # docs.count from _cat/indices


def test_census_counts_documents_per_prefix_without_downloading(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    old = Series("web-2", {}, {"docker.cpu.user": 1.0}, points=4, newest_age=3 * 3600)
    sup.seed(es_url, sup.multi_docs(base, now, [AWS, SYSTEM, old]))
    trace_settings = _settings(es_url, base)
    from stsdebug.integrations import Matcher, find
    from stsdebug.model import Window
    from stsdebug.stages.base import Context, Sources

    integ = find("aws")
    ctx = Context(
        settings=trace_settings,
        integration=integ,
        matcher=Matcher.build(integ),
        window=Window(now - 900, now, "15m"),
        now=now,
        sources=Sources(trace_settings),
    )
    c = ctx.census.elasticsearch()
    assert c is not None
    assert (c.total, c.matched) == (AWS.points + SYSTEM.points, AWS.points)
    assert c.prefixes["aws."].records == AWS.points
    assert c.prefixes["system."].records == SYSTEM.points
    # docker.* is in the mapping (this index saw it) but has nothing in the window: its
    # newest document is looked up before the window (3 h ago).
    assert c.prefixes["docker."].records == 0
    assert c.prefixes["docker."].newest == pytest.approx(now - 3 * 3600, abs=1.0)
    assert c.prefixes["aws."].newest == pytest.approx(now - AWS.newest_age, abs=1.0)
    assert not c.sampled
    # Cached, errors included: the second call sends nothing.
    es: ESSource = ctx.es
    sent = es.requests
    assert ctx.census.elasticsearch() is c and es.requests == sent
    ctx.sources.close()


def test_single_metric_layout_is_detected_and_counted(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    sup.seed(es_url, sup.single_docs(base, now, [AWS, SYSTEM]))
    trace = sup.run(_settings(es_url, base, window="1h"), ["scope", "elasticsearch"], now=now)
    r = sup.stage(trace, "elasticsearch")
    assert r.status is Status.PASS, r.summary
    figs = sup.figures(r)
    assert figs["document layout"] == "single (mapping)"
    # One document per point and metric: 12 points x 2 aws metrics.
    assert figs["aws documents in the last 1h"] == AWS.points * 2
    prefixes = sup.table(sup.stage(trace, "scope"), "Metric prefixes")
    records = prefixes.columns.index("Elasticsearch records")
    scope_rows = {row[0]: row for row in prefixes.rows}
    assert scope_rows["aws."][records] == AWS.points * 2
    assert scope_rows["system."][records] == SYSTEM.points * 2


def test_layout_setting_overrides_detection(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    sup.seed(es_url, sup.single_docs(base, now, [AWS]))
    trace = sup.run(_settings(es_url, base, es_layout="multi"), ["elasticsearch"], now=now)
    r = sup.stage(trace, "elasticsearch")
    assert sup.figures(r)["document layout"] == "multi (--es-layout)"
    # Read as multi-metric, no values.aws.* field exists: no aws data is found.
    assert r.status is Status.FAIL and r.missing_data


def test_read_only_allow_delete_block_on_todays_index_fails_as_a_cause(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    sup.seed(es_url, sup.multi_docs(base, now, [AWS]))
    today = sup.day_index(base, now)
    es = sup.client(es_url)
    es.indices.put_settings(index=today, body={"index.blocks.read_only_allow_delete": True})
    es.close()
    trace = sup.run(_settings(es_url, base), ["elasticsearch"], now=now)
    r = sup.stage(trace, "elasticsearch")
    assert r.status is Status.FAIL
    assert not r.missing_data  # a real cause, not "no data arrived"
    assert "index.blocks.read_only_allow_delete" in r.summary and today in r.summary
    assert any("read_only_allow_delete" in h.text and "null" in h.text for h in r.hints)
    row = sup.table(r, "Indices matching").rows[0]
    assert row[-1] == "read_only_allow_delete"


def test_block_on_an_older_index_only_warns(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    yesterday = Series("i-0abc", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 1.0}, 2, DAY)
    sup.seed(es_url, sup.multi_docs(base, now, [AWS, yesterday]))
    es = sup.client(es_url)
    es.indices.put_settings(
        index=sup.day_index(base, now - DAY), body={"index.blocks.read_only_allow_delete": True}
    )
    es.close()
    r = sup.stage(sup.run(_settings(es_url, base), ["elasticsearch"], now=now), "elasticsearch")
    assert r.status is Status.WARN
    assert "older index has a write block" in r.summary


@pytest.mark.parametrize(
    ("limit_of", "status"),
    [(lambda n: n, Status.FAIL), (lambda n: n + 2, Status.WARN), (lambda n: 3 * n, Status.PASS)],
    ids=["at-limit", "near-limit", "far-below"],
)
def test_field_count_against_total_fields_limit(es_url: str, limit_of, status: Status) -> None:
    base, now = sup.unique_base(), time.time()
    sup.seed(es_url, sup.multi_docs(base, now, [AWS, SYSTEM]))
    today = sup.day_index(base, now)
    es = sup.client(es_url)
    props = es.indices.get_mapping(index=today)[today]["mappings"]["properties"]
    from stsdebug.sources.es_query import FieldMap

    count = FieldMap.from_mappings({today: props}).counts[today]
    # noida-db stores the limit without enforcing it, like a limit lowered after the fact.
    es.indices.put_settings(index=today, body={"index.mapping.total_fields.limit": limit_of(count)})
    es.close()
    r = sup.stage(sup.run(_settings(es_url, base), ["elasticsearch"], now=now), "elasticsearch")
    assert r.status is status, r.summary
    row = sup.table(r, "Indices matching").rows[0]
    assert row[5] == f"{count} / {limit_of(count)}"
    if status is Status.FAIL:
        assert not r.missing_data
        assert "index.mapping.total_fields.limit" in r.summary
    if status is Status.WARN:
        assert "%" in r.summary and "total_fields.limit" in r.summary


def test_missing_todays_index_and_stale_data_fail_as_missing_data(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    old = Series("i-0abc", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 1.0}, 3, DAY + 600)
    sup.seed(es_url, sup.multi_docs(base, now, [old]))
    r = sup.stage(sup.run(_settings(es_url, base), ["elasticsearch"], now=now), "elasticsearch")
    assert r.status is Status.FAIL and r.missing_data
    assert "aws's documents stopped arriving" in r.summary
    assert "24.2 h old" in r.summary  # the newest aws document, found outside the window
    figs = sup.figures(r)
    assert figs["today's index"] == f"{sup.day_index(base, now)} (missing)"
    assert figs["newest aws document age (any index)"] == pytest.approx(DAY + 600, abs=2)
    assert "does not exist" in r.summary


def test_stale_newest_document_in_window_fails_with_its_age(es_url: str) -> None:
    # Points every 30 s that stopped 40 minutes ago: stopped, although a 2 h window holds them.
    base, now = sup.unique_base(), time.time()
    stale = Series("i-0abc", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 1.0}, 5, 40 * 60)
    sup.seed(es_url, sup.multi_docs(base, now, [stale]))
    r = sup.stage(
        sup.run(_settings(es_url, base, window="2h"), ["elasticsearch"], now=now), "elasticsearch"
    )
    assert r.status is Status.FAIL and r.missing_data
    assert "40 min old" in r.summary
    assert "it reports every 30 s (measured on Elasticsearch documents)" in r.summary


def test_a_slow_series_is_on_time_in_a_narrow_window(es_url: str) -> None:
    # Every 5 minutes, the newest 3 minutes old, looked at with a 2 minute window.
    base, now = sup.unique_base(), time.time()
    slow = Series("batch-01", {}, {"aws.batch.pending": 4.0}, 12, 180, step=300)
    sup.seed(es_url, sup.multi_docs(base, now, [slow]))
    r = sup.stage(
        sup.run(_settings(es_url, base, window="2m"), ["elasticsearch"], now=now), "elasticsearch"
    )
    assert r.status is Status.PASS, r.summary
    assert "on time" in r.summary and "every 5 min" in r.summary


def test_clock_behind_is_named_from_time_received(es_url: str) -> None:
    # i-0abc's documents are received now but stamped two hours back.
    base, now = sup.unique_base(), time.time()
    docs = sup.multi_docs(base, now, [Series("i-0abc", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 1.0},
                                             20, 2 * 3600 + 5, step=30), AWS])
    for d in docs:
        if d["_source"]["host"] == "i-0abc":
            d["_source"]["timeReceived"] = d["_source"]["timestamp"] + 2 * 3600 * 1000
    sup.seed(es_url, docs)
    r = sup.stage(sup.run(_settings(es_url, base), ["elasticsearch"], now=now), "elasticsearch")
    assert r.status is Status.FAIL, r.summary
    assert "The clock of host i-0abc runs about 2.0 h behind" in r.summary
    assert [row[0] for row in sup.table(r, "Host clocks").rows] == ["i-0abc"]


def test_no_index_matching_the_pattern_names_the_nearest_one(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    sup.seed(es_url, sup.multi_docs(base, now, [AWS]))
    typo = base.replace("metrics", "metrcs")
    r = sup.stage(sup.run(_settings(es_url, typo), ["elasticsearch"], now=now), "elasticsearch")
    assert r.status is Status.FAIL and r.missing_data
    assert f"No index matches {typo}*" in r.summary
    assert any(f"did you mean {base}*" in h.text for h in r.hints)


def test_other_integrations_data_present_but_not_ours(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    sup.seed(es_url, sup.multi_docs(base, now, [SYSTEM]))
    r = sup.stage(sup.run(_settings(es_url, base), ["elasticsearch"], now=now), "elasticsearch")
    assert r.status is Status.FAIL and r.missing_data
    assert f"{SYSTEM.points} documents of other data" in r.summary
    assert any("system." in h.text for h in r.hints)


def test_epoch_seconds_timestamps_on_a_date_field_are_found(es_url: str) -> None:
    """The window query is unit-agnostic: a date-mapped timestamp written in epoch seconds."""
    base, now = sup.unique_base(), time.time()
    today = sup.day_index(base, now)
    es = sup.client(es_url)
    es.indices.create(
        index=today,
        body={
            "mappings": {"properties": {"timestamp": {"type": "date", "format": "epoch_second"}}}
        },
    )
    es.close()
    docs = sup.multi_docs(base, now, [AWS])
    for d in docs:
        d["_source"]["timestamp"] = int(d["_source"]["timestamp"] / 1000)
    sup.seed(es_url, docs)
    r = sup.stage(sup.run(_settings(es_url, base), ["elasticsearch"], now=now), "elasticsearch")
    assert r.status is Status.PASS, r.summary
    assert sup.figures(r)["newest aws document age"] == pytest.approx(AWS.newest_age, abs=1.5)


def test_request_count_does_not_grow_with_the_number_of_indices(es_url: str) -> None:
    counts = {}
    for n_days in (3, 30):
        base, now = sup.unique_base(), time.time()
        docs = []
        for d in range(n_days):
            s = Series(
                "i-0abc", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 1.0}, 1, d * DAY + 5
            )
            docs += sup.multi_docs(base, now, [s])
        sup.seed(es_url, docs)
        trace_settings = _settings(es_url, base)
        source = ESSource(es_url, timeout=5.0)
        from stsdebug.trace import Trace

        trace = Trace(
            trace_settings,
            stages=[sup.load_stage("elasticsearch")],
            sources={"es": source},
            now=now,
        ).run()
        r = sup.stage(trace, "elasticsearch")
        assert r.status is Status.PASS, r.summary
        assert sup.figures(r)[f"indices matching {base}*"] == n_days
        counts[n_days] = source.requests
    assert counts[3] == counts[30]
    assert counts[3] <= 12
