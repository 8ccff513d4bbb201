"""The fast receiver log scanner against a plain line-by-line reference parser.

The reference below is written to be obviously right and slow: it splits the log into
lines, groups lines into entries (a header line and the lines after it that do not
start a header), dates each entry by its header, and classifies each WARN/ERROR entry
in the window (and each entry before the first header) with the same per-entry rule
the scanner uses (``classify_block``: the entry as its template). Everything the
scanner does to be fast (chunks, carries, needle searches, window bisection, skipping
chunks outside the window, shape and template caches) must give the same counts,
buckets, reasons, samples and line numbers.

Generated logs cover both layouts, ``kubectl logs --timestamps`` prefixes, colour
codes, CRLF, invalid UTF-8, long lines, Java stack traces, repeating and varying
messages, and gzip rotation. Timestamps do not go backwards (the scanner takes the
entries of one chunk to be in time order, as logback writes them).
"""

from __future__ import annotations

import gzip
import sys
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdebug.logs.receiver_format import _HEADER, HEADER_START, Clock
from stsdebug.logs.receiver_patterns import classify_block
from stsdebug.logs.receiver_result import PARTS, materialize
from stsdebug.logs.receiver_scan import Scanner
from stsdebug.sources import logs

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import loggen  # noqa: E402

UTC = timezone.utc
T0 = 1795255200.0  # 2026-11-21 10:00:00 UTC
HEAD, TAIL = 3, 3


# --- the reference -------------------------------------------------------------------


