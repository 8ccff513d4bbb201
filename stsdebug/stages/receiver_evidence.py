"""The evidence of the receiver stage: its tables, log samples and figures, and how it words
times, ages, sizes and counts.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from stsdebug.logs.receiver_format import describe_tz
from stsdebug.logs.receiver_patterns import CATEGORY_TITLES
from stsdebug.logs.receiver_result import OTHER_REASONS, Bucket, Sample, ScanResult
from stsdebug.model import Figures, LogLine, LogSample, Table
from stsdebug.redact import Redactor

TABLE_ROWS = 20


def counted(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"


def input_figures(fig: Figures, r: ScanResult, skipped: list[str], tz: tzinfo | None, zones: str) -> None:
    if len(r.sources) == 1:
        src = r.sources[0]
        fig.add("Read", f"{src.name} ({size(src.bytes)}, {src.lines:,} lines)")
    else:
        fig.add("Read", f"{len(r.sources)} inputs, oldest first ({size(sum(s.bytes for s in r.sources))}, "
                        f"{r.total_lines:,} lines): {', '.join(s.name for s in r.sources)}")
    if skipped:
        fig.add("Not read (rotated files last written before the window)", ", ".join(skipped))
    if r.first is not None and r.last is not None:
        fig.add("Log covers", f"{stamp(r.first, tz)} to {stamp(r.last, tz)}")
    if r.naive_ts:
        fig.add("Time zone", zones or f"timestamps carry no zone; read as {describe_tz(tz)}")
    long_lines = sum(s.long_lines for s in r.sources)
    if long_lines:
        fig.add("Over-long lines (only their first 4 KB read)", long_lines)


def top_reason(b: Bucket) -> str:
    if not b.reasons:
        return "no message"
    reason, stat = max(b.reasons.items(), key=lambda kv: kv[1].count)
    text = reason if len(reason) <= 120 else reason[:119] + "…"
    more = len(b.reasons) - 1
    quoted = f'"{text}"' if '"' not in text else (f"'{text}'" if "'" not in text else f"“{text}”")
    return quoted + (f" and {counted(more, 'other reason')}" if more else "")


def reason_table(title: str, b: Bucket, tz: tzinfo | None) -> Table:
    rows = sorted(b.reasons.items(), key=lambda kv: (-kv[1].count, kv[0]))
    note = None
    if len(rows) > TABLE_ROWS:
        note = f"{len(rows) - TABLE_ROWS} more reasons not shown"
        rows = rows[:TABLE_ROWS]
    if any(reason == OTHER_REASONS for reason, _ in rows):
        note = (note + "; " if note else "") + "reasons beyond the first 200 distinct ones are grouped"
    return Table(
        title,
        ["reason", "count", "first seen", "last seen"],
        [[reason, st.count, stamp(st.first, tz), stamp(st.last, tz)] for reason, st in rows],
        note,
    )


def other_table(r: ScanResult, part: str, cats: list[str], tz: tzinfo | None) -> Table:
    ranked = [
        (i, -st.count, cat, reason, st)
        for i, cat in enumerate(cats)
        for reason, st in r.bucket(part, cat).reasons.items()
    ]
    ranked.sort(key=lambda x: (x[0], x[1], x[3]))
    rows: list[list[object]] = [
        [CATEGORY_TITLES[cat], reason, st.count, stamp(st.first, tz), stamp(st.last, tz)]
        for _, _, cat, reason, st in ranked
    ]
    note = None
    if len(rows) > TABLE_ROWS:
        note = f"{len(rows) - TABLE_ROWS} more rows not shown"
        rows = rows[:TABLE_ROWS]
    return Table("Other receiver problems", ["kind", "reason", "count", "first seen", "last seen"], rows, note)


def log_samples(title: str, b: Bucket, redactor: Redactor) -> list[LogSample]:
    """First few and last few entries, one LogSample per input they come from."""
    samples = b.samples()
    if not samples:
        return []
    shown = "first and last" if b.count > len(samples) else "all"
    out: list[LogSample] = []
    for s in samples:
        if not out or out[-1].source != s.source:
            out.append(LogSample(f"{title} ({shown} of {b.count:,})", s.source, total_matches=b.count))
        out[-1].lines.extend(_redacted_lines(s, redactor))
    return out


def _redacted_lines(s: Sample, redactor: Redactor) -> list[LogLine]:
    """Redact around the match so its offsets stay right."""
    lines: list[LogLine] = []
    for ln in s.lines:
        if ln.match is None:
            lines.append(LogLine(ln.n, redactor.text(ln.text)))
            continue
        a, b = ln.match
        pre, mid, post = (redactor.text(x) for x in (ln.text[:a], ln.text[a:b], ln.text[b:]))
        lines.append(LogLine(ln.n, pre + mid + post, (len(pre), len(pre) + len(mid))))
    return lines


def stamp(ts: float | None, tz: tzinfo | None) -> str:
    if ts is None:
        return "?"
    dt = datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts).astimezone()
    return dt.isoformat(sep=" ", timespec="seconds")


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1 << 20:
        return f"{n / 1024:.1f} KB"
    if n < 1 << 30:
        return f"{n / (1 << 20):.1f} MB"
    return f"{n / (1 << 30):.2f} GB"


def timeline(r: ScanResult, part: str, tz: tzinfo | None) -> Table:
    rows: list[list[object]] = []
    for cat, title in CATEGORY_TITLES.items():
        b = r.bucket(part, cat)
        if not b.count or cat == "warning":
            continue
        span = (b.last - b.first) / 60 if b.first is not None and b.last is not None else 0.0
        rate = f"{b.count / span:.1f}/min" if span >= 1 else "-"
        rec = r.recovered_at.get(cat)
        rows.append([title, b.count, stamp(b.first, tz), stamp(b.last, tz), rate,
                     stamp(rec, tz) if rec is not None and b.last is not None and rec >= b.last else "-"])
    return Table("Timeline in the window", ["kind", "count", "first seen", "last seen", "rate", "recovered at"],
                 rows, "recovered at: the last recovery line (Kafka 'Connected', 'Cluster ID') after the "
                       "last problem" if rows else None)
