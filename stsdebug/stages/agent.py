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

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from stsdebug.agentlog import (
    API_KEY,
    BAD_NAME,
    BAD_TYPE,
    BATCHER,
    BLOCKED,
    CHECK_ERROR,
    DELIVERY_KINDS,
    DNS,
    HTTP_ERROR,
    NETWORK,
    REFUSED,
    REJECTED,
    SEND_ERROR,
    SERVICE_CHECK,
    STATUS_ERRORS,
    STATUS_POSTED,
    SUCCESS,
    TIMEOUT,
    TLS,
    TRACEBACK,
    ZERO_SAMPLES,
    AgentScan,
    Finding,
    Hit,
    ScanResult,
)
from stsdebug.errors import SourceError
from stsdebug.model import (
    Evidence,
    Figures,
    Hint,
    LogLine,
    LogSample,
    StageResult,
    Status,
    Table,
    Text,
)
from stsdebug.payloads import metric_name_problem, metric_type_problem
from stsdebug.stages.base import Context

TITLE = "StackState Agent"
# --agent-cmd may run for 3 timeouts (sources.agent.CMD_TIMEOUT_FACTOR); reading follows.
BUDGET_CALLS = 5.0

RUNBOOK_LOG = "StackState Agent: check the Agent log for problems connecting to StackState"
RUNBOOK_CHECK = "StackState Agent: run `stackstate-agent check <check_name> -l debug`"
RUNBOOK_K8S = "StackState Agent: Kubernetes and OpenShift agent types"
RUNBOOK_RECEIVER = "StackState receiver: check the receiver logs for JSON deserialization errors"

# The StackState Cluster Agent's own checks (pkg/collector/corechecks/cluster/kubeapi):
# part of the Kubernetes and OpenShift integrations although the catalog lists node checks.
_CLUSTER_AGENT_CHECKS = frozenset({"kubernetes_api_topology", "kubernetes_api_events", "kubernetes_api_metrics"})
CACHE_METRIC_NAMES = "agent.metric_names"  # ctx.cache: names the agent emits, for later stages
_CANCEL_EVERY = 5000  # lines between looks at ctx.cancel
_TABLE_ROWS = 25

_KIND_TITLES = {
    API_KEY: "API key refused (403)",
    REJECTED: "Payloads rejected by the receiver",
    HTTP_ERROR: "Receiver answers with an HTTP error",
    REFUSED: "Connection refused",
    DNS: "DNS lookup failure",
    TLS: "TLS handshake failure",
    TIMEOUT: "Timeouts",
    NETWORK: "Network errors",
    BLOCKED: "Forwarder gave up on an endpoint",
    SEND_ERROR: "Transaction errors",
    BATCHER: "Batcher errors",
}


@dataclass
class _Issue:
    status: Status  # FAIL or WARN
    sentence: str
    evidence: list[Evidence] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    rank: int = 50  # among issues of one status, the lowest rank leads the summary


# Ranks: what stops the data earliest in the pipeline leads.
_RANK_INPUT, _RANK_DELIVERY, _RANK_NOT_RUN, _RANK_CHECK, _RANK_ZERO = 5, 10, 15, 20, 25
_RANK_NAMES, _RANK_TYPES, _RANK_MATCH, _RANK_SC, _RANK_COVERAGE = 40, 45, 50, 60, 90


@dataclass
class _Read:
    label: str
    kind: str  # output | log | cmd
    windowed: bool
    scan: ScanResult | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def run(ctx: Context) -> StageResult:
    s = ctx.settings
    if not (s.agent_output or s.agent_log or s.agent_cmd):
        return ctx.skip(
            "No agent input given (--agent-output, --agent-log or --agent-cmd).",
            "Give the agent log (--agent-log /var/log/stackstate-agent/agent.log), the output of "
            "`sudo -u stackstate-agent stackstate-agent check <check> -l debug` or of "
            "`stackstate-agent status` (--agent-output FILE), or let stsdebug run it (--agent-cmd).",
        )
    source = ctx.source("agent")
    reads = [_read(ctx, source, inp) for inp in source.inputs()]
    return _Judge(ctx).judge(reads)


