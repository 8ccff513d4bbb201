"""The HTML report's templates, escaping and embedded trace, checked on the rendered text."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from stsdebug.errors import UsageError
from stsdebug.model import (
    EMBED_ID,
    Figure,
    Figures,
    Hop,
    LogLine,
    LogSample,
    StageResult,
    Status,
    Table,
    Text,
    Timeline,
    TraceResult,
)
from stsdebug.render import html
from tests.factories import ALL, every_kind, hostile_everywhere

MARKER = f'<script type="application/json" id="{EMBED_ID}">'


class Page(HTMLParser):
    """Tags, attributes and the text inside each element with an id (visible text only)."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "source", "col", "area", "base"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, list[str]] = {}
        self._open: list[str | None] = []
        self._in_script = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in self.VOID:
            return
        self._open.append(a.get("id"))
        if a.get("id"):
            self.texts.setdefault(a["id"], [])
        if tag in ("script", "style"):
            self._in_script += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if tag in ("script", "style"):
            self._in_script -= 1
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._in_script:
            return
        for i in self._open:
            if i:
                self.texts[i].append(data)

    def text(self, element_id: str) -> str:
        return " ".join(" ".join(self.texts[element_id]).split())


def embedded(page: str) -> str:
    start = page.index(MARKER) + len(MARKER)
    return page[start : page.index("</script>", start)]


def one_stage(stage: StageResult, kind: str = "push") -> TraceResult:
    t = ALL["all_pass"]()
    t.kind = kind
    t.stages = [stage]
    return t


# --- statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(Status))
def test_every_status_shows_mark_and_word_in_card_pipeline_and_timings(status: Status) -> None:
    t = one_stage(StageResult("kafka", "Kafka topic", status, f"summary for {status.value}", started_at=1.0))
    page = html.render(t)
    p = Page(page)
    card = p.text("stage-kafka")
    assert f"{status.mark} {html.WORDS[status]}" in card
    assert f"summary for {status.value}" in card
    assert f'class="card s-{status.value}' in page
    # Pipeline picture and waterfall carry the word too, not only a colour.
    assert f"{status.mark}</tspan> {html.WORDS[status]}" in page
    assert html.WORDS[status] in p.text("timings")


@pytest.mark.parametrize("status", [Status.FAIL, Status.ERROR])
def test_the_verdict_stage_is_flagged_where_the_data_stops(status: Status) -> None:
    t = ALL["kafka_fail"]() if status is Status.FAIL else ALL["with_error"]()
    p = Page(html.render(t))
    assert t.verdict.sentence in p.text("verdict")
    flagged = [sid for sid in ("scope", "agent", "receiver", "kafka", "elasticsearch", "streams")
               if "stops here" in p.text(f"stage-{sid}") or "could not see past" in p.text(f"stage-{sid}")]
    assert flagged == [t.verdict.stage]


def test_passing_trace_flags_no_stage() -> None:
    page = html.render(ALL["all_pass"]())
    assert "stops here" not in page and "could not see past" not in page


# --- evidence kinds -------------------------------------------------------------------------


def test_figures_show_label_value_and_unit_and_a_dash_when_unmeasured() -> None:
    ev = Figures("Cluster", [Figure("newest document age", 12.5, "s"), Figure("lag", None, "records"), Figure("ok", True)])
    p = Page(html.render(one_stage(StageResult("es", "Elasticsearch", Status.PASS, "x", [ev]))))
    card = p.text("stage-es")
    assert "Cluster" in card and "newest document age 12.5 s" in card
    assert "lag —" in card and "records" not in card  # no unit on a missing value
    assert "ok yes" in card


