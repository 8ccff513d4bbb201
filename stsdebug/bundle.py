"""Support bundle: one zip a support engineer can attach to a ticket.

It holds the HTML report, the trace JSON, the redacted settings, the inputs the
trace read (agent output in full, log excerpts around each finding) and a
manifest with sizes and checksums. Everything passes through the Redactor,
seeded with the configured secrets, and is then scanned once more: if anything
that looks like a secret survived, no file is written and the error names the
file and line.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from stsdebug import __version__
from stsdebug.errors import StsdebugError
from stsdebug.model import LogSample, TraceResult
from stsdebug.redact import MIN_SECRET, Redactor, secret_forms
from stsdebug.render import output
from stsdebug.settings import Settings
from stsdebug.sources import excerpts
from stsdebug.sources.excerpts import LogInput

SCHEMA = "stsdebug.bundle/1"
CONTEXT_LINES = 20  # lines kept before and after each finding
TAIL_LINES = 200  # a log without findings contributes its last lines
MAX_FULL_BYTES = 5 * 1024 * 1024  # agent output / streams file beyond this are cut

# Token formats the Redactor has no rule for: finding one in a bundle means an
# input carried a credential stsdebug cannot recognise in context, so the
# bundle is refused rather than shipped.
KNOWN_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    ("private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
]

class SecretLeak(StsdebugError):
    """Something that looks like a secret survived redaction (exit 2, nothing written)."""

    exit_code = 2

    def __init__(self, name: str, line: int, what: str) -> None:
        super().__init__(
            f"bundle not written: {name} line {line} still holds what looks like {what}; "
            "remove it from the input (or leave that input out) and run again"
        )
        self.name, self.line, self.what = name, line, what


@dataclass
class BundleFile:
    name: str
    data: bytes


@dataclass
class InputRecord:
    setting: str
    path: str
    file: str | None  # name in the bundle, None if not included
    kind: str  # full | excerpts | tail | not included
    lines: list[list[int]] = field(default_factory=list)  # [first, last] ranges copied
    note: str = ""


@dataclass
class Bundle:
    files: list[BundleFile]  # in zip order; manifest.json last
    manifest: dict[str, Any]

    def file(self, name: str) -> BundleFile:
        return next(f for f in self.files if f.name == name)


def build(
    trace: TraceResult,
    settings: Settings,
    *,
    template_dir: str | None = None,
    context: int = CONTEXT_LINES,
    created_at: float | None = None,
) -> Bundle:
    """Everything that goes into the zip, redacted and scanned (raises SecretLeak)."""
    redactor = Redactor(settings.secret_values())
    created = datetime.now(timezone.utc) if created_at is None else datetime.fromtimestamp(
        created_at, tz=timezone.utc
    )
    trace_data = redactor.walk(trace.to_dict(), "trace.json")
    clean = TraceResult.from_dict(trace_data)
    report = output.html(clean, template_dir)
    # The data is redacted already; this also covers a weak secret that happens to
    # be a word of the template's own text (e.g. a password "block").
    for needle in _needles(settings.secret_values()):
        if needle in report:
            redactor.counts[("configured secret", "report.html")] += report.count(needle)
            report = report.replace(needle, "&lt;redacted&gt;")
    files = [
        BundleFile("report.html", report.encode("utf-8")),
        BundleFile("trace.json", _json(trace_data)),
        BundleFile("settings.json", _json(redactor.walk(settings.redacted(), "settings.json"))),
    ]
    records: list[InputRecord] = []
    names = {f.name for f in files}
    for item, record in _inputs(settings, clean, redactor, context, names):
        if item is not None:
            files.append(item)
            names.add(item.name)
        records.append(record)
    manifest = {
        "schema": SCHEMA,
        "stsdebug_version": __version__,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "integration": clean.integration,
        "verdict": trace_data["verdict"],
        "files": [
            {"name": f.name, "size": len(f.data), "sha256": hashlib.sha256(f.data).hexdigest()}
            for f in files
        ],
        "inputs": [
            {
                "setting": r.setting,
                "path": redactor.text(r.path, "manifest.json"),
                "file": r.file,
                "kind": r.kind,
                "lines": r.lines,
                "note": r.note,
            }
            for r in records
        ],
        "redactions": redactor.manifest(),
    }
    files.append(BundleFile("manifest.json", _json(manifest)))
    scan(files, settings.secret_values())
    return Bundle(files, manifest)


def write(bundle: Bundle, path: Path, *, protected: Iterable[Path] = ()) -> Path:
    """Write the zip through the one output layer: atomically, never over one of the inputs."""
    stamp = datetime.strptime(bundle.manifest["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in bundle.files:
            info = zipfile.ZipInfo(f.name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, f.data)
    return output.write(path, data.getvalue(), protected)


def scan(files: Iterable[BundleFile], secrets: Iterable[str] = ()) -> None:
    """Raise SecretLeak at the first line that still looks like a secret."""
    secrets = list(secrets)
    needles = _needles(secrets)
    probe = Redactor(secrets)  # every rule, and configured secrets inside longer base64
    for f in files:
        text = f.data.decode("utf-8", errors="replace")
        for n, raw in enumerate(text.splitlines(), 1):
            if any(x in raw for x in needles):
                raise SecretLeak(f.name, n, "a configured secret")
        for n, unit in _units(f.name, text):
            what = _leak(unit, needles, probe)
            if what:
                raise SecretLeak(f.name, n, what)


def _needles(secrets: Iterable[str]) -> list[str]:
    """Each configured secret in every form redact.secret_forms knows (as it is, JSON, HTML,
    URL-encoded, base64), and as the report's embed would write it."""
    from stsdebug.render.html import embed_json

    out: set[str] = set()
    for s in secrets:
        if not s or len(s) < MIN_SECRET:
            continue
        out |= secret_forms(s) | {str(embed_json(s))[1:-1]}
    return sorted(out, key=len, reverse=True)


