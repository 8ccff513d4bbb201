"""Parsers of the StackState Agent's log lines and of `check`/`status` output (stsdebug.agentlog)."""

from __future__ import annotations

import calendar
import json

import pytest

from stsdebug import agentlog as al
from stsdebug.agentlog import AgentScan, parse_line, parse_timestamp, strip_ansi
from stsdebug.payloads import metric_name_problem, metric_type_problem

HEADER = "2024-05-14 09:58:19 UTC | CORE | ERROR | (pkg/forwarder/worker.go:184 in process) | "
T0 = calendar.timegm((2024, 5, 14, 9, 58, 19, 0, 0, 0))


def utc(y: int, mo: int, d: int, h: int, mi: int, s: int) -> int:
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


def scan(lines: list[str], **kw: object) -> al.ScanResult:
    kw.setdefault("name_problem", metric_name_problem)
    kw.setdefault("type_problem", metric_type_problem)
    s = AgentScan(**kw)  # type: ignore[arg-type]
    for n, line in enumerate(lines, 1):
        s.feed(n, line)
    return s.finish()


def matched(hit: al.Hit) -> str:
    assert hit.span is not None
    return hit.text[hit.span[0] : hit.span[1]]


# --- log line headers ---------------------------------------------------------------


def test_parse_line_splits_the_agent_header():
    line = HEADER + "Too many errors for endpoint 'https://x/stsAgent/intake/': retrying later"
    rec = parse_line(line)
    assert rec is not None
    assert rec.ts == T0 and rec.tz == "UTC"
    assert (rec.component, rec.level) == ("CORE", "ERROR")
    assert rec.location == "pkg/forwarder/worker.go:184 in process"
    assert line[rec.msg_start :].startswith("Too many errors")
    assert rec.check is None


@pytest.mark.parametrize(
    ("message", "check"),
    [
        ("check:mysql | Running check...", "mysql"),
        ("mysql:3c5f2b3e1d0a9f88 | (mysql.py:187) | Connecting", "mysql"),
        ("http_check:My service:5b948dee172af830 | (http_check.py:90) | down", "http_check"),
        ("- | (core.py:94) | Error querying wal_metrics", None),
    ],
)
def test_parse_line_names_the_check_a_line_speaks_for(message: str, check: str | None):
    rec = parse_line("2024-05-14 09:58:19 UTC | CORE | INFO | (pkg/collector/x.go:1 in f) | " + message)
    assert rec is not None and rec.check == check


@pytest.mark.parametrize(
    "line",
    [
        "Traceback (most recent call last):",
        '  File "/opt/x.py", line 3, in run',
        "=== Series ===",
        "2024-05-14 09:58:19 this is not an agent line",
        "",
        "12345",
    ],
)
def test_parse_line_returns_none_for_other_text(line: str):
    assert parse_line(line) is None


@pytest.mark.parametrize(
    ("tz", "offset_h"),
    [("UTC", 0), ("CEST", 2), ("CET", 1), ("EDT", -4), ("KST", 9), ("+03", 3), ("+0530", 5.5),
     ("-0700", -7), ("+02:00", 2), ("IST", 5.5)],
)
def test_time_zones_are_read_as_go_prints_them(tz: str, offset_h: float):
    assert parse_timestamp("2024-05-14", "12:00:00", tz) == utc(2024, 5, 14, 12, 0, 0) - offset_h * 3600


@pytest.mark.parametrize(
    ("date", "time_", "tz"),
    [("2024-05-14", "12:00:00", "XYZT"), ("2024-13-01", "12:00:00", "UTC"),
     ("2023-02-29", "12:00:00", "UTC"), ("2024-05-14", "25:00:00", "UTC"), ("2024-05-14", "12:00:00", "+15")],
)
def test_unreadable_dates_and_zones_give_none(date: str, time_: str, tz: str):
    assert parse_timestamp(date, time_, tz) is None