def test_table_shows_columns_rows_note_and_caps_rows() -> None:
    rows = [[i, f"host-{i}", None, 1.25] for i in range(html.MAX_TABLE_ROWS + 7)]
    ev = Table("Hosts", ["n", "host", "newest", "rate"], rows, note="rate in records/s")
    page = html.render(one_stage(StageResult("kafka", "Kafka", Status.WARN, "x", [ev])))
    card = Page(page).text("stage-kafka")
    assert "n host newest rate" in card
    assert f"host-{html.MAX_TABLE_ROWS - 1}" in card and f"host-{html.MAX_TABLE_ROWS}" not in card
    assert "7 more rows are in the embedded trace JSON" in card
    assert "rate in records/s" in card
    assert '<td data-label="rate" class="num">1.25</td>' in page and '<td data-label="newest">—</td>' in page
    # ...and the embed keeps every row.
    assert len(json.loads(embedded(page))["stages"][0]["evidence"][0]["rows"]) == len(rows)


def test_log_sample_numbers_lines_and_marks_exactly_the_matching_part() -> None:
    ev = LogSample(
        "Rejections",
        "agent.log",
        [
            LogLine(812, "ERROR Error code 400 received", (6, 20)),
            LogLine(813, "no match here"),
            LogLine(900, "short", (2, 99)),  # offsets past the end are clamped
            LogLine(901, "empty match", (3, 3)),
        ],
        total_matches=14,
    )
    page = html.render(one_stage(StageResult("agent", "Agent", Status.FAIL, "x", [ev])))
    card = Page(page).text("stage-agent")
    assert "From agent.log · 14 matching lines in all, 4 shown" in card
    assert '<th scope="row" class="ln">812</th><td><code>ERROR <mark>Error code 400</mark> received</code>' in page
    assert '<th scope="row" class="ln">813</th><td><code>no match here</code>' in page
    assert "<code>sh<mark>ort</mark></code>" in page
    assert "<code>empty match</code>" in page
    assert page.count("<mark>") == 2


def test_text_evidence() -> None:
    ev = Text("What cannot be checked", "Plugin credentials are only visible inside StackState.")
    card = Page(html.render(one_stage(StageResult("source", "Source", Status.PASS, "x", [ev])))).text("stage-source")
    assert "What cannot be checked Plugin credentials are only visible inside StackState." in card


def test_timeline_shows_each_hop_with_status_and_arrival() -> None:
    ev = Timeline("Probe", "stsdebug-probe-1", [Hop("receiver", Status.PASS, 12.0, "202 Accepted"),
                                                Hop("elasticsearch", Status.FAIL, None, "not indexed")])
    page = Page(html.render(one_stage(StageResult("receiver", "Receiver", Status.PASS, "x", [ev]))))
    probe = page.text("probe")
    assert "probe stsdebug-probe-1" in probe
    assert "receiver ✔ Pass after 12 ms 202 Accepted" in probe
    assert "elasticsearch ✘ Fail not seen not indexed" in probe
    # Shown once: the card links to the probe section instead of repeating the hops.
    card = page.text("stage-receiver")
    assert "its hops are shown once" in card and "202 Accepted" not in card


def test_hints_show_their_runbook_step() -> None:
    t = every_kind()
    card = Page(html.render(t)).text("stage-streams")
    assert "What to do Check that Elasticsearch answers on 127.0.0.1:9200. Runbook: Troubleshooting step 4 / Elasticsearch" in card


def test_unknown_evidence_kind_falls_back_without_showing_raw_content() -> None:
    env = html.environment()
    out = env.get_template("evidence/unknown.html.j2").render(ev=Text("Chart <b>", "data"), trace=every_kind())
    assert "Chart &lt;b&gt;" in out and "data" not in out


# --- the page as a whole --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL))
def test_fixture_reports_are_small_self_contained_and_deterministic(name: str) -> None:
    page = html.render(ALL[name]())
    assert len(page.encode()) < 300 * 1024
    assert page == html.render(ALL[name]())
    # Nothing loads from anywhere: no external src/href/url()/@import, and a CSP that says so.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", page, re.I)
    assert not re.search(r"url\((?!#)", page) and "@import" not in page
    csp = next(a["content"] for t, a in Page(page).tags if a.get("http-equiv") == "Content-Security-Policy")
    assert csp.startswith("default-src 'none';") and "connect-src" not in csp