def _units(name: str, text: str) -> Iterator[tuple[int, str]]:
    """(line, text) pieces to check, decoded the way a reader sees them.

    Markup and JSON syntax are taken off first: the rules look for ``key=value``
    shapes, and ``<redacted></code>`` or ``<redacted>\\"`` would otherwise look
    like a value that is not the marker.
    """
    if name.endswith(".html"):
        yield from _HtmlUnits.of(text)
    elif name.endswith(".json"):
        for n, line in enumerate(text.splitlines(), 1):
            for literal in _JSON_STRING.findall(line):
                try:
                    yield n, json.loads(literal)
                except ValueError:
                    yield n, literal
    else:
        yield from enumerate(text.splitlines(), 1)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


class _HtmlUnits(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.units: list[tuple[int, str]] = []
        self._json_script = False

    @classmethod
    def of(cls, text: str) -> list[tuple[int, str]]:
        parser = cls()
        parser.feed(text)
        parser.close()
        return parser.units

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        self.units += [(line, v) for _, v in attrs if v]
        self._json_script = tag == "script" and dict(attrs).get("type") == "application/json"

    def handle_endtag(self, tag: str) -> None:
        self._json_script = False

    def handle_data(self, data: str) -> None:
        line = self.getpos()[0]
        if self._json_script:
            try:
                self.units += [(line, s) for s in _strings(json.loads(data))]
                return
            except ValueError:
                pass
        self.units += [(line + i, part) for i, part in enumerate(data.splitlines())]


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _leak(text: str, needles: list[str], probe: Redactor) -> str | None:
    if any(n in text for n in needles):
        return "a configured secret"
    for name, pattern in KNOWN_TOKENS:
        if pattern.search(text):
            return f"an {name}" if name[0] in "AEIOU" else f"a {name}"
    probe.counts.clear()
    if probe.text(text, "scan") != text:
        return f"a secret ({next(iter(probe.counts))[0]})"
    return None


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --- inputs ---------------------------------------------------------------------------------
#
# The bundle copies only what the trace read, opened through the same source functions
# (stsdebug.sources.excerpts): the files of a directory of rotated logs are the ones the
# trace's log source picks, never whatever else lies there. A file the trace quoted gets
# excerpts around the quoted lines; an input it quoted nothing from gets the tail of its
# newest (live) file, which the trace always reads (it may skip rotated files as older than
# the window). An input whose stage is not in the trace's plan was not read at all. (A stage
# that judged nothing still read its input: `skip` there means "nothing in the window".)

# The stage that reads each input; streams and bindings files are read while the settings
# are checked.
READ_BY = {"agent_output": "agent", "agent_log": "agent", "receiver_log": "receiver"}


def _inputs(
    settings: Settings, trace: TraceResult, redactor: Redactor, context: int, taken: set[str]
) -> Iterator[tuple[BundleFile | None, InputRecord]]:
    samples = [ev for s in trace.stages for ev in s.evidence if isinstance(ev, LogSample)]
    given: list[tuple[str, list[str | None]]] = [
        ("agent_output", [settings.agent_output]),
        ("agent_log", [settings.agent_log]),
        ("receiver_log", list(settings.receiver_log)),
        ("streams_file", [settings.streams_file]),
        ("bindings_file", [settings.bindings_file]),
    ]
    for setting, specs in given:
        for spec in specs:
            if not spec:
                continue
            if excerpts.streamed(spec):
                what = "stdin" if spec == "-" else "a named pipe or device"
                yield None, InputRecord(
                    setting, spec, None, "not included",
                    note=f"{what} was read once by the trace; its quoted lines are in trace.json",
                )
            elif (unread := _not_read(trace, setting)) is not None:
                yield None, InputRecord(setting, spec, None, "not included", note=unread)
            elif setting in ("agent_output", "streams_file", "bindings_file"):
                yield _full(setting, spec, redactor, taken)
            else:
                yield from _log(setting, spec, samples, redactor, context, taken)
    if settings.agent_cmd:
        yield None, InputRecord(
            "agent_cmd", settings.agent_cmd, None, "not included",
            note="the command is not run again for the bundle; its quoted lines are in trace.json",
        )


def _not_read(trace: TraceResult, setting: str) -> str | None:
    """Why the trace did not read this input, or None if it did."""
    stage_id = READ_BY.get(setting)
    if stage_id is None:
        return None
    if trace.stage(stage_id) is None:
        return f"not read by the trace: the {trace.integration} plan has no {stage_id} stage"
    return None


def _files(setting: str, spec: str) -> list[LogInput] | str:
    """The files behind ``spec`` as the trace's source sees them, or why there are none."""
    try:
        return excerpts.files(spec, "--" + setting.replace("_", "-"))
    except StsdebugError as exc:
        return f"cannot read: {exc}"


def _full(
    setting: str, spec: str, redactor: Redactor, taken: set[str]
) -> tuple[BundleFile | None, InputRecord]:
    found = _files(setting, spec)
    if isinstance(found, str):
        return None, InputRecord(setting, spec, None, "not included", note=found)
    inp = found[-1]  # a file given as such: exactly one
    name = _unique(f"inputs/{setting.replace('_', '-')}/{safe_name(_base(inp))}", taken)
    kept: list[str] = []
    size = 0
    note = ""
    try:
        for _, text in excerpts.lines(inp):
            size += len(text) + 1
            if size > MAX_FULL_BYTES:
                note = f"cut at {MAX_FULL_BYTES // (1024 * 1024)} MB"
                break
            kept.append(text)
    except (OSError, StsdebugError) as exc:
        return None, InputRecord(setting, spec, None, "not included", note=f"cannot read: {_reason(exc)}")
    body = redactor.text("".join(line + "\n" for line in kept), name)
    return BundleFile(name, body.encode("utf-8")), InputRecord(
        setting, spec, name, "full", [[1, len(kept)]] if kept else [], note
    )


def _log(
    setting: str,
    spec: str,
    samples: list[LogSample],
    redactor: Redactor,
    context: int,
    taken: set[str],
) -> Iterator[tuple[BundleFile | None, InputRecord]]:
    found = _files(setting, spec)
    if isinstance(found, str):
        yield None, InputRecord(setting, spec, None, "not included", note=found)
        return
    quoted = [(inp, lines) for inp in found if (lines := _findings(inp, samples))]
    if quoted:
        for inp, lines in quoted:
            yield _excerpt(setting, inp, lines, redactor, context, taken)
    else:
        yield _excerpt(setting, found[-1], [], redactor, context, taken)  # newest: the live file


def _base(inp: LogInput) -> str:
    return inp.path.name if inp.path is not None else inp.name


def _findings(inp: LogInput, samples: list[LogSample]) -> list[int]:
    """Line numbers the trace quoted from this file (evidence names a file as its source
    called it: the path as given, or for a directory member the directory/name)."""
    base = _base(inp)
    lines: set[int] = set()
    for ev in samples:
        source = ev.source.strip()
        if source in (inp.name, base) or source.endswith(("/" + base, "\\" + base)):
            lines.update(ln.n for ln in ev.lines if ln.n > 0)
    return sorted(lines)


def _excerpt(
    setting: str,
    inp: LogInput,
    findings: list[int],
    redactor: Redactor,
    context: int,
    taken: set[str],
) -> tuple[BundleFile | None, InputRecord]:
    kind = "excerpts" if findings else "tail"
    shown = str(inp.path) if inp.path is not None else inp.name
    name = _unique(f"inputs/{setting.replace('_', '-')}/{safe_name(_base(inp))}.{kind}.txt", taken)
    ranges = _ranges(findings, context)
    try:
        picked, total = _pick(inp, ranges, tail=None if findings else TAIL_LINES)
    except (OSError, StsdebugError) as exc:
        return None, InputRecord(setting, shown, None, "not included", note=f"cannot read: {_reason(exc)}")
    if not findings and picked:
        ranges = [[picked[0][0], picked[-1][0]]]
    hits = set(findings)
    width = len(str(max(total, 1)))
    out = [
        f"# stsdebug {kind} of {shown} (redacted; {total} lines in all)",
        "# '>' marks a line the trace quoted as a finding",
    ]
    previous = 0
    for n, text in picked:
        if previous and n != previous + 1:
            out.append("# …")
        out.append(f"{'>' if n in hits else ' '} {n:>{width}}  {text}")
        previous = n
    body = redactor.text("\n".join(out) + "\n", name)
    note = "" if findings else f"no finding quoted from this file; its last {TAIL_LINES} lines"
    return BundleFile(name, body.encode("utf-8")), InputRecord(
        setting, shown, name, kind, [[lo, min(hi, total)] for lo, hi in ranges if lo <= total], note
    )


def _ranges(findings: list[int], context: int) -> list[list[int]]:
    merged: list[list[int]] = []
    for n in findings:
        lo, hi = max(1, n - context), n + context
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def _pick(inp: LogInput, ranges: list[list[int]], tail: int | None) -> tuple[list[tuple[int, str]], int]:
    """The lines inside ``ranges`` (or the last ``tail`` lines), streaming the file once."""
    picked: list[tuple[int, str]] = []
    last: deque[tuple[int, str]] = deque(maxlen=tail or 1)
    total = 0
    i = 0
    for total, text in excerpts.lines(inp):  # noqa: B007 - total is the count afterwards
        if tail is not None:
            last.append((total, text))
            continue
        while i < len(ranges) and total > ranges[i][1]:
            i += 1
        if i < len(ranges) and ranges[i][0] <= total:
            picked.append((total, text))
    return (list(last) if tail is not None else picked), total


def _reason(exc: BaseException) -> str:
    if isinstance(exc, StsdebugError):
        return str(exc)
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def safe_name(name: str) -> str:
    """``name`` as a file name inside the zip (and in the default bundle name)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "input"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    n = 2
    while f"{stem}-{n}{dot}{ext}" in taken:
        n += 1
    return f"{stem}-{n}{dot}{ext}"
