"""The opt-in probe: send one marked metric through the receiver and follow it.

Reading logs and topics tells where data *was*; the probe tells where data *goes now*.
It POSTs one valid intake payload carrying a metric that cannot collide with real
data (``stsdebug.probe.marker``) and a unique ``stsdebug_probe_id`` tag, then polls
Kafka (directly or through the topic API) and Elasticsearch for it, each with its own
deadline, and — when streams are given — checks that a stream defined like the
user's first one would select it. The per-hop timeline joins the trace as evidence
of the stages it touches (``merge``): a probe that reached Kafka but not
Elasticsearch makes the Elasticsearch stage fail with that evidence.

Nothing here runs without ``--probe``: the plan adds a ``ProbeStep`` beside the stages
only then. It sends through the intake source (``ctx.intake``, the only write stsdebug
makes) and runs under its own budget before the stages; its ``merge`` is applied to each
stage's result.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stsdebug import probe_marker, streamdefs
from stsdebug.deadline import Cancelled, DeadlineExceeded, bounded
from stsdebug.errors import SourceError, UsageError
from stsdebug.events import ProbeProgress
from stsdebug.model import Hop, StageResult, Status, Text, Timeline
from stsdebug.sources.es_query import total_hits
from stsdebug.sources.topic import TopicSource, decode_value
from stsdebug.stages.base import Context

PROBE_METRIC = probe_marker.PROBE_METRIC
PROBE_TAG = probe_marker.PROBE_TAG
POLL_S = 0.5
RUNBOOK = "stsdebug probe: follow one marked metric"

# hop name -> the stage whose evidence it is
HOP_STAGE = {"receiver": "receiver", "kafka": "kafka", "elasticsearch": "elasticsearch", "stream": "streams",
             "victoriametrics": "victoriametrics"}  # the last: StackState 6 (stages.v6.probe)


@dataclass
class ProbeResult:
    probe_id: str
    host: str
    sent_at: float  # epoch seconds
    hops: list[Hop] = field(default_factory=list)
    on_progress: Callable[[ProbeProgress], None] | None = None

    def add(self, hop: Hop) -> Hop:
        self.hops.append(hop)
        self._tell(ProbeProgress(self.probe_id, hop.name, at=time.monotonic(), hop=hop))
        return hop

    def waiting(self, name: str, deadline_s: float) -> None:
        self._tell(ProbeProgress(self.probe_id, name, deadline_s, time.monotonic()))

    def _tell(self, event: ProbeProgress) -> None:
        if self.on_progress is not None:
            self.on_progress(event)

    def timeline(self) -> Timeline:
        return Timeline("Probe: one marked metric followed through the pipeline", self.probe_id, list(self.hops))

    def hop(self, name: str) -> Hop | None:
        return next((h for h in self.hops if h.name == name), None)


def new_probe_id() -> str:
    # Lowercase hex only: it survives Elasticsearch's analyzers as one token.
    return "p" + uuid.uuid4().hex[:16]


def build_payload(probe_id: str, host: str, now: float, extra_tags: dict[str, str] | None = None) -> dict[str, Any]:
    """A valid receiver intake payload (seed 003 format) with one marked gauge."""
    tags = [f"{PROBE_TAG}:{probe_id}"] + [f"{k}:{v}" for k, v in (extra_tags or {}).items()]
    return {
        "collection_timestamp": int(now),
        "internalHostname": host,
        "events": {},
        "metrics": [[PROBE_METRIC, int(now), 1.0, {"hostname": host, "type": "gauge", "tags": tags}]],
        "service_checks": [],
        "health": [],
        "topologies": [],
    }


def _stream_like_users(ctx: Context) -> streamdefs.StreamDef | None:
    try:
        defs = streamdefs.load(ctx.settings.streams, ctx.settings.streams_file)
    except UsageError:
        return None
    return defs[0] if defs else None


def run(ctx: Context) -> ProbeResult:
    s = ctx.settings
    host = s.probe_host or socket.gethostname() or "stsdebug-probe"
    stream = _stream_like_users(ctx)
    extra = {c.key[5:]: c.value for c in stream.conditions if c.key.startswith("tags.")} if stream else {}
    result = ProbeResult(new_probe_id(), host, time.time(), on_progress=ctx.notify)
    deadline_total = max(1.0, s.probe_timeout)

    # Hop 1: the receiver.
    if not s.receiver:
        result.add(Hop("receiver", Status.ERROR, None, "No receiver URL given (--receiver): nothing was sent."))
        return result
    payload = build_payload(result.probe_id, host, result.sent_at, extra)
    t0 = time.monotonic()
    result.waiting("receiver", s.timeout)
    try:
        answer = ctx.intake.post(payload)
    except SourceError as exc:
        result.add(Hop("receiver", Status.ERROR, None, f"Not delivered: {str(exc).rstrip('.')}."))
        return result
    at = (time.monotonic() - t0) * 1000
    message = f" — {answer.body.strip()[:200]}" if answer.body.strip() else ""
    if answer.status >= 300:
        what = "refused the API key" if answer.status in (401, 403) else "rejected the payload"
        result.add(
            Hop("receiver", Status.FAIL, round(at, 1), f"HTTP {answer.status} {answer.reason}: the receiver {what}{message}")
        )
        return result
    result.add(Hop("receiver", Status.PASS, round(at, 1), f"HTTP {answer.status} {answer.reason} in {answer.latency_ms:.0f} ms"))

    # Hop 2: Kafka (push only; the receiver puts metrics on sts_multi_metrics).
    if s.kafka or s.sts_api:
        result.waiting("kafka", deadline_total)
        hop = result.add(_follow_kafka(ctx, result, t0, deadline=deadline_total))
        if hop.status is not Status.PASS:
            return result

    # Hop 3: Elasticsearch.
    if s.es:
        result.waiting("elasticsearch", deadline_total)
        hop = result.add(_follow_es(ctx, result, t0, deadline=deadline_total))
        if hop.status is not Status.PASS:
            return result
        if stream is not None:
            result.waiting("stream", s.timeout)
            result.add(_stream_hop(ctx, result, stream, t0))
    return result


def _poll(deadline_s: float, cancel: threading.Event, look: Callable[[], float | None]) -> tuple[float | None, str | None]:
    """Call look() until it returns something truthy or the deadline passes."""
    end = time.monotonic() + deadline_s
    last_error: str | None = None
    while True:
        try:
            found = look()
            last_error = None
        except SourceError as exc:
            found, last_error = None, str(exc).rstrip(".")
        if found or time.monotonic() >= end or cancel.is_set():
            return found, last_error
        time.sleep(POLL_S)


def _follow_kafka(ctx: Context, result: ProbeResult, t0: float, deadline: float) -> Hop:
    s = ctx.settings
    try:
        src: TopicSource = ctx.kafka if s.kafka else ctx.topic_api
        info = src.describe_topic(s.topic)
    except SourceError as exc:
        return Hop("kafka", Status.ERROR, None, f"Could not look: {str(exc).rstrip('.')}.")
    parts = [p.partition for p in info.partitions]

    def look() -> float | None:
        for tail in src.read_window(s.topic, parts, result.sent_at - 5, 2000):
            for rec in tail.records:
                mm = decode_value(rec.value)
                if mm is not None and mm.tags.get(PROBE_TAG) == result.probe_id:
                    return time.monotonic()
        return None

    return _follow("kafka", ctx, look, t0, deadline, f"on topic {s.topic}", f"not on topic {s.topic}")


def _follow(
    hop: str, ctx: Context, look: Callable[[], float | None], t0: float, deadline: float, seen: str, unseen: str
) -> Hop:
    """Poll ``look`` until the probe shows up at this hop or the deadline passes."""
    found, err = _poll(deadline, ctx.cancel, look)
    if found:
        return Hop(hop, Status.PASS, round((found - t0) * 1000, 1), seen)
    if err:
        return Hop(hop, Status.ERROR, None, f"Could not look: {err}.")
    return Hop(hop, Status.FAIL, None, f"{unseen} within {deadline:.0f} s")


def _term(field_name: str, value: str) -> dict[str, Any]:
    # Dynamic mappings index strings as text with a .keyword sub-field; match either.
    return {"bool": {"should": [{"term": {field_name: value}}, {"term": {f"{field_name}.keyword": value}}], "minimum_should_match": 1}}


def _follow_es(ctx: Context, result: ProbeResult, t0: float, deadline: float) -> Hop:
    s = ctx.settings
    try:
        es = ctx.es
    except SourceError as exc:
        return Hop("elasticsearch", Status.ERROR, None, f"Could not look: {str(exc).rstrip('.')}.")
    query = _term(f"tags.{PROBE_TAG}", result.probe_id)

    def look() -> float | None:
        return time.monotonic() if total_hits(es.search(s.index_pattern, query)) else None

    return _follow(
        "elasticsearch", ctx, look, t0, deadline, f"indexed in {s.index_pattern}", f"not indexed in {s.index_pattern}"
    )


def _stream_hop(ctx: Context, result: ProbeResult, stream: streamdefs.StreamDef, t0: float) -> Hop:
    """Would a stream defined like the user's first one select the probe?"""
    s = ctx.settings
    single = (s.es_layout or "") == "single" or (stream.metric or "") == "value"
    conditions: list[dict[str, Any]] = [_term(f"tags.{PROBE_TAG}", result.probe_id)]
    used: list[str] = []
    for c in stream.conditions:
        value = result.host if c.key == "host" else PROBE_METRIC if c.key == "name" else c.value
        conditions.append(_term(c.key, value))
        used.append(f"{c.key}={value}")
    metric_field = "value" if single else f"values.{PROBE_METRIC}"
    conditions.append({"exists": {"field": metric_field}})
    used.append(f"metric={metric_field}")
    try:
        hits = total_hits(ctx.es.search(s.index_pattern, {"bool": {"filter": conditions}}))
    except SourceError as exc:
        return Hop("stream", Status.ERROR, None, f"Could not look: {str(exc).rstrip('.')}.")
    at = round((time.monotonic() - t0) * 1000, 1)
    shape = ", ".join(used)
    if hits:
        return Hop("stream", Status.PASS, at, f"a stream like {stream.name!r} ({shape}) selects it")
    return Hop("stream", Status.FAIL, at, f"a stream like {stream.name!r} ({shape}) does not select it")


