"""The state an agent scan carries from line to line, and the helpers every parser uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from stsdebug.logs.agent_result import (
    DISPLAY_CHARS,
    BoundedCounter,
    CheckRuns,
    CheckSamples,
    Finding,
    Hit,
    _crop,
    _keep,
    _redact_with_span,
)
from stsdebug.redact import Redactor


class ScanState:
    """Everything the parsers of one input share (see :class:`stsdebug.logs.agent_scan.AgentScan`)."""

    def __init__(
        self,
        *,
        window: tuple[float, float] | None = None,
        secrets: Iterable[str] = (),
        name_problem: Callable[[str], str | None] | None = None,
        type_problem: Callable[[str], str | None] | None = None,
    ) -> None:
        self.window = window
        self._redactor = Redactor(secrets)
        self._name_problem = name_problem
        self._type_problem = type_problem
        self.findings: dict[str, Finding] = {}
        self.lines = 0
        self.in_window = 0
        self.before = 0
        self.after = 0
        self.log_lines = 0
        self.components = BoundedCounter(20)
        self._detail_cache: dict[str, str] = {}
        self.undated_zones = BoundedCounter(20)
        self.oldest: float | None = None
        self.newest: float | None = None
        self.newest_in: float | None = None
        self.checks_seen: dict[str, int] = {}
        self.check_samples: dict[str, CheckSamples] = {}
        self.check_runs: dict[str, CheckRuns] = {}
        self.ran_before: dict[str, tuple[int, float | None]] = {}  # see ScanResult.ran_before
        self._failing_before: set[str] = set()
        self.note_earlier = True  # off while a chunk reader, which found them itself, feeds lines
        self.metric_names = BoundedCounter()
        self.metric_hosts = BoundedCounter(200)
        self.series_entries = 0
        self.series_sections = 0
        self.service_checks = 0
        self.events = 0
        self.forwarder_counts: dict[str, int] = {}
        self.api_keys: list[tuple[str, bool | None]] = []
        self.raw_metrics = BoundedCounter()
        self.raw_points = 0
        self.topology_payloads = 0
        self._topology: list[str] = []  # the Topology section's lines, parsed when it ends
        self._topology_bytes = 0
        self._topology_hit: Hit | None = None
        self._checked_names: dict[str, tuple[str | None, str | None]] = {}
        # Findings of log messages by (message, level, forwarder?): see LogRecords._record.
        self._messages: dict[tuple[str, str, bool], tuple[Any, ...]] = {}
        self._added: list[tuple[str, tuple[int, int] | None, str, str | None, tuple[Hit, ...]]] | None = None
        # state
        self._skipping = False  # inside a record dated outside the window
        self._skipped_before = False  # ... and that record was before it (else after)
        self._record_check: str | None = None
        self._running: str | None = None  # the check between its "Running check" and "Done" lines
        self._prev = ""  # previous stripped plain line
        self._section: str | None = None  # a === JSON === section
        self._section_hit: Hit | None = None
        self._section_entries = 0
        self._block: str | None = None  # a status-style block (Collector, Forwarder, ...)
        self._blocks_seen: set[str] = set()
        self._block_check: str | None = None
        self._block_error_done: set[str] = set()
        self._metric_open = False
        self._metric_typed = False
        self._sc: dict[str, object] | None = None  # pending service check
        self._json_check: str | None = None
        self._tb: dict[str, object] | None = None  # open traceback
        self._sections_seen = 0
        self._run_once_seen = False
        self._instances_seen = 0

    # -- entry points ---------------------------------------------------------------


    def _add(
        self,
        kind: str,
        n: int,
        text: str,
        span: tuple[int, int] | None,
        *,
        ts: float | None = None,
        check: str | None = None,
        detail: str = "",
        context: tuple[Hit, ...] = (),
    ) -> None:
        if self._added is not None:
            self._added.append((kind, span, detail, check, context))
        finding = self.findings.get(kind)
        if finding is None:
            finding = self.findings[kind] = Finding(kind)
        text, span = _keep(text, span)
        finding.samples.add(Hit(n, text, span, ts, check, detail, context))
        if detail:
            finding.details.note(detail[:300])  # redacted once, when the scan finishes
        if check:
            finding.checks.note(check)

    def _redacted_details(self, details: BoundedCounter) -> BoundedCounter:
        out = BoundedCounter(details.limit)
        out.dropped = details.dropped
        for key, count in details.items():
            out[self._redacted(key)] += count
        return out

    def _redacted(self, text: str) -> str:
        out = self._detail_cache.get(text)
        if out is None:
            out = self._redactor.text(text)
            if len(self._detail_cache) < 1000:
                self._detail_cache[text] = out
        return out

    def _runs(self, name: str | None) -> CheckRuns | None:
        if not name:
            return None
        runs = self.check_runs.get(name)
        if runs is None and len(self.check_runs) < 500:
            runs = self.check_runs[name] = CheckRuns(name)
        return runs

    def _saw_check(self, name: str | None, n: int) -> None:
        if name and name not in self.checks_seen and len(self.checks_seen) < 500:
            self.checks_seen[name] = n

    def _display(self, hit: Hit) -> Hit:
        """Redact, then cut to DISPLAY_CHARS around the match (spans follow the text)."""
        text, span = _redact_with_span(self._redactor, hit.text, hit.span)
        text, span = _crop(text, span, DISPLAY_CHARS)
        context = tuple(self._display(c) for c in hit.context)
        detail = self._redacted(hit.detail) if hit.detail else ""
        return Hit(hit.n, text, span, hit.ts, hit.check, detail, context)

