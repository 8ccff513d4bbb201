"""The result model: what a trace found, stage by stage, and its JSON form.

The JSON form (``TraceResult.to_dict``) is a public contract, versioned by
``SCHEMA`` and documented in docs/trace-json.md and docs/trace.schema.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from stsdebug import nesting
from stsdebug.model_check import TraceShapeError
from stsdebug.model_check import check as check_shape
from stsdebug.status_words import STATUS_WORDS

SCHEMA = "stsdebug.trace/1"


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"  # could not check: unreachable, timeout, auth, bad config
    SKIP = "skip"  # not applicable, or no input given
    BLOCKED = "blocked"  # failed too, as expected after an earlier failure

    @property
    def mark(self) -> str:
        return STATUS_WORDS[self.value].mark

    @property
    def word(self) -> str:
        """The word beside the mark in text and the TUI: pass, warn, FAIL, ERROR, skip, blocked."""
        return STATUS_WORDS[self.value].word

    @property
    def label(self) -> str:
        """The word in reports: Pass, Warning, Fail, Could not check, Skipped, Blocked."""
        return STATUS_WORDS[self.value].title


# --- evidence ---------------------------------------------------------------
# Evidence items are plain typed records so that every renderer (text, JSON,
# JUnit, HTML, TUI) can show them without knowing which stage made them.


@dataclass
class Figure:
    label: str
    value: str | int | float | None
    unit: str | None = None


@dataclass
class Figures:
    """Key figures: newest record age, counts, lag..."""

    title: str
    items: list[Figure] = field(default_factory=list)
    kind: str = "figures"

    def add(self, label: str, value: str | int | float | None, unit: str | None = None) -> Figures:
        self.items.append(Figure(label, value, unit))
        return self


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str | None = None
    kind: str = "table"


@dataclass
class LogLine:
    n: int  # 1-based line number in its source
    text: str
    # [start, end) character offsets of the part that matched, if any
    match: tuple[int, int] | None = None


@dataclass
class LogSample:
    """Lines quoted from a log or command output, with line numbers."""

    title: str
    source: str  # file name, "stdin" or the command that produced it
    lines: list[LogLine] = field(default_factory=list)
    total_matches: int | None = None  # how many lines matched in all, if more than shown
    kind: str = "log"


@dataclass
class Text:
    title: str
    text: str
    kind: str = "text"


@dataclass
class Hop:
    name: str  # receiver, kafka, elasticsearch, stream
    status: Status
    at_ms: float | None = None  # milliseconds after the probe was sent
    detail: str = ""


@dataclass
class Timeline:
    """Per-hop arrival times of one marked probe record."""

    title: str
    probe_id: str
    hops: list[Hop] = field(default_factory=list)
    kind: str = "timeline"


Evidence = Figures | Table | LogSample | Text | Timeline


@dataclass
class Hint:
    text: str
    runbook: str | None = None  # the runbook step it comes from


@dataclass
class StageResult:
    id: str
    title: str
    status: Status
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    started_at: float = 0.0  # epoch seconds
    duration_ms: float = 0.0
    # True when a `fail` only says "no data arrived here": after an earlier
    # failure that is expected, and the trace shows it as `blocked`.
    missing_data: bool = False
    # The one action to take first when this stage fails or cannot look (added in 0.2).
    next_step: str | None = None

    def hint(self, text: str, runbook: str | None = None) -> StageResult:
        self.hints.append(Hint(text, runbook))
        return self


@dataclass
class Verdict:
    status: Status
    stage: str | None
    sentence: str
    next_step: str | None = None  # added in 0.2: the one action to take first


@dataclass
class Window:
    start: float  # epoch seconds
    end: float
    spec: str  # as given, e.g. "15m"

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class TraceResult:
    integration: str
    kind: str  # push | pull
    window: Window
    target: dict[str, Any]
    stages: list[StageResult]
    verdict: Verdict
    version: str
    started_at: float
    redactions: list[dict[str, Any]] = field(default_factory=list)
    schema: str = SCHEMA
    # Free-form key/value labels of the run (the sandbox records its faults here).
    labels: dict[str, str] = field(default_factory=dict)
    # Added in 0.2: the StackState version the target was traced as ("5" or "6"), how that
    # was decided ({"mode": "given"|"auto", "reason": sentence}), and the stage ids of its
    # metrics path in order (stages outside it, skipped, come after). None in older traces,
    # which were all StackState 5.
    sts_version: str | None = None
    sts_version_decision: dict[str, str] | None = None
    plan: list[str] | None = None

    @property
    def pipeline(self) -> list[StageResult]:
        """The stages of the target's metrics path, in order (what a picture of it shows)."""
        if self.plan is None:
            return list(self.stages)
        return [s for s in self.stages if s.id in self.plan]

    @property
    def outside(self) -> list[StageResult]:
        """Stages shown only because their input was given: not on the target's path."""
        if self.plan is None:
            return []
        return [s for s in self.stages if s.id not in self.plan]

    def stage(self, stage_id: str) -> StageResult | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    # --- JSON round trip --------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {
            "schema": self.schema,
            "version": self.version,
            "started_at": self.started_at,
            "integration": self.integration,
            "kind": self.kind,
            "window": {"start": self.window.start, "end": self.window.end, "spec": self.window.spec},
            "target": self.target,
            "verdict": {
                "status": self.verdict.status.value,
                "stage": self.verdict.stage,
                "sentence": self.verdict.sentence,
                **({"next_step": self.verdict.next_step} if self.verdict.next_step else {}),
            },
            "stages": [_stage_to_dict(s) for s in self.stages],
            "redactions": self.redactions,
        }
        if self.labels:  # added in 0.2; left out when empty so older traces read the same
            out["labels"] = self.labels
        if self.sts_version is not None:  # added in 0.2
            out["sts_version"] = self.sts_version
        if self.sts_version_decision is not None:
            out["sts_version_decision"] = dict(self.sts_version_decision)
        if self.plan is not None:
            out["plan"] = list(self.plan)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> TraceResult:
        if not isinstance(data, dict):
            raise TraceFormatError("not a stsdebug trace: the top level is not a JSON object")
        schema = data.get("schema")
        if schema != SCHEMA:
            if isinstance(schema, str) and schema.startswith("stsdebug.trace/"):
                raise TraceFormatError(
                    f"trace schema {schema!r} is not supported by this stsdebug (reads {SCHEMA!r});"
                    " upgrade stsdebug"
                )
            raise TraceFormatError("not a stsdebug trace: no 'schema': 'stsdebug.trace/1' key")
        try:
            # Types and ranges first: renderers trust them (a hand-edited trace may hold anything).
            check_shape(data)
        except TraceShapeError as exc:
            raise TraceFormatError(f"not a valid stsdebug trace: {exc}") from None
        try:
            w = data["window"]
            v = data["verdict"]
            return cls(
                schema=schema,
                version=str(data.get("version", "")),
                started_at=float(data.get("started_at", 0.0)),
                integration=str(data["integration"]),
                kind=str(data["kind"]),
                window=Window(float(w["start"]), float(w["end"]), str(w.get("spec", ""))),
                target=dict(data.get("target") or {}),
                verdict=Verdict(
                    Status(v["status"]),
                    v.get("stage"),
                    str(v["sentence"]),
                    _opt_str(v.get("next_step")),
                ),
                stages=[_stage_from_dict(s) for s in data["stages"]],
                redactions=list(data.get("redactions") or []),
                labels={str(k): str(v) for k, v in dict(data.get("labels") or {}).items()},
                sts_version=_opt_str(data.get("sts_version")),
                sts_version_decision=(
                    {str(k): str(v) for k, v in dict(data["sts_version_decision"]).items()}
                    if data.get("sts_version_decision") is not None else None
                ),
                plan=[str(x) for x in data["plan"]] if data.get("plan") is not None else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TraceFormatError(f"not a valid stsdebug trace: {_describe(exc)}") from None

    @classmethod
    def from_json(cls, text: str) -> TraceResult:
        try:
            data = nesting.loads_json(text)
        except nesting.TooDeep as exc:
            raise TraceFormatError(f"not a stsdebug trace: its JSON is {exc}") from None
        except json.JSONDecodeError as exc:
            raise TraceFormatError(
                f"not a stsdebug trace: invalid JSON at line {exc.lineno} column {exc.colno}"
            ) from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: Path) -> TraceResult:
        """Read a trace from a JSON file, an HTML report that embeds one, or a support
        bundle (the zip `stsdebug bundle` writes, which holds trace.json)."""
        from stsdebug.errors import UsageError
        from stsdebug.inputs import MAX_DOCUMENT, read_bytes

        raw = read_bytes(path, str(path), expected="a trace JSON file", limit=MAX_DOCUMENT)
        if raw[:4] == b"PK\x03\x04":
            raw = _bundle_trace(raw, path)
        text = raw.decode("utf-8", errors="replace")
        try:
            if text.lstrip()[:1] == "<":
                text = _json_from_html(text)
            return cls.from_json(text)
        except TraceFormatError as exc:
            raise UsageError(f"{path}: {exc}") from None


