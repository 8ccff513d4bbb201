"""Property tests: whatever arrives, validation answers with problems, never an exception."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdebug.jsontext import locate, parse_json
from stsdebug.payloads import (
    COUNT_KEYS,
    ERROR,
    INTAKE_MEMBERS,
    RULES,
    WARNING,
    ValidationReport,
    validate_obj,
    validate_text,
)
from stsdebug.render.validate import render_text, to_dict

NOW = 1_700_000_000
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "payloads"
FIXTURE_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.json"))]

# The autouse config-isolation fixture is function-scoped; these tests do not use it.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MEMBER_NAMES = list(INTAKE_MEMBERS) + [
    "hostname", "type", "tags", "msg_title", "msg_text", "timestamp", "context", "category",
    "element_identifiers", "source", "source_links", "stream", "urn", "sub_stream_id",
    "check_states", "checkStateId", "health", "name", "start_snapshot", "repeat_interval_s",
    "expiry_interval_s", "consistency_model", "increment", "checkpoint", "offset", "delete",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["gauge", "Clear", "Changes", "host.x", "urn:health:a:b", "REPEAT_STATES"])
)
keys = st.text(max_size=12) | st.sampled_from(MEMBER_NAMES)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(keys | st.integers() | st.none(), inner, max_size=6)
    | st.tuples(inner, inner),
    max_leaves=25,
)


# Cheap wrong values for the shaped strategies below (the recursive one is slow to draw).
odd = scalars | st.lists(scalars, max_size=2) | st.dictionaries(keys, scalars, max_size=2)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the intended shape, sometimes a value of the wrong kind."""
    return strategy | odd


timestamps = st.one_of(
    st.integers(min_value=NOW - 10**6, max_value=NOW + 10**6),
    st.integers(min_value=-10, max_value=10**21),
    st.floats(min_value=-1e25, max_value=1e25),
    st.sampled_from([NOW * 1000, NOW * 10**6, NOW * 10**9, 0, str(NOW)]),
)
metric_meta = st.fixed_dictionaries(
    {},
    optional={
        "hostname": _maybe(st.text(max_size=10)),
        "type": _maybe(st.sampled_from(["gauge", "count", "rate", "counter", "raw", "Gauge", "gauges"])),
        "tags": _maybe(st.lists(st.text(max_size=8), max_size=3)),
    },
)
metrics = st.lists(
    _maybe(
        st.tuples(
            _maybe(st.sampled_from(["system.cpu", "hostx", "values", ""]) | st.text(max_size=10)),
            _maybe(timestamps),
            _maybe(st.floats() | st.integers()),
            _maybe(metric_meta),
        ).map(list)
    ),
    max_size=4,
)
context = st.fixed_dictionaries(
    {},
    optional={
        "category": _maybe(st.sampled_from(["Changes", "changes", "Alerts", "Deploys"])),
        "element_identifiers": _maybe(st.lists(st.text(max_size=6), max_size=2)),
        "source": _maybe(st.text(max_size=6)),
        "source_id": st.text(max_size=4),
        "source_links": _maybe(
            st.lists(st.fixed_dictionaries({}, optional={"title": odd, "url": odd}), max_size=2)
        ),
        "data": odd,
    },
)
events = st.dictionaries(
    st.text(max_size=10) | st.sampled_from(["http_check", "hostEvent", "title"]),
    _maybe(
        st.lists(
            _maybe(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "msg_title": _maybe(st.text(max_size=5)),
                        "msg_text": _maybe(st.text(max_size=5)),
                        "timestamp": _maybe(timestamps),
                        "context": _maybe(context),
                        "tags": odd,
                    },
                )
            ),
            max_size=3,
        )
    ),
    max_size=3,
)
check_state = st.fixed_dictionaries(
    {},
    optional={
        "checkStateId": _maybe(st.sampled_from(["c1", "c2"])),
        "health": _maybe(st.sampled_from(["Clear", "CRITICAL", "deviating", "Warning"])),
        "topologyElementIdentifier": _maybe(st.text(max_size=5)),
        "name": _maybe(st.text(max_size=5)),
        "message": odd,
        "delete": odd,
    },
)
intervals = st.fixed_dictionaries(
    {},
    optional={"repeat_interval_s": _maybe(st.integers(-5, 4000)), "expiry_interval_s": _maybe(st.integers(-5, 4000))},
)
health_entry = st.fixed_dictionaries(
    {},
    optional={
        "consistency_model": _maybe(
            st.sampled_from(["REPEAT_SNAPSHOTS", "REPEAT_STATES", "TRANSACTIONAL_INCREMENTS", "repeat_states", "X"])
        ),
        "start_snapshot": _maybe(intervals),
        "stop_snapshot": odd,
        "expiry": _maybe(intervals),
        "increment": _maybe(
            st.fixed_dictionaries({}, optional={"checkpoint": odd, "previous_checkpoint": odd})
        ),
        "stream": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "urn": _maybe(st.sampled_from(["urn:health:a:b", "urn:health:a"]) | st.text(max_size=8)),
                    "sub_stream_id": _maybe(st.text(max_size=4)),
                },
            )
        ),
        "check_states": _maybe(st.lists(_maybe(check_state), max_size=3)),
    },
)
intake = st.fixed_dictionaries(
    {},
    optional={
        "internalHostname": _maybe(st.text(max_size=10)),
        "collection_timestamp": _maybe(timestamps),
        "apiKey": st.text(max_size=5),
        "metrics": _maybe(metrics),
        "events": _maybe(events),
        "service_checks": _maybe(st.lists(_maybe(st.dictionaries(keys, odd, max_size=4)), max_size=3)),
        "health": _maybe(st.lists(_maybe(health_entry), max_size=3)),
        "topologies": odd,
        "internal_hostname": st.text(max_size=3),
    },
)


