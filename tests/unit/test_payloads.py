"""Receiver intake payload validation: every rule, the seed examples, paths, positions, output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stsdebug.payloads import (
    ERROR,
    EVENT_CATEGORIES,
    METRIC_TYPES,
    RESERVED_EVENT_PREFIXES,
    RESERVED_METRIC_PREFIXES,
    RULES,
    WARNING,
    PayloadSyntaxError,
    Problem,
    ValidationReport,
    decode_payload,
    format_path,
    metric_name_problem,
    metric_type_problem,
    parse_payload,
    validate_obj,
    validate_text,
)
from stsdebug.render.validate import SCHEMA, describe_counts, render_text, to_dict

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "payloads"
NOW = 1_700_000_000  # 2023-11-14T22:13:20Z, the time the hand-written fixtures were "sent"


def metric(name: str = "system.cpu.user", ts: Any = NOW - 10, value: Any = 1.5, **meta: Any) -> list[Any]:
    return [name, ts, value, {"hostname": "h1", "type": "gauge", "tags": ["env:prod"], **meta}]


def event(**over: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "msg_title": "deployed",
        "msg_text": "orders 1.4.2",
        "timestamp": NOW - 5,
        "context": {
            "category": "Changes",
            "element_identifiers": ["urn:service:/orders"],
            "source": "argocd",
            "source_links": [{"title": "ArgoCD", "url": "https://argo.example.com"}],
        },
    }
    ev.update(over)
    return ev


def health(**over: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "consistency_model": "REPEAT_SNAPSHOTS",
        "start_snapshot": {"repeat_interval_s": 300},
        "stop_snapshot": {},
        "stream": {"urn": "urn:health:nagios:services"},
        "check_states": [
            {
                "checkStateId": "c1",
                "health": "Deviating",
                "topologyElementIdentifier": "server-1",
                "name": "Disk",
            }
        ],
    }
    entry.update(over)
    return entry


def intake(**members: Any) -> dict[str, Any]:
    return {"internalHostname": "h1", **members}


def check(obj: Any, **kw: Any) -> ValidationReport:
    return validate_obj(obj, now=NOW, **kw)


def found(report: ValidationReport, rule: str) -> list[Problem]:
    return [p for p in report.problems if p.rule == rule]


def one(report: ValidationReport, rule: str) -> Problem:
    hits = found(report, rule)
    assert len(hits) == 1, (rule, report.problems)
    return hits[0]


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------
# One example per rule: each must produce its rule at the given path.

EXAMPLES: dict[str, tuple[Any, str]] = {
    # rule: (payload: str = text for validate_text, anything else for validate_obj; path)
    "json.empty": (" \n\t", "$"),
    "json.syntax": ('{"internalHostname": "h1",}', "$"),
    "json.too-deep": ("[" * 3000 + "]" * 3000, "$"),
    "json.non-finite": ('{"internalHostname": "h1", "metrics": [["a.b", 1699999990, NaN, {}]]}', "$.metrics[0][2]"),
    "json.not-json": (intake(metrics=[["a.b", NOW, 1, {"tags": {"x"}}]]), "$.metrics[0][3].tags"),
    "json.non-string-key": (intake(extra={1: "one"}), '$.extra["1"]'),
    "json.duplicate-member": ('{"internalHostname": "a", "internalHostname": "b"}', "$.internalHostname"),
    "json.bom": ('\ufeff{"internalHostname": "h1", "metrics": []}', "$"),
    "json.replacement-char": ('{"internalHostname": "h\ufffd1", "metrics": []}', "$"),
    "intake.not-object": ("42", "$"),
    "intake.missing-member": ({"metrics": []}, "$.internalHostname"),
    "intake.member-type": (intake(metrics={"a": 1}), "$.metrics"),
    "intake.hostname-empty": ({"internalHostname": " ", "metrics": [metric()]}, "$.internalHostname"),
    "intake.unknown-member": (intake(metric=[metric()]), "$.metric"),
    "intake.no-data": (intake(), "$"),
    "intake.api-key-in-body": (intake(apiKey="k", metrics=[metric()]), "$.apiKey"),
    "timestamp.not-number": (intake(metrics=[metric(ts="1699999990")]), "$.metrics[0][1]"),
    "timestamp.non-positive": (intake(metrics=[metric(ts=0)]), "$.metrics[0][1]"),
    "timestamp.not-seconds": (intake(metrics=[metric(ts=NOW * 1000)]), "$.metrics[0][1]"),
    "timestamp.collection-not-seconds": (intake(collection_timestamp=NOW * 1000, metrics=[metric()]), "$.collection_timestamp"),
    "timestamp.stale": (intake(metrics=[metric(ts=NOW - 7200)]), "$.metrics[0][1]"),
    "timestamp.future": (intake(metrics=[metric(ts=NOW + 3600)]), "$.metrics[0][1]"),
    "metric.shape": (intake(metrics=[{"metric": "a.b", "points": [[NOW, 1]]}]), "$.metrics[0]"),
    "metric.name-type": (intake(metrics=[metric(name=7)]), "$.metrics[0][0]"),
    "metric.name-empty": (intake(metrics=[metric(name="")]), "$.metrics[0][0]"),
    "metric.reserved-name": (intake(metrics=[metric(name="hostcheck.up")]), "$.metrics[0][0]"),
    "metric.value": (intake(metrics=[metric(value="1.5")]), "$.metrics[0][2]"),
    "metric.meta": (intake(metrics=[["a.b", NOW, 1, ["gauge"]]]), "$.metrics[0][3]"),
    "metric.type": (intake(metrics=[metric(type="gauges")]), "$.metrics[0][3].type"),
    "metric.type-missing": (intake(metrics=[["a.b", NOW, 1, {"hostname": "h1"}]]), "$.metrics[0][3].type"),
    "metric.hostname-missing": (intake(metrics=[["a.b", NOW, 1, {"type": "raw"}]]), "$.metrics[0][3].hostname"),
    "metric.member-type": (intake(metrics=[metric(tags="env:prod")]), "$.metrics[0][3].tags"),
    "event.shape": (intake(events={"api": event()}), '$.events["api"]'),
    "event.reserved-name": (intake(events={"hostEvents": [event()]}), '$.events["hostEvents"]'),
    "event.name-empty": (intake(events={"": [event()]}), '$.events[""]'),
    "event.missing-member": (intake(events={"api": [{"msg_text": "t", "timestamp": NOW}]}), '$.events["api"][0].msg_title'),
    "event.member-type": (intake(events={"api": [event(msg_text=None)]}), '$.events["api"][0].msg_text'),
    "event.category": (intake(events={"api": [event(context={**event()["context"], "category": "Deploy"})]}), '$.events["api"][0].context.category'),
    "event.category-case": (intake(events={"api": [event(context={**event()["context"], "category": "alerts"})]}), '$.events["api"][0].context.category'),
    "event.source-id": (intake(events={"api": [event(context={**event()["context"], "source_id": "x"})]}), '$.events["api"][0].context.source_id'),
    "event.source-links-null": (intake(events={"api": [event(context={**event()["context"], "source_links": None})]}), '$.events["api"][0].context.source_links'),
    "service-check.shape": (intake(service_checks=["ntp.in_sync"]), "$.service_checks[0]"),
    "service-check.missing-member": (intake(service_checks=[{"check": "ntp", "status": 0}]), "$.service_checks[0].host_name"),
    "service-check.member-type": (intake(service_checks=[{"check": "ntp", "host_name": 3, "status": 0}]), "$.service_checks[0].host_name"),
    "service-check.status": (intake(service_checks=[{"check": "ntp", "host_name": "h1", "status": "OK"}]), "$.service_checks[0].status"),
    "health.shape": (intake(health=["REPEAT_SNAPSHOTS"]), "$.health[0]"),
    "health.consistency-model": (intake(health=[health(consistency_model="SNAPSHOTS")]), "$.health[0].consistency_model"),
    "health.consistency-model-case": (intake(health=[health(consistency_model="repeat_snapshots")]), "$.health[0].consistency_model"),
    "health.model-mismatch": (intake(health=[health(expiry={"repeat_interval_s": 60})]), "$.health[0].expiry"),
    "health.missing-member": (intake(health=[{k: v for k, v in health().items() if k != "stream"}]), "$.health[0].stream"),
    "health.member-type": (intake(health=[health(check_states={"c1": {}})]), "$.health[0].check_states"),
    "health.repeat-interval": (intake(health=[health(start_snapshot={"repeat_interval_s": 1801})]), "$.health[0].start_snapshot.repeat_interval_s"),
    "health.expiry-required": (intake(health=[health(stream={"urn": "urn:health:a:b", "sub_stream_id": "s1"})]), "$.health[0].start_snapshot.expiry_interval_s"),
    "health.expiry-shorter": (intake(health=[health(start_snapshot={"repeat_interval_s": 300, "expiry_interval_s": 60})]), "$.health[0].start_snapshot.expiry_interval_s"),
    "health.urn": (intake(health=[health(stream={"urn": "urn:health:nagios"})]), "$.health[0].stream.urn"),
    "health.state": (intake(health=[health(check_states=[{**health()["check_states"][0], "health": "Warning"}])]), "$.health[0].check_states[0].health"),
    "health.duplicate-check-state": (intake(health=[health(check_states=health()["check_states"] * 2)]), "$.health[0].check_states[1].checkStateId"),
    "health.check-states-missing": (intake(health=[{k: v for k, v in health().items() if k != "check_states"}]), "$.health[0].check_states"),
    "health.sub-stream-empty": (intake(health=[health(stream={"urn": "urn:health:a:b", "sub_stream_id": ""})]), "$.health[0].stream.sub_stream_id"),
    "health.delete-outside-increments": (intake(health=[health(check_states=[{"checkStateId": "c1", "delete": True}])]), "$.health[0].check_states[0].delete"),
}


def _validate(payload: Any) -> ValidationReport:
    if isinstance(payload, str):
        return validate_text(payload, now=NOW)
    return check(payload)


@pytest.mark.parametrize("rule", sorted(EXAMPLES))
def test_each_rule_fires_at_its_path(rule: str) -> None:
    payload, path = EXAMPLES[rule]
    report = _validate(payload)
    hits = found(report, rule)
    assert [p.path for p in hits] == [path], report.problems
    assert hits[0].severity == RULES[rule].severity
    assert report.valid is not any(p.severity == ERROR for p in report.problems)


def test_every_rule_has_an_example() -> None:
    assert set(EXAMPLES) == set(RULES)


def test_rule_catalogue_is_well_formed() -> None:
    for rule in RULES.values():
        assert rule.severity in (ERROR, WARNING)
        assert rule.source and rule.summary.endswith(".")


def test_docs_list_every_rule_with_its_severity() -> None:
    doc = (ROOT / "docs" / "validate.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z.-]+)` \| (error|warning) \|", doc, re.M))
    assert rows == {r.id: r.severity for r in RULES.values()}


# ---------------------------------------------------------------------------------------
# Public constants and helpers


def test_documented_value_lists() -> None:
    assert RESERVED_METRIC_PREFIXES == (
        "host", "labels", "name", "tags", "timeReceived", "timestamp", "values",
    )
    assert set(RESERVED_EVENT_PREFIXES) == {
        "eventType", "host", "labels", "message", "name", "tags", "timeReceived", "timestamp", "title",
    }
    assert sorted(METRIC_TYPES) == ["count", "counter", "gauge", "rate", "raw"]
    assert sorted(EVENT_CATEGORIES) == ["Activities", "Alerts", "Anomalies", "Changes", "Others"]


@pytest.mark.parametrize("prefix", RESERVED_METRIC_PREFIXES)
def test_metric_name_problem_names_each_reserved_prefix(prefix: str) -> None:
    reason = metric_name_problem(prefix + ".suffix")
    assert reason is not None
    assert f'reserved prefix "{prefix}"' in reason
    assert "host, labels, name, tags, timeReceived, timestamp or values" in reason


@pytest.mark.parametrize(
    "name", ["system.host.count", "nginx.net.request_per_s", "Hostname.up", "my.tags", "value.total"]
)
def test_metric_name_problem_accepts_names_that_only_contain_a_prefix(name: str) -> None:
    # Only a leading match counts, and the check is case-sensitive like the documented list.
    assert metric_name_problem(name) is None


def test_metric_name_problem_empty_and_not_a_string() -> None:
    assert metric_name_problem("") == "metric name is empty"
    assert metric_name_problem(12) == "metric name must be a string, got a number"  # type: ignore[arg-type]


def test_metric_type_problem() -> None:
    for mtype in METRIC_TYPES:
        assert metric_type_problem(mtype) is None
    assert metric_type_problem("gauges") == (
        'metric type "gauges" is not one of gauge, count, rate, counter or raw (did you mean "gauge"?)'
    )
    assert metric_type_problem("Gauge") == (
        'metric type "Gauge" must be lower case: gauge, count, rate, counter or raw'
    )
    assert metric_type_problem("histogram") == (
        'metric type "histogram" is not one of gauge, count, rate, counter or raw'
    )
    assert metric_type_problem(None) == (  # type: ignore[arg-type]
        "metric type must be a string (gauge, count, rate, counter or raw), got null"
    )


def test_format_path_quotes_what_is_not_an_identifier() -> None:
    assert format_path(()) == "$"
    assert format_path(("metrics", 3, 0)) == "$.metrics[3][0]"
    assert format_path(("a b", 'q"x', "ok_1")) == '$["a b"]["q\\"x"].ok_1'
    assert format_path(("bad\x1b[31m",)) == '$["bad\\u001b[31m"]'


# ---------------------------------------------------------------------------------------
# Common object and kinds


def test_agent_batcher_payload_without_collection_timestamp_is_valid() -> None:
    # The agent posts only internalHostname, topologies, health and metrics.
    report = check(intake(topologies=[], health=[], metrics=[metric(type="raw")]))
    assert report.problems == [] and report.kind == "intake"
    assert report.counts["metrics"] == 1


def test_missing_internal_hostname_uses_the_receivers_wording_and_names_the_near_miss() -> None:
    report = validate_text(fixture_text("intake_missing_internal_hostname.json"), now=NOW)
    p = one(report, "intake.missing-member")
    assert p.path == "$.internalHostname" and p.severity == ERROR
    assert p.message.startswith("Object is missing required member 'internalHostname'")
    assert 'found "internal_hostname"' in p.message
    assert "400 Bad Request" in p.message
    # A near miss of a required member is reported once, as part of the error.
    assert found(report, "intake.unknown-member") == []
    assert (p.line, p.column) == (1, 1)


def test_internal_hostname_type() -> None:
    p = one(check({"internalHostname": ["h1"], "metrics": [metric()]}), "intake.member-type")
    assert p.message.startswith("internalHostname must be a string, got an array")


@pytest.mark.parametrize(
    ("member", "value", "expected"),
    [
        ("metrics", {}, "metrics must be an array, got an object"),
        ("service_checks", "x", "service_checks must be an array, got a string"),
        ("health", {"stream": {}}, "health must be an array, got an object"),
        ("topologies", 1, "topologies must be an array, got a number"),
        ("events", [event()], 'events must be an object that maps an event name to an array of events (e.g. {"http_check": [{...}, ...]}, not a plain array), got an array'),
    ],
)
def test_member_types(member: str, value: Any, expected: str) -> None:
    p = one(check(intake(**{member: value})), "intake.member-type")
    assert p.path == f"$.{member}" and p.message.startswith(expected)


def test_null_data_members_are_treated_as_absent() -> None:
    report = check(intake(metrics=None, events=None, health=None, topologies=[{"x": 1}]))
    assert report.problems == [] and report.counts["topologies"] == 1


def test_unknown_members_only_reported_when_they_look_like_typos() -> None:
    report = check(intake(metrics=[metric()], serviceChecks=[], os="linux", agentVersion="2.19"))
    p = one(report, "intake.unknown-member")
    assert p.path == "$.serviceChecks"
    assert p.message == 'unknown member "serviceChecks" is ignored by the receiver; did you mean "service_checks"?'


def test_api_key_value_is_never_echoed() -> None:
    report = check(intake(apiKey="s3cr3t-receiver-key", metrics=[metric()]))
    p = one(report, "intake.api-key-in-body")
    assert "s3cr3t" not in repr(report.problems)
    assert "api_key URL parameter" in p.message


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (intake(metrics=[metric()]), "intake"),
        (intake(health=[health()], metrics=[], topologies=[]), "health"),
        (intake(health=[health()], metrics=[metric()]), "intake"),
        (intake(), "intake"),
        ({}, "unknown"),
        ({"foo": 1}, "unknown"),
        ("text", "unknown"),
        (None, "unknown"),
        ([], "unknown"),
    ],
)
def test_kind_detection(payload: Any, kind: str) -> None:
    assert check(payload).kind == kind


def test_non_object_top_level() -> None:
    for payload, what in ((None, "null"), (3.5, "a number"), ("x", "a string"), ([1, 2], "an array")):
        p = one(check(payload), "intake.not-object")
        assert p.path == "$" and p.message.endswith(f"got {what}")


def test_bare_metrics_array_is_explained_and_still_checked() -> None:
    report = check([metric(), metric(name="hostcheck.up")])
    p = one(report, "intake.not-object")
    assert 'bare array of metrics' in p.message and '"metrics": [...]' in p.message
    assert one(report, "metric.reserved-name").path == "$[1][0]"
    assert report.kind == "intake" and report.counts["metrics"] == 2


def test_bare_health_array_from_the_docs_example() -> None:
    report = check([health(check_states=[{"checkStateId": "c2", "health": "critical", "topologyElementIdentifier": "s2"}])])
    assert report.kind == "health"
    assert 'bare array of health' in one(report, "intake.not-object").message
    assert one(report, "health.missing-member").path == "$[0].check_states[0].name"


def test_empty_object_reports_hostname_and_no_data_is_not_claimed() -> None:
    report = check({})
    assert [p.rule for p in report.problems] == ["intake.missing-member"]


def test_no_data_warning_wording() -> None:
    p = one(check(intake(metrics=[], events={}, health=[])), "intake.no-data")
    assert p.severity == WARNING
    assert p.message.startswith("the payload carries no metrics, events, service_checks, health or topologies")


# ---------------------------------------------------------------------------------------
# Metrics


def test_metric_shape_messages() -> None:
    report = check(intake(metrics=[["a.b", NOW, 1.0], {"metric": "a.b", "points": []}, "a.b"]))
    msgs = {p.path: p.message for p in found(report, "metric.shape")}
    assert msgs["$.metrics[0]"] == (
        "a metric array has 3 elements, the receiver expects 4: "
        "[name, timestamp, value, {hostname, type, tags}]"
    )
    assert "agent's series format {metric, points, ...}" in msgs["$.metrics[1]"]
    assert msgs["$.metrics[2]"].startswith(
        "a metric must be an array [name, timestamp, value, {hostname, type, tags}], got a string"
    )


def test_short_metric_still_has_its_name_checked() -> None:
    report = check(intake(metrics=[["tags.count", NOW]]))
    assert one(report, "metric.reserved-name").path == "$.metrics[0][0]"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("10.0", '"10.0" (a number in quotes is a string)'), (None, "null"), (True, "true"), ([1], "an array")],
)
def test_metric_value_must_be_a_number(value: Any, shown: str) -> None:
    p = one(check(intake(metrics=[metric(value=value)])), "metric.value")
    assert p.message == f"metric value must be a number, got {shown}"


def test_integer_and_float_values_are_fine() -> None:
    assert check(intake(metrics=[metric(value=3), metric(value=-2.5e10)])).problems == []


def test_metric_meta_members() -> None:
    report = check(
        intake(metrics=[["a.b", NOW, 1, {"hostname": 5, "type": "Rate", "tags": ["ok", 7]}]])
    )
    paths = {p.path: p for p in report.problems}
    assert paths["$.metrics[0][3].hostname"].message == "metric hostname must be a string, got a number"
    assert paths["$.metrics[0][3].type"].message.startswith('metric type "Rate" must be lower case')
    assert paths["$.metrics[0][3].tags[1]"].message == "metric tags must be strings, got 7"


def test_metric_tags_may_be_missing_or_null() -> None:
    meta = {"hostname": "h1", "type": "raw"}
    assert check(intake(metrics=[["a.b", NOW, 1, meta], ["a.c", NOW, 1, {**meta, "tags": None}]])).problems == []


def test_reserved_metric_names_fixture() -> None:
    report = validate_text(fixture_text("metrics_reserved_names.json"), now=NOW)
    hits = found(report, "metric.reserved-name")
    assert [p.path for p in hits] == [f"$.metrics[{i}][0]" for i in range(7)]
    assert [re.search(r'prefix "(\w+)"', p.message).group(1) for p in hits] == [  # type: ignore[union-attr]
        "host", "name", "tags", "timestamp", "values", "labels", "timeReceived",
    ]
    assert len(report.problems) == 7  # system.host.count and nginx.* pass
    assert (hits[0].line, hits[0].column) == (5, 6)


# ---------------------------------------------------------------------------------------
# Timestamps


@pytest.mark.parametrize(
    ("ts", "unit"),
    [
        (1_700_000_000_123, "milliseconds"),
        (1_700_000_000_123_456, "microseconds"),
        (1_700_000_000_123_456_789, "nanoseconds"),
    ],
)
def test_finer_units_are_named(ts: int, unit: str) -> None:
    p = one(check(intake(metrics=[metric(ts=ts)])), "timestamp.not-seconds")
    assert p.severity == ERROR
    assert p.message == (
        f"metric timestamp {ts} looks like {unit} (2023-11-14T22:13:20Z when read so); "
        "the receiver expects epoch seconds"
    )


def test_absurd_timestamps() -> None:
    report = check(intake(metrics=[metric(ts=10**30), metric(ts=-5), metric(ts=1.5e300)]))
    msgs = {p.path: p.message for p in report.problems}
    assert msgs["$.metrics[0][1]"] == "metric timestamp a very large integer is far too large for epoch seconds" or (
        msgs["$.metrics[0][1]"].endswith("is far too large for epoch seconds")
    )
    assert msgs["$.metrics[1][1]"] == "metric timestamp -5 is not a positive number of epoch seconds"
    assert msgs["$.metrics[2][1]"].endswith("is far too large for epoch seconds")


def test_float_second_timestamps_are_fine() -> None:
    assert check(intake(metrics=[metric(ts=NOW - 0.25)])).problems == []


def test_stale_against_now_without_collection_timestamp() -> None:
    p = one(check(intake(metrics=[metric(ts=NOW - 7200)])), "timestamp.stale")
    assert p.severity == WARNING
    assert p.message == (
        "metric timestamp 2023-11-14T20:13:20Z is 2 hours before the current time "
        "(2023-11-14T22:13:20Z); data older than the receiver's configured limit is ignored "
        "(checked: 1 hour)"
    )


def test_stale_and_future_against_collection_timestamp() -> None:
    report = validate_text(fixture_text("metrics_stale_timestamps.json"), now=NOW)
    stale, future = one(report, "timestamp.stale"), one(report, "timestamp.future")
    assert stale.path == "$.metrics[0][1]" and "before the payload's collection_timestamp" in stale.message
    assert future.path == "$.metrics[2][1]"
    assert future.message == (
        "metric timestamp 2023-11-14T23:13:20Z is 1 hour after the payload's collection_timestamp "
        "(2023-11-14T22:13:20Z); check the sender's clock (allowed skew: 10 minutes)"
    )
    assert report.valid


def test_captured_payload_gives_one_warning_not_one_per_point() -> None:
    # Sent a week ago, internally consistent: only collection_timestamp is flagged.
    week = 7 * 86400
    payload = intake(
        collection_timestamp=NOW - week,
        metrics=[metric(ts=NOW - week - 10) for _ in range(50)],
    )
    report = check(payload)
    assert [p.path for p in report.problems] == ["$.collection_timestamp"]
    assert "7 days before the current time" in report.problems[0].message


def test_point_old_against_now_but_not_against_collection_time() -> None:
    # collection_timestamp is 50 min old (fine), the point 50 min before that: stale vs now.
    report = check(intake(collection_timestamp=NOW - 3000, metrics=[metric(ts=NOW - 6000)]))
    p = one(report, "timestamp.stale")
    assert "before the current time" in p.message


def test_sender_clock_ahead_flags_collection_time_once() -> None:
    report = check(intake(collection_timestamp=NOW + 7200, metrics=[metric(ts=NOW + 7190)] * 3))
    assert [p.path for p in found(report, "timestamp.future")] == ["$.collection_timestamp"]


def test_age_limits_are_configurable() -> None:
    payload = intake(metrics=[metric(ts=NOW - 600), metric(ts=NOW + 120)])
    assert check(payload).problems == []
    report = check(payload, max_age_s=300, max_future_s=60)
    assert [p.rule for p in report.problems] == ["timestamp.stale", "timestamp.future"]
    assert "(checked: 5 minutes)" in report.problems[0].message
    assert "(allowed skew: 1 minute)" in report.problems[1].message


def test_now_defaults_to_the_clock() -> None:
    # No `now`: a 2019 timestamp is stale against today's clock.
    report = validate_obj(intake(metrics=[metric(ts=1548857152)]))
    assert one(report, "timestamp.stale").message.startswith("metric timestamp 2019-01-30T14:05:52Z is ")


def test_millisecond_fixture() -> None:
    report = validate_text(fixture_text("metrics_millisecond_timestamps.json"), now=NOW)
    assert [p.rule for p in report.problems] == [
        "timestamp.collection-not-seconds",
        "timestamp.not-seconds",
        "timestamp.not-seconds",
        "timestamp.not-seconds",
    ]
    assert [p.path for p in report.problems][1:] == ["$.metrics[0][1]", "$.metrics[1][1]", "$.metrics[2][1]"]
    assert report.problems[0].severity == WARNING and not report.valid


# ---------------------------------------------------------------------------------------
# Events


def test_valid_event_has_no_problems() -> None:
    report = check(intake(events={"http_check": [event(), event(context=None)]}))
    assert report.problems == [] and report.counts["events"] == 2


@pytest.mark.parametrize("prefix", RESERVED_EVENT_PREFIXES)
def test_reserved_event_name_prefixes(prefix: str) -> None:
    name = prefix + "Changed"
    p = one(check(intake(events={name: [event()]})), "event.reserved-name")
    assert p.path == f'$.events["{name}"]'
    assert f'starts with the reserved prefix "{prefix}"' in p.message


def test_event_paths_bracket_the_event_name() -> None:
    ctx = {**event()["context"], "category": "Deploys"}
    p = one(check(intake(events={"http_check": [event(context=ctx)]})), "event.category")
    assert p.path == '$.events["http_check"][0].context.category'
    assert p.message == (
        'category "Deploys" is not one of Activities, Alerts, Anomalies, Changes or Others'
    )


def test_msg_title_and_msg_text_are_required_in_5x() -> None:
    ev = event()
    del ev["msg_title"], ev["msg_text"]
    report = check(intake(events={"api": [ev]}))
    hits = found(report, "event.missing-member")
    assert [p.path for p in hits] == ['$.events["api"][0].msg_title', '$.events["api"][0].msg_text']
    assert all(p.severity == ERROR for p in hits)
    assert hits[0].message == (
        "Object is missing required member 'msg_title'; StackState 5.x requires msg_title and "
        "msg_text on every event"
    )


def test_event_context_required_members_and_types() -> None:
    ctx = {"category": 3, "element_identifiers": ["a", None], "data": ["x"], "source_links": "x"}
    report = check(intake(events={"api": [event(context=ctx, tags="a:b", host=5)]}))
    base = '$.events["api"][0]'
    got = {(p.rule, p.path) for p in report.problems}
    assert got == {
        ("event.missing-member", f"{base}.context.source"),
        ("event.category", f"{base}.context.category"),
        ("event.member-type", f"{base}.context.element_identifiers[1]"),
        ("event.member-type", f"{base}.context.data"),
        ("event.member-type", f"{base}.context.source_links"),
        ("event.member-type", f"{base}.tags"),
        ("event.member-type", f"{base}.host"),
    }


def test_event_timestamps_follow_the_timestamp_rules() -> None:
    report = check(intake(events={"api": [event(timestamp=(NOW - 5) * 1000)]}))
    p = one(report, "timestamp.not-seconds")
    assert p.path == '$.events["api"][0].timestamp' and p.message.startswith("event timestamp ")


def test_events_fixture() -> None:
    report = validate_text(fixture_text("events_invalid.json"), now=NOW)
    assert (report.error_count, report.warning_count) == (8, 2)
    by_path = {p.path: p for p in report.problems}
    assert 'found "msgTitle"' in by_path['$.events["deploy"][0].msg_title'].message
    assert by_path['$.events["deploy"][0].context.category'].rule == "event.category-case"
    assert by_path['$.events["alert"]'].rule == "event.shape"
    assert by_path['$.events["title.changed"]'].line == 5


# ---------------------------------------------------------------------------------------
# Service checks


def test_service_checks_in_the_datadog_format() -> None:
    good = {"check": "ntp.in_sync", "host_name": "h1", "timestamp": NOW, "status": 1, "message": "", "tags": []}
    report = check(intake(service_checks=[good, {**good, "status": 7, "timestamp": "now"}]))
    assert {(p.rule, p.path) for p in report.problems} == {
        ("service-check.status", "$.service_checks[1].status"),
        ("service-check.member-type", "$.service_checks[1].timestamp"),
    }
    assert report.valid  # service check rules are inferred, so warnings only
    assert report.counts["service_checks"] == 2


# ---------------------------------------------------------------------------------------
# Health


def test_seed_health_example_is_valid_with_lower_case_state() -> None:
    report = validate_text(fixture_text("health_repeat_snapshots_valid.json"), now=1548857167)
    assert report.problems == []
    assert report.kind == "health"
    assert report.counts == {
        "metrics": 0, "events": 0, "service_checks": 0,
        "health_snapshots": 1, "check_states": 2, "topologies": 0,
    }


def test_agent_style_health_without_consistency_model_is_valid() -> None:
    report = validate_text(fixture_text("health_agent_substream_valid.json"), now=NOW)
    assert report.problems == [] and report.kind == "health"


def test_repeat_interval_limit_is_inclusive() -> None:
    ok = check(intake(health=[health(start_snapshot={"repeat_interval_s": 1800})]))
    assert ok.problems == []
    p = one(check(intake(health=[health(start_snapshot={"repeat_interval_s": 1801})])), "health.repeat-interval")
    assert p.message.startswith("repeat_interval_s 1801 is outside 1..1800 seconds")
    assert "SubStreamRepeatIntervalTooHigh" in p.message
    p = one(check(intake(health=[health(start_snapshot={"repeat_interval_s": 0})])), "health.repeat-interval")
    assert p.path == "$.health[0].start_snapshot.repeat_interval_s"


def test_expiry_with_sub_stream() -> None:
    stream = {"urn": "urn:health:a:b", "sub_stream_id": "site-a"}
    p = one(check(intake(health=[health(stream=stream)])), "health.expiry-required")
    assert p.message == 'expiry_interval_s is required when stream.sub_stream_id is set (sub stream "site-a")'
    zero = health(stream=stream, start_snapshot={"repeat_interval_s": 60, "expiry_interval_s": 0})
    assert found(check(intake(health=[zero])), "health.expiry-required")
    ok = health(stream=stream, start_snapshot={"repeat_interval_s": 60, "expiry_interval_s": 240})
    assert check(intake(health=[ok])).problems == []
    # Messages without a start_snapshot carry no expiry, and need none.
    assert check(intake(health=[health(stream=stream, start_snapshot=None)])).problems == []


@pytest.mark.parametrize("urn", ["urn:health:src", "health:src:stream", "urn:health::stream", "URN:HEALTH:a:b", "urn:health:a:"])
def test_bad_urns(urn: str) -> None:
    p = one(check(intake(health=[health(stream={"urn": urn})])), "health.urn")
    assert p.message.endswith("does not match urn:health:<sourceId>:<streamId>")


@pytest.mark.parametrize("urn", ["urn:health:sourceId:streamId", "urn:health:kubernetes:prod:eu-west-1"])
def test_good_urns(urn: str) -> None:
    assert check(intake(health=[health(stream={"urn": urn})])).problems == []


@pytest.mark.parametrize("state", ["Clear", "DEVIATING", "critical", "clear"])
def test_health_states_in_any_case(state: str) -> None:
    cs = {**health()["check_states"][0], "health": state}
    assert check(intake(health=[health(check_states=[cs])])).problems == []


def test_check_state_required_members() -> None:
    report = check(intake(health=[health(check_states=[{"health": "Clear", "name": 3}])]))
    got = {(p.rule, p.path) for p in report.problems}
    base = "$.health[0].check_states[0]"
    assert got == {
        ("health.missing-member", f"{base}.checkStateId"),
        ("health.missing-member", f"{base}.topologyElementIdentifier"),
        ("health.member-type", f"{base}.name"),
    }
    msg = next(p.message for p in report.problems if p.path.endswith("checkStateId"))
    assert msg == (
        "Object is missing required member 'checkStateId'; health synchronization drops it "
        "(SubStreamTransformerError)"
    )


def test_transactional_increments() -> None:
    good = {
        "consistency_model": "TRANSACTIONAL_INCREMENTS",
        "increment": {"checkpoint": {"offset": 5, "batch_index": 102}, "previous_checkpoint": {"offset": 5, "batch_index": 100}},
        "stream": {"urn": "urn:health:sourceId:streamId"},
        "check_states": [{"checkStateId": "c3", "delete": True}],
    }
    assert check(intake(health=[good])).problems == []
    bad = {**good, "increment": {"checkpoint": {"batch_index": "x"}, "previous_checkpoint": None}}
    report = check(intake(health=[bad]))
    assert {(p.rule, p.path) for p in report.problems} == {
        ("health.missing-member", "$.health[0].increment.checkpoint.offset"),
        ("health.member-type", "$.health[0].increment.checkpoint.batch_index"),
    }
    # No consistency_model, but an increment block: read as transactional increments.
    inferred = {k: v for k, v in good.items() if k != "consistency_model"}
    assert check(intake(health=[inferred])).problems == []


def test_repeat_states_expiry_block() -> None:
    entry = {
        "consistency_model": "REPEAT_STATES",
        "expiry": {"repeat_interval_s": 50, "expiry_interval_s": 100},
        "stream": {"urn": "urn:health:sourceId:streamId"},
        "check_states": [],
    }
    assert check(intake(health=[entry])).problems == []
    p = one(check(intake(health=[{**entry, "expiry": {"repeat_interval_s": 3600}}])), "health.repeat-interval")
    assert p.path == "$.health[0].expiry.repeat_interval_s"
    p = one(check(intake(health=[{**entry, "stop_snapshot": {}}])), "health.model-mismatch")
    assert p.message == "stop_snapshot does not belong to the REPEAT_STATES consistency model and is ignored"


def test_health_fixture() -> None:
    report = validate_text(fixture_text("health_invalid_snapshots.json"), now=NOW)
    assert [(p.rule, p.path) for p in report.problems] == [
        ("health.repeat-interval", "$.health[0].start_snapshot.repeat_interval_s"),
        ("health.expiry-required", "$.health[1].start_snapshot.expiry_interval_s"),
        ("health.consistency-model", "$.health[2].consistency_model"),
        ("health.urn", "$.health[2].stream.urn"),
        ("health.state", "$.health[2].check_states[0].health"),
        ("health.missing-member", "$.health[2].check_states[1].name"),
        ("health.duplicate-check-state", "$.health[2].check_states[2].checkStateId"),
        ("health.missing-member", "$.health[3].increment"),
    ]
    assert 'did you mean "REPEAT_SNAPSHOTS"?' in report.problems[2].message
    assert (report.problems[0].line, report.problems[0].column) == (7, 47)


# ---------------------------------------------------------------------------------------
# Syntax errors: the seed's examples as published, and the steps to fix them


@pytest.mark.parametrize(
    ("name", "line", "column", "phrase", "source_line"),
    [
        ("seed002_events_curl_body.json", 4, 23, "comments are not allowed in JSON",
         '    "event.test01": [ // The event name'),
        ("seed002_events_no_comments.json", 30, 32, "trailing comma before ']'",
         '          "tag_key2:tag_value2",'),
        ("seed002_events_no_trailing_commas.json", 66, 3,
         "expected ',' or '}' before the next string: a comma is missing, or the '{' opened at "
         "line 3, column 13 was not closed",
         '  "internalHostname": "localdocker.test",'),
        ("seed002_event_example.json", 1, 13, 'looks like a fragment ("name": value)',
         '"event.test": [ // The event name'),
        ("seed002_event_example_in_braces.json", 12, 30, "expected ',' or ']' but found '2'",
         '        "element_identifier2"2'),
    ],
)
def test_seed_syntax_errors(name: str, line: int, column: int, phrase: str, source_line: str) -> None:
    report = validate_text(fixture_text(name), now=NOW)
    assert report.kind == "unknown" and not report.valid
    (p,) = report.problems
    assert (p.path, p.rule, p.severity, p.line, p.column) == ("$", "json.syntax", ERROR, line, column)
    assert phrase in p.message and p.message.startswith("invalid JSON: ")
    assert p.message.endswith("the receiver rejects the payload with 400 Bad Request")
    assert p.excerpt == source_line + "\n" + " " * (column - 1) + "^"


def test_fixing_the_seed_body_step_by_step_ends_valid() -> None:
    text = fixture_text("seed002_events_no_trailing_commas.json").replace(
        '    ]\n  "internalHostname"', '    ]\n  },\n  "internalHostname"'
    )
    report = validate_text(text, now=1548857342)
    # The seed's events carry 2020 timestamps in a 2019 collection: the clock warning is real.
    assert report.valid and report.counts["events"] == 2
    assert {p.rule for p in report.problems} == {"timestamp.future"}


def test_parse_payload_raises_with_position() -> None:
    with pytest.raises(PayloadSyntaxError) as info:
        parse_payload('{\n  "a": [1, 2,\n}')
    err = info.value
    assert (err.line, err.column, err.rule) == (3, 1, "json.syntax")
    assert "'}' does not close the '[' opened at line 2, column 8" in err.message
    assert err.excerpt == "}\n^"
    assert parse_payload('{"a": [1]}') == {"a": [1]}


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("{'a': 1}", "member names must be in double quotes, not single quotes"),
        ('{"a": True}', "unexpected word 'True'"),
        ('{"a": 1', "the text ends too early"),
        ('{"a" 1}', "expected ':' after the member name but found '1'"),
        ('{"a": "x\ty"}', "raw control character"),
        ('{"a": "\\q"}', "invalid backslash escape"),
        ('{"a": "unterminated', "a string is not closed"),
        ('{"a": 1} {"b": 2}', "the text goes on after the end of the JSON value"),
        ('# comment\n{}', "comments are not allowed"),
        ("[1 2]", "expected ',' or ']' but found '2'"),
        ('{"a": [1, 2}', "'}' does not close the '[' opened at line 1, column 7"),
        ('{"a": [1, 2', "the text ends too early: an array or object is not closed, or the payload was cut off (the '[' opened at line 1, column 7 is still open)"),
        ('{"a": [1,]}', "trailing comma before ']'"),
    ],
)
def test_syntax_error_explanations(text: str, phrase: str) -> None:
    (p,) = validate_text(text).problems
    assert p.rule == "json.syntax" and phrase in p.message


def test_empty_text() -> None:
    for text in ("", "   \n", "\ufeff"):
        (p,) = validate_text(text).problems
        assert (p.rule, p.path, p.line, p.column, p.excerpt) == ("json.empty", "$", 1, 1, None)
        assert p.message == "the payload is empty; the receiver expects a JSON object"


def test_too_deep_points_at_the_deepest_bracket() -> None:
    text = '{"internalHostname": "h1", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    (p,) = validate_text(text).problems
    assert p.rule == "json.too-deep" and "nested 3001 levels deep" in p.message
    assert (p.line, p.column) == (1, len('{"internalHostname": "h1", "x": ') + 3000)


def test_excerpt_redacts_secrets_on_the_offending_line() -> None:
    text = '{\n  "apiKey": "0123456789abcdef", "internalHostname": "h1",,\n}'
    (p,) = validate_text(text).problems
    assert p.excerpt is not None and "0123456789abcdef" not in p.excerpt
    assert '"apiKey": "<redacted>"' in p.excerpt
    # The caret still points at the second comma of the redacted line.
    line, caret = p.excerpt.split("\n")
    assert line[len(caret) - 1] == ","
    url = '{"u": "https://recv:7077/stsAgent/intake?api_key=abcdef0123456789" x}'
    (p,) = validate_text(url).problems
    assert "abcdef0123456789" not in (p.excerpt or "") and "api_key=<redacted>" in (p.excerpt or "")


def test_excerpt_windows_long_lines_and_keeps_the_caret_aligned() -> None:
    text = '{"metrics": [' + ", ".join(["1"] * 400) + ", ]}"
    (p,) = validate_text(text).problems
    line, caret = p.excerpt.split("\n")  # type: ignore[union-attr]
    assert len(line) <= 102 and line.startswith("…")
    assert line[len(caret) - 1] == ","


def test_excerpt_with_tabs_and_wide_characters() -> None:
    text = '{\t"名前":\t"値" "x"}'
    (p,) = validate_text(text).problems
    line, caret = p.excerpt.split("\n")  # type: ignore[union-attr]
    assert "\t" not in line
    # Two columns per wide character before the caret.
    assert caret == " " * (len('{ "') + 2 * 2 + len('": "') + 2 * 1 + len('" ')) + "^"


# ---------------------------------------------------------------------------------------
# Odd input that must become problems, not exceptions


def test_nan_infinity_and_overflow_literals() -> None:
    text = (
        '{"internalHostname": "h1", "collection_timestamp": Infinity, '
        '"metrics": [["a.b", 1699999990, -Infinity, {"type": "raw", "hostname": "h"}], '
        '["a.c", 1e999, ' + "9" * 400 + ', {"type": "raw", "hostname": "h"}]]}'
    )
    report = validate_text(text, now=NOW)
    msgs = {p.path: p.message for p in found(report, "json.non-finite")}
    assert msgs == {
        "$.collection_timestamp": "Infinity is not valid JSON; the receiver rejects the payload with 400 Bad Request",
        "$.metrics[0][2]": "-Infinity is not valid JSON; the receiver rejects the payload with 400 Bad Request",
        "$.metrics[1][1]": "number 1e999 is too large for a 64-bit float; the receiver rejects the payload with 400 Bad Request",
        "$.metrics[1][2]": "number 99999999999999999999… is too large for a 64-bit float; the receiver rejects the payload with 400 Bad Request",
    }
    # Each reported once: the timestamp and value rules stay quiet about them.
    assert len(report.problems) == 4


def test_python_nan_in_validate_obj() -> None:
    p = one(check(intake(metrics=[metric(value=float("nan"))])), "json.non-finite")
    assert p.message == "NaN cannot be written as JSON; the receiver rejects the payload with 400 Bad Request"


def test_duplicate_members_in_text() -> None:
    text = '{"internalHostname": "h1", "metrics": [], "metrics": [["hostx", 1699999990, 1, {"type": "raw", "hostname": "h"}]]}'
    report = validate_text(text, now=NOW)
    dup = one(report, "json.duplicate-member")
    assert dup.path == "$.metrics" and dup.severity == WARNING
    # The last value is the one validated, and located.
    p = one(report, "metric.reserved-name")
    assert p.column == text.index('"hostx"') + 1


def test_replacement_characters_point_at_the_first_one() -> None:
    data = b'{"internalHostname": "h1",\n "metrics": [["caf\xe9.x", 1699999990, 1, {"type": "raw", "hostname": "h"}]]}'
    report = validate_text(decode_payload(data), now=NOW)
    p = one(report, "json.replacement-char")
    assert (p.line, p.column) == (2, 19)
    assert p.message.startswith("the text contains 1 U+FFFD replacement character:")


def test_decode_payload_follows_byte_order_marks() -> None:
    body = '{"internalHostname": "h1", "metrics": []}'
    assert decode_payload(body.encode("utf-16")) == body
    assert decode_payload(body.encode("utf-32")) == body
    assert decode_payload(b"\xef\xbb\xbf" + body.encode()) == "\ufeff" + body
    report = validate_text(decode_payload(b"\xef\xbb\xbf" + body.encode()))
    assert [p.rule for p in report.problems] == ["json.bom", "intake.no-data"]


def test_control_and_bidi_characters_are_escaped_in_messages() -> None:
    name = "host\x1b[2J\u202e\ud800"
    p = one(check(intake(metrics=[metric(name=name)])), "metric.reserved-name")
    assert "\x1b" not in p.message and "\u202e" not in p.message and "\ud800" not in p.message
    assert '"host\\u001b[2J\\u202e\\ud800"' in p.message
    p.message.encode("utf-8")


def test_long_values_are_shortened_in_messages() -> None:
    p = one(check(intake(metrics=[metric(name="host" + "x" * 5000)])), "metric.reserved-name")
    assert len(p.message) < 300 and "…" in p.message


def test_huge_int_in_validate_obj() -> None:
    report = check(intake(metrics=[metric(value=10**5000, ts=10**5000)]))
    assert [p.rule for p in report.problems] == ["timestamp.not-seconds"]
    assert "a very large integer" in report.problems[0].message


def test_cyclic_python_structure_does_not_loop() -> None:
    loop: list[Any] = []
    loop.append(loop)
    report = check(intake(topologies=loop))
    assert report.counts["topologies"] == 1


# ---------------------------------------------------------------------------------------
# Positions of semantic problems


def test_problems_carry_line_and_column_of_their_value() -> None:
    text = (FIXTURES / "metrics_bad_types.json").read_text()
    report = validate_text(text, now=NOW)
    lines = text.split("\n")
    for p in report.problems:
        assert p.line is not None and p.column is not None
        assert 1 <= p.column <= len(lines[p.line - 1]) + 1
    by_path = {p.path: p for p in report.problems}
    value = by_path["$.metrics[4][2]"]
    assert lines[value.line - 1][value.column - 1 :].startswith('"10.0"')  # type: ignore[operator]
    # A missing member points at the object that should hold it.
    missing = by_path["$.metrics[3][3].type"]
    assert lines[missing.line - 1][missing.column - 1 :].startswith('{"hostname"')  # type: ignore[operator]


def test_problems_are_in_document_order() -> None:
    report = validate_text(fixture_text("events_invalid.json"), now=NOW)
    positions = [(p.line, p.column) for p in report.problems]
    assert positions == sorted(positions)  # type: ignore[type-var]


def test_validate_obj_has_no_positions() -> None:
    report = check(json.loads(fixture_text("metrics_bad_types.json")))
    assert report.problems and all(p.line is None and p.column is None for p in report.problems)


# ---------------------------------------------------------------------------------------
# Fixtures as a whole


@pytest.mark.parametrize(
    ("name", "now", "errors", "warnings", "kind"),
    [
        ("intake_valid_agent.json", NOW, 0, 0, "intake"),
        ("intake_missing_internal_hostname.json", NOW, 1, 0, "intake"),
        ("metrics_reserved_names.json", NOW, 7, 0, "intake"),
        ("metrics_bad_types.json", NOW, 8, 2, "intake"),
        ("metrics_millisecond_timestamps.json", NOW, 3, 1, "intake"),
        ("metrics_stale_timestamps.json", NOW, 0, 2, "intake"),
        ("events_invalid.json", NOW, 8, 2, "intake"),
        ("health_repeat_snapshots_valid.json", 1548857167, 0, 0, "health"),
        ("health_agent_substream_valid.json", NOW, 0, 0, "health"),
        ("health_invalid_snapshots.json", NOW, 7, 1, "health"),
        ("seed002_metrics_curl_body.json", 1548857167, 0, 0, "intake"),
        ("seed002_events_curl_body.json", NOW, 1, 0, "unknown"),
        ("seed002_events_no_comments.json", NOW, 1, 0, "unknown"),
        ("seed002_events_no_trailing_commas.json", NOW, 1, 0, "unknown"),
        ("seed002_event_example.json", NOW, 1, 0, "unknown"),
        ("seed002_event_example_in_braces.json", NOW, 1, 0, "unknown"),
    ],
)
def test_fixture_outcomes(name: str, now: float, errors: int, warnings: int, kind: str) -> None:
    report = validate_text(fixture_text(name), now=now)
    assert (report.error_count, report.warning_count, report.kind) == (errors, warnings, kind), report.problems


def test_every_fixture_is_covered() -> None:
    names = {p.name for p in FIXTURES.glob("*.json")}
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert names == set(re.findall(r"^\| `([\w.]+\.json)` \|", readme, re.M))


def test_valid_agent_fixture_counts() -> None:
    report = validate_text(fixture_text("intake_valid_agent.json"), now=NOW)
    assert report.counts == {
        "metrics": 3, "events": 1, "service_checks": 2,
        "health_snapshots": 0, "check_states": 0, "topologies": 0,
    }


# ---------------------------------------------------------------------------------------
# Presentation


def test_render_valid_payload() -> None:
    report = validate_text(fixture_text("intake_valid_agent.json"), now=NOW)
    assert render_text(report, "payload.json") == (
        "payload.json: valid intake payload (3 metrics, 1 event, 2 service checks)\n"
    )


def test_render_valid_with_warnings() -> None:
    report = validate_text(fixture_text("metrics_stale_timestamps.json"), now=NOW)
    out = render_text(report, "p.json").splitlines()
    assert out[0].startswith("warning $.metrics[0][1]: metric timestamp 2023-11-14T20:13:20Z is 2 hours")
    assert out[0].endswith("(p.json:5:30)")
    assert out[-1] == "0 errors, 2 warnings in p.json; valid intake payload (3 metrics)"


def test_render_syntax_error_with_caret() -> None:
    report = validate_text(fixture_text("seed002_events_no_comments.json"), now=NOW)
    assert render_text(report, "seed.json").splitlines() == [
        "error   $: invalid JSON: trailing comma before ']'; the receiver rejects the payload "
        "with 400 Bad Request (seed.json:30:32)",
        '              "tag_key2:tag_value2",',
        "                                   ^",
        "1 error, 0 warnings in seed.json",
    ]


def test_render_caps_repeated_problems_per_rule() -> None:
    report = check(intake(metrics=[metric(name=f"host.{i}") for i in range(45)] + [metric(type="x")]))
    out = render_text(report, "big.json")
    assert out.count("metric.reserved-name") == 1  # only in the "... more" line
    assert "… and 25 more problems like metric.reserved-name (the JSON output lists all)" in out
    assert 'metric type "x"' in out
    assert out.splitlines()[-1] == "46 errors, 0 warnings in big.json"
    assert render_text(report, "big.json", max_per_rule=0).count("reserved prefix") == 45


def test_describe_counts() -> None:
    assert describe_counts({"metrics": 1, "health_snapshots": 2, "check_states": 1}) == (
        "1 metric, 2 health snapshots, 1 check state"
    )
    assert describe_counts({}) == "no data"


def test_to_dict_is_stable_json() -> None:
    report = validate_text(fixture_text("seed002_events_curl_body.json"), now=NOW)
    data = to_dict(report, "seed.json")
    assert list(data) == ["schema", "source", "kind", "valid", "errors", "warnings", "counts", "problems"]
    assert data["schema"] == SCHEMA == "stsdebug.validate/1"
    assert (data["valid"], data["errors"], data["warnings"]) == (False, 1, 0)
    assert data["problems"][0] == {
        "path": "$",
        "severity": "error",
        "rule": "json.syntax",
        "message": report.problems[0].message,
        "line": 4,
        "column": 23,
        "excerpt": '    "event.test01": [ // The event name\n                      ^',
    }
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert "source" not in to_dict(report)