def _read(ctx: Context, source: Any, inp: Any) -> _Read:
    read = _Read(inp.label, inp.kind, bool(inp.windowed))
    scan = AgentScan(
        window=(ctx.window.start, ctx.window.end) if inp.windowed else None,
        secrets=ctx.settings.secret_values(),
        name_problem=metric_name_problem,
        type_problem=metric_type_problem,
    )
    try:
        for i, (n, text) in enumerate(source.lines(inp)):
            if i % _CANCEL_EVERY == 0 and ctx.cancel.is_set():
                read.notes.append(f"Reading {inp.label} was cancelled after {i} lines.")
                break
            scan.feed(n, text)
    except SourceError as exc:
        read.error = str(exc).rstrip(".") + "."
        return read
    read.scan = scan.finish()
    read.notes.extend(getattr(source, "notes", {}).get(inp.label, []))
    return read


class _Judge:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.integration = ctx.integration
        self.issues: list[_Issue] = []
        self.evidence: list[Evidence] = []
        self.hints: list[Hint] = []
        self.errors: list[str] = []
        self.collected: list[str] = []  # what shows the data being collected
        self.posted: list[str] = []  # what shows it being posted
        self.delivery_trouble = False
        self.names: dict[str, int] = {}
        self.checks_seen: dict[str, str] = {}  # check -> "label line n"
        self.components: set[str] = set()
        self.log_read = False  # a log with lines in the window
        self.outputs_read = False  # check or status output

    # -- relevance ---------------------------------------------------------------------

    def relevant(self, name: str | None) -> bool:
        """Does a check (or service check) name belong to the integration under diagnosis?"""
        checks = self.integration.checks
        prefixes = self.ctx.matcher.prefixes
        if not name or (not checks and not prefixes):
            return True
        if name in checks or any(name.startswith(c + ".") for c in checks):
            return True
        if self.integration.agent_types and name in _CLUSTER_AGENT_CHECKS:
            return True
        return bool(prefixes) and self.ctx.matcher.name_matches(name)

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
        self._delivery(read, scan)
        self._forwarder_status(read, scan)
        self._checks(read, scan)
        self._metrics(read, scan)

    # -- forwarder: did the data reach the receiver? -------------------------------------

    def _delivery(self, read: _Read, scan: ScanResult) -> None:
        success = scan.finding(SUCCESS)
        last_ok = success.samples.latest if success and success.samples.latest else None
        if last_ok is not None:
            self.posted.append(
                f"the agent posted to {_endpoint(last_ok.detail)} ({read.label} line {last_ok.n}"
                f"{', ' + _when(last_ok.ts) if last_ok.ts else ''})"
            )
        connectivity: list[tuple[str, Finding]] = []
        for kind in DELIVERY_KINDS:
            finding = scan.finding(kind)
            if finding is None or finding.samples.latest is None:
                continue
            self.delivery_trouble = True
            if kind in (API_KEY, REJECTED):
                self.issues.append(self._delivery_issue(read, scan, kind, finding, last_ok))
            else:
                connectivity.append((kind, finding))
        if not connectivity:
            return
        # "Too many errors for endpoint" only repeats what the errors before it say.
        causes = [(k, f) for k, f in connectivity if k != BLOCKED] or connectivity
        blocked = next((f for k, f in connectivity if k == BLOCKED and len(causes) < len(connectivity)), None)
        for kind, finding in causes:
            # A later "Too many errors" line means the trouble lasted until then.
            after = blocked.samples.latest.n if blocked and blocked.samples.latest else 0
            issue = self._delivery_issue(read, scan, kind, finding, last_ok, after)
            if blocked is not None:
                issue.evidence.append(_sample(_KIND_TITLES[BLOCKED], read.label, blocked))
                blocked = None
            self.issues.append(issue)

    def _delivery_issue(
        self,
        read: _Read,
        scan: ScanResult,
        kind: str,
        finding: Finding,
        last_ok: Hit | None,
        after: int = 0,
    ) -> _Issue:
        latest = finding.samples.latest
        assert latest is not None
        recovered = last_ok is not None and last_ok.n > max(latest.n, after)
        status = Status.WARN if recovered else Status.FAIL
        where = _where(read.label, finding)
        count = finding.total
        detail = _top_detail(finding)
        host = _endpoint(_top_url(finding))
        if kind == API_KEY:
            if detail == "status":
                what = "the agent's API key is refused by the receiver (`status`: API Key invalid)"
            else:
                what = (f"the receiver refused the agent's API key: {count} transaction"
                        f"{_s(count)} dropped with 403 \"API Key invalid\" ({where})")
            hint = Hint(
                "Set api_key in /etc/stackstate-agent/stackstate.yaml (Kubernetes: stackstate.apiKey "
                "in the agent's Helm values) to the receiver API key of this StackState installation, "
                "then restart the agent.", RUNBOOK_LOG)
        elif kind == REJECTED:
            code, _, message = detail.partition(": ")
            what = (f"the receiver rejected {count} payload{_s(count)} with {code} ({where}): "
                    f"{_clip(message, 200)}")
            hint = _rejection_hint(code, message)
        else:
            what = _connectivity_sentence(kind, count, where, host, detail)
            hint = _connectivity_hint(kind, host)
        if recovered:
            assert last_ok is not None
            sentence = (f"{_cap(what)}; the agent posted successfully after the last one "
                        f"({read.label} line {last_ok.n}), so delivery is intermittent.")
        elif scan.shape == "status":
            sentence = f"{_cap(what)}."
        else:
            sentence = f"{_cap(what)}, and no successful post follows."
        evidence: list[Evidence] = [_sample(_KIND_TITLES[kind], read.label, finding)]
        if kind == REJECTED and len(finding.details) > 1:
            evidence.append(Table(
                "Receiver messages", ["count", "status and message"],
                [[c, _clip(m, 300)] for m, c in finding.details.most_common(10)],
            ))
        return _Issue(status, sentence, evidence, [hint], _RANK_DELIVERY)

    def _forwarder_status(self, read: _Read, scan: ScanResult) -> None:
        """`stackstate-agent status`: the forwarder's counters since the agent started."""
        counts = scan.forwarder_counts
        if not counts:
            return
        posted = scan.finding(STATUS_POSTED)
        ok = counts.get("Success", 0)
        if posted is not None and posted.samples.latest is not None:
            self.posted.append(
                f"the agent's forwarder reports {ok} successful transaction{_s(ok)} "
                f"({read.label} line {posted.samples.latest.n})"
            )
        errors = scan.finding(STATUS_ERRORS)
        if errors is None:
            return
        self.delivery_trouble = True
        failed = counts.get("Errors") or sum(
            v for k, v in counts.items() if k.isdigit() or k.endswith("Errors")
        )
        codes = sorted(k for k in counts if k.isdigit() and counts[k])
        kinds = sorted(k for k in counts if k.endswith("Errors") and k != "Errors" and counts[k])
        why = ", ".join([f"HTTP {c}" for c in codes] + kinds) or "errors"
        if ok:
            sentence = (f"The agent's forwarder reports {failed} failed and {ok} successful "
                        f"transactions since it started ({why}): delivery is intermittent.")
            status = Status.WARN
        else:
            sentence = (f"The agent's forwarder reports {failed} failed transaction{_s(failed)} "
                        f"and none successful since it started ({why}).")
            status = Status.FAIL
        hint = (Hint("HTTP 403 means the receiver refuses the API key: set api_key in "
                     "stackstate.yaml to the receiver API key and restart the agent.", RUNBOOK_LOG)
                if "403" in codes else
                Hint("The agent log says why transactions fail: give it with --agent-log.", RUNBOOK_LOG))
        self.issues.append(_Issue(
            status, sentence, [_sample("Forwarder errors", read.label, errors)], [hint], _RANK_DELIVERY
        ))

    # -- collection: did the integration's check run and collect? --------------------------

    def _checks(self, read: _Read, scan: ScanResult) -> None:
        label = read.label
        input_checks = list(scan.checks_seen)
        own = [c for c in input_checks if self.relevant(c)]

        def mine(hit: Hit) -> bool:
            # A line that names no check belongs to the check(s) this input is about.
            if hit.check and hit.check != "?":
                return self.relevant(hit.check)
            return bool(own) or not input_checks

        # What shows the integration's data being collected.
        collected_here = False
        for c, smp in scan.check_samples.items():
            if smp.last_run > 0 and (self.relevant(c) or (c == "?" and (own or not input_checks))):
                collected_here = True
                self.collected.append(
                    f"the {c if c != '?' else 'configured'} check collected {smp.last_run} metric "
                    f"sample{_s(smp.last_run)} in its last run ({label} line {smp.n})"
                )
        matching = [n for n in scan.metric_names if self.ctx.matcher.name_matches(n)]
        if scan.shape == "check" and matching and (own or not input_checks):
            if not collected_here:
                self.collected.append(
                    f"the check output holds {len(matching)} metric name{_s(len(matching))} "
                    f"matching {self.ctx.matcher.describe()} ({label})"
                )
            collected_here = True
        for c, runs in scan.check_runs.items():
            if self.relevant(c) and runs.last_clean_n is not None:
                collected_here = True
                self.collected.append(f"the {c} check ran without errors ({label} line {runs.last_clean_n})")

        errors = _filtered(scan.finding(CHECK_ERROR), mine)
        tracebacks = _filtered(scan.finding(TRACEBACK), mine)
        zero = _filtered(scan.finding(ZERO_SAMPLES), mine)
        status = Status.WARN if collected_here else Status.FAIL
        if errors or tracebacks:
            first = (errors or tracebacks)[0]
            # The exception a traceback ends with says more than the log line before it.
            told = tracebacks[0] if tracebacks and "cut off" not in tracebacks[0].detail else first
            names = sorted({h.check for h in errors + tracebacks if h.check and h.check != "?"})
            count = _count_of(scan.finding(CHECK_ERROR), mine) if errors else len(tracebacks)
            who = f"The {' and '.join(names)} check{'s' if len(names) > 1 else ''}" if names else "A check"
            message = _clip(told.detail, 200) if told.detail else "see the quoted lines"
            evidence: list[Evidence] = []
            if errors:
                evidence.append(_sample_hits("Check errors", label, errors, count))
            if tracebacks:
                evidence.append(_sample_hits("Python tracebacks", label, tracebacks, len(tracebacks)))
            tail = "" if status is Status.FAIL else "; other runs collected data"
            self.issues.append(_Issue(
                status,
                f"{who} reported {count} error{_s(count)} ({label} line {told.n}): "
                f"{message.rstrip('.')}{tail}.",
                evidence,
                [Hint("Fix what the check reports (credentials, address or permissions for the "
                      "monitored system) in conf.d/<check>.d/conf.yaml, then confirm with "
                      "`sudo -u stackstate-agent stackstate-agent check <check> -l debug`.",
                      RUNBOOK_CHECK)],
                _RANK_CHECK,
            ))
        if zero:
            hit = zero[0]
            who = hit.check if hit.check and hit.check != "?" else (own[0] if own else "")
            what = "an empty Series section" if "Series" in hit.detail else "0 metric samples in its last run"
            self.issues.append(_Issue(
                status,
                f"The {who + ' ' if who else ''}check collected no metrics: {what} ({label} line {hit.n}).",
                [_sample_hits("Zero metric samples", label, zero, len(zero))],
                [Hint("A check that runs but collects nothing usually cannot reach the system it "
                      "monitors, or its configuration selects nothing; its errors and service "
                      "checks say which.", RUNBOOK_CHECK)],
                _RANK_ZERO,
            ))
        failing_sc = _filtered(scan.finding(SERVICE_CHECK), lambda h: self.relevant(h.check))
        if failing_sc:
            first = failing_sc[0]
            more = f", and {len(failing_sc) - 1} more failing" if len(failing_sc) > 1 else ""
            self.issues.append(_Issue(
                Status.WARN,
                f"Service check {_clip(first.detail, 200)} ({label} line {first.n}){more}.",
                [_sample_hits("Failing service checks", label, failing_sc, len(failing_sc))],
                [Hint("A failing service check names what the check cannot reach or what is "
                      "unhealthy in the monitored system.", RUNBOOK_CHECK)],
                _RANK_SC,
            ))
        if self.integration.checks and not own:
            first_check = self.integration.checks[0]
            if scan.shape == "status":
                self.issues.append(_Issue(
                    Status.FAIL,
                    f"The agent does not run {_checks_phrase(self.integration.checks)}: "
                    f"{label} lists {', '.join(input_checks) or 'no checks'} only.",
                    hints=[Hint(
                        f"Configure the check in /etc/stackstate-agent/conf.d/{first_check}.d/"
                        "conf.yaml and restart the agent.", RUNBOOK_CHECK)],
                    rank=_RANK_NOT_RUN,
                ))
            elif scan.shape == "check" and input_checks:
                self.issues.append(_Issue(
                    Status.WARN,
                    f"{label} is the output of the {', '.join(input_checks)} check, not of "
                    f"{_checks_phrase(self.integration.checks)}.",
                    hints=[Hint(
                        f"Run `sudo -u stackstate-agent stackstate-agent check {first_check} -l debug`.",
                        RUNBOOK_CHECK)],
                    rank=_RANK_NOT_RUN,
                ))

    # -- metric names the receiver accepts, and whether they are the integration's ----------

    def _metrics(self, read: _Read, scan: ScanResult) -> None:
        names = dict(scan.metric_names)
        if not names:
            return
        for name, count in names.items():
            self.names[name] = self.names.get(name, 0) + count
        matcher = self.ctx.matcher
        matching = [n for n in names if matcher.name_matches(n)]
        # Every name a check emits travels in the same payloads, so all of them count.
        considered = list(names)
        refused = {n: p for n in names if (p := metric_name_problem(n))}
        refused_considered = [n for n in considered if n in refused]
        rows = []
        for name in sorted(names, key=lambda n: (n not in refused, not matcher.name_matches(n), n)):
            if len(rows) >= _TABLE_ROWS:
                break
            rows.append([name, names[name], "yes" if matcher.name_matches(name) else "no",
                         _clip(refused[name], 120) if name in refused else "accepted"])
        table = Table(
            f"Metric names in {read.label}",
            ["metric", "series", f"matches {self.integration.name}", "receiver"],
            rows,
            note=(f"{len(names)} distinct names; first {_TABLE_ROWS} shown, refused first."
                  if len(names) > _TABLE_ROWS else None),
        )
        bad_names = scan.finding(BAD_NAME)
        if refused_considered:
            example = refused_considered[0]
            if len(refused_considered) == len(considered):
                status = Status.FAIL
                lead = f"All {len(considered)} metric name{_s(len(considered))}"
            else:
                status = Status.WARN
                lead = f"{len(refused_considered)} of {len(considered)} metric names"
            sentence = (f"{lead} the check emits would be refused by the receiver, e.g. "
                        f"{example!r}: {_reason(refused[example])}.")
            evidence: list[Evidence] = [table]
            if bad_names:
                evidence.insert(0, _sample("Refused metric names", read.label, bad_names))
            self.issues.append(_Issue(status, sentence, evidence, [Hint(
                "Rename the metrics in the check (or its custom queries) so that no name starts with "
                "host, labels, name, tags, timeReceived, timestamp or values.", RUNBOOK_CHECK)],
                _RANK_NAMES))
        else:
            self.evidence.append(table)
        bad_types = scan.finding(BAD_TYPE)
        if bad_types is not None and bad_types.samples.latest is not None:
            all_bad = bad_types.total >= scan.series_entries > 0
            self.issues.append(_Issue(
                Status.FAIL if all_bad else Status.WARN,
                f"{bad_types.total} of {scan.series_entries} series carry a metric type the receiver "
                f"refuses: {_reason(_top_detail(bad_types))}.",
                [_sample("Refused metric types", read.label, bad_types)],
                [Hint("Submit metrics as gauge, count, rate, counter or raw.", RUNBOOK_CHECK)],
                _RANK_TYPES,
            ))
        if matcher.prefixes and not matching:
            self.issues.append(_Issue(
                Status.WARN,
                f"None of the {len(names)} metric names in {read.label} match "
                f"{matcher.describe()}, which is what the later stages look for.",
                hints=[Hint("If the integration renamed its metrics, give the new prefix with "
                            "--metric-prefix and update the telemetry streams.", RUNBOOK_CHECK)],
                rank=_RANK_MATCH,
            ))

    # -- across inputs -------------------------------------------------------------------

    def _coverage(self, reads: list[_Read]) -> None:
        if not any(r.scan for r in reads):
            return
        if self.checks_seen:
            rows = [[c, where, "yes" if self.relevant(c) else "no"] for c, where in list(self.checks_seen.items())[:30]]
            self.evidence.append(Table("Checks seen", ["check", "first seen", f"{self.integration.name}"], rows))
        if self.delivery_trouble or any(i.status is Status.FAIL for i in self.issues):
            return
        if not self.posted:
            if self.log_read:
                self.issues.append(_Issue(
                    Status.WARN,
                    f"No \"Successfully posted payload\" in the last {self.ctx.window.spec} of the "
                    "agent log, and no errors either; the agent logs a success only for its first "
                    "transaction and then once every 500 (logging_frequency).",
                    hints=[Hint("Give `stackstate-agent status` output (--agent-output) to see the "
                                "forwarder's success and error counts.", RUNBOOK_LOG)],
                    rank=_RANK_COVERAGE,
                ))
            elif self.outputs_read:
                self.issues.append(_Issue(
                    Status.WARN,
                    f"{_cap(self.collected[0]) if self.collected else 'The check output was read'}, "
                    "but the check command sends nothing, so posting to the receiver was not observed.",
                    hints=[Hint("Add the agent log (--agent-log) or `stackstate-agent status` output "
                                "to see whether the agent posts to the receiver.", RUNBOOK_LOG)],
                    rank=_RANK_COVERAGE,
                ))
        if not self.collected and not any(i.status is Status.WARN for i in self.issues):
            checks = _checks_phrase(self.integration.checks) if self.integration.checks else "any check"
            self.issues.append(_Issue(
                Status.WARN,
                f"Nothing read shows {checks} collecting data.",
                hints=[Hint("Run `sudo -u stackstate-agent stackstate-agent check <check> -l debug` "
                            "and give its output with --agent-output.", RUNBOOK_CHECK)],
                rank=_RANK_COVERAGE,
            ))

    def _agent_types(self) -> None:
        ns = "<namespace>"
        self.evidence.append(Text(
            "Which agent supplies which data (Kubernetes, OpenShift)",
            "Node Agent (DaemonSet, pods *-node-agent-*, container node-agent): metrics of its own "
            "node from the kubelet (kubelet.*, kubernetes.*) and containers; also kube-state-metrics "
            "(kubernetes_state.*) when kube-state-metrics runs on the same node and cluster checks "
            "are off.\n"
            "Cluster Agent (Deployment *-cluster-agent, log component CLUSTER): cluster-level data "
            "read from the Kubernetes API server: topology (kubernetes_api_topology), Kubernetes "
            "events (kubernetes_api_events) and cluster-level control-plane metrics "
            "(kubernetes_api_metrics); it also hands cluster checks to the ClusterCheck Agent.\n"
            "ClusterCheck Agent (Deployment *-checks-agent or *-clusterchecks, only with cluster "
            "checks enabled): the kubernetes_state check, i.e. kube-state-metrics "
            "(kubernetes_state.*).",
        ))
        prefixes = self.ctx.matcher.prefixes
        wanted = []
        if any(p.startswith(("kubelet", "kubernetes.")) for p in prefixes) or not prefixes:
            wanted.append(f"node Agent (`kubectl -n {ns} logs <node-agent pod> -c node-agent`) for "
                          "kubelet.* and kubernetes.*")
        if any(p.startswith("kubernetes_state") for p in prefixes) or not prefixes:
            wanted.append("ClusterCheck Agent (`kubectl -n <namespace> logs <checks-agent pod>`) for "
                          "kubernetes_state.* with cluster checks on, else the node Agent on the node "
                          "running kube-state-metrics")
        wanted.append("Cluster Agent (`kubectl -n <namespace> logs <cluster-agent pod>`) for "
                      "Kubernetes events, topology and control-plane metrics")
        seen = ""
        if self.components:
            kinds = sorted(self.components)
            seen = (f" The log given was written by component{'s' if len(kinds) > 1 else ''} "
                    f"{', '.join(kinds)}"
                    + (" (the Cluster Agent)." if kinds == ["CLUSTER"] else "."))
        self.hints.append(Hint(
            "Read the log of the agent type that supplies the missing data: " + "; ".join(wanted)
            + "." + seen, RUNBOOK_K8S))