def reference(inputs: list[tuple[str, bytes]], window: tuple[float, float] | None) -> dict:
    """Line by line: what a careful person would count by hand."""
    clock = Clock(UTC)
    lines_by_part = dict.fromkeys(PARTS, 0)
    buckets: dict[tuple[str, str], dict] = {}
    first = last = None

    def part_of(ts: float | None) -> str:
        if ts is None:
            return "untimed"
        if window is None or window[0] <= ts <= window[1]:
            return "in"
        return "before" if ts < window[0] else "after"

    for name, data in inputs:
        raw_lines = data.split(b"\n")
        ends_nl = data.endswith(b"\n")
        if ends_nl:
            raw_lines.pop()
        entries: list[list] = []  # [first line number, [line bytes], header match or None]
        for n, ln in enumerate(raw_lines, start=1):
            m = _HEADER.match(ln) if HEADER_START.match(ln) else None
            if HEADER_START.match(ln) or not entries:
                entries.append([n, [ln], m, HEADER_START.match(ln) is not None])
            else:
                entries[-1][1].append(ln)
        prev_ts = None
        for idx, (n, lns, m, is_header) in enumerate(entries):
            ts = clock.epoch(m)[0] if m is not None else (None if is_header else prev_ts)
            if is_header and m is not None:
                ts = clock.epoch(m)[0]
                if ts is not None:
                    first = ts if first is None else min(first, ts)
                    last = ts if last is None else max(last, ts)
            lines_by_part[part_of(ts)] += len(lns)
            level = None
            if is_header:
                level = m.group("level").decode() if m is not None else "?"
            newline_after = idx < len(entries) - 1 or ends_nl
            block = b"\n".join(lns) + (b"\n" if newline_after else b"")
            if (level in ("WARN", "ERROR") or not is_header) and part_of(ts) in ("in", "untimed"):
                c = classify_block(block, level if is_header else None, not is_header)
                if c is not None:
                    b = buckets.setdefault((part_of(ts), c.category), {
                        "count": 0, "fail": 0, "partial": 0, "reasons": {}, "samples": [], "minutes": set()})
                    b["count"] += 1
                    b["fail"] += c.severity == "fail"
                    b["partial"] += c.partial
                    r = b["reasons"].setdefault(c.reason, [0, None, None])
                    r[0] += 1
                    if ts is not None:
                        r[1] = ts if r[1] is None else min(r[1], ts)
                        r[2] = ts if r[2] is None else max(r[2], ts)
                        if not c.partial:
                            b["minutes"].add(int(ts // 60))
                    b["samples"].append((name, n, ts, block, level if is_header else None))
            if is_header:
                prev_ts = ts
    out = {"lines": lines_by_part, "first": first, "last": last, "problems": {}}
    for (part, cat), b in buckets.items():
        kept = b["samples"][:HEAD] + b["samples"][HEAD:][-TAIL:]
        out["problems"][(part, cat)] = (
            b["count"], b["fail"], b["partial"],
            sorted((k, v[0], v[1], v[2]) for k, v in b["reasons"].items()),
            [_sample(materialize(s)) for s in kept], sorted(b["minutes"]),
        )
    return out


def _sample(s) -> tuple:
    return (s.source, s.ts, s.reason, [(ln.n, ln.text, ln.match) for ln in s.lines])


def fast(inputs: list[tuple[str, bytes]], window, pieces: list[int]) -> dict:
    from stsdebug.logs.receiver_result import ScanResult

    result = ScanResult()
    for name, data in inputs:
        part = Scanner(name, window, UTC)
        i = k = 0
        while i < len(data):
            step = pieces[k % len(pieces)]
            part.feed(data[i : i + step])
            i += step
            k += 1
        part.close().finish()
        result.sources.extend(part.result.sources)
        result.merge(part.result)
    return summary(result)


def summary(r) -> dict:
    out = {"lines": dict(r.lines), "first": r.first, "last": r.last, "problems": {}}
    for part in PARTS:
        for cat, b in r.problems[part].items():
            out["problems"][(part, cat)] = (
                b.count, b.fail_count, b.partial_count,
                sorted((k, v.count, v.first, v.last) for k, v in b.reasons.items()),
                [_sample(s) for s in b.samples()], sorted(b.minutes),
            )
    return out


# --- generated logs ----------------------------------------------------------------------

MESSAGES = [
    ("WARN", "com.stackstate.api.ReceiverRoutes",
     "Failed to deserialize JSON on fields: , with message: Object is missing required member 'internalHostname'"),
    ("WARN", "com.stackstate.receiver.kafka.MultiMetricsProducer", "Slow send to sts_multi_metrics: {n} ms"),
    ("WARN", "org.apache.kafka.clients.NetworkClient",
     "[Producer clientId=producer-{n}] Connection to node -1 (kafka/10.0.0.{n}:9092) could not be established. "
     "Broker may not be available."),
    ("ERROR", "com.stackstate.receiver.kafka.MultiMetricsProducer", "Failed to send record"),
    ("ERROR", "com.stackstate.Foo", "boom {n} on host-{n} id 3f2a9c1b0d4e4f5a8b6c7d8e9f0a1b2c"),
    ("INFO", "com.stackstate.receiver.intake.IntakeRoutes", "Received intake request from agent host-{n}: ERROR free"),
    ("DEBUG", "x.Y", "WARN is a word here"),
    ("WARN", "akka.actor.ActorSystemImpl", "Illegal request header: Illegal 'x-forwarded-for' header"),
    ("ERROR", "com.stackstate.api.ReceiverRoutes", "Request rejected: HTTP/1.1 413 Payload Too Large"),
]
TRACES = [
    [],
    ["org.apache.kafka.common.errors.TimeoutException: Expiring {n} record(s) for sts_multi_metrics-0:{n} ms "
     "has passed since batch creation", "\tat org.apache.kafka.Foo.bar(Foo.java:{n})"],
    ["com.fasterxml.jackson.core.JsonParseException: Unexpected character ('}' (code 125))",
     " at [Source: (String)\"{...\"; line: 1, column: {n}]", "\t... 42 more"],
    ["Caused by: java.lang.IllegalStateException: ERROR in stream {n}"],
]


@st.composite
def receiver_log(draw) -> bytes:
    layout = draw(st.sampled_from(["linux", "kubernetes", "kubectl", "ansi"]))
    crlf = draw(st.booleans())
    eol = b"\r\n" if crlf else b"\n"
    t = T0
    out: list[bytes] = []
    if draw(st.booleans()):  # lines before the first header
        out.append(b"ERROR: something printed before logging started" + eol)
    for _ in range(draw(st.integers(1, 40))):
        t += draw(st.sampled_from([0, 0.001, 0.5, 1, 30, 61, 200]))
        dt = datetime.fromtimestamp(t, UTC)
        stamp = dt.strftime("%Y-%m-%d %H:%M:%S,") + f"{dt.microsecond // 1000:03d}"
        level, logger, msg = draw(st.sampled_from(MESSAGES))
        msg = msg.replace("{n}", str(draw(st.integers(0, 99999))))
        if layout == "linux":
            head = f"{stamp} [dispatcher-{draw(st.integers(1, 30))}] {level:<5} {logger} - {msg}"
        elif layout == "kubectl":
            head = f"{dt.strftime('%Y-%m-%dT%H:%M:%S.%fZ')} {stamp} {level:<5} {logger} - {msg}"
        elif layout == "ansi":
            head = f"{stamp} \x1b[33m{level:<5}\x1b[0;39m \x1b[36m{logger}\x1b[0;39m - {msg}"
        else:
            head = f"{stamp} {level:<5} {logger} - {msg}"
        line = head.encode()
        if draw(st.integers(0, 20)) == 0:
            line += b" \xff\xfe bad bytes"
        if draw(st.integers(0, 30)) == 0:
            line += b" " + b"x" * draw(st.integers(5000, 60000))
        out.append(line + eol)
        for tr in draw(st.sampled_from(TRACES)):
            out.append(tr.replace("{n}", str(draw(st.integers(0, 999)))).encode() + eol)
    data = b"".join(out)
    if draw(st.booleans()):
        data = data.rstrip(b"\r\n")  # no newline at the end
    return data


def _window(draw, data: bytes) -> tuple[float, float] | None:
    kind = draw(st.sampled_from(["none", "all", "part"]))
    if kind == "none":
        return None
    if kind == "all":
        return (T0 - 10, T0 + 10**6)
    a = T0 + draw(st.integers(0, 3000))
    return (a, a + draw(st.integers(0, 3000)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_fast_scanner_matches_the_reference(data):
    log = data.draw(receiver_log())
    window = _window(data.draw, log)
    pieces = data.draw(st.lists(st.integers(1, 5000), min_size=1, max_size=4))
    assert fast([("a.log", log)], window, pieces) == reference([("a.log", log)], window)


def test_generated_mixes_match_the_reference(tmp_path):
    """The benchmark's own logs, every mix, small: repeating and varying, with and without traces."""
    for kind_layout in ("linux", "kubernetes"):
        for rate in (0.001, 0.01, 0.05, 0.2):
            for vary in (False, True):
                for stacks in (False, True):
                    path = tmp_path / "r.log"
                    loggen.write(path, "receiver", 300_000, T0 + 3600, rate=rate, vary=vary, stacks=stacks,
                                 layout=kind_layout, span=3600, seed=int(rate * 1000))
                    log = path.read_bytes()
                    for window in (None, (T0 + 1000, T0 + 2500)):
                        assert fast([("r.log", log)], window, [1 << 16]) == reference([("r.log", log)], window), (
                            kind_layout, rate, vary, stacks, window)


def test_gzip_rotation_reads_oldest_first_with_line_numbers_per_file(tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    parts = []
    for i, name in enumerate(["stackstate-receiver.log.2.gz", "stackstate-receiver.log.1", "stackstate-receiver.log"]):
        path = tmp_path / "x.log"
        loggen.write(path, "receiver", 40_000, T0 + 600 * (i + 1), rate=0.05, vary=True, stacks=True,
                     layout="kubernetes", span=600, seed=i)
        data = path.read_bytes()
        (d / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        parts.append((str(Path(str(d)) / name), data))
    window = (T0 + 300, T0 + 1500)
    got = summary(logs.scan(logs.expand([str(d)]), window, UTC, skip_old=False).result)
    assert got == reference(parts, window)


# --- shortcuts the scanner takes, each against the reference ---------------------------


@st.composite
def jittered_log(draw) -> tuple[bytes, tuple[float, float]]:
    """Entries a few seconds out of order (threads log times taken before the appender's
    lock), many of them around the window's edges."""
    w0 = T0 + 600
    w1 = w0 + draw(st.integers(30, 900))
    t = w0 - draw(st.integers(0, 120))
    out: list[bytes] = []
    for _ in range(draw(st.integers(5, 80))):
        t += draw(st.sampled_from([0, 0.3, 1, 2, 5, 20]))
        shown = t - draw(st.sampled_from([0, 0, 0, 1, 3, 7]))  # written late: an older time
        dt = datetime.fromtimestamp(shown, UTC)
        stamp = dt.strftime("%Y-%m-%d %H:%M:%S,") + f"{dt.microsecond // 1000:03d}"
        level, logger, msg = draw(st.sampled_from(MESSAGES))
        msg = msg.replace("{n}", str(draw(st.integers(0, 999))))
        out.append(f"{stamp} [dispatcher-{draw(st.integers(1, 9))}] {level:<5} {logger} - {msg}\n".encode())
        for tr in draw(st.sampled_from(TRACES)):
            out.append(tr.replace("{n}", str(draw(st.integers(0, 999)))).encode() + b"\n")
    return b"".join(out), (float(w0), float(w1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_out_of_order_entries_near_the_window_edges(data):
    log, window = data.draw(jittered_log())
    pieces = data.draw(st.lists(st.integers(1, 5000), min_size=1, max_size=3))
    assert fast([("a.log", log)], window, pieces) == reference([("a.log", log)], window)


def test_stdin_streaming_plain_and_gzip_matches_the_reference(tmp_path):
    """stdin is read in whatever pieces the pipe gives, gzip inflated on the way."""
    import io

    path = tmp_path / "r.log"
    loggen.write(path, "receiver", 600_000, T0 + 3600, rate=0.05, vary=True, stacks=True, span=3600)
    data = path.read_bytes()
    window = (T0 + 1200, T0 + 2400)
    want = reference([("stdin", data)], window)
    for raw in (data, gzip.compress(data)):
        got = logs.scan([logs.LogInput("stdin", None)], window, UTC, stdin=io.BytesIO(raw)).result
        assert summary(got) == want