def test_a_dst_switch_is_fifteen_seconds_not_an_hour():
    before = parse_line("2024-03-31 01:59:50 CET | CORE | INFO | (a.go:1 in f) | x")
    after = parse_line("2024-03-31 03:00:05 CEST | CORE | INFO | (a.go:1 in f) | x")
    assert before and after and before.ts is not None and after.ts is not None
    assert after.ts - before.ts == 15


def test_kubernetes_prefixes_are_understood():
    cri = ("2024-05-14T09:58:51.440190233Z stdout F 2024-05-14 09:58:51 UTC | CLUSTER | ERROR | "
           "(pkg/forwarder/worker.go:184 in process) | boom")
    rec = parse_line(cri)
    assert rec is not None and rec.component == "CLUSTER" and cri[rec.msg_start :] == "boom"
    # A continuation line in a container log has only the runtime's timestamp.
    bare = parse_line("2024-05-14T09:58:51.5Z stderr F Traceback (most recent call last):")
    assert bare is not None and bare.level == "" and bare.ts == utc(2024, 5, 14, 9, 58, 51)
    kubectl = parse_line("2024-05-14T11:58:51+02:00 2024-05-14 09:58:51 UTC | CORE | INFO | (a.go:1 in f) | x")
    assert kubectl is not None and kubectl.level == "INFO"


def test_strip_ansi_removes_colour_codes_only():
    assert strip_ansi("=== \x1b[34mSeries\x1b[0m ===") == "=== Series ==="
    assert strip_ansi("plain [ok]") == "plain [ok]"


# --- forwarder messages --------------------------------------------------------------

POST = 'Post "https://stackstate.example.com/receiver/stsAgent/intake/?api_key=***************************a1b2c": '