# --- evidence helpers --------------------------------------------------------------------


def _overview(read: _Read, scan: ScanResult, ctx: Context) -> Figures:
    fig = Figures(f"{read.label} ({_SHAPES.get(scan.shape, scan.shape)})")
    fig.add("lines read", scan.lines)
    if read.windowed:
        fig.add(f"lines in the last {ctx.window.spec}", scan.lines_in_window)
        if scan.lines_before_window:
            fig.add("lines before the window", scan.lines_before_window)
        if scan.lines_after_window:
            fig.add("lines after the window end", scan.lines_after_window)
    if scan.log_lines:
        fig.add("agent log lines", scan.log_lines)
    if scan.newest_ts:
        fig.add("newest timestamp", _when(scan.newest_ts))
    ok = scan.count(SUCCESS)
    if ok or scan.shape == "log":
        fig.add("successful posts logged", ok)
    failed = sum(scan.count(k) for k in DELIVERY_KINDS)
    if failed or scan.shape == "log":
        fig.add("forwarder error lines", failed)
    for key in ("Success", "Errors", "Dropped"):
        if key in scan.forwarder_counts:
            fig.add(f"forwarder {key.lower()} (since start)", scan.forwarder_counts[key])
    if scan.series_sections or scan.series_entries:
        fig.add("metric series", scan.series_entries)
        fig.add("distinct metric names", len(scan.metric_names))
    if scan.service_checks:
        fig.add("service checks", scan.service_checks)
    if scan.events:
        fig.add("events", scan.events)
    return fig


