"""The agent scanner: one input (log, check output, status output or a command's output)
line by line, each line handed to the parser for its kind. Pure.

:class:`AgentScan` keeps, per kind of finding, the first and last few lines plus a total,
so memory stays flat for any input size.
"""

from __future__ import annotations

import re

from stsdebug.logs.agent_check import CheckOutput
from stsdebug.logs.agent_format import json_record_text, parse_line, strip_syslog_prefix
from stsdebug.logs.agent_log import LogRecords
from stsdebug.logs.agent_patterns import (
    _CHECK_ERROR_RE,
    _COLLECTOR_BLOCKS,
    _FORWARDER_BLOCKS,
    _RETRYABLE_FAILED_RE,
    _RETRYABLE_RE,
    _RETRYABLE_STATUS_RE,
    _RUNNING_RE,
    _SECTION_RE,
    _TITLE_RE,
    HTTP_ERROR,
    JSON_SECTIONS,
)
from stsdebug.logs.agent_result import Hit, ScanResult
from stsdebug.logs.agent_status import StatusOutput
from stsdebug.logs.text import strip_ansi

# agent 2.19.1 cmd/agent/app/run.go: "Starting Datadog Agent v%s" (StackState's fork kept it);
# later agents: "Starting StackState Agent v%s".
_NOT_SYSLOG = frozenset(" \t{[=-")  # continuation, JSON and section lines: no prefix to strip
_AGENT_START_RE = re.compile(r"Starting (?:Datadog|StackState) Agent\b")


