"""Stage `agent`: does the StackState Agent collect the integration's data, and post it?

Inputs, any combination (read through stsdebug.sources.agent):

- ``--agent-output FILE``: saved ``stackstate-agent check <check> -l debug`` or
  ``stackstate-agent status`` output (a snapshot: the time window does not apply);
- ``--agent-log FILE``: the agent log (``/var/log/stackstate-agent/agent.log``, also
  gzip-rotated, ``kubectl logs`` output and CRI files); only lines dated inside the window
  are judged;
- ``--agent-cmd CMD``: a command run now, e.g.
  ``sudo -u stackstate-agent stackstate-agent check mysql -l debug``.

Judgement (docs/stages/agent.md has the full table):

- ``fail``: data cannot reach the receiver (403 API key refused, payloads rejected,
  connection/DNS/TLS/timeout failures with no successful post after them), or the
  integration's check collects nothing (errors, zero samples, not scheduled), or every
  metric name it emits is one the receiver refuses;
- ``warn``: partial problems (some names refused, failing service checks, errors followed
  by successes), or collection or posting could not be observed;
- ``pass``: collection and posting were both observed, with no problem;
- ``skip``: no agent input given; ``error``: no input could be read.
"""

from __future__ import annotations

from typing import Any

from stsdebug.errors import SourceError
from stsdebug.logs.agent_patterns import API_KEY_UNCHECKED, CLOCK_OFF
from stsdebug.logs.agent_result import ScanResult
from stsdebug.logs.agent_scan import (
    AgentScan,
)
from stsdebug.model import (
    Hint,
    StageResult,
    Status,
    Text,
)
from stsdebug.payloads import metric_name_problem, metric_type_problem
from stsdebug.stages.agent_collection import (
    CollectionJudge,
)
from stsdebug.stages.agent_common import (
    _RANK_INPUT,
    CACHE_METRIC_NAMES,
    RUNBOOK_LOG,
    _cap,
    _Issue,
    _overview,
    _Read,
    _sample_hits,
    _unique,
    _when,
)
from stsdebug.stages.agent_delivery import (
    DeliveryJudge,
)
from stsdebug.stages.base import Context

TITLE = "StackState Agent"
# --agent-cmd may run for 3 timeouts (sources.agent.CMD_TIMEOUT_FACTOR); reading follows.
BUDGET_CALLS = 5.0


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    if not (s.agent_output or s.agent_log or s.agent_cmd):
        return ctx.skip(
            "No agent input given (--agent-output, --agent-log or --agent-cmd).",
            "Give the agent log (--agent-log /var/log/stackstate-agent/agent.log), the output of "
            "`sudo -u stackstate-agent stackstate-agent check <check> -l debug` or of "
            "`stackstate-agent status` (--agent-output FILE), or let stsdebug run it (--agent-cmd).",
        )
    source = ctx.agent
    reads = [_read(ctx, source, inp) for inp in source.inputs()]
    return _Judge(ctx).judge(reads)


def _read(ctx: Context, source: Any, inp: Any) -> _Read:
    read = _Read(inp.label, inp.kind, bool(inp.windowed), rotated=bool(getattr(inp, "rotated", False)))
    scan = AgentScan(
        window=(ctx.window.start, ctx.window.end) if inp.windowed else None,
        secrets=ctx.settings.secret_values(),
        name_problem=metric_name_problem,
        type_problem=metric_type_problem,
    )
    try:
        read.scan = source.scan(inp, scan, ctx.cancel.is_set)
    except SourceError as exc:
        read.error = str(exc).rstrip(".") + "."
        return read
    read.notes.extend(getattr(source, "notes", {}).get(inp.label, []))
    return read



