"""Support bundle: one zip a support engineer can attach to a ticket.

It holds the HTML report, the trace JSON, the redacted settings, the inputs the
trace read (agent output in full, log excerpts around each finding) and a
manifest with sizes and checksums. Everything passes through the Redactor,
seeded with the configured secrets, and is then scanned once more: if anything
that looks like a secret survived, no file is written and the error names the
file and line.
"""

from __future__ import annotations

import gzip
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
from stsdebug.settings import Settings

SCHEMA = "stsdebug.bundle/1"
CONTEXT_LINES = 20  # lines kept before and after each finding
TAIL_LINES = 200  # a log without findings contributes its last lines
MAX_FULL_BYTES = 5 * 1024 * 1024  # agent output / streams file beyond this are cut
MAX_DIR_FILES = 50  # files looked at in a directory of rotated logs

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
    from stsdebug.render import html

    redactor = Redactor(settings.secret_values())
    created = datetime.now(timezone.utc) if created_at is None else datetime.fromtimestamp(
        created_at, tz=timezone.utc
    )
    trace_data = redactor.walk(trace.to_dict(), "trace.json")
    clean = TraceResult.from_dict(trace_data)
    report = html.render(clean, template_dir=template_dir)
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


def write(bundle: Bundle, path: Path, *, protected: Iterable[Path] = ()) -> None:
    """Write the zip through outfiles (never over an input, never a half-written file)."""
    from stsdebug.outfiles import write_atomic

    stamp = datetime.strptime(bundle.manifest["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in bundle.files:
            info = zipfile.ZipInfo(f.name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, f.data)
    write_atomic(path, buf.getvalue(), protected)


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


def _inputs(
    settings: Settings, trace: TraceResult, redactor: Redactor, context: int, taken: set[str]
) -> Iterator[tuple[BundleFile | None, InputRecord]]:
    samples = [ev for s in trace.stages for ev in s.evidence if isinstance(ev, LogSample)]
    if settings.agent_output:
        yield _full("agent_output", settings.agent_output, redactor, taken)
    if settings.agent_log:
        yield from _log("agent_log", settings.agent_log, samples, redactor, context, taken)
    for path in settings.receiver_log:
        if path == "-":
            yield None, InputRecord(
                "receiver_log", "-", None, "not included",
                note="stdin was read once by the trace; its quoted lines are in trace.json",
            )
            continue
        yield from _log("receiver_log", path, samples, redactor, context, taken)
    if settings.streams_file:
        yield _full("streams_file", settings.streams_file, redactor, taken)
    if settings.agent_cmd:
        yield None, InputRecord(
            "agent_cmd", settings.agent_cmd, None, "not included",
            note="the command is not run again for the bundle; its quoted lines are in trace.json",
        )


def _full(
    setting: str, path: str, redactor: Redactor, taken: set[str]
) -> tuple[BundleFile | None, InputRecord]:
    p = Path(path).expanduser()
    name = _unique(f"inputs/{setting.replace('_', '-')}/{_safe(p.name)}", taken)
    try:
        with _open(p) as fh:
            text = fh.read(MAX_FULL_BYTES + 1)
    except (OSError, EOFError) as exc:
        return None, InputRecord(setting, path, None, "not included", note=f"cannot read: {_reason(exc)}")
    note = ""
    if len(text) > MAX_FULL_BYTES:
        text = text[:MAX_FULL_BYTES]
        note = f"cut at {MAX_FULL_BYTES // (1024 * 1024)} MB"
    body = redactor.text(text, name)
    count = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
    return BundleFile(name, body.encode("utf-8")), InputRecord(
        setting, path, name, "full", [[1, count]] if count else [], note
    )


def _log(
    setting: str,
    path: str,
    samples: list[LogSample],
    redactor: Redactor,
    context: int,
    taken: set[str],
) -> Iterator[tuple[BundleFile | None, InputRecord]]:
    p = Path(path).expanduser()
    if p.is_dir():
        try:
            members = sorted((c for c in p.iterdir() if c.is_file()), key=lambda c: c.name)
        except OSError as exc:
            yield None, InputRecord(setting, path, None, "not included", note=f"cannot read: {exc.strerror}")
            return
        members = members[:MAX_DIR_FILES]
        with_findings = [m for m in members if _findings(m, samples)]
        if with_findings:
            for m in with_findings:
                yield _excerpt(setting, m, _findings(m, samples), redactor, context, taken)
        elif members:
            newest = max(members, key=lambda m: m.stat().st_mtime)
            yield _excerpt(setting, newest, [], redactor, context, taken)
        else:
            yield None, InputRecord(setting, path, None, "not included", note="empty directory")
        return
    yield _excerpt(setting, p, _findings(p, samples), redactor, context, taken)


def _findings(path: Path, samples: list[LogSample]) -> list[int]:
    """Line numbers the trace quoted from this file."""
    lines: set[int] = set()
    for ev in samples:
        source = ev.source.strip()
        if source in (str(path), path.name) or source.endswith(("/" + path.name, "\\" + path.name)):
            lines.update(ln.n for ln in ev.lines if ln.n > 0)
    return sorted(lines)


def _excerpt(
    setting: str,
    path: Path,
    findings: list[int],
    redactor: Redactor,
    context: int,
    taken: set[str],
) -> tuple[BundleFile | None, InputRecord]:
    kind = "excerpts" if findings else "tail"
    name = _unique(f"inputs/{setting.replace('_', '-')}/{_safe(path.name)}.{kind}.txt", taken)
    ranges = _ranges(findings, context)
    try:
        picked, total = _pick(path, ranges, tail=None if findings else TAIL_LINES)
    except (OSError, EOFError) as exc:
        return None, InputRecord(setting, str(path), None, "not included", note=f"cannot read: {_reason(exc)}")
    if not findings and picked:
        ranges = [[picked[0][0], picked[-1][0]]]
    hits = set(findings)
    width = len(str(max(total, 1)))
    out = [
        f"# stsdebug {kind} of {path} (redacted; {total} lines in all)",
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
        setting, str(path), name, kind, [[lo, min(hi, total)] for lo, hi in ranges if lo <= total], note
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


def _pick(path: Path, ranges: list[list[int]], tail: int | None) -> tuple[list[tuple[int, str]], int]:
    """The lines inside ``ranges`` (or the last ``tail`` lines), streaming the file once."""
    picked: list[tuple[int, str]] = []
    last: deque[tuple[int, str]] = deque(maxlen=tail or 1)
    total = 0
    i = 0
    with _open(path) as fh:
        for total, line in enumerate(fh, 1):  # noqa: B007 - total is the count afterwards
            text = line.rstrip("\r\n")
            if tail is not None:
                last.append((total, text))
                continue
            while i < len(ranges) and total > ranges[i][1]:
                i += 1
            if i < len(ranges) and ranges[i][0] <= total:
                picked.append((total, text))
    return (list(last) if tail is not None else picked), total


def _open(path: Path) -> Any:
    # Rotated logs are often gzipped (logback: *.log.gz).
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "input"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    n = 2
    while f"{stem}-{n}{dot}{ext}" in taken:
        n += 1
    return f"{stem}-{n}{dot}{ext}"