_SHAPES = {
    "log": "agent log",
    "check": "check output",
    "status": "status output",
    "text": "text without agent log lines",
    "empty": "empty",
}


def _lines_of(hits: Iterable[Hit]) -> list[LogLine]:
    out: list[LogLine] = []
    for h in hits:
        for c in h.context:
            out.append(LogLine(c.n, c.text, c.span))
        out.append(LogLine(h.n, h.text, h.span))
    return out


def _sample(title: str, label: str, finding: Finding) -> LogSample:
    return LogSample(title, label, _lines_of(finding.samples.shown()), total_matches=finding.total)


def _sample_hits(title: str, label: str, hits: list[Hit], total: int) -> LogSample:
    return LogSample(title, label, _lines_of(hits), total_matches=max(total, len(hits)))


def _filtered(finding: Finding | None, keep: Any) -> list[Hit]:
    if finding is None:
        return []
    return [h for h in finding.samples.shown() if keep(h)]


def _count_of(finding: Finding | None, keep: Any) -> int:
    """How many hits of a finding belong to the integration (all of them when it cannot tell)."""
    if finding is None:
        return 0
    shown = finding.samples.shown()
    kept = [h for h in shown if keep(h)]
    if len(kept) == len(shown):
        return finding.total
    return len(kept)


