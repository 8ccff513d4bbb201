"""Agent log records: forwarder, transactional forwarder and check messages."""

from __future__ import annotations

import re

from stsdebug.logs.agent_base import ScanState
from stsdebug.logs.agent_format import LogRecord
from stsdebug.logs.agent_patterns import (
    _API_KEY_RE,
    _BATCHER_RE,
    _BLOCKED_RE,
    _CHECK_ERROR_RE,
    _FORWARDER_CONTEXT_RE,
    _HTTP_ERROR_RE,
    _REJECTED_RE,
    _RUNNING_RE,
    _SEND_ERROR_RE,
    _SUCCESS_RE,
    _TRIGGER_RE,
    API_KEY,
    BATCHER,
    BLOCKED,
    CAUSES,
    CHECK_ERROR,
    CHECK_RAN,
    HTTP_ERROR,
    REJECTED,
    SEND_ERROR,
    SUCCESS,
    _error_of_json,
    _first_line,
    _url_of,
)


class LogRecords(ScanState):
    """Classifies one agent log record (a line with the agent's header)."""

    def _record(self, n: int, text: str, rec: LogRecord) -> None:
        start = rec.msg_start
        msg = text[start:]
        if rec.check:
            self._saw_check(rec.check, n)
        if not _TRIGGER_RE.search(msg) and not (rec.check and rec.level in ("ERROR", "CRITICAL", "CRIT")):
            return
        ts = rec.ts

        def span(m: re.Match[str], group: str | int = 0) -> tuple[int, int]:
            return (start + m.start(group), start + m.end(group))

        m = _CHECK_ERROR_RE.search(msg)
        if m:
            check = m.group("name") or rec.check
            self._saw_check(check, n)
            self._run_error(check)
            self._add(CHECK_ERROR, n, text, span(m, "msg"), ts=ts, check=check,
                      detail=_error_of_json(m.group("msg")))
            return
        m = _RUNNING_RE.search(msg)
        if m and "forwarder" not in rec.location:
            check = m.group("name") or rec.check
            self._saw_check(check, n)
            runs = self._runs(check)
            if runs is not None:
                if m.group("done") == "Done r":
                    if not runs.failing:
                        runs.clean += 1
                        runs.last_clean_n = n
                    runs.failing = False
                else:
                    runs.runs += 1
                    runs.failing = False
            self._add(CHECK_RAN, n, text, span(m), ts=ts, check=check,
                      detail="done" if m.group("done") == "Done r" else "started")
            return
        m = _API_KEY_RE.search(msg)
        if m:
            self._add(API_KEY, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        m = _REJECTED_RE.search(msg)
        if m:
            status = m.group("status")
            body = m.group("body").strip() or "(no message from the receiver)"
            body_span = span(m, "body") if m.group("body").strip() else span(m, "status")
            self._add(REJECTED, n, text, body_span, ts=ts, detail=f"{status}: {body}")
            return
        m = _SUCCESS_RE.search(msg)
        if m:
            self._add(SUCCESS, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        m = _BLOCKED_RE.search(msg)
        if m:
            self._add(BLOCKED, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        forwarder = "forwarder" in rec.location or "batcher" in rec.location
        if forwarder or _FORWARDER_CONTEXT_RE.search(msg):
            m = _HTTP_ERROR_RE.search(msg)
            if m:
                self._add(HTTP_ERROR, n, text, span(m, "status"), ts=ts, detail=m.group("status"))
                return
            for kind, pattern in CAUSES:
                c = pattern.search(msg)
                if c:
                    self._add(kind, n, text, span(c), ts=ts, detail=_url_of(msg))
                    return
            m = _BATCHER_RE.search(msg)
            if m:
                self._add(BATCHER, n, text, span(m, "detail"), ts=ts, detail=_first_line(m.group("detail")))
                return
            m = _SEND_ERROR_RE.search(msg)
            if m and rec.level in ("ERROR", "WARN", "WARNING", "CRITICAL", "CRIT"):
                self._add(SEND_ERROR, n, text, span(m, "detail"), ts=ts, detail=_first_line(m.group("detail")))
                return
            return
        if rec.check and rec.level in ("ERROR", "CRITICAL", "CRIT"):
            # A Python check's own error message: `mysql:1a2b... | (mysql.py:239) | ...`.
            body = re.match(r"[^|]*\| (?:\([^)]*\) \| )?", msg)
            b = body.end() if body else 0
            self._add(CHECK_ERROR, n, text, (start + b, len(text)), ts=ts, check=rec.check,
                      detail=_first_line(msg[b:]))
            self._run_error(rec.check)

    def _run_error(self, check: str | None) -> None:
        runs = self._runs(check)
        if runs is not None:
            runs.errors += 1
            runs.failing = True

    # -- plain lines: tracebacks, check and status output ------------------------------

