import json

import pytest

from stsdebug.errors import UsageError
from stsdebug.model import SCHEMA, Status, TraceFormatError, TraceResult
from tests.factories import ALL


@pytest.mark.parametrize("name", sorted(ALL))
def test_json_round_trip_is_lossless(name):
    trace = ALL[name]()
    again = TraceResult.from_json(trace.to_json())
    assert again.to_dict() == trace.to_dict()
    assert again.schema == SCHEMA


def test_evidence_kinds_survive_round_trip():
    trace = TraceResult.from_json(ALL["with_probe"]().to_json())
    kinds = {ev.kind for s in trace.stages for ev in s.evidence}
    assert {"figures", "table", "text", "timeline"} <= kinds
    hop = trace.stages[2].evidence[-1].hops[2]
    assert hop.status is Status.FAIL and hop.at_ms is None


def test_newer_schema_is_refused_with_a_clear_reason():
    data = ALL["all_pass"]().to_dict()
    data["schema"] = "stsdebug.trace/2"
    with pytest.raises(TraceFormatError, match="upgrade stsdebug"):
        TraceResult.from_dict(data)


@pytest.mark.parametrize(
    "payload, reason",
    [
        ("[]", "not a JSON object"),
        ('{"a": 1}', "no 'schema'"),
        ("{not json", "invalid JSON at line 1"),
        (json.dumps({"schema": SCHEMA}), "missing key"),
    ],
)
def test_not_a_trace(payload, reason):
    with pytest.raises(TraceFormatError, match=reason):
        TraceResult.from_json(payload)


def test_load_reports_missing_file_as_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        TraceResult.load(tmp_path / "nope.json")


def test_load_reads_trace_embedded_in_html(tmp_path):
    trace = ALL["hostile"]()
    body = trace.to_json().replace("<", "\\u003c")
    page = tmp_path / "r.html"
    page.write_text(
        f'<html><script type="application/json" id="stsdebug-trace">{body}</script></html>'
    )
    assert TraceResult.load(page).to_dict() == trace.to_dict()


def test_fixture_traces_follow_the_published_schema():
    from pathlib import Path

    import jsonschema

    root = Path(__file__).resolve().parents[2]
    schema = json.loads((root / "docs" / "trace.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for make in ALL.values():
        jsonschema.validate(make().to_dict(), schema)
    broken = ALL["all_pass"]().to_dict()
    broken["stages"][0]["status"] = "fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_one_table_of_status_words_serves_every_output():
    from stsdebug.render import html
    from stsdebug.status_words import STATUS_WORDS
    from stsdebug.tui import display

    for s in Status:
        w = STATUS_WORDS[s.value]
        assert (s.mark, s.word, s.label) == (w.mark, w.word, w.title)
        assert html.word(s) == w.title and html.mark(s) == w.mark
        assert display.WORDS[s.value] == w.word
        assert display.marks(True)[s.value] == w.ascii and display.marks(False)[s.value] == w.mark
    assert set(STATUS_WORDS) >= {s.value for s in Status} | {"pending", "running", "cancelled"}
