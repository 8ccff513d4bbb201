"""stsdebug.receiverlog: parsing both receiver log layouts, grouping, classification, the scanner."""

from __future__ import annotations

import tracemalloc
from datetime import timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdebug import receiverlog as rl
from stsdebug.logs import receiver_scan

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "receiver"
T10 = 1795255200.0  # 2026-11-21 10:00:00 UTC
UTC = timezone.utc


def scan(data: bytes, window=None, pieces: int | None = None) -> rl.ScanResult:
    scanner = rl.Scanner("t.log", window, UTC)
    if pieces:
        for i in range(0, len(data), pieces):
            scanner.feed(data[i : i + pieces])
    else:
        scanner.feed(data)
    return scanner.close().finish()


def counts(r: rl.ScanResult, part: str = "in") -> dict[str, int]:
    return {cat: b.count for cat, b in r.problems[part].items()}


def line(ts: str, level: str, logger: str, msg: str, thread: str | None = "main") -> str:
    t = f"[{thread}] " if thread is not None else ""
    return f"{ts} {t}{level:<5} {logger} - {msg}\n"


# --- headers -----------------------------------------------------------------------


def test_linux_layout_header():
    h = rl.parse_header(
        b"2026-11-21 10:00:12,551 [StackStateReceiver-akka.actor.default-dispatcher-7] WARN  "
        b"com.stackstate.api.ReceiverRoutes - Failed to deserialize JSON on fields: , with message: x",
        rl.Clock(UTC),
    )
    assert h is not None
    assert h.ts == pytest.approx(T10 + 12.551)
    assert not h.zoned
    assert h.thread == "StackStateReceiver-akka.actor.default-dispatcher-7"
    assert (h.level, h.logger) == ("WARN", "com.stackstate.api.ReceiverRoutes")
    assert h.message.startswith("Failed to deserialize JSON")


def test_kubernetes_layout_header_has_no_thread():
    h = rl.parse_header(
        b"2026-11-21 10:00:03,120 WARN  org.apache.kafka.clients.NetworkClient - [Producer clientId=producer-1] x",
        rl.Clock(UTC),
    )
    assert h is not None and h.thread is None
    assert (h.level, h.logger, h.message) == ("WARN", "org.apache.kafka.clients.NetworkClient", "[Producer clientId=producer-1] x")
    assert h.ts == pytest.approx(T10 + 3.12)


def test_thread_names_with_spaces_and_pipes():
    h = rl.parse_header(b"2026-11-21 10:00:00,000 [kafka-producer-network-thread | producer-1] ERROR a.B - m")
    assert h is not None and h.thread == "kafka-producer-network-thread | producer-1" and h.level == "ERROR"


def test_every_timestamp_form_in_the_fixture_is_the_same_instant_family():
    clock = rl.Clock(UTC)
    got = []
    for raw in (FIX / "timezones.log").read_bytes().splitlines():
        h = rl.parse_header(raw, clock)
        got.append(None if h is None else round(h.ts - T10, 3))
    # naive (read as UTC), Z, +01:00, -0500, kubectl prefix (wins over the naive 11:00), kubectl +00:00,
    # and a kubectl-prefixed stack trace line, which is no header.
    assert got == [1.0, 2.0, 3.0, 4.0, 5.123, 6.5, None]


def test_naive_timestamps_follow_the_configured_zone():
    raw = b"2026-11-21 11:00:00,000 [t] WARN  a.B - m"
    assert rl.parse_header(raw, rl.Clock(rl.parse_tz("+01:00"))).ts == T10
    assert rl.parse_header(raw, rl.Clock(rl.parse_tz("Europe/Amsterdam"))).ts == T10  # CET in November
    assert rl.parse_header(raw, rl.Clock(rl.parse_tz("UTC"))).ts == T10 + 3600


@pytest.mark.parametrize("spec", ["local", None, "", "UTC", "+02:00", "-0530", "utc+0100", "Europe/Amsterdam"])
def test_parse_tz_accepts(spec):
    rl.parse_tz(spec)


