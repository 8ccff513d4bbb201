"""``stackstate-agent status`` output: the Collector and Forwarder blocks."""

from __future__ import annotations

import re

from stsdebug.logs.agent_base import ScanState
from stsdebug.logs.agent_patterns import (
    _API_KEY_STATUS_RE,
    _COLLECTOR_BLOCKS,
    _COUNT_RE,
    _ERROR_BLOCKS,
    _ERROR_LINE_RE,
    _ERROR_TYPE_KEYS,
    _FORWARDER_BLOCKS,
    _INSTANCE_RE,
    _NTP_HIGH_RE,
    _NTP_OFFSET_RE,
    _SAMPLES_RE,
    API_KEY,
    API_KEY_UNCHECKED,
    CHECK_ERROR,
    CHECK_RAN,
    CLOCK_OFF,
    STATUS_ERRORS,
    STATUS_POSTED,
    ZERO_SAMPLES,
    _first_line,
    _int,
)
from stsdebug.logs.agent_result import CheckSamples


class StatusOutput(ScanState):
    """Status-style blocks (also the status block that ends check output)."""

    _ntp_offset: str = ""  # the Clocks block's "NTP offset: ..." (said before "is high")

    def _start_block(self, title: str) -> None:
        self._blocks_seen.add(title)
        self._block = title
        if title in ("collector", "forwarder"):
            self._block_check = None

    def _status_line(self, n: int, text: str, stripped: str) -> None:
        block = self._block
        if block == "clocks":
            m = _NTP_OFFSET_RE.match(text)
            if m:
                self._ntp_offset = m.group("offset")
                return
            m = _NTP_HIGH_RE.search(text)
            if m:
                self._add(CLOCK_OFF, n, text, (m.start(), m.end()),
                          detail=self._ntp_offset or "high")
            return
        if block in _COLLECTOR_BLOCKS or block is None:
            if stripped and stripped.strip("-") == "" and len(stripped) >= 3 and self._prev:
                # "    mysql (1.4.0)" over a line of dashes names the check block.
                name = self._prev.split(" ")[0]
                if re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                    self._block_check = name
                return
            m = _INSTANCE_RE.search(text)
            if m:
                self._instances_seen += 1
                self._block_check = m.group("name")
                self._saw_check(self._block_check, n)
                state = m.group("state")
                self._add(CHECK_RAN, n, text, (m.start("state") - 1, m.end("state") + 1),
                          check=self._block_check, detail=state)
                return
            m = _SAMPLES_RE.search(text)
            if m:
                last, total = _int(m.group("last")), _int(m.group("total"))
                named = self._block_check or "?"
                self.check_samples[named] = CheckSamples(named, last, total, n)
                if last == 0:
                    self._add(ZERO_SAMPLES, n, text, (m.start(), m.end("last")), check=named,
                              detail="Metric Samples: Last Run: 0")
                return
            m = _ERROR_LINE_RE.match(text)
            if m:
                msg = m.group("msg")
                check = self._block_check
                cm = re.match(r"(?:invalid config for|could not load) (?P<name>[A-Za-z0-9_.-]+)", msg)
                if cm:
                    check = cm.group("name")
                self._add(CHECK_ERROR, n, text, (m.start("msg"), m.end("msg")), check=check,
                          detail=_first_line(msg))
                if check:
                    self._block_error_done.add(check)
                return
            if block in _ERROR_BLOCKS and stripped and self._block_check and text[:1] == " ":
                if self._block_check not in self._block_error_done:
                    self._block_error_done.add(self._block_check)
                    i = len(text) - len(text.lstrip())
                    self._add(CHECK_ERROR, n, text, (i, len(text.rstrip())),
                              check=self._block_check, detail=stripped[:300])
                return
        if block in _FORWARDER_BLOCKS:
            m = _API_KEY_STATUS_RE.search(text)
            if m:
                if m.group("word") is None:
                    # "Unable to validate API Key": the validation call failed; the key may be fine.
                    self.api_keys.append((m.group("end")[-5:], None))
                    self._add(API_KEY_UNCHECKED, n, text, (m.start("state"), m.end("state")), detail="status")
                    return
                valid = m.group("word").lower() == "valid"
                self.api_keys.append((m.group("end")[-5:], valid))
                if not valid:
                    self._add(API_KEY, n, text, (m.start("state"), m.end("state")), detail="status")
                return
            m = _COUNT_RE.match(text)
            if m:
                key, value = m.group("key").strip(), _int(m.group("value"))
                if block == "transaction successes" and key == "Total number":
                    key = "Success"
                elif block == "transaction errors" and key == "Total number":
                    key = "Errors"
                if key in ("Success", "Errors", "Dropped", "DroppedOnInput", "Requeued", "Retried",
                           "RetryQueueSize") or (
                    key in _ERROR_TYPE_KEYS or key.isdigit()
                ):
                    self.forwarder_counts[key] = self.forwarder_counts.get(key, 0) + value
                    span = (m.start("key"), m.end("value"))
                    if key == "Success" and value > 0:
                        self._add(STATUS_POSTED, n, text, span, detail=str(value))
                    elif value > 0 and (key == "Errors" or key in _ERROR_TYPE_KEYS or key.isdigit()):
                        self._add(STATUS_ERRORS, n, text, span, detail=key)

    # -- JSON sections -------------------------------------------------------------------