class AgentScan(LogRecords, CheckOutput, StatusOutput):
    """Feed lines in order (``feed(n, text)``), then ``finish()`` for a :class:`ScanResult`.

    ``window`` (start, end epoch seconds) limits what is judged to log records dated
    inside it; lines that continue a record share its date, and lines with no date at
    all are judged. ``secrets`` are replaced in every quoted line, on top of the
    patterns in stsdebug.redact, before match spans are computed.
    """


    def feed(self, n: int, text: str) -> None:
        self.lines += 1
        if "\x1b" in text:
            text = strip_ansi(text)
        if text[:9] == '{"agent":':  # log_format_json: read as the default layout
            text = json_record_text(text) or text
        rec = parse_line(text) if text[:1].isdigit() else None  # a continuation: no call
        if rec is None and text[:1] not in _NOT_SYSLOG:
            body = strip_syslog_prefix(text)
            if body is not text:  # no prefix, the same text: parse_line said None already
                text = body
                rec = parse_line(text)
                if text[:9] == '{"agent":':
                    text = json_record_text(text) or text
                    rec = parse_line(text)
        if rec is not None:
            ts = rec.ts
            if rec.level and self._tb is not None:  # a new record ends an open traceback
                self._close_traceback()
            if ts is None and rec.level:
                self.undated_zones.note(rec.tz)
            if ts is not None:
                # _date written out (a call per record spared): the oldest and newest dates.
                if self.oldest is None or ts < self.oldest:
                    self.oldest = ts
                if self.newest is None or ts > self.newest:
                    self.newest = ts
                if self.window is not None and not (self.window[0] <= ts <= self.window[1]):
                    self._skipping = True
                    self._skipped_before = ts < self.window[0]
                    if self._skipped_before:
                        self.before += 1
                        if self.note_earlier and ("unning check" in text or "Starting " in text):
                            self.earlier_run(n, text)
                    else:
                        self.after += 1
                    return
            self._skipping = False
            self.in_window += 1
            if not rec.level:  # a container-prefixed line without the agent header
                self._plain(n, text, text[rec.msg_start :], rec.ts)
                return
            self.log_lines += 1
            self.components.note(rec.component)
            if ts is not None and (self.newest_in is None or ts > self.newest_in):
                self.newest_in = ts
            self._record_check = rec.check
            self._record(n, text, rec)
            return
        if self._skipping:
            # A continuation of a record dated outside the window.
            if self._skipped_before:
                self.before += 1
            else:
                self.after += 1
            return
        self.in_window += 1
        self._plain(n, text, text, None)

    def earlier_run(self, n: int, text: str) -> None:
        """A check's run reported before the window: not judged, but remembered, since a
        healthy agent stops logging its check runs after the first five."""
        rec = parse_line(text)
        if rec is None or not rec.level:
            return
        msg = text[rec.msg_start :]
        if _AGENT_START_RE.match(msg):
            # A restart: what the agent ran before it says nothing about what it runs now.
            self.ran_before.clear()
            self._failing_before.clear()
            return
        m = _CHECK_ERROR_RE.search(msg)
        if m:
            name = m.group("name") or rec.check
            if name:
                self._failing_before.add(name)
                self.ran_before.pop(name, None)
            return
        m = _RUNNING_RE.search(msg)
        name = (m.group("name") or rec.check) if m else None
        if m is None or not name:
            return
        if m.group("done") != "Done r":
            self._failing_before.discard(name)
        elif name not in self._failing_before and (name in self.ran_before or len(self.ran_before) < 500):
            self.ran_before[name] = (n, rec.ts)

    def finish(self) -> ScanResult:
        self._close_traceback()
        self._end_section()
        self._close_sc()
        for finding in self.findings.values():
            finding.samples.map(self._display)
            finding.details = self._redacted_details(finding.details)
        return ScanResult(
            findings=self.findings,
            lines=self.lines,
            lines_in_window=self.in_window,
            lines_before_window=self.before,
            lines_after_window=self.after,
            log_lines=self.log_lines,
            components=self.components,
            undated_zones=self.undated_zones,
            oldest_ts=self.oldest,
            newest_ts=self.newest,
            newest_in_window=self.newest_in,
            shape=self._shape(),
            checks_seen=self.checks_seen,
            check_samples=self.check_samples,
            check_runs=self.check_runs,
            metric_names=self.metric_names,
            metric_hosts=self.metric_hosts,
            series_entries=self.series_entries,
            series_sections=self.series_sections,
            service_checks=self.service_checks,
            events=self.events,
            forwarder_counts=self.forwarder_counts,
            api_keys=self.api_keys,
            raw_metrics=self.raw_metrics,
            raw_points=self.raw_points,
            topology_payloads=self.topology_payloads,
            ran_before=self.ran_before,
        )

    # -- helpers ----------------------------------------------------------------------


    def _retryable(self, n: int, text: str, offset: int, msg: str, ts: float | None) -> None:
        """go-retryablehttp's own lines: a failed request (its cause), or an HTTP status it retries."""
        m = _RETRYABLE_FAILED_RE.match(msg)
        if m is not None:
            at = m.start("cause")
            self.cause(n, text, offset + at, m.group("cause"), ts, m.group("url"))
            return
        m = _RETRYABLE_STATUS_RE.match(msg)
        if m is not None:
            self._add(HTTP_ERROR, n, text, (offset + m.start("status"), offset + m.end("status")), ts=ts,
                      detail=m.group("status"))

    def _shape(self) -> str:
        if self.lines == 0:
            return "empty"
        if self._blocks_seen & _FORWARDER_BLOCKS or self.api_keys:
            return "status"
        if self._sections_seen or self._run_once_seen or self._instances_seen:
            return "check"
        return "log" if self.log_lines else "text"

    # -- log records ------------------------------------------------------------------


    def _plain(self, n: int, text: str, body: str, ts: float | None) -> None:
        if body[:2] == "20" and body[4:5] == "/":
            r = _RETRYABLE_RE.match(body)
            if r is not None:
                self._retryable(n, text, len(text) - len(body) + r.start("msg"), r.group("msg"), ts)
                return
        stripped = body.strip()
        if self._tb is not None and self._traceback_line(n, text, body, stripped):
            return
        if stripped.startswith("Traceback (most recent call last)"):
            i = text.index("Traceback")
            check = self._block_check if self._block in _COLLECTOR_BLOCKS else self._record_check
            start = Hit(n, text, (i, i + len("Traceback (most recent call last):")), ts, check)
            self._tb = {"start": start, "indent": len(body) - len(body.lstrip()), "frames": 0}
            self._prev = stripped
            return
        sec = _SECTION_RE.match(stripped)
        if sec:
            self._end_section()
            self._sections_seen += 1
            self._section = sec.group("name").lower()
            i = text.index("===")
            self._section_hit = Hit(n, text, (i, i + len(stripped)))
            self._section_entries = 0
            self._block = None
            if self._section == "series":
                self.series_sections += 1
            self._prev = stripped
            return
        if stripped and stripped.strip("=") == "" and len(stripped) >= 3:
            if _TITLE_RE.match(self._prev) and self._prev.strip("=") != "":
                self._end_section()
                self._start_block(self._prev.lower())
            self._prev = stripped
            return
        if self._section == "topology":
            self._topology_line(n, text)
        elif self._section in JSON_SECTIONS:
            self._json_line(n, text)
        elif self._section is None:
            self._status_line(n, text, stripped)
        if stripped.startswith("Check has run only once"):
            self._run_once_seen = True
        self._prev = stripped