def test_csp_allows_exactly_the_report_script_by_hash() -> None:
    page = html.render(ALL["kafka_fail"]())
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = next(a["content"] for t, a in Page(page).tags if a.get("http-equiv") == "Content-Security-Policy")
    assert f"script-src 'sha256-{digest}';" in csp


def test_headings_are_in_order_for_screen_readers() -> None:
    levels = [int(tag[1]) for tag, _ in Page(html.render(every_kind())).tags if re.fullmatch(r"h[1-6]", tag)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False))


def test_target_settings_and_redaction_manifest_are_shown() -> None:
    t = ALL["kafka_fail"]()
    p = Page(html.render(t))
    settings = p.text("target")
    assert "api_key <redacted>" in settings and "kafka 127.0.0.1:9092" in settings
    red = p.text("redactions")
    assert "api_key parameter stages.agent 14" in red
    about = p.text("about")
    assert "stsdebug 0.1.0" in about and "2026-11-21 08:33:20 UTC" in about


def test_pull_trace_draws_the_pull_pipeline() -> None:
    page = html.render(ALL["all_pass"]())
    assert "StackState 5: Pull source → Elasticsearch → Telemetry streams" in page  # from the stage titles
    assert page.count('class="node s-pass"') == 2 * 4  # wide and narrow picture


# --- embedded trace -------------------------------------------------------------------------


@pytest.mark.parametrize("make", [*ALL.values(), every_kind, hostile_everywhere], ids=[*ALL, "every_kind", "hostile_everywhere"])
def test_embedded_trace_round_trips_through_load(make, tmp_path: Path) -> None:
    trace = make()
    page = html.render(trace)
    assert page.count(MARKER) == 1
    body = embedded(page)
    for ch in "<>&\u2028\u2029":
        assert ch not in body
    assert json.loads(body) == trace.to_dict()  # valid JSON as it stands
    f = tmp_path / "r.html"
    f.write_text(page, encoding="utf-8")
    assert TraceResult.load(f).to_dict() == trace.to_dict()


def test_embed_escapes_backslashes_so_a_literal_u003c_survives_naive_unescaping() -> None:
    body = str(html.embed_json({"s": "\\u003c/script>"}))
    assert body == '{"s":"\\u005cu003c/script\\u003e"}'
    assert json.loads(body.replace("\\u003c", "<")) == {"s": "\\u003c/script>"}


# --- hostile input --------------------------------------------------------------------------


def test_hostile_strings_never_become_markup() -> None:
    page = html.render(hostile_everywhere())
    p = Page(page)
    tags = [t for t, _ in p.tags]
    assert tags.count("script") == 2  # the JSON embed and the report's own script
    assert tags.count("svg") == 2  # the two pipeline pictures
    assert not {"img", "iframe", "object", "embed", "form", "base"} & set(tags)
    handlers = [(t, k) for t, a in p.tags for k in a if k.lower().startswith("on")]
    assert handlers == []
    hrefs = [a.get("href") or "" for t, a in p.tags if "href" in a]
    assert all(h.startswith("#") for h in hrefs)
    # Jinja syntax in data is data.
    assert "{{ 7*7 }}" in p.text("verdict") and "49" not in p.text("verdict")


def test_invisible_direction_marks_are_shown_as_code_points() -> None:
    page = html.render(hostile_everywhere())
    visible = page[: page.index(MARKER)]
    for ch in "\u202e\u202c\u2066\u2069\u200b":
        assert ch not in visible
    assert "⟦U+202E⟧evil⟦U+202C⟧" in Page(page).text("verdict")