def _where(label: str, finding: Finding) -> str:
    first = finding.samples.first[0].n if finding.samples.first else None
    last = finding.samples.latest.n if finding.samples.latest else first
    if first is None:
        return label
    if first == last:
        return f"{label} line {first}"
    return f"{label} lines {first}–{last}"


def _top_detail(finding: Finding) -> str:
    common = finding.details.most_common(1)
    return common[0][0] if common else ""


def _top_url(finding: Finding) -> str:
    for detail, _ in finding.details.most_common():
        if "://" in detail:
            return detail
    return ""


def _endpoint(url: str) -> str:
    """A URL without its query string (API keys live there) or credentials."""
    if not url:
        return "the receiver"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the receiver"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if host else "the receiver"


def _host(url_or_phrase: str) -> str:
    if "://" not in url_or_phrase:
        return url_or_phrase
    try:
        parts = urlsplit(url_or_phrase)
        return (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return url_or_phrase


def _connectivity_sentence(kind: str, count: int, where: str, endpoint: str, detail: str) -> str:
    n = f"{count} line{_s(count)}"
    host = _host(endpoint)
    if kind == REFUSED:
        return f"the agent cannot connect to the receiver at {host}: connection refused ({n}, {where})"
    if kind == DNS:
        return f"the agent cannot resolve the receiver host {host} ({n}, {where})"
    if kind == TLS:
        return f"the TLS handshake with the receiver at {host} fails ({n}, {where})"
    if kind == TIMEOUT:
        return f"requests from the agent to the receiver at {host} time out ({n}, {where})"
    if kind == NETWORK:
        return f"the network connection from the agent to the receiver at {host} fails ({n}, {where})"
    if kind == HTTP_ERROR:
        return f"the receiver answers {detail or 'an HTTP error'} and the agent keeps retrying ({n}, {where})"
    if kind == BLOCKED:
        return f"the agent's forwarder gave up on {endpoint} after repeated errors ({n}, {where})"
    if kind == BATCHER:
        return f"the agent cannot hand its batch to the forwarder: {_clip(detail, 160)} ({n}, {where})"
    return f"sending from the agent to the receiver fails: {_clip(detail, 160)} ({n}, {where})"


def _connectivity_hint(kind: str, host: str) -> Hint:
    text = {
        REFUSED: "Nothing accepts connections at the receiver address the agent uses: check sts_url in "
                 "/etc/stackstate-agent/stackstate.yaml (Linux: https://HOST:7077/stsAgent; Kubernetes: "
                 "https://BASE/receiver/stsAgent) and that the receiver runs (--receiver checks its health).",
        DNS: "The agent host cannot resolve the receiver's host name: check sts_url for typos and the "
             "DNS configuration of the agent host (or pod).",
        TLS: "Install the CA that signed the receiver's certificate on the agent host, or set "
             "skip_ssl_validation: true in stackstate.yaml while testing; an https URL pointing at "
             "a plain-http port fails the handshake too.",
        TIMEOUT: "Check firewalls and proxies between the agent and the receiver (proxy settings in "
                 "stackstate.yaml), and the receiver's load; forwarder_timeout sets the agent's patience.",
        NETWORK: "Check the route, firewall and proxy between the agent and the receiver.",
        HTTP_ERROR: "The receiver is reachable but failing: check its log and health (--receiver, "
                    "--receiver-log).",
        BLOCKED: "The errors logged before \"Too many errors for endpoint\" say why the endpoint fails.",
        BATCHER: "The agent log around these lines says why the batch could not be sent.",
        SEND_ERROR: "The quoted errors say why sending fails; check sts_url and the receiver.",
    }[kind]
    return Hint(text, RUNBOOK_LOG)


def _rejection_hint(code: str, message: str) -> Hint:
    if code.startswith("404"):
        return Hint("The receiver has no such path: sts_url must end in /stsAgent (Kubernetes: "
                    "https://BASE/receiver/stsAgent).", RUNBOOK_LOG)
    if code.startswith("413"):
        return Hint("The payloads are too large for the receiver or a proxy in front of it: raise "
                    "the proxy's body size limit.", RUNBOOK_LOG)
    return Hint("The receiver could not deserialize the payload (\"" + _clip(message, 120) + "\"): "
                "find the same error in the receiver log and fix the check or agent that sends it "
                "(`stsdebug validate` checks a saved payload).", RUNBOOK_RECEIVER)


def _checks_phrase(checks: Iterable[str]) -> str:
    names = list(checks)
    if len(names) == 1:
        return f"the {names[0]} check"
    return "any of the " + ", ".join(names) + " checks"


def _reason(problem: str) -> str:
    """payloads' sentence without the metric's name (already shown) and the list of prefixes."""
    first = problem.split("; ", 1)[0]
    return re.sub(r'^metric name ".*?" ', "", first)


def _unique(hints: list[Hint]) -> list[Hint]:
    seen: set[str] = set()
    out = []
    for h in hints:
        if h.text not in seen:
            seen.add(h.text)
            out.append(h)
    return out


def _when(ts: float | None) -> str:
    if ts is None:
        return "unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _s(n: int) -> str:
    return "" if n == 1 else "s"
