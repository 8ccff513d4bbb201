"""StackState receiver logs: the public names of the parser (``stsdebug.logs.receiver_*``).

Kept so that ``from stsdebug.receiverlog import ...`` goes on working; new code imports
from the modules in ``stsdebug.logs`` directly.
"""

from __future__ import annotations

from stsdebug.logs.receiver_format import (
    HEADER_START,
    Clock,
    Header,
    describe_tz,
    parse_header,
    parse_tz,
)
from stsdebug.logs.receiver_patterns import (
    CATEGORY_TITLES,
    LEVELS_CLASSIFIED,
    PATTERNS,
    Classified,
    Pattern,
    classify,
    normalize_reason,
)
from stsdebug.logs.receiver_result import (
    MAX_REASONS,
    OTHER_REASONS,
    PARTS,
    SAMPLES_HEAD,
    SAMPLES_TAIL,
    Bucket,
    ReasonStat,
    Sample,
    SampleLine,
    ScanResult,
    SourceStats,
    materialize,
)
from stsdebug.logs.receiver_scan import (
    CHUNK,
    MAX_CARRY,
    MAX_LINE_BYTES,
    Scanner,
    find_all,
    find_entry_start,
    parse_entries,
    scan_bytes,
)
from stsdebug.logs.text import LINE_TEXT_CAP, clean

__all__ = [
    "CATEGORY_TITLES", "CHUNK", "HEADER_START", "LEVELS_CLASSIFIED", "LINE_TEXT_CAP", "MAX_CARRY",
    "MAX_LINE_BYTES", "MAX_REASONS", "OTHER_REASONS", "PARTS", "PATTERNS", "SAMPLES_HEAD",
    "SAMPLES_TAIL", "Bucket", "Classified", "Clock", "Header", "Pattern", "ReasonStat", "Sample",
    "SampleLine", "ScanResult", "Scanner", "SourceStats", "classify", "clean", "describe_tz",
    "find_all", "find_entry_start", "materialize", "normalize_reason", "parse_entries",
    "parse_header", "parse_tz", "scan_bytes",
]
