"""The opt-in probe for StackState 6: one marked sample sent the way agent data arrives,
followed into VictoriaMetrics.

Like the StackState 5 probe (stsdebug.stages.probe, docs/probe.md) it runs only with
``--probe`` and POSTs one valid intake payload to the receiver (``ctx.intake``: the only
write stsdebug makes) carrying the metric ``stsdebug.probe.marker`` and a unique
``stsdebug_probe_id`` tag. The receiver remote-writes it to vmagent, vmagent to
VictoriaMetrics; stsdebug then asks the query API (``--victoria-metrics`` or
``--prometheus-api``) for any series with that ``stsdebug_probe_id`` label, whatever name
the receiver gave the metric, until it is there or ``--probe-timeout`` passes.

VictoriaMetrics makes a new series searchable about 10 s after its first sample, and hides
the newest ``-search.latencyOffset`` (30 s) from every query, also one at an explicit time
just after the sample (measured on 1.79.5: docs/v6/facts.md, section 5). So the sample is
stamped ``BACKDATE_S`` before it is sent (agents batch, so a minute-old point is ordinary)
and asked for at its own time: it shows as soon as it is searchable. vmagent's part cannot
be seen per sample (its counters count every sender), so the timeline has two hops:
receiver and victoriametrics.
"""

from __future__ import annotations

import socket
import time

from stsdebug.errors import SourceError
from stsdebug.model import Hop, StageResult, Status, Timeline
from stsdebug.promnames import quote
from stsdebug.stages.base import Context
from stsdebug.stages.probe import (
    PROBE_TAG,
    ProbeResult,
    _follow,
    build_payload,
    merge,
    new_probe_id,
    run_within,
)
from stsdebug.stages.v6.common import configured

LOOKBACK = "5m"
BACKDATE_S = 60.0  # older than -search.latencyOffset (30 s by default), well within retention
SEARCHABLE_NOTE = "VictoriaMetrics makes a new series searchable ~10 s after its first sample"


def run(ctx: Context) -> ProbeResult:
    s = ctx.settings
    host = s.probe_host or socket.gethostname() or "stsdebug-probe"
    result = ProbeResult(new_probe_id(), host, time.time())
    if not s.receiver:
        result.hops.append(Hop("receiver", Status.ERROR, None, "No receiver URL given (--receiver): nothing was sent."))
        return result
    t0 = time.monotonic()
    try:
        answer = ctx.intake.post(build_payload(result.probe_id, host, result.sent_at - BACKDATE_S))
    except SourceError as exc:
        result.hops.append(Hop("receiver", Status.ERROR, None, f"Not delivered: {str(exc).rstrip('.')}."))
        return result
    at = round((time.monotonic() - t0) * 1000, 1)
    if answer.status >= 300:
        what = "refused the API key" if answer.status in (401, 403) else "rejected the payload"
        body = f" — {answer.body.strip()[:200]}" if answer.body.strip() else ""
        result.hops.append(Hop("receiver", Status.FAIL, at,
                               f"HTTP {answer.status} {answer.reason}: the receiver {what}{body}"))
        return result
    result.hops.append(Hop("receiver", Status.PASS, at,
                           f"HTTP {answer.status} {answer.reason} in {answer.latency_ms:.0f} ms"))
    if configured(ctx, "prometheus"):
        result.hops.append(_follow_vm(ctx, result, t0))
    return result


def _follow_vm(ctx: Context, result: ProbeResult, t0: float) -> Hop:
    api = ctx.prometheus
    expr = f"last_over_time({{{PROBE_TAG}={quote(result.probe_id)}}}[{LOOKBACK}])"
    at = int(result.sent_at - BACKDATE_S) + 1.5  # just after the sample (stamped in whole seconds)
    stored: list[str] = []

    def look() -> float | None:
        found = api.query(expr, at=at)
        if found.series:
            stored.extend(sorted({sr.name or "?" for sr in found.series}))
            return time.monotonic()
        return None

    hop = _follow("victoriametrics", ctx, look, t0, max(1.0, ctx.settings.probe_timeout),
                  "searchable in VictoriaMetrics", f"not in VictoriaMetrics ({SEARCHABLE_NOTE})")
    if hop.status is Status.PASS and stored:
        hop.detail = f"searchable in VictoriaMetrics as {', '.join(stored)} ({SEARCHABLE_NOTE})"
    return hop


class ProbeStep6:
    """The StackState 6 probe beside the stages: sent and followed first, merged into them."""

    def __init__(self) -> None:
        self.result: ProbeResult | None = None

    def prepare(self, ctx: Context) -> None:
        s = ctx.settings
        self.result = run_within(ctx, run, 2 * max(10.0, s.probe_timeout) + s.timeout + 5)

    def merge(self, result: StageResult) -> StageResult:
        if self.result is None:
            return result
        merged = merge(result, self.result)
        for ev in merged.evidence:
            if isinstance(ev, Timeline) and ev.probe_id == self.result.probe_id:
                ev.title = "Probe: one marked sample followed into VictoriaMetrics"
        return merged