@pytest.mark.parametrize(
    ("message", "kind", "match"),
    [
        ("Error while processing transaction: error while sending transaction, rescheduling it: "
         + POST + "dial tcp 10.0.0.1:7077: connect: connection refused", al.REFUSED, "connection refused"),
        ("Error while processing transaction: error while sending transaction, rescheduling it: "
         + POST + "dial tcp: lookup sts.example on 10.96.0.10:53: no such host", al.DNS,
         "lookup sts.example on 10.96.0.10:53: no such host"),
        ("DNS Lookup failure: lookup sts.example on 10.96.0.10:53: no such host", al.DNS,
         "DNS Lookup failure: lookup sts.example on 10.96.0.10:53: no such host"),
        ("TLS Handshake failure: x509: certificate signed by unknown authority", al.TLS,
         "TLS Handshake failure: x509: certificate signed by unknown authority"),
        ("Error while processing transaction: error while sending transaction, rescheduling it: "
         + POST + "x509: certificate has expired or is not yet valid", al.TLS,
         "x509: certificate has expired or is not yet valid"),
        ("Error while processing transaction: error while sending transaction, rescheduling it: "
         + POST + "context deadline exceeded (Client.Timeout exceeded while awaiting headers)", al.TIMEOUT,
         "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
        ("Error while processing transaction: error while sending transaction, rescheduling it: "
         + POST + "dial tcp 10.0.0.1:443: i/o timeout", al.TIMEOUT, "i/o timeout"),
        ("Error while processing transaction: error while sending transaction, rescheduling it: "
         + POST + "net/http: TLS handshake timeout", al.TIMEOUT, "TLS handshake timeout"),
        ("Error while processing transaction: error while sending transaction, rescheduling it: "
         + POST + "dial tcp 10.0.0.1:443: connect: no route to host", al.NETWORK, "no route to host"),
        ("Too many errors for endpoint 'https://sts/stsAgent/api/v1/series': retrying later", al.BLOCKED,
         "Too many errors for endpoint 'https://sts/stsAgent/api/v1/series': retrying later"),
        ("API Key invalid, dropping transaction for https://sts/stsAgent/intake/", al.API_KEY,
         "API Key invalid, dropping transaction for https://sts/stsAgent/intake/"),
        ('Error code "400 Bad Request" received while sending transaction to "https://sts/stsAgent/intake/": '
         "Failed to deserialize JSON on fields: , with message: Object is missing required member "
         "'internalHostname', dropping it", al.REJECTED,
         "Failed to deserialize JSON on fields: , with message: Object is missing required member 'internalHostname'"),
        ('Error while processing transaction: error "503 Service Unavailable" while sending transaction to '
         '"https://sts/stsAgent/intake/", rescheduling it', al.HTTP_ERROR, "503 Service Unavailable"),
        ('Successfully posted payload to "https://sts/stsAgent/intake/", the agent will only log transaction '
         "success every 500 transactions", al.SUCCESS, 'Successfully posted payload to "https://sts/stsAgent/intake/"'),
        ("error in SendJSONToV1Intake: payload too big", al.BATCHER, "payload too big"),
        ("Error while processing transaction: something odd happened", al.SEND_ERROR, "something odd happened"),
    ],
)
def test_forwarder_messages_are_classified_with_the_telling_part_matched(message: str, kind: str, match: str):
    result = scan([HEADER + message])
    finding = result.finding(kind)
    assert finding is not None, result.findings.keys()
    assert list(result.findings) == [kind]
    hit = finding.samples.shown()[0]
    assert hit.n == 1 and matched(hit) == match
    assert hit.ts == T0


def test_rejection_keeps_the_receivers_message_as_detail():
    line = (HEADER + 'Error code "400 Bad Request" received while sending transaction to "https://s/i": '
            "Failed to deserialize JSON on fields: metrics, with message: boom, dropping it")
    finding = scan([line]).finding(al.REJECTED)
    assert finding is not None
    assert list(finding.details) == ["400 Bad Request: Failed to deserialize JSON on fields: metrics, with message: boom"]


def test_a_check_that_cannot_reach_its_database_is_a_check_error_not_a_forwarder_failure():
    line = ("2024-05-14 09:58:19 UTC | CORE | ERROR | (pkg/collector/worker/check_logger.go:71 in Error) | "
            "check:mysql | Error running check: (2003, \"Can't connect to MySQL server on 'db' "
            "([Errno 111] Connection refused)\")")
    result = scan([line])
    assert result.finding(al.REFUSED) is None
    err = result.finding(al.CHECK_ERROR)
    assert err is not None and err.samples.shown()[0].check == "mysql"
    assert matched(err.samples.shown()[0]).startswith("(2003")
    assert result.check_runs["mysql"].errors == 1


def test_older_runner_error_lines_name_the_check_and_unwrap_the_json_message():
    line = ('2020-02-18 18:16:25 KST | CORE | ERROR | (pkg/collector/runner/runner.go:292 in work) | '
            'Error running check apache: [{"message": "503 Server Error: Service Unavailable for url: '
            'http://localhost/server-status?auto", "traceback": "Traceback (most recent call last):\\n  File x"}]')
    hit = scan([line]).finding(al.CHECK_ERROR).samples.shown()[0]  # type: ignore[union-attr]
    assert hit.check == "apache"
    assert hit.detail == "503 Server Error: Service Unavailable for url: http://localhost/server-status?auto"


def test_check_runs_count_clean_and_failing_runs():
    pre = "2024-05-14 09:58:19 UTC | CORE | INFO | (pkg/collector/worker/check_logger.go:40 in CheckStarted) | "
    err = "2024-05-14 09:58:19 UTC | CORE | ERROR | (pkg/collector/worker/check_logger.go:71 in Error) | "
    result = scan([
        pre + "check:mysql | Running check...",
        err + "check:mysql | Error running check: access denied",
        pre + "check:mysql | Done running check",
        pre + "check:mysql | Running check...",
        pre + "check:mysql | Done running check, next runs will be logged every 500 runs",
    ])
    runs = result.check_runs["mysql"]
    assert (runs.runs, runs.errors, runs.clean, runs.last_clean_n) == (2, 1, 1, 5)


# --- tracebacks -------------------------------------------------------------------------

TRACEBACK = [
    "2024-05-14 10:03:40 UTC | CORE | ERROR | (pkg/collector/python/datadog_agent.go:129 in LogMessage) | "
    "mysql:3c5f2b3e1d0a9f88 | (mysql.py:293) | error!",
    "Traceback (most recent call last):",
    '  File "/opt/x/mysql.py", line 290, in _connect',
    "    db = pymysql.connect(**connection_args)",
    "pymysql.err.OperationalError: (1045, 'Access denied')",
    "2024-05-14 10:03:41 UTC | CORE | INFO | (a.go:1 in f) | next",
]


def test_a_multi_line_traceback_cites_its_first_and_exception_lines():
    tb = scan(TRACEBACK).finding(al.TRACEBACK)
    assert tb is not None and tb.total == 1
    hit = tb.samples.shown()[0]
    assert hit.n == 5 and matched(hit) == "pymysql.err.OperationalError: (1045, 'Access denied')"
    assert hit.check == "mysql"
    assert [c.n for c in hit.context] == [2]
    assert matched(hit.context[0]) == "Traceback (most recent call last):"


def test_chained_tracebacks_end_at_the_last_exception():
    lines = [
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in f',
        "KeyError: 'x'",
    ]
    # Without a chain marker the first exception line ends it.
    assert scan(lines).finding(al.TRACEBACK).samples.shown()[0].n == 3  # type: ignore[union-attr]
    chained = [
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in f',
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "b.py", line 2, in g',
        "ValueError: bad",
    ]
    hit = scan(chained).finding(al.TRACEBACK).samples.shown()[0]  # type: ignore[union-attr]
    assert hit.n == 8 and hit.detail == "ValueError: bad"


def test_a_traceback_cut_off_by_the_end_of_input_is_still_reported():
    tb = scan(TRACEBACK[:4]).finding(al.TRACEBACK)
    assert tb is not None and tb.samples.shown()[0].n == 2 and "cut off" in tb.samples.shown()[0].detail


# --- time window ----------------------------------------------------------------------


def test_the_window_drops_old_records_and_their_continuation_lines():
    old = "2024-05-14 09:00:00 UTC | CORE | ERROR | (pkg/forwarder/worker.go:184 in process) | "
    new = "2024-05-14 10:00:00 UTC | CORE | INFO | (pkg/forwarder/transaction.go:300 in internalProcess) | "
    lines = [
        old + "Error while processing transaction: x: connect: connection refused",
        "Traceback (most recent call last):",
        "  File x",
        "ValueError: old",
        new + 'Successfully posted payload to "https://s/i"',
    ]
    result = scan(lines, window=(utc(2024, 5, 14, 9, 50, 0), utc(2024, 5, 14, 10, 5, 0)))
    assert result.finding(al.REFUSED) is None and result.finding(al.TRACEBACK) is None
    assert result.count(al.SUCCESS) == 1
    assert (result.lines_before_window, result.lines_in_window) == (4, 1)
    assert result.newest_in_window == utc(2024, 5, 14, 10, 0, 0)


def test_lines_in_unknown_zones_are_judged_and_reported():
    line = "2024-05-14 10:00:00 XYZT | CORE | ERROR | (pkg/forwarder/worker.go:184 in process) | " \
           "Error while processing transaction: x: connect: connection refused"
    result = scan([line], window=(0, 1))
    assert result.count(al.REFUSED) == 1 and list(result.undated_zones) == ["XYZT"]


# --- bounded memory and redaction ---------------------------------------------------------


def test_samples_keep_the_first_three_and_last_two_with_the_total():
    line = HEADER + "Error while processing transaction: x: connect: connection refused"
    s = AgentScan()
    for n in range(1, 10_001):
        s.feed(n, line)
    finding = s.finish().finding(al.REFUSED)
    assert finding is not None and finding.total == 10_000
    assert [h.n for h in finding.samples.shown()] == [1, 2, 3, 9_999, 10_000]
    assert finding.samples.latest is not None and finding.samples.latest.n == 10_000


def test_secrets_are_redacted_and_spans_still_point_at_the_match():
    line = (HEADER + "Error while processing transaction: error while sending transaction, rescheduling it: "
            'Post "https://sts.example/stsAgent/intake/?api_key=abcdef0123456789": dial tcp: connect: '
            "connection refused (key s3cr3t-value-42)")
    finding = scan([line], secrets=["s3cr3t-value-42"]).finding(al.REFUSED)
    hit = finding.samples.shown()[0]  # type: ignore[union-attr]
    assert "abcdef0123456789" not in hit.text and "s3cr3t-value-42" not in hit.text
    assert "api_key=<redacted>" in hit.text
    assert matched(hit) == "connection refused"
    assert all("abcdef0123456789" not in d for d in finding.details)  # type: ignore[union-attr]


def test_long_lines_are_cropped_around_the_match():
    line = HEADER + "x" * 5000 + " connect: connection refused " + "y" * 5000 + " transaction"
    hit = scan([line]).finding(al.REFUSED).samples.shown()[0]  # type: ignore[union-attr]
    assert len(hit.text) <= al.DISPLAY_CHARS + 2
    assert matched(hit) == "connection refused" and hit.text.startswith("…") and hit.text.endswith("…")


# --- check output -----------------------------------------------------------------------


def series_lines(*metrics: tuple[str, str]) -> list[str]:
    body = {"series": [{"metric": m, "points": [[1715681005, 1]], "tags": [], "host": "h1", "type": t,
                        "interval": 0, "source_type_name": "System"} for m, t in metrics]}
    return ["=== Series ==="] + json.dumps(body, indent=2).splitlines()


def test_series_names_and_types_are_checked_with_the_receivers_rules():
    lines = series_lines(("mysql.net.connections", "rate"), ("tags.count", "gauge"), ("mysql.q", "histogram"))
    result = scan(lines)
    assert result.series_entries == 3 and set(result.metric_names) == {"mysql.net.connections", "tags.count", "mysql.q"}
    bad = result.finding(al.BAD_NAME).samples.shown()  # type: ignore[union-attr]
    assert [matched(h) for h in bad] == ["tags.count"] and lines[bad[0].n - 1].strip().startswith('"metric"')
    types = result.finding(al.BAD_TYPE).samples.shown()  # type: ignore[union-attr]
    assert [matched(h) for h in types] == ["histogram"]
    assert result.metric_hosts == {"h1": 3}


def test_compact_json_on_one_line_is_read_too():
    body = json.dumps({"series": [{"metric": "a.b", "type": "gauge", "host": "h"},
                                  {"metric": "host.up", "type": "gauge", "host": "h"}]})
    result = scan(["=== Series ===", body])
    assert result.series_entries == 2
    hit = result.finding(al.BAD_NAME).samples.shown()[0]  # type: ignore[union-attr]
    assert hit.n == 2 and matched(hit) == "host.up"


def test_an_empty_series_section_is_zero_samples():
    result = scan(["=== Series ===", "{", '  "series": []', "}", "=========", "Collector", "========="])
    hit = result.finding(al.ZERO_SAMPLES).samples.shown()[0]  # type: ignore[union-attr]
    assert hit.n == 1 and matched(hit) == "=== Series ===" and hit.detail == "empty Series section"


def test_failing_service_checks_are_found_with_their_names():
    body = [{"check": "mysql.can_connect", "host_name": "h", "timestamp": 1, "status": 0, "message": "", "tags": []},
            {"check": "mysql.replication.slave_running", "host_name": "h", "timestamp": 1, "status": 2,
             "message": "IO thread \"stopped\"", "tags": []}]
    lines = ["=== Service Checks ==="] + json.dumps(body, indent=2).splitlines()
    result = scan(lines)
    assert result.service_checks == 2
    hit = result.finding(al.SERVICE_CHECK).samples.shown()[0]  # type: ignore[union-attr]
    assert hit.check == "mysql.replication.slave_running" and matched(hit) == '"status": 2'
    assert hit.detail == 'mysql.replication.slave_running: CRITICAL (IO thread "stopped")'
    assert matched(hit.context[0]) == "mysql.replication.slave_running"


def test_status_blocks_give_samples_errors_and_forwarder_counts():
    lines = [
        "=========", "Collector", "=========", "", "  Running Checks", "  ==============", "",
        "    kubelet (4.1.1)", "    ---------------",
        "      Instance ID: kubelet:d884b5186b651429 [ERROR]",
        "      Metric Samples: Last Run: 0, Total: 1,200",
        "      Error: Unable to detect the kubelet URL automatically.",
        "", "=========", "Forwarder", "=========", "", "  Transactions", "  ============",
        "    Success: 1,024", "    Errors: 3", "", "  API Keys status", "  ===============",
        "    API key ending with zz9x1: API Key invalid",
    ]
    result = scan(lines)
    assert result.shape == "status"
    assert result.check_samples["kubelet"].last_run == 0 and result.check_samples["kubelet"].total == 1200
    err = result.finding(al.CHECK_ERROR).samples.shown()[0]  # type: ignore[union-attr]
    assert err.n == 12 and err.check == "kubelet" and matched(err) == "Unable to detect the kubelet URL automatically."
    assert result.forwarder_counts == {"Success": 1024, "Errors": 3}
    assert result.api_keys == [("zz9x1", False)]
    assert matched(result.finding(al.API_KEY).samples.shown()[0]) == "API Key invalid"  # type: ignore[union-attr]
    assert result.finding(al.ZERO_SAMPLES).samples.shown()[0].n == 11  # type: ignore[union-attr]


def test_shapes_are_told_apart():
    assert scan([]).shape == "empty"
    assert scan(["hello"]).shape == "text"
    assert scan([HEADER + "x"]).shape == "log"
    assert scan(series_lines(("a.b", "gauge"))).shape == "check"


def test_first_cause_is_the_plain_priority_search() -> None:
    """The word guards of first_cause only spare searches: on messages naming any mix of
    causes (and near misses) it finds what trying every one of CAUSES in order finds."""
    import random

    from stsdebug.logs.agent_patterns import CAUSES, first_cause

    pieces = [
        'unsupported protocol scheme ""', "unsupported protocol scheme", "proxyconnect tcp: dial tcp 10.1.1.1:3128",
        "Proxy Authentication Required", "TLS handshake timeout", "DNS Lookup failure: x",
        "lookup sts.example.com on 10.0.0.2:53: no such host", "lookup sts: server misbehaving", "no such host",
        "TLS Handshake failure: bad", "x509: certificate signed by unknown authority", "tls: bad record MAC",
        "certificate has expired", "connect: connection refused", "connect refused", "No connection could be made",
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)", "i/o timeout",
        "timeout awaiting response headers", "no route to host", "network is unreachable",
        "connection reset by peer", "broken pipe", "unexpected EOF", "EOFX", '"', ", dropping it", "Post ",
        '"https://sts.example.com/stsAgent/intake"', "refuse", "lookup", "tls:", "certificate",
    ]
    rng = random.Random(5)
    for _ in range(3000):
        msg = ": ".join(rng.choice(pieces) for _ in range(rng.randrange(1, 5)))
        plain = next(((k, p.search(msg)) for k, p in CAUSES if p.search(msg)), None)
        found = first_cause(msg)
        if plain is None:
            assert found is None, msg
        else:
            assert found is not None and found[0] == plain[0] and found[1].span() == plain[1].span(), msg


def test_hit_init_sets_every_field() -> None:
    """Hit's written-out __init__ must follow its fields."""
    import dataclasses

    from stsdebug.logs.agent_result import Hit

    hit = Hit(1, "x", None)
    assert set(vars(hit)) == {f.name for f in dataclasses.fields(Hit)}
    assert hit == Hit(1, "x", None, None, None, "", ())


def test_has_trigger_is_the_trigger_regex() -> None:
    """has_trigger tests _TRIGGER_RE's alternatives as words: they must stay plain words."""
    import re

    from stsdebug.logs.agent_patterns import _TRIGGER_RE, _TRIGGER_WORDS, has_trigger

    assert all(re.escape(w) == w.replace(" ", "\\ ") for w in _TRIGGER_WORDS)
    for msg in ["", "transactions", "Too many error", "Running check", "API Key invalid", "x protocol scheme y",
                "Successfully posted payload", "nothing here", "TLS handshake", "DNS Lookup failure"]:
        assert has_trigger(msg) == bool(_TRIGGER_RE.search(msg)), msg