@pytest.mark.parametrize("spec", ["Mars/Base", "+25:00", "banana"])
def test_parse_tz_refuses_with_one_line(spec):
    with pytest.raises(ValueError) as err:
        rl.parse_tz(spec)
    assert "\n" not in str(err.value) and "time zone" in str(err.value)


@pytest.mark.parametrize(
    "raw",
    [
        b"\tat com.fasterxml.jackson.core.JsonParser._constructError(JsonParser.java:2337)",
        b"Caused by: org.apache.kafka.common.errors.TimeoutException: x",
        b"\t... 31 more",
        b" at [Source: (String)\"{}\"; line: 1, column: 9]",
        b"2026-11-21T10:00:06.6Z \tat com.example.Continuation(Line.java:1)",
        b"2026-11-21 10:00:00,000 this has no level",
        b"",
    ],
)
def test_continuation_lines_are_not_headers(raw):
    assert rl.parse_header(raw) is None
    assert rl.HEADER_START.match(raw) is None


def test_invalid_dates_have_no_time():
    h = rl.parse_header(b"2026-13-45 10:00:00,000 [t] ERROR a.B - m")
    assert h is not None and h.ts is None


# --- grouping -----------------------------------------------------------------------


def test_stack_traces_stay_with_their_entry():
    entries = rl.parse_entries((FIX / "linux.log").read_text(), UTC)
    starts = [n for _, _, n in entries]
    assert starts == [1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 22]
    head, lines, n = entries[6]
    assert head is not None and head.level == "ERROR" and n == 7
    assert lines[1].startswith("com.fasterxml.jackson.core.JsonParseException")
    assert lines[-1] == "\t... 31 more" and len(lines) == 8


def test_grouping_across_feed_boundaries_matches_one_feed():
    data = (FIX / "linux.log").read_bytes() + (FIX / "kubernetes.log").read_bytes()
    whole = scan(data)
    for size in (1, 7, 64, 1000):
        parts = scan(data, pieces=size)
        assert parts.lines == whole.lines
        assert counts(parts) == counts(whole)
        for cat, b in whole.problems["in"].items():
            got = parts.problems["in"][cat]
            assert [[(x.n, x.text, x.match) for x in s.lines] for s in got.samples()] == [
                [(x.n, x.text, x.match) for x in s.lines] for s in b.samples()
            ]


# --- classification ----------------------------------------------------------------

