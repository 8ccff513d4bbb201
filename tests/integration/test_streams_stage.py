"""The streams stage against noida-db, both document layouts, seeded with the real client."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from stsdebug.model import Status
from stsdebug.settings import Settings
from stsdebug.sources.es import ESSource
from stsdebug.trace import Trace
from tests.integration import es_support as sup
from tests.integration.es_support import AWS, SYSTEM, Series

pytestmark = pytest.mark.wire

# A second aws host whose name is one character away from the stream's typo, with fewer docs.
AWS_B = Series("i-0abd", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 5.0}, points=3)


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


@pytest.fixture(scope="module")
def multi(noida: object) -> tuple[str, str, float]:
    from stsdebug.sandbox.servers import es_url

    url = es_url(noida)  # type: ignore[arg-type]
    base, now = sup.unique_base(), time.time()
    sup.seed(url, sup.multi_docs(base, now, [AWS, AWS_B, SYSTEM]))
    return url, base, now


@pytest.fixture(scope="module")
def single(noida: object) -> tuple[str, str, float]:
    from stsdebug.sandbox.servers import es_url

    url = es_url(noida)  # type: ignore[arg-type]
    base, now = sup.unique_base(), time.time()
    sup.seed(url, sup.single_docs(base, now, [AWS, SYSTEM]))
    return url, base, now


def _streams(env: tuple[str, str, float], streams: list[str], **kw: object):
    url, base, now = env
    trace = sup.run(
        _settings(url, base, streams=streams, **kw), ["elasticsearch", "streams"], now=now
    )
    return sup.stage(trace, "streams"), trace


def test_no_stream_given_skips_with_a_hint(multi) -> None:
    r, _ = _streams(multi, [])
    assert r.status is Status.SKIP
    assert "--stream" in r.hints[0].text and "--streams-file" in r.hints[0].text


def test_matching_stream_passes_with_counts(multi) -> None:
    r, _ = _streams(
        multi,
        ["host=i-0abc,tags.region=eu-west-1,metric=values.aws.ec2.cpuutilization"],
    )
    assert r.status is Status.PASS, r.summary
    row = sup.table(r, "Streams in the last").rows[0]
    assert row[3] == AWS.points
    assert row[4] == pytest.approx(AWS.newest_age, abs=1.5)


def test_renamed_host_names_the_condition_and_suggests_the_stored_value(multi) -> None:
    r, trace = _streams(
        multi,
        ["host=i-0abx,tags.region=eu-west-1,metric=values.aws.ec2.cpuutilization"],
    )
    assert r.status is Status.FAIL
    # The Elasticsearch stage passed: this is a cause of its own, not missing data.
    assert sup.stage(trace, "elasticsearch").status is Status.PASS
    assert not r.missing_data
    assert "host=i-0abx empties it" in r.summary
    # Both hosts are one edit away; ranked by similarity, then by documents in the window.
    assert f"did you mean i-0abc — {AWS.points} docs in the window" in r.summary
    hint = next(h.text for h in r.hints if "i-0abx" in h.text)
    assert hint.index("i-0abc") < hint.index("i-0abd")
    assert f"i-0abd — {AWS_B.points} docs in the window" in hint
    rows = {row[0]: row for row in sup.table(r, "Stream 'stream 1'").rows}
    assert rows["host=i-0abx"][1:3] == [0, AWS.points + AWS_B.points]


def test_renamed_metric_in_the_mapping_suggests_the_nearest_metric_name(multi) -> None:
    r, _ = _streams(multi, ["host=i-0abc,metric=values.aws.ec2.cpu_utilization"])
    assert r.status is Status.FAIL and not r.missing_data
    assert "metric field values.aws.ec2.cpu_utilization is not in the mapping" in r.summary
    nearest = f"did you mean values.aws.ec2.cpuutilization — {AWS.points} docs in the window"
    assert nearest in r.summary
    # networkin shares the prefix but is not near enough to be offered.
    assert "networkin" not in r.summary


def test_metric_named_without_values_prefix_is_read_as_values_field(multi) -> None:
    r, _ = _streams(multi, ["host=i-0abc,metric=aws.ec2.cpuutilization"])
    assert r.status is Status.PASS, r.summary
    assert sup.table(r, "Streams in the last").rows[0][2] == "values.aws.ec2.cpuutilization"


def test_metric_present_in_mapping_but_not_on_the_selected_documents(multi) -> None:
    r, _ = _streams(multi, ["host=web-1,metric=values.aws.ec2.cpuutilization"])
    assert r.status is Status.FAIL
    # Either could be wrong: web-1 has documents, the aws metric has documents, not together.
    assert "dropping any one of host=web-1, metric field values.aws.ec2.cpuutilization" in r.summary
    hint = next(h.text for h in r.hints if "web-1" in h.text)
    assert "host=web-1 matches none of the documents the other conditions select" in hint
    assert "host holds e.g. i-0abc" in hint
    assert "is on none of the documents its conditions match" in hint


def test_misspelled_field_name_suggests_the_mapped_field(multi) -> None:
    r, _ = _streams(
        multi, ["host=i-0abc,tags.regoin=eu-west-1,metric=values.aws.ec2.cpuutilization"]
    )
    assert r.status is Status.FAIL
    assert "tags.regoin is not a field of the indices; did you mean tags.region" in r.summary


def test_case_mismatch_is_suggested_first(multi) -> None:
    r, _ = _streams(
        multi, ["host=i-0abc,tags.region=EU-WEST-1,metric=values.aws.ec2.cpuutilization"]
    )
    assert r.status is Status.FAIL
    assert "did you mean eu-west-1" in r.summary


def test_two_wrong_conditions_each_reported_with_suggestions(multi) -> None:
    r, _ = _streams(multi, ["host=nothere,tags.region=mars-1"])
    assert r.status is Status.FAIL
    assert (
        "host=nothere, tags.region=mars-1 match no document in the window on their own" in r.summary
    )
    hint = next(h.text for h in r.hints if "nothere" in h.text)
    assert "region holds e.g. eu-west-1" in hint


def test_conditions_that_conflict(multi) -> None:
    r, _ = _streams(multi, ["host=web-1,tags.region=eu-west-1"])
    assert r.status is Status.FAIL
    assert (
        "dropping any one of host=web-1, tags.region=eu-west-1 brings documents back" in r.summary
    )


def test_streams_file_yaml_with_several_streams(multi, tmp_path: Path) -> None:
    path = tmp_path / "streams.yaml"
    path.write_text(
        "- name: cpu\n"
        "  conditions: {host: i-0abc, tags.region: eu-west-1}\n"
        "  metric: values.aws.ec2.cpuutilization\n"
        "- name: load\n"
        "  conditions:\n"
        "    - {key: host, value: web-1}\n"
        "  metric: values.system.load.norm\n"
        "- name: net\n"
        "  conditions: [host=i-0abc]\n"
        "  metric: values.aws.ec2.networkout\n",
        encoding="utf-8",
    )
    r, _ = _streams(multi, [], streams_file=str(path))
    assert r.status is Status.FAIL
    assert r.summary.startswith("1 of 3 streams draw no data")
    rows = {row[0]: row for row in sup.table(r, "Streams in the last").rows}
    assert rows["cpu"][5] == "pass" and rows["load"][5] == "pass" and rows["net"][5] == "fail"
    assert rows["load"][3] == SYSTEM.points
    assert "networkin" in rows["net"][6]  # the nearest aws.ec2 metric


def test_bad_stream_definition_is_an_error_not_a_crash(multi) -> None:
    r, _ = _streams(multi, ["host=i-0abc,novalue"])
    assert r.status is Status.ERROR
    assert "'novalue' is not KEY=VALUE" in r.summary


def test_single_metric_layout_default_metric_field_and_name_suggestion(single) -> None:
    ok, _ = _streams(single, ["name=aws.ec2.cpuutilization,host=i-0abc"])
    assert ok.status is Status.PASS, ok.summary
    assert sup.table(ok, "Streams in the last").rows[0][2] == "value"
    assert sup.table(ok, "Streams in the last").rows[0][3] == AWS.points
    bad, _ = _streams(single, ["name=aws.ec2.cpu_utilization,host=i-0abc,metric=value"])
    assert bad.status is Status.FAIL
    assert "name=aws.ec2.cpu_utilization empties it" in bad.summary
    assert f"did you mean aws.ec2.cpuutilization — {AWS.points} docs in the window" in bad.summary


def test_stream_failure_is_blocked_when_elasticsearch_has_no_integration_data(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    sup.seed(es_url, sup.multi_docs(base, now, [SYSTEM]))
    s = _settings(es_url, base, streams=["host=i-0abc,metric=values.aws.ec2.cpuutilization"])
    trace = sup.run(s, ["elasticsearch", "streams"], now=now)
    assert sup.stage(trace, "elasticsearch").status is Status.FAIL
    r = sup.stage(trace, "streams")
    assert r.status is Status.BLOCKED  # expected after the earlier failure, not a second cause
    assert trace.verdict.stage == "elasticsearch"


def test_stale_stream_fails_as_missing_data(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    stale = Series("i-0abc", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 1.0}, 3, 50 * 60)
    sup.seed(es_url, sup.multi_docs(base, now, [stale]))
    s = _settings(
        es_url, base, window="2h", streams=["host=i-0abc,metric=values.aws.ec2.cpuutilization"]
    )
    r = sup.stage(sup.run(s, ["streams"], now=now), "streams")
    assert r.status is Status.FAIL and r.missing_data
    assert "50 min old" in r.summary and "the data behind it stopped" in r.summary


def test_streams_reuse_the_elasticsearch_reads_one_search_per_stream(multi) -> None:
    url, base, now = multi
    source = ESSource(url, timeout=5.0)
    streams = [
        "host=i-0abc,metric=values.aws.ec2.cpuutilization",
        "host=i-0abx,metric=values.aws.ec2.cpuutilization",
        "host=web-1,metric=values.system.load.norm",
    ]
    s = _settings(url, base, streams=streams)
    trace = Trace(s, stages=[sup.load_stage("elasticsearch")], sources={"es": source}, now=now)
    trace.run()
    after_es = source.requests
    trace2 = Trace(
        s,
        stages=[sup.load_stage("elasticsearch"), sup.load_stage("streams")],
        sources={"es": ESSource(url, timeout=5.0)},
        now=now,
    )
    src2 = trace2.source_overrides["es"]  # type: ignore[index]
    result = trace2.run()
    assert sup.stage(result, "streams").status is Status.FAIL
    assert src2.requests == after_es + len(streams)


def test_json_streams_file(multi, tmp_path: Path) -> None:
    path = tmp_path / "streams.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "cpu",
                    "conditions": {"host": "i-0abc"},
                    "metric": "values.aws.ec2.cpuutilization",
                }
            ]
        ),
        encoding="utf-8",
    )
    r, _ = _streams(multi, [], streams_file=str(path))
    assert r.status is Status.PASS, r.summary


def test_no_data_in_the_window_still_checks_the_mapping(es_url: str) -> None:
    base, now = sup.unique_base(), time.time()
    old = Series("i-0abc", {"region": "eu-west-1"}, {"aws.ec2.cpuutilization": 1.0}, 2, 3 * 3600)
    sup.seed(es_url, sup.multi_docs(base, now, [old]))
    streams = [
        "host=i-0abc,metric=values.aws.ec2.cpuutilization",
        "host=i-0abc,metric=values.aws.ec2.cpu_utilization",
    ]
    r = sup.stage(
        sup.run(_settings(es_url, base, streams=streams), ["streams"], now=now), "streams"
    )
    assert r.status is Status.FAIL and r.missing_data
    assert (
        r.summary
        == f"No stream draws data: there are no documents at all in {base}* in the last 15m."
    )
    why = {row[0]: row[6] for row in sup.table(r, "Streams in the last").rows}
    assert "besides" not in why["stream 1"]
    assert (
        "besides, metric field values.aws.ec2.cpu_utilization is not in the mapping"
        in why["stream 2"]
    )


def test_a_bare_ui_metric_name_is_read_in_either_layout(multi, single) -> None:
    # The UI shows aws.ec2.cpuutilization: values.<name> in one layout, name = <name> in the other.
    for env in (multi, single):
        r, _ = _streams(env, ["host=i-0abc,metric=aws.ec2.cpuutilization"])
        assert r.status is Status.PASS, r.summary


def test_a_renamed_bare_metric_is_offered_bare(multi) -> None:
    r, _ = _streams(multi, ["host=i-0abc,metric=aws.ec2.cpu_utilization"])
    assert r.status is Status.FAIL
    assert "did you mean aws.ec2.cpuutilization" in r.summary
    assert "values.aws" not in r.summary


def test_metric_streams_on_a_plugins_data_source_are_not_checked_here(multi, tmp_path: Path) -> None:
    ms = {"_type": "MetricStream", "name": "CPU (CloudWatch)", "dataSource": "CloudWatch eu-west-1",
          "query": {"_type": "MetricTelemetryQuery", "conditions": [{"key": "InstanceId", "value": "i-0abc"}],
                    "metricField": "CPUUtilization", "aggregation": "MEAN"}}
    path = tmp_path / "streams.json"
    path.write_text(json.dumps([ms]), encoding="utf-8")
    r, _ = _streams(multi, [], streams_file=str(path))
    assert r.status is Status.SKIP
    assert "data source CloudWatch eu-west-1" in r.summary and "plugin" in r.summary
