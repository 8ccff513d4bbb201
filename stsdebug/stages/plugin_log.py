"""The pull plugins' errors in the StackState server log (``--server-log``), for the source stage.

Judgement, by cause, rate and recency (docs/stages/source.md):

* credentials refused or expired, or the external source unreachable, in the window and
  still within ``QUIET_S`` of its end: ``fail``; the same, quiet for longer since: ``warn``
  (recovered, or nothing asked for the data since: an on-demand plugin only calls when a
  stream is viewed);
* throttling: ``warn`` (the plugin retries; data comes late and with gaps);
* other ERROR entries of the plugin: ``warn``;
* none of these, with the plugin's logger quiet: ``pass``.

The plugins' log wording is not public: lines are tied to a plugin by its logger name (the
catalog's ``server_loggers``) and classified by the patterns of ``stsdebug.serverlog`` plus
``server_log_pattern``; every verdict says which patterns decided it.
"""

from __future__ import annotations

import time

from stsdebug.errors import UsageError
from stsdebug.model import Evidence, Figures, Hint, LogLine, LogSample, Status, Table, Text
from stsdebug.receiverlog import parse_tz
from stsdebug.serverlog import CAUSES, PATTERNS, Finding, Reading, extra_patterns, group, read
from stsdebug.stages.base import Context
from stsdebug.stages.phrases import age_text, counted

RUNBOOK = "Pull-based integrations: StackState plugin pulls from the external source"
QUIET_S = 600.0  # a plugin retries within minutes while a stream asks for data
BUDGET_SHARE = 0.6  # of the stage's budget, for reading the log

FIXES = {
    "credentials": {
        "aws": "Renew the credentials of the AWS StackPack instance (access key, or the role and its "
               "external id) and Test Connection in Settings > Telemetry Sources > CloudWatch sources.",
        "azure": "Renew the service principal's client secret in the Azure StackPack instance and check "
                 "its role on the subscriptions (Monitoring Reader).",
        "splunk": "Update the credentials (or token) of the Splunk telemetry data source in StackState.",
        "": "Update the credentials of the data source in StackState (Settings > Telemetry Sources).",
    },
    "unreachable": {
        "": "Check that the StackState server can reach the external source (DNS, proxy, firewall, "
            "certificates) at the URL its data source names.",
    },
    "throttled": {
        "aws": "Lower CloudWatch calls: fewer streams on CloudWatch metrics, a longer polling interval, or a "
               "raised CloudWatch API quota.",
        "azure": "Raise the Minimum live stream polling interval of the Azure data source or spread the "
                 "subscriptions: Azure Resource Manager answers 429 TooManyRequests above its limits.",
        "": "The external source throttles the plugin: poll less often or raise its quota.",
    },
    "error": {"": "Read the plugin's errors in the server log around these times."},
}


def judge(ctx: Context, evidence: list[Evidence], hints: list[Hint]) -> tuple[Status, str] | None:
    """The plugin's state from the server log, or None when the log shows nothing for the window."""
    s = ctx.settings
    i = ctx.integration
    logs = ctx.logs
    inputs = logs.server_inputs()  # a missing file is the user's to fix: UsageError
    auto = (s.receiver_log_tz or "auto").strip().lower() in ("auto", "")
    try:
        tz = None if auto else parse_tz(s.receiver_log_tz)
    except ValueError as exc:
        raise UsageError(f"receiver_log_tz: {exc}") from None
    patterns = [*extra_patterns(s.server_log_pattern), *PATTERNS]
    budget = max(5.0, s.timeout * 6.0) * BUDGET_SHARE
    deadline = time.time() + budget
    lines = logs.lines(inputs, deadline)
    w = ctx.window
    r = read(group(lines, tz, auto), (w.start, w.end), i.server_loggers, patterns)
    names = ", ".join(x.name for x in inputs)
    fig = Figures("StackState server log").add("Read", names).add("Entries", r.entries)
    if r.first is not None and r.last is not None:
        fig.add("Log covers", f"{age_text(ctx.now - r.first)} ago to {age_text(ctx.now - r.last)} ago")
    fig.add("Entries in the window", r.in_window).add(f"{i.name} plugin entries (WARN/ERROR) in the window",
                                                      r.plugin_entries)
    if r.layout == "kubernetes" and auto:
        fig.add("Time zone", "timestamps carry no zone; read as UTC (the pods' zone)")
    evidence.append(fig)
    if r.entries == 0:
        return Status.ERROR, (
            f"{names} does not look like a StackState server log: no line starts with a logback "
            "timestamp and level (e.g. '2024-05-14 09:30:05,000 ERROR com.stackstate... - ...')."
        )
    if r.in_window == 0:
        old = f" (its newest entry is {age_text(ctx.now - r.last)} old)" if r.last is not None else ""
        evidence.append(Text("Server log", f"No entry of {names} falls in the last {w.spec}{old}: "
                                           "nothing to judge the plugin by."))
        hints.append(Hint("Give the current server log, or widen the window (--window) to judge an older one.",
                          RUNBOOK))
        return None
    if not r.findings:
        return Status.PASS, (
            f"The StackState server log shows no error of the {i.name} plugin in the last {w.spec} "
            f"({r.in_window:,} entries read)."
        )
    evidence.append(_table(ctx, r))
    for f in r.findings.values():
        evidence.append(_samples(i.name, f))
    order = ("credentials", "unreachable", "throttled", "error")
    ranked = sorted(r.findings.values(), key=lambda f: order.index(f.cause))
    lead = ranked[0]
    status, headline = _headline(ctx, lead)
    for f in ranked:
        fixes = FIXES[f.cause]
        hints.append(Hint(fixes.get(i.name, fixes[""]), RUNBOOK))
    also = [f"{f.count:,} {CAUSES[f.cause]}" for f in ranked[1:]]
    tail = f"; also {', '.join(also)}" if also else ""
    said = ", ".join(sorted(p for f in ranked for p in f.patterns)) or "the ERROR level"
    note = (f" (the plugin's log wording is not public: these entries were tied to {i.name} by their logger "
            f"and recognised by {said}; extend with server_log_pattern)")
    return status, headline + tail + note + "."