def assert_sane(report: ValidationReport) -> None:
    assert report.kind in ("intake", "health", "unknown")
    assert list(report.counts) == list(COUNT_KEYS)
    assert all(isinstance(v, int) and v >= 0 for v in report.counts.values())
    for p in report.problems:
        assert p.path.startswith("$"), p
        assert p.severity in (ERROR, WARNING)
        assert p.rule in RULES and RULES[p.rule].severity == p.severity
        assert p.message and p.message.isprintable(), p.message
        assert p.path.isprintable(), p.path
        if p.excerpt is not None:
            lines = p.excerpt.split("\n")
            assert len(lines) == 2 and lines[1].endswith("^")
            assert all(line.isprintable() for line in lines)
    assert report.valid == (report.error_count == 0)
    render_text(report, "fuzz.json").encode("utf-8")
    json.dumps(to_dict(report, "fuzz.json"), allow_nan=False).encode("utf-8")


@FUZZ
@given(anything)
def test_any_python_structure(obj: Any) -> None:
    assert_sane(validate_obj(obj, now=NOW))


@FUZZ
@given(intake)
def test_intake_shaped_structures(obj: Any) -> None:
    assert_sane(validate_obj(obj, now=NOW))


@FUZZ
@given(st.text())
def test_any_text(text: str) -> None:
    report = validate_text(text, now=NOW)
    assert_sane(report)


@FUZZ
@given(st.text(alphabet='{}[],:"\\ \n\t0123456789.eE-+truefalsnNaIiy\ufeff\ufffd\ud800', max_size=60))
def test_json_like_text(text: str) -> None:
    report = validate_text(text, now=NOW)
    assert_sane(report)
    for p in report.problems:
        if p.line is not None:
            lines = text.split("\n")
            assert 1 <= p.line <= len(lines)
            assert 1 <= p.column <= len(lines[p.line - 1]) + 1  # type: ignore[operator]


@FUZZ
@given(st.sampled_from(FIXTURE_TEXTS), st.data())
def test_damaged_fixtures(text: str, data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert":
            text = text[:pos] + data.draw(st.sampled_from(list('{}[],:"\\') + ["//", "NaN", "1e999", "\x00", "é"])) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + data.draw(st.integers(1, 20)) :]
        else:
            text = text[:pos] + data.draw(st.text(max_size=3)) + text[pos + 1 :]
    report = validate_text(text, now=NOW)
    assert_sane(report)
    if report.kind == "unknown" and report.problems and report.problems[0].rule.startswith("json."):
        p = report.problems[0]
        assert p.line is not None and p.excerpt is not None


def _jsonable(obj: Any) -> Any:
    """What survives a JSON round trip unchanged: finite numbers, string keys, lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else 0.5
    if isinstance(obj, int) and not isinstance(obj, bool):
        return obj if abs(obj) < 10**300 else 7
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


@FUZZ
@given(intake, st.sampled_from([None, 2]))
def test_text_and_object_agree_and_text_problems_are_located(obj: Any, indent: int | None) -> None:
    text = json.dumps(_jsonable(obj), indent=indent)
    from_text = validate_text(text, now=NOW)
    from_obj = validate_obj(json.loads(text), now=NOW)
    assert Counter((p.rule, p.path) for p in from_text.problems) == Counter(
        (p.rule, p.path) for p in from_obj.problems
    )
    assert from_text.kind == from_obj.kind and from_text.counts == from_obj.counts
    for p in from_text.problems:
        assert p.line is not None and p.column is not None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


def _paths(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(path, obj)]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, path + (i,))
    return out


@FUZZ
@given(json_values, st.sampled_from([None, 1, 4]), st.booleans())
def test_locate_finds_every_value(doc: Any, indent: int | None, ascii_only: bool) -> None:
    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only)
    paths = _paths(doc)
    offsets = locate(text, 0, {p for p, _ in paths})
    decoder = json.JSONDecoder()
    for path, value in paths:
        assert path in offsets, path
        decoded, _ = decoder.raw_decode(text, offsets[path])
        assert decoded == value or (decoded != decoded and value != value)
    assert parse_json(text) == doc or doc != doc