CASES = [
    # (lines of the entry, level, category, pattern id, reason)
    (["Stopping receiver app. Topic check failed."], "ERROR", "stopped", "stopping-app",
     "Stopping receiver app. Topic check failed"),
    (["Stopping receiver app. Topic check failed.",
      "com.stackstate.kafka.StsKafkaAdminClient$MissingKafkaTopics: Missing Kafka topics: sts_multi_metrics"],
     "ERROR", "stopped", "missing-kafka-topics", "Missing Kafka topics: sts_multi_metrics"),
    (["Dropped metric from host h1: Failed to deserialize JSON on fields: metrics, with message: metric name "
      "\"timestamp.lag\" starts with the reserved prefix \"timestamp\""],
     "WARN", "deserialization", "receiver-dropped-item",
     'metric name "timestamp.lag" starts with the reserved prefix "timestamp" (fields: metrics)'),
    (["Failed to deserialize JSON on fields: , with message: Object is missing required member 'internalHostname'"],
     "WARN", "deserialization", "receiver-deserialize", "Object is missing required member 'internalHostname'"),
    (["Failed to deserialize JSON on fields: series, points, with message: Expected Long as JsNumber"],
     "WARN", "deserialization", "receiver-deserialize", "Expected Long as JsNumber (fields: series, points)"),
    (["Could not read", "com.fasterxml.jackson.core.JsonParseException: Unexpected character ('}' (code N))",
      " at [Source: (String)\"{}\"; line: 1, column: 9]"],
     "ERROR", "deserialization", "jackson-parse", "Unexpected character ('}' (code N))"),
    (["Rejecting", "com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize value of type `long` "
      "at [Source: (String)\"x\"; line: 1, column: 77]"],
     "ERROR", "deserialization", "jackson-mismatched-input", "Cannot deserialize value of type `long`"),
    (["x", "Caused by: com.fasterxml.jackson.databind.JsonMappingException: No content to map"],
     "ERROR", "deserialization", "jackson-mapping", "No content to map"),
    (["spray.json.DeserializationException: Object is missing required member 'host'"],
     "WARN", "deserialization", "spray-deserialization", "Object is missing required member 'host'"),
    (["[Producer clientId=producer-1] Connection to node -1 (kafka/10.0.0.1:9092) could not be established. "
      "Broker may not be available."],
     "WARN", "kafka", "kafka-broker-unavailable",
     "Connection to node -N (kafka/N.N.N.N:N) could not be established; broker may not be available"),
    (["Failed to send", "org.apache.kafka.common.errors.TimeoutException: Failed to update metadata after 60000 ms."],
     "ERROR", "kafka", "kafka-metadata", "Failed to update metadata after N ms"),
    (["Failed to send", "org.apache.kafka.common.errors.TimeoutException: Expiring 12 record(s) for "
      "sts_multi_metrics-0:120000 ms has passed since batch creation"],
     "ERROR", "kafka", "kafka-timeout", "Expiring N record(s) for sts_multi_metrics-N:N ms has passed since batch creation"),
    (["org.apache.kafka.common.errors.NetworkException: The server disconnected before a response was received."],
     "ERROR", "kafka", "kafka-network", "The server disconnected before a response was received"),
    (["due to org.apache.kafka.common.errors.NotLeaderOrFollowerException: not the leader"],
     "WARN", "kafka", "kafka-not-leader", "org.apache.kafka.common.errors.NotLeaderOrFollowerException"),
    (["org.apache.kafka.common.errors.RecordTooLargeException: The message is N bytes"],
     "ERROR", "kafka", "kafka-record-too-large", "The message is N bytes"),
    (["[Producer clientId=producer-1] Bootstrap broker kafka:9092 (id: -1 rack: null) disconnected"],
     "WARN", "kafka", "kafka-bootstrap-disconnected", "Bootstrap broker kafka:N (id: -N rack: null) disconnected"),
    (["Failed", "Caused by: org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access topics"],
     "ERROR", "kafka", "kafka-other",
     "org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access topics"),
    (["Request rejected: MalformedRequestContentRejection(Unexpected end-of-input at input index N, ...)"],
     "WARN", "deserialization", "malformed-request-content", "Unexpected end-of-input at input index N"),
    (["Unable to send batch to Kafka: producer closed"], "ERROR", "kafka", "receiver-kafka-send",
     "Unable to send batch to Kafka: producer closed"),
    (["Request refused: invalid API key"], "WARN", "auth", "api-key", "invalid API key"),
    (["Rejected: AuthorizationFailedRejection"], "WARN", "auth", "auth-rejection", "AuthorizationFailedRejection"),
    (["Ignored N metric point(s) from host hN older than N hour (newest point <time>, N minutes old)"],
     "WARN", "stale", "points-too-old",
     "Ignored N metric point(s) from host hN older than N hour (newest point <time>, N minutes old)"),
    (["EntityStreamSizeException: incoming entity size (N) exceeded size limit (N bytes)!"],
     "WARN", "payload", "entity-too-large",
     "EntityStreamSizeException: incoming entity size (N) exceeded size limit (N bytes)!"),
]


@pytest.mark.parametrize("lines,level,category,pattern,reason", CASES, ids=[c[3] for c in CASES])
def test_classification(lines, level, category, pattern, reason):
    c = rl.classify(lines, level, "com.stackstate.Foo", lines[0])
    assert c is not None
    assert (c.category, c.pattern, c.reason) == (category, pattern, reason)
    severity = next(p.severity for p in rl.PATTERNS if p.id == pattern)
    assert c.severity == severity
    a, b = c.span
    assert lines[c.line][a:b]  # the span points into the matching line


