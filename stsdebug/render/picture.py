"""What every output says about the pipeline a trace walked: the StackState version it was
traced as, and the metrics path as the stages' own titles, from the trace (never a
hard-coded list: StackState 5 and 6 have different paths)."""

from __future__ import annotations

from stsdebug.model import TraceResult

VERSION_LABELS = {"5": "StackState 5", "6": "StackState 6 (SUSE Observability)"}


def version_label(trace: TraceResult) -> str:
    """"StackState 6 (SUSE Observability)"; traces written before versions were recorded
    were all StackState 5."""
    version = trace.sts_version or "5"
    return VERSION_LABELS.get(version, f"StackState {version}")


def version_reason(trace: TraceResult) -> str | None:
    """Why the trace took that version (None for traces that do not say)."""
    decision = trace.sts_version_decision or {}
    return decision.get("reason") or None


def path_text(trace: TraceResult, arrow: str = " → ") -> str:
    """The metrics path, e.g. "StackState Agent → StackState receiver → vmagent → ...".
    The scope stage is a question about the whole path, not a hop, so it is left out."""
    return arrow.join(s.title for s in trace.pipeline if s.id != "scope")
