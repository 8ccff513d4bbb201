"""The HTML report in a real browser: headless Chromium, opened from a file with the network off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stsdebug.model import TraceResult
from stsdebug.render import html
from tests.factories import ALL, PWNED, every_kind, hostile_everywhere

pytestmark = pytest.mark.browser

TRACES = {**{n: ALL[n] for n in ("kafka_fail", "all_pass", "with_error", "with_probe")}, "every_kind": every_kind}


def write(tmp_path: Path, trace: TraceResult, name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(html.render(trace), encoding="utf-8")
    return path


@pytest.mark.parametrize("width", [1280, 400])
@pytest.mark.parametrize("name", sorted(TRACES))
def test_report_shows_verdict_and_every_stage_offline(name, width, tmp_path, open_report) -> None:
    trace = TRACES[name]()
    visit = open_report(write(tmp_path, trace), width=width)
    page = visit.page
    shot = page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
    assert len(shot) > 20_000  # a rendered page, not a blank one

    assert page.locator("#verdict .sentence").is_visible()
    assert page.locator("#verdict .sentence").inner_text() == trace.verdict.sentence
    for stage in trace.stages:
        card = page.locator(f"#stage-{stage.id}")
        assert card.is_visible(), stage.id
        badge = " ".join(card.locator(".card-head .badge").inner_text().split())
        assert badge == f"{stage.status.mark} {html.WORDS[stage.status]}"
        assert stage.summary in card.inner_text()
    # The pipeline picture fits the screen: a row when wide, a column when narrow.
    wide, narrow = page.locator("svg.pipe.wide"), page.locator("svg.pipe.narrow")
    assert (wide.is_visible(), narrow.is_visible()) == ((True, False) if width > 640 else (False, True))
    # Nothing wider than the screen (wide tables scroll inside their own box).
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    assert visit.foreign_requests() == []
    assert visit.console_errors == [] and visit.page_errors == []


def test_embedded_trace_round_trips_and_downloads(tmp_path, open_report) -> None:
    trace = every_kind()
    path = write(tmp_path, trace)
    assert TraceResult.load(path).to_dict() == trace.to_dict()

    visit = open_report(path)
    page = visit.page
    in_page = page.evaluate("JSON.parse(document.getElementById('stsdebug-trace').textContent)")
    assert in_page == trace.to_dict()

    button = page.locator("#download-trace")
    assert button.is_visible()
    with page.expect_download(timeout=10_000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "stsdebug-kubernetes-20261121-083320.json"
    saved = tmp_path / "downloaded.json"
    download.save_as(str(saved))
    assert json.loads(saved.read_text(encoding="utf-8")) == trace.to_dict()
    assert TraceResult.load(saved).to_dict() == trace.to_dict()
    assert visit.foreign_requests() == [] and visit.console_errors == []


@pytest.mark.parametrize("bypass_csp", [True, False], ids=["escaping-alone", "with-csp"])
@pytest.mark.parametrize("make", [hostile_everywhere, ALL["hostile"]], ids=["everywhere", "factory"])
def test_hostile_strings_execute_nothing_and_show_literally(make, bypass_csp, tmp_path, open_report) -> None:
    trace = make()
    # bypass_csp: the page's own Content-Security-Policy is switched off, so escaping
    # alone must keep every payload inert.
    visit = open_report(write(tmp_path, trace), bypass_csp=bypass_csp)
    page = visit.page
    page.wait_for_timeout(300)  # give onerror/onload handlers a chance to fire
    assert page.evaluate(f"typeof window.{PWNED}") == "undefined"
    assert visit.dialogs == []
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert visit.foreign_requests() == []
    assert visit.console_errors == [] and visit.page_errors == []
    shown = page.locator("#verdict .sentence").inner_text()
    expected = html.show_hidden(trace.verdict.sentence)
    assert shown == expected
    assert "<script>" in shown and "onerror=" in shown
    # The payload survives in the embedded trace, as data.
    assert page.evaluate("JSON.parse(document.getElementById('stsdebug-trace').textContent)") == trace.to_dict()


def test_csp_stops_markup_that_a_broken_template_let_through(tmp_path, open_report) -> None:
    page_text = html.render(ALL["kafka_fail"]())
    injected = (
        f'<img src="x.png" onerror="window.{PWNED}=1"><script>window.{PWNED}=2</script>'
        f'<iframe src="https://example.invalid/"></iframe>'
    )
    path = tmp_path / "broken.html"
    path.write_text(page_text.replace("<main id=\"main\">", "<main id=\"main\">" + injected), encoding="utf-8")
    visit = open_report(path)
    visit.page.wait_for_timeout(300)
    assert visit.page.evaluate(f"typeof window.{PWNED}") == "undefined"
    # The browser tried the image; the policy cancelled it before it left (the frame never got as far).
    assert visit.foreign_requests() and sorted(visit.blocked_by_csp) == sorted(visit.foreign_requests())
    # The policy is what stopped them, and the browser says so.
    assert any("Content Security Policy" in e for e in visit.console_errors)


CONTRAST = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor) || {r: 255, g: 255, b: 255, a: 1};
  };
  const out = [];
  const html = "h1, h2, h3, h4, .badge, .sentence, .summary, .lede, .meta, .dur, .brand, mark, " +
    ".runbook, .log-source, .note, .figure dt, .figure dd, th.ln, table.log code, a, .stops-flag, " +
    ".hop-detail, .step, button, .waterfall td, .about dt, .foot, .next-label, .next-text, .stage-next, " +
    ".change-better, .change-worse, .change-unchecked, details.fold > summary, .diff-sentence";
  for (const el of document.querySelectorAll(html)) {
    if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    out.push({what: el.className || el.tagName, text: el.textContent.trim().slice(0, 30),
              ratio: ratio(parse(getComputedStyle(el).color), background(el))});
  }
  for (const node of document.querySelectorAll("svg.pipe .node")) {
    if (!node.getClientRects().length) continue;
    const box = parse(getComputedStyle(node.querySelector("rect")).fill);
    for (const t of node.querySelectorAll("text")) {
      out.push({what: "svg " + t.className.baseVal, text: t.textContent.trim(), ratio: ratio(parse(getComputedStyle(t).fill), box)});
    }
  }
  return {items: out, bg: lum(background(document.body))};
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa_in_light_and_dark(scheme, tmp_path, open_report) -> None:
    visit = open_report(write(tmp_path, every_kind()), color_scheme=scheme)
    result = visit.page.evaluate(CONTRAST)
    assert (result["bg"] < 0.05) == (scheme == "dark")  # the scheme really switched
    assert len(result["items"]) > 80
    low = [i for i in result["items"] if i["ratio"] < 4.5]
    assert low == []


def test_print_layout_fits_a4(tmp_path, open_report) -> None:
    # A4 at 12 mm side margins leaves 186 mm = 703 CSS px for the page body.
    visit = open_report(write(tmp_path, every_kind()), width=703)
    page = visit.page
    page.emulate_media(media="print", color_scheme="dark")
    assert page.evaluate("document.documentElement.scrollWidth") <= 703
    assert not page.locator("#download-trace").is_visible()
    assert page.locator("svg.pipe.wide").is_visible()
    # Print uses the light palette even when the screen is dark.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000


# --- layout: nothing sideways, the answer above the fold, the failing card first -------------

OVERFLOW = """
() => {
  const out = [];
  for (const el of document.querySelectorAll('.scroll, table, pre, .figures, .card, section')) {
    if (!el.getClientRects().length) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      out.push({what: (el.className || el.tagName) + ' ' + (el.id || ''), scroll: el.scrollWidth, client: el.clientWidth});
    }
  }
  return {page: document.documentElement.scrollWidth, boxes: out};
}
"""

LAYOUT_TRACES = {**TRACES, "hostile": ALL["hostile"]}


@pytest.mark.parametrize("width", [1280, 400])
@pytest.mark.parametrize("name", sorted(LAYOUT_TRACES))
def test_no_page_or_table_scrolls_sideways(name, width, tmp_path, open_report) -> None:
    visit = open_report(write(tmp_path, LAYOUT_TRACES[name]()), width=width, height=800)
    # Folded evidence opened too: its tables must fit as well.
    visit.page.evaluate("document.querySelectorAll('details.fold').forEach(d => d.open = true)")
    result = visit.page.evaluate(OVERFLOW)
    assert result["page"] <= width
    assert result["boxes"] == []


@pytest.mark.parametrize("name", ["kafka_fail", "with_error"])
def test_next_step_is_visible_without_scrolling_at_1280x800(name, tmp_path, open_report) -> None:
    trace = TRACES[name]()
    assert trace.verdict.next_step
    visit = open_report(write(tmp_path, trace), width=1280, height=800)
    step = visit.page.locator("#verdict .next-step")
    assert step.is_visible()
    assert trace.verdict.next_step in step.inner_text()
    box = step.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800


def test_failing_card_comes_first_after_the_pipeline_and_passing_evidence_is_folded(tmp_path, open_report) -> None:
    trace = TRACES["kafka_fail"]()
    visit = open_report(write(tmp_path, trace), width=1280, height=800)
    page = visit.page
    order = page.evaluate("[...document.querySelectorAll('#stages article.card')].map(a => a.id)")
    assert order[0] == f"stage-{trace.verdict.stage}"
    assert sorted(order) == sorted(f"stage-{s.id}" for s in trace.stages)
    # The failing card's evidence is open; a passing card's is behind a closed <details>.
    failing = page.locator(f"#stage-{trace.verdict.stage} .evidence").first
    assert failing.is_visible()
    passing = next(s for s in trace.stages if s.status.value == "pass" and s.evidence)
    assert not page.locator(f"#stage-{passing.id} .evidence").first.is_visible()
    page.locator(f"#stage-{passing.id} details.fold > summary").click()
    assert page.locator(f"#stage-{passing.id} .evidence").first.is_visible()
    # Printing opens every fold.
    page.locator(f"#stage-{passing.id} details.fold > summary").click()
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate("[...document.querySelectorAll('details.fold')].every(d => d.open)")
