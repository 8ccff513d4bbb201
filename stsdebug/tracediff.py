"""What changed between two traces of the same integration: the proof that a fix worked.

``compare(before, after)`` lines the two traces up stage by stage (by id, in the after
trace's pipeline order) and says, for each stage, whether its status got better, worse
or stayed; which key figures moved (records in the window, the newest record's age, lag,
errors); and where the verdict went: downstream (the data now gets further), upstream,
cleared or unchanged. ``worse`` is what ``stsdebug diff`` exits 1 on: a stage whose
status got worse, or a verdict that got worse or moved upstream.

Status order, from good to bad: pass and skip (nothing wrong seen), warn, error (could
not look), fail and blocked (the data stops). A stage that was checked before and is
skipped after is reported as "no longer checked": not worse, but the fix is not proven
there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stsdebug.errors import UsageError
from stsdebug.model import Figures, StageResult, Status, TraceResult

SCHEMA = "stsdebug.diff/1"

RANK = {
    Status.PASS: 0,
    Status.SKIP: 0,
    Status.WARN: 1,
    Status.ERROR: 2,
    Status.FAIL: 3,
    Status.BLOCKED: 3,
}

# A figure whose label says one of these is better when it goes down (ages, lag, errors),
# or when it goes up (records that arrived). Anything else only "moved".
_DOWN_IS_BETTER = re.compile(
    r"\bage\b|lag|behind|error|fail|problem|reject|refus|drop|too old|unassigned|disk|timeout",
    re.IGNORECASE,
)
_AGE = re.compile(r"\bage\b", re.IGNORECASE)
_UP_IS_BETTER = re.compile(r"record|document|docs\b|posted|success|matching|sample", re.IGNORECASE)
# Moves smaller than this share of the larger value are the noise of two runs apart.
NOISE = 0.10
FRESH_S = 60.0


@dataclass
class StageChange:
    id: str
    title: str
    before: Status | None  # None: not in that trace's plan
    after: Status | None
    change: str  # better | worse | same | changed | unchecked | added | removed
    summary_before: str = ""
    summary_after: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "before": self.before.value if self.before else None,
            "after": self.after.value if self.after else None,
            "change": self.change,
            "summary_before": self.summary_before,
            "summary_after": self.summary_after,
        }


@dataclass
class FigureMove:
    stage: str
    evidence: str
    label: str
    before: float | None
    after: float | None
    unit: str | None
    change: str  # better | worse | moved

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "evidence": self.evidence,
            "label": self.label,
            "before": self.before,
            "after": self.after,
            "unit": self.unit,
            "change": self.change,
        }


@dataclass
class TraceDiff:
    before: TraceResult
    after: TraceResult
    stages: list[StageChange] = field(default_factory=list)
    figures: list[FigureMove] = field(default_factory=list)
    verdict_move: str = "same"  # downstream | upstream | cleared | appeared | same | better | worse
    worse: bool = False
    sentence: str = ""

    @property
    def changed(self) -> list[StageChange]:
        return [c for c in self.stages if c.change != "same"]

    def to_dict(self) -> dict[str, Any]:
        def side(t: TraceResult) -> dict[str, Any]:
            return {
                "started_at": t.started_at,
                "window": t.window.spec,
                "verdict": {"status": t.verdict.status.value, "stage": t.verdict.stage,
                            "sentence": t.verdict.sentence},
            }

        return {
            "schema": SCHEMA,
            "integration": self.after.integration,
            "kind": self.after.kind,
            "before": side(self.before),
            "after": side(self.after),
            "verdict_move": self.verdict_move,
            "worse": self.worse,
            "sentence": self.sentence,
            "stages": [c.to_dict() for c in self.stages],
            "figures": [f.to_dict() for f in self.figures],
        }


def compare(before: TraceResult, after: TraceResult) -> TraceDiff:
    if before.integration != after.integration:
        raise UsageError(
            f"BEFORE traces {before.integration} and AFTER traces {after.integration}: "
            "compare two traces of the same integration"
        )
    d = TraceDiff(before, after)
    old = {s.id: s for s in before.stages}
    new = {s.id: s for s in after.stages}
    order = [s.id for s in after.stages] + [s.id for s in before.stages if s.id not in new]
    for sid in order:
        b, a = old.get(sid), new.get(sid)
        d.stages.append(_stage_change(sid, b, a))
        if b is not None and a is not None:
            d.figures += _figures(sid, b, a)
    d.verdict_move = _verdict_move(before, after, order)
    worse_stages = [c for c in d.stages if c.change == "worse"]
    d.worse = bool(worse_stages) or d.verdict_move in ("upstream", "worse", "appeared")
    d.sentence = _sentence(d, worse_stages)
    return d


def _stage_change(sid: str, b: StageResult | None, a: StageResult | None) -> StageChange:
    title = (a or b).title if (a or b) is not None else sid  # type: ignore[union-attr]
    if b is None:
        return StageChange(sid, title, None, a.status if a else None, "added", "", a.summary if a else "")
    if a is None:
        return StageChange(sid, title, b.status, None, "removed", b.summary, "")
    if a.status is b.status:
        change = "same"
    elif a.status is Status.SKIP and b.status is not Status.SKIP:
        change = "unchecked"
    elif b.status is Status.SKIP and a.status is Status.PASS:
        change = "better"  # now checked, and seen working
    elif RANK[a.status] > RANK[b.status]:
        change = "worse"
    elif RANK[a.status] < RANK[b.status]:
        change = "better"
    else:
        change = "changed"  # fail <-> blocked, pass <-> skip: the same weight
    return StageChange(sid, title, b.status, a.status, change, b.summary, a.summary)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _figures(sid: str, b: StageResult, a: StageResult) -> list[FigureMove]:
    def table(s: StageResult) -> dict[tuple[str, str], tuple[Any, str | None]]:
        out: dict[tuple[str, str], tuple[Any, str | None]] = {}
        for ev in s.evidence:
            if isinstance(ev, Figures):
                for f in ev.items:
                    out.setdefault((ev.title, f.label), (f.value, f.unit))
        return out

    old, new = table(b), table(a)
    moves: list[FigureMove] = []
    for key, (value_after, unit) in new.items():
        if key not in old:
            continue
        x, y = _number(old[key][0]), _number(value_after)
        if x is None and y is None:
            continue
        if x is not None and y is not None and _noise(x, y, unit):
            continue
        label = key[1]
        moves.append(FigureMove(sid, key[0], label, x, y, unit, _direction(label, x, y)))
    return moves


def _noise(x: float, y: float, unit: str | None) -> bool:
    """A move two runs a few seconds apart always show: small shares, fresh ages, fast answers."""
    big = max(abs(x), abs(y))
    if abs(y - x) <= NOISE * big:
        return True
    if unit == "s":  # an age or a lag: under a minute both times is fresh both times
        return big < FRESH_S
    if unit == "ms":  # a response time: under a second both times is fine both times
        return big < 1000
    return False


def _direction(label: str, x: float | None, y: float | None) -> str:
    # Something appearing or disappearing: an age that appears means data that arrived.
    up = (y or 0.0) > (x or 0.0) if x is not None and y is not None else y is not None
    if _DOWN_IS_BETTER.search(label):
        if x is None or y is None:
            # An age that appears means data that arrived; one that vanishes, data that stopped.
            if _AGE.search(label):
                return "better" if y is not None else "worse"
            return "moved"
        return "worse" if up else "better"
    if _UP_IS_BETTER.search(label):
        return "better" if up else "worse"
    return "moved"


def _verdict_move(before: TraceResult, after: TraceResult, order: list[str]) -> str:
    vb, va = before.verdict, after.verdict
    bad = (Status.FAIL, Status.ERROR)
    if vb.status in bad and va.status not in bad:
        return "cleared"
    if vb.status not in bad and va.status in bad:
        return "appeared"
    if vb.status in bad and va.status in bad and vb.stage != va.stage:
        ib = order.index(vb.stage) if vb.stage in order else -1
        ia = order.index(va.stage) if va.stage in order else -1
        return "downstream" if ia > ib else "upstream"
    if RANK[va.status] > RANK[vb.status]:
        return "worse"
    if RANK[va.status] < RANK[vb.status]:
        return "better"
    return "same"


def _where(t: TraceResult) -> str:
    v = t.verdict
    stage = t.stage(v.stage) if v.stage else None
    return f"{v.status.word} at {stage.title}" if stage is not None else v.status.word


def _sentence(d: TraceDiff, worse: list[StageChange]) -> str:
    b, a = _where(d.before), _where(d.after)
    move = {
        "cleared": f"Fixed: the verdict went from {b} to {a}.",
        "downstream": f"The data gets further: the verdict moved downstream, from {b} to {a}.",
        "upstream": f"Worse: the data now stops earlier, at {a} (before: {b}).",
        "appeared": f"Worse: the verdict went from {b} to {a}.",
        "worse": f"Worse: the verdict went from {b} to {a}.",
        "better": f"Better: the verdict went from {b} to {a}.",
        "same": f"The verdict is unchanged: {a}.",
    }[d.verdict_move]
    if worse and d.verdict_move not in ("upstream", "appeared", "worse"):
        names = ", ".join(f"{c.id} ({c.before.word if c.before else '—'} → {c.after.word if c.after else '—'})"
                          for c in worse)
        move += f" But {names} got worse."
    before_stage = d.before.verdict.stage
    unchecked = next((c for c in d.stages if c.id == before_stage and c.change == "unchecked"), None)
    if unchecked is not None:
        move += f" Not proven: {unchecked.title}, where the data stopped before, was not checked this time."
    return move
