"""Why a metric binding draws nothing: the v6 docs' "no data" procedure, run by stsdebug.

StackVista/stackstate-docs ``use/metrics/k8sTs-metrics-troubleshooting.md``: (1) any
``${...}`` left in the query means the component lacks that label; (2) run the query;
(3) cut it to the bare metric name: results mean the metric exists, so a label matcher is
wrong; (4) add the matchers back one at a time. stsdebug does each step with bounded
queries and names what to change:

- placeholders StackState cannot fill (``stsdebug.bindings.fill``), with the component's
  label that is spelled nearly alike;
- the query over the window, as a chart would draw it (``query_range``, the chart's step);
- per selector: does its metric have series in the window, and when did it last have a
  sample? A metric that stopped or never existed gets the nearest stored names, ranked by
  similarity and series count (a renamed metric);
- when the metric is there: ONE query counts, for every matcher, the series left when that
  matcher is dropped and the series it matches on its own; the matcher whose removal brings
  data back is the one that empties the chart. Its label's stored values among the series
  the other matchers select are ranked by similarity and series count ("did you mean
  cluster_name=prod-eu — 412 series"). A label no such series carries gets the label names
  they do carry, and vmagent's renames (kube_cluster_name is stored as cluster_name).

Every request is counted against a budget, so the cost is bounded whatever the bindings.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stsdebug import bindings, promql
from stsdebug.model import Status
from stsdebug.promnames import VMAGENT_RENAMES, quote
from stsdebug.sources.prometheus_api import PrometheusApi, PromQueryError
from stsdebug.stages.v6.series import window_range
from stsdebug.suggest import SIMILAR, Ranked, near, rank

MAX_SELECTORS = 5  # per query
MAX_MATCHERS = 10  # per selector
NAMES_LIMIT = 20000  # metric names read for "did you mean"
VALUES_SHOWN = 3
LOOKBACK_S = 86400.0  # how far back a stopped metric's newest sample is looked for


class BudgetSpent(Exception):
    """The request budget is spent: what is left is reported as not explained."""


@dataclass
class Budget:
    left: int
    used: int = 0

    def take(self) -> None:
        if self.left <= 0:
            raise BudgetSpent
        self.left -= 1
        self.used += 1


@dataclass
class Suggestion:
    """One line of advice with the ranked stored values behind it."""

    text: str
    ranked: list[Ranked] = field(default_factory=list)
    label: str = ""  # what was ranked: a label name, or "__name__" for metric names


@dataclass
class Explained:
    """The outcome for one query of one binding."""

    binding: str
    expression: str  # as written
    filled: str  # placeholders filled (what ran)
    status: Status
    sentence: str  # what is wrong (or right), one sentence
    series: int | None = None  # series the query draws in the window
    newest: float | None = None  # newest point it draws
    suggestions: list[Suggestion] = field(default_factory=list)
    missing_data: bool = False  # empty only because no data arrived (not the binding's fault)


@dataclass
class Explainer:
    api: PrometheusApi
    start: float
    end: float
    fresh_after: float  # a chart whose newest point is older than this has stopped
    step: float = 60.0  # the chart's step (${__interval})
    budget: Budget = field(default_factory=lambda: Budget(60))
    cancel: threading.Event = field(default_factory=threading.Event)
    _names: list[str] | None = None

    @property
    def window(self) -> str:
        return window_range(self.end - self.start)

    # --- one query of one binding ------------------------------------------------------

    def explain(self, binding: str, expression: str, tags: Mapping[str, Sequence[str]],
                name: str | None, interval: str) -> Explained:
        filled = bindings.fill(expression, tags=tags, name=name, interval=interval)
        if not filled.complete:
            return self._unresolved(binding, expression, filled, tags)
        expr = filled.expression
        try:
            sels = promql.selectors(expr)
        except promql.PromQLSyntaxError as exc:
            return Explained(binding, expression, expr, Status.FAIL,
                             f"cannot be read: {str(exc).removeprefix('Cannot read the PromQL query: ')}")
        try:
            self.budget.take()
            drawn = self.api.query_range(expr, start=self.start, end=self.end, step=self.step)
        except PromQueryError as exc:
            return Explained(binding, expression, expr, Status.FAIL,
                             f"is refused by the query API: {str(exc).rstrip('.')}.")
        points = [p for s in drawn.series for p in s.points if not math.isnan(p[1])]
        newest = max((p[0] for p in points), default=None)
        count = len(drawn.series)
        if newest is not None and newest >= self.fresh_after:
            return Explained(binding, expression, expr, Status.PASS,
                             f"draws {count:,} series; the newest point is at the window's end.",
                             count, newest)
        out = Explained(binding, expression, expr, Status.FAIL, "", count, newest)
        lead = ("draws nothing in the window" if newest is None
                else "stopped drawing: its newest point is older than the window's last minutes")
        findings: list[str] = []
        own = False
        for sel in sels[:MAX_SELECTORS]:
            said, fixes, is_own = self._selector(sel)
            if said:
                findings.append(said)
                out.suggestions.extend(fixes)
                own = own or is_own
                if is_own:
                    break  # the first selector that explains it is enough
        if not findings:
            findings.append("each selector finds data on its own, so the query's functions or "
                            "operators (a join, a comparison, a missing series on one side) empty it")
            own = True
        out.sentence = f"{lead}: {'; '.join(findings)}."
        out.missing_data = not own
        return out

    def _unresolved(self, binding: str, expression: str, filled: bindings.Filled,
                    tags: Mapping[str, Sequence[str]]) -> Explained:
        parts = []
        suggestions = []
        for u in filled.unresolved:
            parts.append(f"{u.placeholder.text} ({u.reason})")
            key = u.placeholder.key
            if u.placeholder.kind == "tag" and key and key not in tags:
                close = near(key, list(tags), n=1, cutoff=SIMILAR)
                if close:
                    suggestions.append(Suggestion(
                        f"the component has the label {close[0]!r}: use ${{tags.{close[0]}}}",
                        label="component label"))
        if not tags:
            parts.append("no component labels were given (--component-tag KEY=VALUE)")
        sentence = ("cannot be filled: StackState has no value for " + "; ".join(parts)
                    + ", so the chart shows no data (its inspector's 'Show query' still has the ${...}).")
        return Explained(binding, expression, filled.expression, Status.FAIL, sentence,
                         suggestions=suggestions)

    # --- one selector ------------------------------------------------------------------

    def _selector(self, sel: promql.Selector) -> tuple[str, list[Suggestion], bool]:
        """(what is wrong with this selector or "", suggestions, the binding's own fault)."""
        metric = sel.metric
        if metric is not None:
            series, newest = self._count(quote_selector(metric))
            if not series or (newest is not None and newest < self.fresh_after):
                return self._metric_gone(metric, series, newest)
        matchers = list(sel.label_matchers)[:MAX_MATCHERS]
        # Without a metric name, dropping the only matcher would select every series.
        if not matchers or (metric is None and len(matchers) < 2):
            return "", [], False
        return self._matchers(sel, matchers)

    def _metric_gone(self, metric: str, series: int, newest: float | None
                     ) -> tuple[str, list[Suggestion], bool]:
        if series:
            what = f"the metric {metric} stopped: none of its {series:,} series has a recent sample"
        else:
            ever = self._newest_ever(quote_selector(metric))
            what = (f"the metric {metric} has no sample in the window"
                    + (f"; its newest sample is {_ago(self.end - ever)} old" if ever is not None else
                       " nor in the last day"))
        ranked = self._near_names(metric)
        if ranked and ranked[0].score >= SIMILAR:
            best = ranked[0]
            text = f"did you mean {best.value} — {_series(best.count)}" + "".join(
                f", or {r.value} — {_series(r.count)}" for r in ranked[1:])
            return f"{what}; {text}", [Suggestion(text, ranked, "__name__")], True
        return what, [], False

    def _matchers(self, sel: promql.Selector, matchers: list[promql.Matcher]
                  ) -> tuple[str, list[Suggestion], bool]:
        dropped, alone = self._drop_and_alone(sel, matchers)
        culprits = [i for i, n in enumerate(dropped) if n]
        if not culprits:
            bad = [m for i, m in enumerate(matchers) if alone[i] == 0]
            if not bad:
                return "", [], False
            culprits = [matchers.index(m) for m in bad]
        findings = []
        suggestions = []
        for i in culprits[:3]:
            m = matchers[i]
            rest = _without(sel, m)
            text, fixes = self._why_matcher(m, rest, dropped[i], alone[i])
            findings.append(text)
            suggestions.extend(fixes)
        return "; ".join(findings), suggestions, True

    def _why_matcher(self, m: promql.Matcher, rest: str, without: int, alone: int
                     ) -> tuple[str, list[Suggestion]]:
        head = (f"{m.text} empties it (without it: {_series(without)})" if without
                else f"{m.text} matches nothing")
        values = self._values(m.label, rest)
        carried = [(v, n) for v, n in values if v != ""]
        if not carried:
            names = self._label_names(rest)
            hint = [f"no series of {rest} carries a label {m.label}"]
            renamed = VMAGENT_RENAMES.get(m.label)
            if renamed and renamed in names:
                hint.append(f"vmagent stores {m.label} as {renamed}: use {renamed}{m.op}{quote(m.value)}")
            close = near(m.label, names, n=2, cutoff=SIMILAR)
            if close and not (renamed and renamed in close):
                hint.append("did you mean the label " + " or ".join(close))
            ranked = [Ranked(n, None, 1.0) for n in close]
            return f"{head}: " + "; ".join(hint), [Suggestion("; ".join(hint[1:]) or hint[0], ranked, "label")]
        ranked = rank(m.value, carried, shown=VALUES_SHOWN)
        if ranked and ranked[0].score >= SIMILAR:
            best = ranked[0]
            text = f"did you mean {m.label}={best.value} — {_series(best.count)}" + "".join(
                f", or {m.label}={r.value} — {_series(r.count)}" for r in ranked[1:])
        else:
            text = f"{m.label} holds e.g. " + ", ".join(
                f"{r.value} — {_series(r.count)}" for r in ranked)
        return f"{head}; {text}", [Suggestion(text, ranked, m.label)]

    # --- requests ------------------------------------------------------------------------

    def _query(self, expr: str, at: float | None = None) -> list[tuple[dict[str, str], float]]:
        if self.cancel.is_set():
            raise BudgetSpent
        self.budget.take()
        result = self.api.query(expr, at=self.end if at is None else at)
        out = []
        for s in result.series:
            value = s.points[-1][1] if s.points else math.nan
            if not math.isnan(value):
                out.append((dict(s.labels), value))
        return out

    def _count(self, sel: str) -> tuple[int, float | None]:
        t = f"tlast_over_time({sel}[{self.window}])"
        rows = self._query(f'label_replace(count({t}), "stat", "series", "__name__", ".*") or '
                           f'label_replace(max({t}), "stat", "newest", "__name__", ".*")')
        stats = {labels.get("stat"): value for labels, value in rows}
        return int(stats.get("series", 0)), stats.get("newest")

    def _newest_ever(self, sel: str) -> float | None:
        rows = self._query(f"max(tlast_over_time({sel}[{window_range(LOOKBACK_S)}]))")
        return rows[0][1] if rows else None

    def _near_names(self, metric: str) -> list[Ranked]:
        if self._names is None:
            self.budget.take()
            listing = self.api.label_values("__name__", start=self.start, end=self.end, limit=NAMES_LIMIT)
            self._names = list(listing.items)
        close = near(metric, self._names, n=5, cutoff=SIMILAR)
        if not close:
            return []
        regex = "|".join(re.escape(c) for c in close)
        rows = self._query(f"count by (__name__) (last_over_time({{__name__=~{quote(regex)}}}[{self.window}]))")
        counts = {labels.get("__name__", ""): int(v) for labels, v in rows}
        return rank(metric, [(c, counts.get(c, 0)) for c in close if counts.get(c)],
                    shown=VALUES_SHOWN)

    def _drop_and_alone(self, sel: promql.Selector, matchers: list[promql.Matcher]
                        ) -> tuple[list[int], list[int]]:
        """For each matcher, in ONE query: series left without it, series it matches alone."""
        parts = []
        for i, m in enumerate(matchers):
            parts.append(_tagged(f"count(last_over_time({_without(sel, m)}[{self.window}]))", f"drop{i}"))
            parts.append(_tagged(f"count(last_over_time({_alone(sel, m)}[{self.window}]))", f"alone{i}"))
        rows = self._query(" or ".join(parts))
        stats = {labels.get("stat", ""): int(v) for labels, v in rows}
        return ([stats.get(f"drop{i}", 0) for i in range(len(matchers))],
                [stats.get(f"alone{i}", 0) for i in range(len(matchers))])

    def _values(self, label: str, rest: str) -> list[tuple[str, int | None]]:
        rows = self._query(f"count by ({label}) (last_over_time({rest}[{self.window}]))")
        return sorted(((labels.get(label, ""), int(v)) for labels, v in rows), key=lambda x: -(x[1] or 0))

    def _label_names(self, rest: str) -> list[str]:
        self.budget.take()
        return [n for n in self.api.label_names(match=[rest], start=self.start, end=self.end)
                if n != "__name__"]


# --- selector text ---------------------------------------------------------------------


def quote_selector(metric: str) -> str:
    """A selector for one metric name, valid whatever characters the name holds."""
    if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", metric):
        return metric
    return "{__name__=" + quote(metric) + "}"


def _matcher_text(m: promql.Matcher) -> str:
    return m.text if m.quoted else f"{m.label}{m.op}{quote(m.value)}"


def _without(sel: promql.Selector, m: promql.Matcher) -> str:
    kept = [_matcher_text(x) for x in sel.label_matchers if x is not m]
    return _selector_text(sel.metric, kept)


def _alone(sel: promql.Selector, m: promql.Matcher) -> str:
    return _selector_text(sel.metric, [_matcher_text(m)])


def _selector_text(metric: str | None, matchers: list[str]) -> str:
    if metric is None:
        return "{" + ", ".join(matchers) + "}" if matchers else '{__name__=~".+"}'
    if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", metric):
        return metric + ("{" + ", ".join(matchers) + "}" if matchers else "")
    return "{" + ", ".join([f"__name__={quote(metric)}", *matchers]) + "}"


def _tagged(expr: str, stat: str) -> str:
    return f'label_replace({expr}, "stat", {quote(stat)}, "__name__", ".*")'


def _series(n: int | None) -> str:
    if n is None:
        return "present"
    return f"{n:,} series"


def _ago(seconds: float) -> str:
    from stsdebug.stages.phrases import age_text

    return age_text(max(0.0, seconds))


__all__ = ["Budget", "BudgetSpent", "Explained", "Explainer", "Suggestion"]