def merge(stage: StageResult, probe: ProbeResult) -> StageResult:
    """Add the probe's evidence to the stage it touches, and let what it saw count."""
    hops = [h for h in probe.hops if HOP_STAGE.get(h.name) == stage.id]
    if not hops:
        return stage
    hop = hops[0]
    stage.evidence.append(probe.timeline())
    seen = f"Probe {probe.probe_id}: {hop.name} {hop.detail}"
    if hop.status is Status.PASS:
        if stage.status is Status.SKIP:
            stage.status = Status.PASS
            stage.summary = f"The probe reached {hop.name} after {hop.at_ms:.0f} ms ({hop.detail})."
        return stage
    if hop.status is Status.FAIL and stage.status in (Status.PASS, Status.WARN, Status.SKIP):
        before = "" if stage.status is Status.SKIP else " " + stage.summary
        stage.status = Status.FAIL
        stage.summary = f"{seen}.{before}"
        stage.missing_data = False
        stage.hint(
            "The probe is data sent now; earlier data may still be visible here. Look at what "
            "stopped between the previous hop and this one.",
            RUNBOOK,
        )
    elif hop.status is Status.FAIL and stage.status in (Status.FAIL, Status.BLOCKED):
        stage.summary = f"{stage.summary.rstrip('.')}. The probe confirms it: {hop.detail}."
    elif hop.status is Status.ERROR and stage.status is Status.SKIP:
        stage.status = Status.ERROR
        stage.summary = seen.rstrip(".") + "."
    return stage


