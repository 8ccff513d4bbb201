"""The StackState Agent's output: the public names of the parser (``stsdebug.logs.agent_*``).

Kept so that ``from stsdebug.agentlog import ...`` goes on working; new code imports
from the modules in ``stsdebug.logs`` directly.
"""

from __future__ import annotations

from stsdebug.logs.agent_format import (
    TZ_OFFSETS_H,
    LogRecord,
    parse_line,
    parse_timestamp,
    tz_offset_seconds,
)
from stsdebug.logs.agent_patterns import (
    API_KEY,
    BAD_NAME,
    BAD_TYPE,
    BATCHER,
    BLOCKED,
    CAUSES,
    CHECK_ERROR,
    CHECK_RAN,
    CONNECTIVITY_KINDS,
    DELIVERY_KINDS,
    DNS,
    HTTP_ERROR,
    JSON_SECTIONS,
    NETWORK,
    REFUSED,
    REJECTED,
    SEND_ERROR,
    SERVICE_CHECK,
    SERVICE_CHECK_STATUS,
    STATUS_ERRORS,
    STATUS_POSTED,
    SUCCESS,
    TIMEOUT,
    TLS,
    TRACEBACK,
    ZERO_SAMPLES,
)
from stsdebug.logs.agent_result import (
    DISPLAY_CHARS,
    DISTINCT_LIMIT,
    HEAD,
    TAIL,
    BoundedCounter,
    CheckRuns,
    CheckSamples,
    Finding,
    Hit,
    Samples,
    ScanResult,
)
from stsdebug.logs.agent_scan import AgentScan
from stsdebug.logs.text import strip_ansi

__all__ = [
    "API_KEY", "BAD_NAME", "BAD_TYPE", "BATCHER", "BLOCKED", "CAUSES", "CHECK_ERROR", "CHECK_RAN",
    "CONNECTIVITY_KINDS", "DELIVERY_KINDS", "DISPLAY_CHARS", "DISTINCT_LIMIT", "DNS", "HEAD",
    "HTTP_ERROR", "JSON_SECTIONS", "NETWORK", "REFUSED", "REJECTED", "SEND_ERROR", "SERVICE_CHECK",
    "SERVICE_CHECK_STATUS", "STATUS_ERRORS", "STATUS_POSTED", "SUCCESS", "TAIL", "TIMEOUT", "TLS",
    "TRACEBACK", "TZ_OFFSETS_H", "ZERO_SAMPLES", "AgentScan", "BoundedCounter", "CheckRuns",
    "CheckSamples", "Finding", "Hit", "LogRecord", "Samples", "ScanResult", "parse_line",
    "parse_timestamp", "strip_ansi", "tz_offset_seconds",
]