class TraceFormatError(ValueError):
    """A file that is not a trace this version can read."""


BUNDLE_TRACE = "trace.json"
_MAX_BUNDLE_TRACE = 64 * 1024 * 1024  # a trace JSON larger than this is not one we wrote


def _bundle_trace(raw: bytes, path: Path) -> bytes:
    """The trace.json inside a support bundle."""
    import io
    import zipfile

    from stsdebug.errors import UsageError

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            info = zf.getinfo(BUNDLE_TRACE)
            if info.file_size > _MAX_BUNDLE_TRACE:
                raise UsageError(f"{path}: its {BUNDLE_TRACE} is too large to be a stsdebug trace")
            return zf.read(info)
    except KeyError:
        raise UsageError(f"{path}: a zip without {BUNDLE_TRACE}, so not a stsdebug bundle") from None
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise UsageError(f"{path}: not a readable zip ({exc})") from None


EMBED_ID = "stsdebug-trace"


def _json_from_html(text: str) -> str:
    marker = f'<script type="application/json" id="{EMBED_ID}">'
    start = text.find(marker)
    if start < 0:
        raise TraceFormatError("not a stsdebug trace: an HTML file without an embedded trace")
    end = text.find("</script>", start)
    # The report writes '<' as \u003c inside the embedded JSON so that it cannot close
    # the script tag; the JSON parser decodes it.
    return text[start + len(marker) : end if end >= 0 else None]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def _evidence_to_dict(ev: Evidence) -> dict[str, Any]:
    if isinstance(ev, Figures):
        return {
            "kind": ev.kind,
            "title": ev.title,
            "items": [{"label": f.label, "value": f.value, "unit": f.unit} for f in ev.items],
        }
    if isinstance(ev, Table):
        return {
            "kind": ev.kind,
            "title": ev.title,
            "columns": ev.columns,
            "rows": ev.rows,
            "note": ev.note,
        }
    if isinstance(ev, LogSample):
        return {
            "kind": ev.kind,
            "title": ev.title,
            "source": ev.source,
            "total_matches": ev.total_matches,
            "lines": [
                {"n": ln.n, "text": ln.text, "match": list(ln.match) if ln.match else None}
                for ln in ev.lines
            ],
        }
    if isinstance(ev, Timeline):
        return {
            "kind": ev.kind,
            "title": ev.title,
            "probe_id": ev.probe_id,
            "hops": [
                {"name": h.name, "status": h.status.value, "at_ms": h.at_ms, "detail": h.detail}
                for h in ev.hops
            ],
        }
    return {"kind": ev.kind, "title": ev.title, "text": ev.text}