def run_within(ctx: Context, probe: Callable[[Context], ProbeResult], budget: float) -> ProbeResult:
    """Run ``probe`` within ``budget`` s; one that cannot finish is an error at its first hop."""
    try:
        return bounded(lambda: probe(ctx), budget, "probe", cancel=ctx.cancel)
    except (Cancelled, DeadlineExceeded):
        reason: object = f"did not finish within {budget:.0f} s"
    except Exception as exc:  # noqa: BLE001 - a broken probe must not break the trace
        reason = exc
    result = ProbeResult(new_probe_id(), ctx.settings.probe_host or "", ctx.now)
    result.hops.append(Hop("receiver", Status.ERROR, None, f"The probe could not run: {reason}."))
    return result


class ProbeStep:
    """The probe beside the stages: sent and followed before them, merged into their results."""

    def __init__(self) -> None:
        self.result: ProbeResult | None = None
        self.pulled: str | None = None  # the integration, when it is pulled: the probe cannot test its path

    def prepare(self, ctx: Context) -> None:
        s = ctx.settings
        if ctx.integration.kind == "pull":
            self.pulled = ctx.integration.name
        self.result = run_within(ctx, run, 3 * max(10.0, s.probe_timeout) + s.timeout + 5)

    def merge(self, result: StageResult) -> StageResult:
        if self.result is None:
            return result
        merged = merge(result, self.result)
        timelines = [e for e in merged.evidence if isinstance(e, Timeline)]
        if self.pulled and timelines:
            for t in timelines:
                t.title = f"Probe: one marked metric through the push path only ({self.pulled} is pulled)"
            merged.evidence.append(Text("The probe and pulled data", push_only(self.pulled)))
        return merged


def push_only(integration: str) -> str:
    """What the probe says about an integration StackState pulls: nothing about its own path."""
    return (
        f"The probe tests the push path only (receiver → Kafka → Elasticsearch). StackState pulls "
        f"{integration} from its source, so a probe that arrives says nothing about {integration}'s "
        "own path; the source stage does."
    )