def test_every_pattern_is_exercised_and_documented():
    tested = {c[3] for c in CASES}
    doc = (Path(__file__).resolve().parents[2] / "docs" / "stages" / "receiver.md").read_text()
    for p in rl.PATTERNS:
        assert p.category in rl.CATEGORY_TITLES
        assert p.severity in ("fail", "warn")
        assert all(n == n.lower() for n in p.needles), p.id
        assert f"`{p.id}`" in doc, f"{p.id} missing from docs/stages/receiver.md"
    assert tested == {p.id for p in rl.PATTERNS}


def test_info_entries_are_not_problems_even_when_they_mention_them():
    assert rl.classify(["Failed to deserialize JSON on fields: , with message: x"], "INFO") is None
    assert rl.classify(["Kafka producer started"], "DEBUG") is None


def test_other_errors_and_warnings_group_by_logger_and_message_without_numbers():
    e = rl.classify(["Something 123 broke after 4 tries"], "ERROR", "com.stackstate.receiver.Foo")
    w = rl.classify(["Slow request 991 ms"], "WARN", "akka.actor.ActorSystemImpl")
    assert (e.category, e.severity, e.reason) == ("error", "warn", "Foo: Something N broke after N tries")
    assert (w.category, w.severity) == ("warning", "info")


def test_first_matching_pattern_wins_deserialization_before_kafka():
    c = rl.classify(["Failed to deserialize JSON on fields: , with message: m", "org.apache.kafka.foo.BarException"], "ERROR")
    assert c.category == "deserialization"


# --- the scanner ------------------------------------------------------------------


def test_fixture_counts_and_match_spans():
    r = scan((FIX / "linux.log").read_bytes())
    assert r.lines == {"in": 22, "before": 0, "after": 0, "untimed": 0}
    assert counts(r) == {"deserialization": 5, "warning": 1}
    deser = r.problems["in"]["deserialization"]
    assert {k: v.count for k, v in deser.reasons.items()} == {
        "Object is missing required member 'internalHostname'": 2,
        "Unexpected character ('}' (code N)): was expecting double-quote to start field name": 1,
        'Expected Long as JsNumber, but got "abc" (fields: series)': 1,
        "Cannot deserialize value of type `long` from String \"now\": not a valid `long` value": 1,
    }
    stat = deser.reasons["Object is missing required member 'internalHostname'"]
    assert (stat.first, stat.last) == (pytest.approx(T10 + 12.551), pytest.approx(T10 + 72.602))
    samples = deser.samples()
    assert [[ln.n for ln in s.lines] for s in samples] == [[4], [6], [7, 8], [15], [17, 18]]
    for s in samples:
        hit = next(ln for ln in s.lines if ln.match)
        a, b = hit.match
        assert any(w in hit.text[a:b] for w in ("Failed to deserialize JSON", "Exception"))


def test_crlf_colour_codes_and_latin1_bytes():
    r = scan((FIX / "crlf_ansi.log").read_bytes())
    assert counts(r) == {"deserialization": 1, "kafka": 1, "warning": 1}
    kafka = r.problems["in"]["kafka"].samples()[0]
    header, hit = kafka.lines
    assert "\x1b" not in header.text and not header.text.endswith("\r")
    assert "caf\ufffd-01" in header.text  # a Latin-1 byte, decoded with replacement
    assert hit.text[hit.match[0] : hit.match[1]] == "Failed to update metadata after 60000 ms"
    deser = r.problems["in"]["deserialization"].samples()[0].lines[0]
    assert deser.text[deser.match[0] :].startswith("Failed to deserialize JSON")