class _Judge(DeliveryJudge, CollectionJudge):
    # -- main ----------------------------------------------------------------------------

    def judge(self, reads: list[_Read]) -> StageResult:
        for read in reads:
            if read.error:
                self.errors.append(read.error)
                self.evidence.append(Text(f"{read.label}: not read", read.error))
                continue
            self._input(read)
        self._coverage(reads)
        if self.integration.agent_types:
            self._agent_types()
        if self.names:
            ranked = sorted(self.names, key=lambda n: -self.names[n])[:2000]
            self.ctx.cache[CACHE_METRIC_NAMES] = ranked
        return self._result()

    def _result(self) -> StageResult:
        fails = sorted((i for i in self.issues if i.status is Status.FAIL), key=lambda i: i.rank)
        warns = sorted((i for i in self.issues if i.status is Status.WARN), key=lambda i: i.rank)
        ordered = fails + warns
        evidence = [e for i in ordered for e in i.evidence] + self.evidence
        hints = _unique([h for i in ordered for h in i.hints] + self.hints)
        more = len(ordered) - 1
        tail = f" ({more} more finding{'s' if more != 1 else ''} below)" if more > 0 else ""
        if self.errors and not fails:
            reason = self.errors[0]
            extra = f" {len(self.errors) - 1} more input(s) could not be read." if len(self.errors) > 1 else ""
            if ordered:
                extra += f" What could be read: {ordered[0].sentence}"
            return self.ctx.result(Status.ERROR, reason + extra, evidence, hints)
        if ordered:
            summary = ordered[0].sentence + tail
            if self.errors:
                summary += f" ({len(self.errors)} input(s) could not be read.)"
            return self.ctx.result(ordered[0].status, summary, evidence, hints)
        if not (self.collected and self.posted):  # never a pass that was not observed
            return self.ctx.result(
                Status.WARN, "Nothing read shows the data being both collected and posted.", evidence, hints
            )
        return self.ctx.result(
            Status.PASS, f"{_cap(self.collected[0])}; {self.posted[0]}.", evidence, hints
        )

    # -- one input -----------------------------------------------------------------------

    def _input(self, read: _Read) -> None:
        scan = read.scan
        assert scan is not None
        self.components.update(scan.components)
        for name, n in scan.checks_seen.items():
            self.checks_seen.setdefault(name, f"{read.label} line {n}")
        self.evidence.append(_overview(read, scan, self.ctx))
        for note in read.notes:
            self.evidence.append(Text(f"{read.label}: note", note))
        if scan.undated_zones:
            zones = ", ".join(sorted(scan.undated_zones))
            self.evidence.append(Text(
                f"{read.label}: time zones not understood",
                f"Lines stamped with {zones} could not be placed in time; they were judged "
                "as if they fell inside the window.",
            ))
        if scan.shape == "empty":
            self.issues.append(_Issue(Status.WARN, f"{read.label} is empty: there is nothing to judge.",
                                      rank=_RANK_INPUT))
            return
        if (read.kind == "log" and scan.log_lines == 0 and not scan.lines_before_window
                and not scan.lines_after_window and scan.shape not in ("check", "status")):
            self.errors.append(
                f"{read.label} is not a StackState Agent log stsdebug can read: none of its "
                f"{scan.lines:,} lines carries the agent's header (default layout '2006-01-02 15:04:05 MST | "
                "CORE | LEVEL | ...', log_format_rfc3339 '2006-01-02T15:04:05Z | CORE | ...' or "
                "log_format_json '{\"agent\":...}'), so nothing in it can be judged."
            )
            return
        if read.windowed and scan.lines_in_window == 0 and read.rotated:
            self.evidence.append(Text(f"{read.label}: not judged",
                                      f"A rotated log with no lines in the last {self.ctx.window.spec}."))
            return
        if read.windowed and scan.lines_in_window == 0:
            newest = f" (newest line {_when(scan.newest_ts)})" if scan.newest_ts else ""
            self.issues.append(_Issue(
                Status.WARN,
                f"{read.label} has no lines in the last {self.ctx.window.spec}{newest}: "
                "nothing in it says what the agent does now.",
                hints=[Hint(
                    "Widen --window to cover the log, or check that the agent is running and "
                    "still writes this file (`stackstate-agent status`).", RUNBOOK_LOG)],
                rank=_RANK_INPUT,
            ))
            return
        if read.windowed:
            self.log_read = True
        if scan.shape in ("check", "status"):
            self.outputs_read = True
        unchecked = scan.finding(API_KEY_UNCHECKED)
        if unchecked is not None and unchecked.samples.latest is not None:
            self.evidence.append(Text(
                f"{read.label}: API key not checked",
                "`status` says 'Unable to validate API Key': the agent could not reach "
                "<sts_url>/api/v1/validate to check its key. That says nothing about the key itself; "
                "whether the receiver takes it shows in the forwarder's errors (403) and the agent log.",
            ))
        self._clock(read, scan)
        self._delivery(read, scan)
        self._forwarder_status(read, scan)
        self._checks(read, scan)
        self._metrics(read, scan)

    def _clock(self, read: _Read, scan: ScanResult) -> None:
        """`status` says the host's clock is off ("NTP offset is high"): the first evidence of
        points the receiver will ignore as too old, or file hours away from now."""
        clock = scan.finding(CLOCK_OFF)
        if clock is None or clock.samples.latest is None:
            return
        hit = clock.samples.latest
        offset = f"about {hit.detail}" if hit.detail and hit.detail != "high" else "far"
        self.issues.append(_Issue(
            Status.FAIL,
            f"The clock of this agent's host is off by {offset}: `stackstate-agent status` says 'NTP offset "
            f"is high' ({read.label} line {hit.n}), so the points it sends carry times that far from "
            "StackState's: the receiver ignores those older than it accepts, and the rest are filed away "
            "from now, where no chart shows them.",
            evidence=[_sample_hits("Clock", read.label, clock.samples.shown(), clock.total)],
            hints=[Hint(
                "Fix the host's clock: enable NTP (timedatectl set-ntp true; chronyc tracking shows the "
                "offset), then check `stackstate-agent status` again (Clocks: NTP offset). Points already "
                "ignored are not resent.", RUNBOOK_LOG)],
            rank=_RANK_INPUT,
        ))
