"""JUnit XML: one testcase per stage, so CI systems show the trace as tests."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from stsdebug.model import Status, TraceResult
from stsdebug.render import picture
from stsdebug.render.text import evidence_lines

# XML 1.0 cannot carry most control characters; log lines may hold them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _details(stage: object) -> str:
    lines = [stage.summary]  # type: ignore[attr-defined]
    for ev in stage.evidence:  # type: ignore[attr-defined]
        lines.extend(evidence_lines(ev))
    for h in stage.hints:  # type: ignore[attr-defined]
        lines.append(f"→ {h.text}" + (f" [runbook: {h.runbook}]" if h.runbook else ""))
    return _clean("\n".join(lines))


def render(trace: TraceResult) -> str:
    counts = {s: sum(1 for st in trace.stages if st.status is s) for s in Status}
    suite = ET.Element(
        "testsuite",
        name=f"stsdebug.{trace.integration}",
        tests=str(len(trace.stages)),
        failures=str(counts[Status.FAIL] + counts[Status.BLOCKED]),
        errors=str(counts[Status.ERROR]),
        skipped=str(counts[Status.SKIP]),
        time=f"{sum(s.duration_ms for s in trace.stages) / 1000:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="sts_version", value=picture.version_label(trace))
    ET.SubElement(props, "property", name="pipeline", value=_clean(picture.path_text(trace)))
    for s in trace.stages:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"stsdebug.{trace.integration}",
            name=f"{s.id}: {s.title}",
            time=f"{s.duration_ms / 1000:.3f}",
        )
        if s.status in (Status.FAIL, Status.BLOCKED):
            el = ET.SubElement(case, "failure", message=_clean(s.summary), type=s.status.value)
            el.text = _details(s)
        elif s.status is Status.ERROR:
            el = ET.SubElement(case, "error", message=_clean(s.summary), type="error")
            el.text = _details(s)
        elif s.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=_clean(s.summary))
        elif s.status is Status.WARN:
            out = ET.SubElement(case, "system-out")
            out.text = "WARNING: " + _details(s)
        elif s.evidence:  # what a pass was based on (a probe timeline, counts)
            out = ET.SubElement(case, "system-out")
            out.text = _details(s)
    verdict = ET.SubElement(suite, "system-out")
    verdict.text = _clean(f"Verdict: {trace.verdict.status.value}: {trace.verdict.sentence}")
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