def test_window_filtering_counts_lines_and_problems_by_part():
    log = "".join(
        line(f"2026-11-21 10:{m:02d}:00,000", "WARN", "com.stackstate.api.ReceiverRoutes",
             "Failed to deserialize JSON on fields: , with message: m")
        + "\tat a.b.C(D.java:1)\n"
        for m in range(10)
    ).encode()
    window = (T10 + 3 * 60, T10 + 6 * 60 + 30)  # 10:03:00 .. 10:06:30
    for pieces in (None, 33):
        r = scan(log, window, pieces)
        assert r.lines == {"in": 8, "before": 6, "after": 6, "untimed": 0}
        assert counts(r, "in") == {"deserialization": 4}
        # Entries outside the window are not classified: only their lines count.
        assert counts(r, "before") == {} and counts(r, "after") == {}
        assert r.first == T10 and r.last == T10 + 540


def test_window_edges_inside_one_big_chunk_are_exact():
    # 20,000 entries one second apart, all in one chunk: the edges are found by bisection.
    log = "".join(line(f"2026-11-21 {10 + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d},000", "INFO", "a.B", "ok")
                  for s in range(20000)).encode()
    r = scan(log, (T10 + 1000, T10 + 1999.5))
    assert r.lines == {"in": 1000, "before": 1000, "after": 18000, "untimed": 0}


def test_out_of_order_entries_are_judged_one_by_one():
    stamps = [5, 1, 9, 2, 8]  # minutes past 10:00
    log = "".join(line(f"2026-11-21 10:{m:02d}:00,000", "ERROR", "a.B", f"boom {m}") for m in stamps).encode()
    r = scan(log, (T10 + 120, T10 + 480))
    assert r.lines == {"in": 3, "before": 1, "after": 1, "untimed": 0}
    assert counts(r) == {"error": 3}


def test_lines_without_any_timestamp_are_untimed():
    data = b"ERROR Failed to deserialize JSON on fields: , with message: no time\nplain text\n"
    r = scan(data, (T10, T10 + 60))
    assert r.lines == {"in": 0, "before": 0, "after": 0, "untimed": 2}
    assert not r.has_headers
    assert counts(r, "untimed") == {"deserialization": 1}


def test_lines_before_the_first_header_are_untimed_and_the_rest_timed():
    data = b"\tat truncated.Trace(X.java:1)\n" + line("2026-11-21 10:00:00,000", "INFO", "a.B", "x").encode()
    r = scan(data, (T10 - 60, T10 + 60))
    assert r.lines == {"in": 1, "before": 0, "after": 0, "untimed": 1}


def test_samples_are_the_first_few_and_the_last_few():
    log = "".join(line(f"2026-11-21 10:{i // 60:02d}:{i % 60:02d},000", "WARN", "a.B",
                       f"Failed to deserialize JSON on fields: , with message: m{i % 4}") for i in range(50)).encode()
    r = scan(log)
    b = r.problems["in"]["deserialization"]
    assert b.count == 50
    assert [s.lines[0].n for s in b.samples()] == [1, 2, 3, 48, 49, 50]


def test_distinct_reasons_are_capped():
    log = "".join(line("2026-11-21 10:00:00,000", "WARN", "a.B",
                       f"Failed to deserialize JSON on fields: , with message: reason-{chr(97 + i % 26)}{chr(97 + i // 26)}")
                  for i in range(rl.MAX_REASONS + 50)).encode()
    b = scan(log).problems["in"]["deserialization"]
    assert len(b.reasons) == rl.MAX_REASONS + 1
    assert b.reasons[rl.OTHER_REASONS].count == 50


def test_a_2mb_single_line_is_cut_and_scanning_goes_on():
    big = (b"2026-11-21 10:00:00,000 [t] WARN  com.stackstate.api.ReceiverRoutes - Failed to deserialize JSON "
           b"on fields: , with message: huge " + b"x" * (2 << 20) + b"\n")
    after = line("2026-11-21 10:00:01,000", "ERROR", "a.B", "after the long line").encode()
    for tail in (after, b"y" * (2 << 20)):  # followed by a normal line, or by another unterminated one
        tracemalloc.start()
        r = scan(big + tail, pieces=1 << 16)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 40 << 20  # the scanner's fixed buffer, not copies of the line
        assert r.sources[0].long_lines == (1 if tail is after else 2)
        deser = r.problems["in"]["deserialization"]
        assert deser.count == 1 and deser.reasons.popitem()[0].startswith("huge xxx")
        assert len(deser.samples()[0].lines[0].text) <= rl.LINE_TEXT_CAP
        assert r.total_lines == 2
        if tail is after:
            assert counts(r)["error"] == 1
            assert r.problems["in"]["error"].samples()[0].lines[0].n == 2