def _evidence_from_dict(d: dict[str, Any]) -> Evidence:
    kind = d["kind"]
    if kind == "figures":
        return Figures(
            d["title"], [Figure(i["label"], i.get("value"), i.get("unit")) for i in d["items"]]
        )
    if kind == "table":
        return Table(d["title"], list(d["columns"]), [list(r) for r in d["rows"]], d.get("note"))
    if kind == "log":
        return LogSample(
            d["title"],
            d["source"],
            [
                LogLine(int(ln["n"]), str(ln["text"]), tuple(ln["match"]) if ln.get("match") else None)
                for ln in d["lines"]
            ],
            d.get("total_matches"),
        )
    if kind == "timeline":
        return Timeline(
            d["title"],
            d["probe_id"],
            [Hop(h["name"], Status(h["status"]), h.get("at_ms"), h.get("detail", "")) for h in d["hops"]],
        )
    if kind == "text":
        return Text(d["title"], d["text"])
    raise ValueError(f"unknown evidence kind {kind!r}")


def _stage_to_dict(s: StageResult) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "status": s.status.value,
        "summary": s.summary,
        "evidence": [_evidence_to_dict(e) for e in s.evidence],
        "hints": [{"text": h.text, "runbook": h.runbook} for h in s.hints],
        "started_at": s.started_at,
        "duration_ms": s.duration_ms,
        **({"next_step": s.next_step} if s.next_step else {}),
    }


def _stage_from_dict(d: dict[str, Any]) -> StageResult:
    return StageResult(
        id=str(d["id"]),
        title=str(d["title"]),
        status=Status(d["status"]),
        summary=str(d["summary"]),
        evidence=[_evidence_from_dict(e) for e in d.get("evidence", [])],
        hints=[Hint(str(h["text"]), h.get("runbook")) for h in d.get("hints", [])],
        started_at=float(d.get("started_at", 0.0)),
        duration_ms=float(d.get("duration_ms", 0.0)),
        next_step=_opt_str(d.get("next_step")),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
