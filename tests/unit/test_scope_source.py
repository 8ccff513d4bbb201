"""Scope and source stages judged over censuses. The census service is substituted through
its seam (``Trace(census=...)``); the real Kafka/Elasticsearch reads behind it are tested
in tests/integration."""

import pytest

from stsdebug.census import Census
from stsdebug.errors import SourceError
from stsdebug.model import Status
from stsdebug.settings import Settings
from stsdebug.stages import scope, source
from stsdebug.stages.base import Stage
from stsdebug.trace import Trace

NOW = 1_800_000_000.0


def census(system, matched=0, others=(), total=None, newest_age=5.0, sampled=False):
    c = Census(system, NOW - 900, NOW, sampled=sampled)
    for p, n in [("mysql.", matched), *others]:
        pc = c.prefix(p)
        for _ in range(n):
            pc.see(NOW - newest_age)
    c.matched = matched
    c.matched_newest = NOW - newest_age if matched else None
    c.total = sum(pc.records for pc in c.prefixes.values()) if total is None else total
    c.newest = NOW - newest_age if c.total else None
    return c


class FakeCensus:
    """Stands in for the census service: a Census, None (no input) or a SourceError per system."""

    def __init__(self, kafka=None, es=None):
        self.given = {"kafka": kafka, "elasticsearch": es}
        self.asked: list[str] = []

    def _take(self, system):
        self.asked.append(system)
        value = self.given[system]
        if isinstance(value, Exception):
            raise value
        return value

    def kafka(self):
        return self._take("kafka")

    def elasticsearch(self):
        return self._take("elasticsearch")


def run_scope(kafka=None, es=None, integration="mysql", **settings):
    s = Settings(integration=integration, kafka="k:1", es="http://e", **settings)
    fake = FakeCensus(kafka, es)
    t = Trace(s, stages=[Stage("scope", scope.TITLE, scope.run)], census=fake, now=NOW).run()
    return t.stages[0]


def test_only_this_integration_missing():
    r = run_scope(kafka=census("kafka", 0, [("system.", 40), ("docker.", 3)]))
    assert r.status is Status.WARN
    assert r.summary.startswith("Only mysql is missing: 2 other integrations are fresh (docker, system)")
    table = r.evidence[1]
    assert table.rows[0][:5] == ["mysql.", "yes", "mysql", "push", "unseen"]
    assert table.rows[0][table.columns.index("Kafka records")] == 0
    assert any("step 2" in (h.runbook or "") for h in r.hints)


def aged(system, ages, window=900):
    """A census whose prefixes were last seen `ages[prefix]` seconds ago (in the window or before)."""
    c = Census(system, NOW - window, NOW)
    for p, a in ages.items():
        c.prefix(p).see(NOW - a, in_window=a <= window)
    c.total = sum(pc.records for pc in c.prefixes.values())
    c.newest = max(NOW - a for a in ages.values())
    c.matched_newest = NOW - ages["mysql."] if "mysql." in ages else None
    c.matched = 1 if "mysql." in ages and ages["mysql."] <= window else 0
    return c


def test_every_push_integration_stale_with_pull_fresh_is_the_shared_push_path():
    ages = {"mysql.": 1500, "system.": 1500, "kubernetes.": 1500, "aws.": 40}
    r = run_scope(kafka=aged("kafka", {k: v for k, v in ages.items() if k != "aws."}), es=aged("elasticsearch", ages))
    assert r.status is Status.WARN
    assert "every push integration stopped (kubernetes, mysql, system)" in r.summary
    assert "pull data is fresh (aws)" in r.summary and "receiver" in r.summary
    assert "Only mysql" not in r.summary


def test_every_pull_integration_stale_with_push_fresh_is_the_server():
    ages = {"aws.": 3000, "azure.": 3000, "system.": 5}
    r = run_scope(es=aged("elasticsearch", ages), integration="aws", storage="elasticsearch")
    assert r.status is Status.WARN
    assert "every pull integration stopped (aws, azure)" in r.summary and "push data is fresh (system)" in r.summary
    assert "StackState server" in r.summary


def test_a_slow_integration_outside_the_window_is_on_time():
    # mysql reports every 15 s by the catalog; its newest point 40 s ago, before a 30 s window.
    c = aged("kafka", {"mysql.": 40, "system.": 2}, window=30)
    r = run_scope(kafka=c, window="30s")
    assert r.status is Status.PASS, r.summary
    assert "on time" in r.summary and "push fresh: mysql, system" in r.summary


def test_scope_never_fails():
    for kafka, es in [(census("kafka"), census("elasticsearch")),
                      (aged("kafka", {"mysql.": 9000}), aged("elasticsearch", {"mysql.": 9000}))]:
        assert run_scope(kafka=kafka, es=es).status in (Status.PASS, Status.WARN)


def test_all_metrics_missing_points_at_shared_infrastructure():
    r = run_scope(kafka=census("kafka"), es=census("elasticsearch"))
    assert r.status is Status.WARN
    assert r.summary.startswith("All metrics are missing")
    assert any("step 3" in (h.runbook or "") and "mm2es" in h.text for h in r.hints)