def _headline(ctx: Context, f: Finding) -> tuple[Status, str]:
    name = ctx.integration.name
    when = _span(ctx, f)
    quiet = None if f.last is None else ctx.window.end - f.last
    sample = _message(f)
    if f.cause in ("credentials", "unreachable"):
        what = ("refused the plugin's credentials" if f.cause == "credentials"
                else "could not be reached by the plugin")
        source = f"The {name} source"
        if quiet is not None and quiet > QUIET_S:
            return Status.WARN, (
                f"{source} {what} {counted(f.count, 'time')} ({when}), none since for {age_text(quiet)}: recovered, or "
                f"nothing asked for {name} data since ({sample})"
            )
        return Status.FAIL, f"{source} {what}: {counted(f.count, 'error')} in the server log ({when}), {sample}"
    if f.cause == "throttled":
        return Status.WARN, (
            f"The {name} plugin is throttled: {counted(f.count, 'throttled request')} in the server log ({when}); it "
            f"retries, so data comes late and with gaps ({sample})"
        )
    return Status.WARN, f"The {name} plugin logged {counted(f.count, 'error')} ({when}): {sample}"


def _span(ctx: Context, f: Finding) -> str:
    if f.first is None or f.last is None:
        return "untimed"
    if f.last - f.first < 1:
        return f"{age_text(ctx.now - f.last)} ago"
    return f"from {age_text(ctx.now - f.first)} ago to {age_text(ctx.now - f.last)} ago"


def _message(f: Finding) -> str:
    """The most telling line of the newest sample: an exception line if there is one."""
    e = f.samples[-1]
    line = next((ln for ln in e.lines[1:] if "Exception" in ln or "Error" in ln), e.lines[0]).strip()
    return f'"{line[:240]}"'


def _table(ctx: Context, r: Reading) -> Table:
    rows = [
        [CAUSES[f.cause], f.count, None if f.first is None else round(ctx.now - f.first),
         None if f.last is None else round(ctx.now - f.last), ", ".join(sorted(f.patterns)) or "(ERROR level)"]
        for f in r.findings.values()
    ]
    return Table(f"{ctx.integration.name} plugin in the server log",
                 ["cause", "entries", "first seen (s ago)", "last seen (s ago)", "recognised by"], rows,
                 note="Patterns: stsdebug.serverlog.PATTERNS (docs/stages/source.md) and server_log_pattern.")


def _samples(name: str, f: Finding) -> LogSample:
    lines = []
    for e in f.samples:
        n = e.where.rpartition(" line ")[2]
        for k, text in enumerate(e.lines[:4]):
            lines.append(LogLine(int(n) + k if n.isdigit() else 0, text[:400]))
    source = f.samples[0].where.rpartition(" line ")[0]
    return LogSample(f"{name} plugin: {CAUSES[f.cause]}", source, lines, total_matches=f.count)