def test_pattern_secrets_in_a_saved_trace_are_redacted_on_render() -> None:
    t = ALL["all_pass"]()
    t.stages[0].summary = "posting to https://r:7077/stsAgent/intake?api_key=abcdef0123456789 failed"
    t.stages[2].evidence.append(Text("headers", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9xyz"))
    t.target["es"] = "http://elastic:hunter2hunter2@127.0.0.1:9200"
    page = html.render(t)
    for secret in ("abcdef0123456789", "eyJhbGciOiJIUzI1NiJ9xyz", "hunter2hunter2"):
        assert secret not in page


# --- branding: --template-dir ---------------------------------------------------------------


def test_template_dir_overrides_single_templates_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "partials").mkdir()
    (tmp_path / "brand.css").write_text(":root { --link: #5a00b4; }\n")
    (tmp_path / "partials" / "header.html.j2").write_text(
        '<header class="masthead"><p class="brand">ACME Observability support</p>'
        "<h1>{{ trace.integration }}</h1></header>\n"
    )
    t = hostile_everywhere()
    page = html.render(t, template_dir=str(tmp_path))
    assert "ACME Observability support" in page and "--link: #5a00b4" in page
    assert "stsdebug report</p>" not in page
    assert Page(page).tags.count(("script", {})) == 1  # autoescape holds in team templates too
    assert 'id="stage-agent"' in page  # built-in partials still render


def test_team_template_can_extend_the_builtin_one(tmp_path: Path) -> None:
    (tmp_path / "report.html.j2").write_text(
        '{% extends "builtin/report.html.j2" %}{% block title %}ACME: {{ trace.integration }}{% endblock %}'
    )
    page = html.render(ALL["kafka_fail"](), template_dir=tmp_path)
    assert "<title>ACME: kubernetes</title>" in page and 'id="verdict"' in page


def test_template_dir_errors_are_one_line_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such directory"):
        html.render(ALL["kafka_fail"](), template_dir=str(tmp_path / "nope"))
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "verdict.html.j2").write_text("ok\n{% if %}\n")
    with pytest.raises(UsageError, match=r"partials/verdict.html.j2:2: "):
        html.render(ALL["kafka_fail"](), template_dir=str(tmp_path))
    (tmp_path / "partials" / "verdict.html.j2").write_text("{{ trace.no_such_field }}")
    with pytest.raises(UsageError, match="no_such_field"):
        html.render(ALL["kafka_fail"](), template_dir=str(tmp_path))
    (tmp_path / "partials" / "verdict.html.j2").write_text("{{ trace.stages[0].duration_ms / 0 }}")
    with pytest.raises(UsageError, match="ZeroDivisionError"):
        html.render(ALL["kafka_fail"](), template_dir=str(tmp_path))


def test_a_template_set_that_drops_the_embedded_trace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "about.html.j2").write_text("<p>about</p>")
    with pytest.raises(UsageError, match="no longer embeds the trace"):
        html.render(ALL["kafka_fail"](), template_dir=str(tmp_path))


# --- timings --------------------------------------------------------------------------------


def test_waterfall_places_stages_on_a_shared_axis() -> None:
    rows = html.timings(every_kind().stages)
    assert [r["offset_ms"] for r in rows][:3] == pytest.approx([0, 400, 800])
    # The run ends when kafka (started at +1200 ms, took 2300 ms) ends: 3500 ms.
    assert rows[3]["left"] == pytest.approx(1200 / 3500 * 100, abs=0.01)
    assert rows[3]["width"] == pytest.approx(2300 / 3500 * 100, abs=0.01)
    assert rows[5]["width"] == 0.5  # a zero-length stage still shows a sliver


def test_waterfall_lays_stages_end_to_end_without_start_times() -> None:
    stages = [StageResult(s, s, Status.PASS, "x", duration_ms=d) for s, d in (("a", 100), ("b", 300))]
    rows = html.timings(stages)
    assert [r["offset_ms"] for r in rows] == [0, 100]
    assert [r["left"] for r in rows] == [0, 25] and [r["width"] for r in rows] == [25, 75]
