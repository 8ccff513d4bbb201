"""Text and JSON presentation of a payload ValidationReport (``stsdebug validate``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from stsdebug.payloads import COUNT_KEYS, Problem, ValidationReport

SCHEMA = "stsdebug.validate/1"
# A payload with thousands of stale points would otherwise bury everything else.
MAX_PER_RULE = 20

_NOUNS = {
    "metrics": ("metric", "metrics"),
    "events": ("event", "events"),
    "service_checks": ("service check", "service checks"),
    "health_snapshots": ("health snapshot", "health snapshots"),
    "check_states": ("check state", "check states"),
    "topologies": ("topology", "topologies"),
}


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def describe_counts(counts: dict[str, int]) -> str:
    """``3 metrics, 1 event`` (non-zero counts in a fixed order), or ``no data``."""
    parts = [
        _n(counts[key], *_NOUNS[key]) for key in COUNT_KEYS if counts.get(key, 0) and key in _NOUNS
    ]
    return ", ".join(parts) if parts else "no data"


def _problem_line(problem: Problem, source_name: str) -> str:
    where = f" ({source_name}:{problem.line}:{problem.column})" if problem.line else ""
    return f"{problem.severity:<7} {problem.path}: {problem.message}{where}"


def render_text(
    report: ValidationReport, source_name: str, *, max_per_rule: int = MAX_PER_RULE
) -> str:
    """One line per problem (syntax errors add their caret excerpt), then a summary line."""
    lines: list[str] = []
    shown: Counter[str] = Counter()
    hidden: Counter[str] = Counter()
    for problem in report.problems:
        key = problem.rule or problem.message
        if max_per_rule and shown[key] >= max_per_rule:
            hidden[key] += 1
            continue
        shown[key] += 1
        lines.append(_problem_line(problem, source_name))
        if problem.excerpt:
            lines.extend("    " + part for part in problem.excerpt.splitlines())
    for key, count in hidden.items():
        lines.append(f"        … and {_n(count, 'more problem')} like {key} (the JSON output lists all)")
    what = f"{report.kind} payload ({describe_counts(report.counts)})"
    if not report.problems:
        lines.append(f"{source_name}: valid {what}")
    else:
        summary = (
            f"{_n(report.error_count, 'error')}, {_n(report.warning_count, 'warning')} "
            f"in {source_name}"
        )
        if report.valid:
            summary += f"; valid {what}"
        lines.append(summary)
    return "\n".join(lines) + "\n"


def to_dict(report: ValidationReport, source_name: str | None = None) -> dict[str, Any]:
    """The JSON form: stable keys, versioned by ``schema``; every problem is listed."""
    out: dict[str, Any] = {"schema": SCHEMA}
    if source_name is not None:
        out["source"] = source_name
    out.update(
        {
            "kind": report.kind,
            "valid": report.valid,
            "errors": report.error_count,
            "warnings": report.warning_count,
            "counts": {key: int(report.counts.get(key, 0)) for key in COUNT_KEYS},
            "problems": [
                {
                    "path": p.path,
                    "severity": p.severity,
                    "rule": p.rule,
                    "message": p.message,
                    "line": p.line,
                    "column": p.column,
                    "excerpt": p.excerpt,
                }
                for p in report.problems
            ],
        }
    )
    return out