def test_reconciliation_counts_records_lost_between_kafka_and_es():
    r = run_scope(kafka=census("kafka", 100), es=census("elasticsearch", 60))
    assert r.status is Status.WARN
    assert "40 of 100 mysql records on Kafka did not reach Elasticsearch" in r.summary
    rec = r.evidence[-1]
    assert rec.rows == [[100, 60, 40]]


def test_present_everywhere_passes():
    r = run_scope(kafka=census("kafka", 100), es=census("elasticsearch", 99))
    assert r.status is Status.PASS and "present" in r.summary


def test_unreachable_kafka_gives_partial_census():
    r = run_scope(kafka=SourceError("Cannot connect to Kafka at k:1: connection refused"), es=census("elasticsearch", 5))
    assert r.status is Status.PASS
    assert "Partial census: Kafka could not be read (Cannot connect" in r.summary


def test_nothing_readable_is_skip_not_pass():
    r = run_scope(kafka=SourceError("refused"), es=SourceError("timeout"))
    assert r.status is Status.SKIP and "No census possible" in r.summary


# --- source stage --------------------------------------------------------------------------


class FakeMirror:
    def __init__(self, answer):
        self.answer = answer

    def test_connection(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def run_source(integration="prometheus", mirror=None, es_census=None, **kw):
    s = Settings(integration=integration, mirror="http://127.0.0.1:9900" if mirror else None, es="http://e" if es_census else None, **kw)
    sources = {"mirror": FakeMirror(mirror)} if mirror is not None else {}
    t = Trace(s, stages=[Stage("source", source.TITLE, source.run)], sources=sources,
              census=FakeCensus(es=es_census), now=NOW).run()
    return t.stages[0]


def test_mirror_ok():
    r = run_source(mirror={"status": "OK", "_type": "TestConnectionResponse"})
    assert r.status is Status.PASS and "answers TestConnection with OK" in r.summary


@pytest.mark.parametrize("kind", ["MetricStoreConnectionError", "RemoteMirrorError"])
def test_mirror_typed_errors_are_explained(kind):
    r = run_source(mirror={"_type": kind, "message": "prometheus:9090 refused"})
    assert r.status is Status.FAIL
    assert kind in r.summary and "prometheus:9090 refused" in r.summary
    assert r.hints


def test_mirror_unreachable_is_error():
    r = run_source(mirror=SourceError("Cannot connect to 127.0.0.1:9900: connection refused"))
    assert r.status is Status.ERROR and "could not be tested" in r.summary


def test_aws_arrival_in_es():
    c = census("elasticsearch", 0)
    c.matched, c.matched_newest = 1234, NOW - 30
    r = run_source(integration="aws", es_census=c)
    assert r.status is Status.PASS and "1,234" in r.summary
    assert any(getattr(e, "title", "") == "What cannot be checked from outside StackState" for e in r.evidence)


def test_aws_absent_from_es_is_no_evidence_as_it_is_on_demand():
    r = run_source(integration="aws", es_census=census("elasticsearch", 0))
    assert r.status is Status.SKIP, r.summary
    assert "retrieved on demand" in r.summary and "proves nothing" in r.summary
    assert "--server-log" in r.summary


def test_aws_nothing_arrives_fails_where_it_is_stored():
    r = run_source(integration="aws", es_census=census("elasticsearch", 0), storage="elasticsearch")
    assert r.status is Status.FAIL and "No aws documents arrived" in r.summary


def test_scope_reads_kafka_only_for_push_and_each_census_once():
    fake = FakeCensus(census("kafka", 3), census("elasticsearch", 3))
    s = Settings(integration="aws", kafka="k:1", es="http://e")
    Trace(s, stages=[Stage("scope", scope.TITLE, scope.run)], census=fake, now=NOW).run()
    assert fake.asked == ["elasticsearch"]  # aws is pulled: Kafka has none of its data
    fake = FakeCensus(census("kafka", 3), census("elasticsearch", 3))
    Trace(Settings(integration="mysql", kafka="k:1", es="http://e"),
          stages=[Stage("scope", scope.TITLE, scope.run)], census=fake, now=NOW).run()
    assert fake.asked == ["kafka", "elasticsearch"]


def test_source_without_input_is_skip():
    r = run_source(integration="azure")
    assert r.status is Status.SKIP


def test_mirror_wrapped_failure_is_named():
    r = run_source(mirror={"status": "FAILURE", "error": {"_type": "MetricStoreConnectionError", "message": "down"}})
    assert r.status is Status.FAIL and "MetricStoreConnectionError" in r.summary and "down" in r.summary


def test_mirror_is_not_tested_for_aws():
    c = census("elasticsearch", 0)
    c.matched, c.matched_newest = 10, NOW - 5
    r = run_source(integration="aws", mirror={"_type": "RemoteMirrorError"}, es_census=c)
    assert r.status is Status.PASS and "mirror" not in r.summary.lower()