def test_an_entry_longer_than_the_carry_is_split_but_counted_once(monkeypatch):
    monkeypatch.setattr(receiver_scan, "MAX_CARRY", 4096)
    trace = "".join(f"\tat com.example.Frame{i}.run(Frame.java:{i})\n" for i in range(2000))
    log = (line("2026-11-21 10:00:00,000", "ERROR", "a.B", "Failed to send")
           + "org.apache.kafka.common.errors.TimeoutException: Failed to update metadata after 60000 ms.\n"
           + trace + line("2026-11-21 10:00:05,000", "INFO", "a.B", "fine")).encode()
    r = scan(log, pieces=1000)
    assert counts(r) == {"kafka": 1}
    assert r.total_lines == 2003


def test_repeated_entries_use_the_cache_and_still_count_each():
    one = line("2026-11-21 10:00:00,000", "WARN", "org.apache.kafka.clients.NetworkClient",
               "Connection to node -1 could not be established. Broker may not be available.")
    r = scan((one * 500).encode())
    b = r.problems["in"]["kafka"]
    assert b.count == b.fail_count == 500 and len(b.reasons) == 1


@pytest.mark.parametrize("data,needle", [
    (b"xxWARNyyWARNWARN", b"WARN"),
    (b"WARN" * 1000, b"WARN"),  # common: the full-needle search
    (b"a" * 70000 + b"ERROR" + b"b" * 10 + b"ERRORERROR", b"ERROR"),  # rare anchor
    (b"WAR", b"WARN"),
    (b"", b"WARN"),
])
def test_find_all_matches_a_plain_search(data, needle):
    expected = [i for i in range(len(data)) if data.startswith(needle, i)]
    assert rl.find_all(data, needle) == expected
    assert rl.find_all(bytearray(data), needle, 1, max(1, len(data) - 1)) == [
        i for i in expected if i >= 1 and i + len(needle) <= max(1, len(data) - 1)
    ]


# --- fuzz: arbitrary bytes never raise, and feeding in pieces changes nothing -------------

_LOGLIKE = st.lists(
    st.one_of(
        st.sampled_from([
            b"2026-11-21 10:00:01,000 [t] WARN  a.B - Failed to deserialize JSON on fields: , with message: m\n",
            b"2026-11-21 10:00:02,000 ERROR org.apache.kafka.X - Failed to update metadata after 1 ms\n",
            b"2026-11-21T10:00:03Z \x1b[31mERROR\x1b[0m a.B - boom\r\n",
            b"\tat a.b.C(D.java:1)\n", b"Caused by: x\n", b"\n", b"\r\n", b"WARN", b"ERROR", b"\x00\xff\xfe",
        ]),
        st.binary(max_size=64),
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=4000), _LOGLIKE), piece=st.integers(1, 300))
def test_fuzz_scanner_never_raises_and_is_split_invariant(data, piece):
    whole = scan(data, (T10, T10 + 5))
    split = scan(data, (T10, T10 + 5), pieces=piece)
    expected_lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    assert whole.total_lines == split.total_lines == expected_lines
    for part in rl.PARTS:
        assert counts(whole, part) == counts(split, part)
    for part in whole.problems.values():
        for b in part.values():
            for s in b.samples():
                for ln in s.lines:
                    assert 1 <= ln.n <= max(1, expected_lines)
                    if ln.match:
                        assert 0 <= ln.match[0] <= ln.match[1] <= len(ln.text)
