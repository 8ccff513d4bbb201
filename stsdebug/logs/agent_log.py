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
    _DROPPED_RE,
    _FORWARDER_CONTEXT_RE,
    _GIVING_UP_RE,
    _HTTP_ERROR_RE,
    _PY_FILE_RE,
    _REJECTED_RE,
    _RUNNING_RE,
    _SEND_ERROR_RE,
    _SUCCESS_RE,
    _TX_FAILED_RE,
    _TX_SENT_RE,
    API_KEY,
    BATCHER,
    BLOCKED,
    CHECK_ERROR,
    CHECK_RAN,
    DROPPED,
    HTTP_ERROR,
    REJECTED,
    SEND_ERROR,
    SUCCESS,
    _error_of_json,
    _first_line,
    _url_of,
    first_cause,
    has_trigger,
)

_PY_BODY_RE = re.compile(r"[^|]*\| (?:\([^)]*\) \| )?")  # a Python check message's prefix
_NOTHING = ("",)  # a message that is no finding
_MESSAGES_MAX = 4096  # messages remembered (a log's distinct forwarder messages are few)


class LogRecords(ScanState):
    """Classifies one agent log record (a line with the agent's header)."""

    remember_messages = True  # False: judge every message afresh (the differential test's reference)

    def _record(self, n: int, text: str, rec: LogRecord) -> None:
        msg = text[rec.msg_start :]
        if not self.remember_messages or rec.check is not None or msg[:1] == "(" or "unning check" in msg:
            self._judge_record(n, text, rec)
            return
        # No check involved: what the line is depends on its message, level and whether the
        # forwarder logged it, nothing else. A message seen before (agents repeat theirs) is
        # not read again: its finding (kind, span in the message, detail) is remembered.
        key = (msg, rec.level, "forwarder" in rec.location or "batcher" in rec.location)
        known = self._messages.get(key)
        if known is None:
            self._added = []
            try:
                self._judge_record(n, text, rec)
            finally:
                added, self._added = self._added, None
            one = added[0] if len(added) == 1 else None
            if not added:
                known = _NOTHING
            elif one is not None and one[1] is not None and not one[4]:
                s0, s1 = one[1]
                known = (one[0], s0 - rec.msg_start, s1 - rec.msg_start, one[2], one[3])
            else:
                return  # not remembered: more than one finding, or one without a span
            if len(self._messages) >= _MESSAGES_MAX:
                self._messages.clear()
            self._messages[key] = known
            return
        if known is not _NOTHING:
            kind, s0, s1, detail, check = known
            self._add(kind, n, text, (rec.msg_start + s0, rec.msg_start + s1), ts=rec.ts, check=check,
                      detail=detail)

    def _judge_record(self, n: int, text: str, rec: LogRecord) -> None:
        start = rec.msg_start
        msg = text[start:]
        check = rec.check
        if check is None and msg[:1] == "(":
            check = self._python_check(msg)
            self._record_check = check
        if check:
            self._saw_check(check, n)
        if not has_trigger(msg) and not (check and rec.level in ("ERROR", "CRITICAL", "CRIT")):
            return
        ts = rec.ts
        if check != rec.check:
            rec = rec._replace(check=check)

        # Each pattern below needs its literal words: a substring test (tens of nanoseconds)
        # spares the regex search (about a microsecond on a forwarder line) where they are absent.
        def span(m: re.Match[str], group: str | int = 0) -> tuple[int, int]:
            return (start + m.start(group), start + m.end(group))

        m = _CHECK_ERROR_RE.search(msg) if 'Error running check' in msg else None
        if m:
            check = m.group("name") or rec.check
            self._saw_check(check, n)
            self._run_error(check)
            self._add(CHECK_ERROR, n, text, span(m, "msg"), ts=ts, check=check,
                      detail=_error_of_json(m.group("msg")))
            return
        m = _RUNNING_RE.search(msg) if 'unning check' in msg else None
        if m and "forwarder" not in rec.location:
            check = m.group("name") or rec.check
            self._saw_check(check, n)
            self._running = None if m.group("done") == "Done r" else check
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
        m = _API_KEY_RE.search(msg) if 'API Key invalid' in msg else None
        if m:
            self._add(API_KEY, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        m = _REJECTED_RE.search(msg) if 'Error code "' in msg else None
        if m:
            status = m.group("status")
            body = m.group("body").strip() or "(no message from the receiver)"
            body_span = span(m, "body") if m.group("body").strip() else span(m, "status")
            self._add(REJECTED, n, text, body_span, ts=ts, detail=f"{status}: {body}")
            return
        m = _SUCCESS_RE.search(msg) if 'Successfully posted payload' in msg else None
        if m:
            self._add(SUCCESS, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        m = _TX_SENT_RE.search(msg) if 'Sent transactional payload' in msg else None
        if m:
            # A 4xx answer is no error for go-retryablehttp: even a refused key logs this line.
            self._add(SUCCESS, n, text, span(m), ts=ts, detail="transactional forwarder")
            return
        m = _TX_FAILED_RE.search(msg) if 'Sending transactional payload failed' in msg else None
        if m:
            self._transactional_failure(n, text, start, msg, ts)
            return
        m = _DROPPED_RE.search(msg) if 'retry attempt' in msg else None
        if m:
            self._add(DROPPED, n, text, span(m), ts=ts, detail=f"{m.group('full')}/{m.group('busy')}/{m.group('limit')}")
            return
        m = _BLOCKED_RE.search(msg) if 'Too many errors for endpoint' in msg else None
        if m:
            self._add(BLOCKED, n, text, span(m), ts=ts, detail=m.group("url"))
            return
        forwarder = "forwarder" in rec.location or "batcher" in rec.location
        if forwarder or _FORWARDER_CONTEXT_RE.search(msg):
            m = _HTTP_ERROR_RE.search(msg) if 'while sending transaction to' in msg else None
            if m:
                self._add(HTTP_ERROR, n, text, span(m, "status"), ts=ts, detail=m.group("status"))
                return
            cause = first_cause(msg)
            if cause:
                self._add(cause[0], n, text, span(cause[1]), ts=ts, detail=_url_of(msg))
                return
            m = _BATCHER_RE.search(msg) if 'error in SendJSONToV1Intake' in msg else None
            if m:
                self._add(BATCHER, n, text, span(m, "detail"), ts=ts, detail=_first_line(m.group("detail")))
                return
            m = _SEND_ERROR_RE.search(msg) if 'Error while processing transaction' in msg else None
            if m and rec.level in ("ERROR", "WARN", "WARNING", "CRITICAL", "CRIT"):
                self._add(SEND_ERROR, n, text, span(m, "detail"), ts=ts, detail=_first_line(m.group("detail")))
                return
            return
        if rec.check and rec.level in ("ERROR", "CRITICAL", "CRIT"):
            # A Python check's own error message: `mysql:1a2b... | (mysql.py:239) | ...`.
            body = _PY_BODY_RE.match(msg)
            b = body.end() if body else 0
            self._add(CHECK_ERROR, n, text, (start + b, len(text)), ts=ts, check=rec.check,
                      detail=_first_line(msg[b:]))
            self._run_error(rec.check)

    def _transactional_failure(self, n: int, text: str, start: int, msg: str, ts: float | None) -> None:
        """A failed transactional post, whatever the cause; the cause is read after the payload."""
        g = _GIVING_UP_RE.search(msg)
        tail_at = g.start("cause") if g else max(msg.rfind("}. "), msg.rfind("]. ")) + 3
        tail = msg[tail_at:] if tail_at > 2 else msg
        offset = start + (tail_at if tail_at > 2 else 0)
        url = _url_of(msg[g.start():]) if g else _url_of(tail)
        if g and not url:
            url = g.group("url")
        self.cause(n, text, offset, tail, ts, url)

    def cause(self, n: int, text: str, offset: int, tail: str, ts: float | None, url: str) -> None:
        """A failed post: the kind its cause names (CAUSES), else a send error quoting it."""
        found = first_cause(tail)
        if found:
            kind, c = found
            self._add(kind, n, text, (offset + c.start(), offset + c.end()), ts=ts, detail=url)
            return
        self._add(SEND_ERROR, n, text, (offset, offset + len(tail)), ts=ts, detail=_first_line(tail))

    def _python_check(self, msg: str) -> str | None:
        """The check a ``(file.py:N) | msg`` line speaks for: the check running around it
        (between its "Running check" and "Done running check"), else the file's name."""
        m = _PY_FILE_RE.match(msg)
        if m is None:
            return None
        stem = m.group("file")
        if stem in self.checks_seen or self._running is None:
            return stem
        return self._running

    def _run_error(self, check: str | None) -> None:
        runs = self._runs(check)
        if runs is not None:
            runs.errors += 1
            runs.failing = True

    # -- plain lines: tracebacks, check and status output ------------------------------

