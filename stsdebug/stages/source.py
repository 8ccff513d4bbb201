"""Stage `source` (pull integrations): does the external source feed StackState?

For the Prometheus mirror it runs the mirror API's TestConnectionRequest, the same
call as the "Test Connection" button in StackState's Mirror sources settings, and
explains its typed errors. For aws, azure and splunk, whose StackState plugins
pull from inside StackState, it checks the data's arrival in Elasticsearch and says
plainly what cannot be checked from outside StackState.
"""

from __future__ import annotations

from stsdebug.errors import SourceError
from stsdebug.model import Evidence, Figures, Hint, StageResult, Status, Table, Text
from stsdebug.stages import freshness, plugin_log
from stsdebug.stages.base import Context
from stsdebug.stages.census import cadence_of

TITLE = "Pull source"
BUDGET_CALLS = 6.0

RUNBOOK = "Pull-based integrations: StackState plugin pulls from the external source"

# What each typed mirror error means, and what to do about it.
MIRROR_ERRORS = {
    "MetricStoreConnectionError": (
        "the mirror is up but cannot reach the external metric store",
        "Check the connection details JSON configured for the mirror source and that the "
        "mirror host can reach the metric store.",
    ),
    "MetricNotFoundError": (
        "the mirror does not know the requested metric",
        "Check the metric name in the stream filter against the mirror's api/field/value answers.",
    ),
    "UnsupportedFieldTypeError": (
        "the mirror refused a field type in the query",
        "Use only fields the mirror lists in api/field/name, with their declared types.",
    ),
    "RemoteMirrorError": (
        "the mirror reported an internal error",
        "Read the mirror process's own log for the cause.",
    ),
}

OUTSIDE_VIEW = {
    "aws": "the AWS StackPack's credentials and role, CloudWatch API throttling and the "
    "regions it polls are only visible inside StackState (StackPack configuration and "
    "stackstate.log / the sync logs).",
    "azure": "the Azure StackPack's service principal, its permissions on the subscriptions "
    "and Azure Monitor throttling are only visible inside StackState (StackPack "
    "configuration and the StackState server logs).",
    "splunk": "the Splunk saved searches, their schedule and the Splunk credentials used by "
    "the StackState plugin are only visible inside StackState and Splunk.",
    "prometheus": "what the mirror asks Prometheus, and Prometheus's own answers, are only "
    "visible in the mirror's and Prometheus's logs.",
}


def run(ctx: Context) -> StageResult:
    name = ctx.integration.name
    evidence: list[Evidence] = []
    hints: list[Hint] = []
    findings: list[tuple[Status, str]] = []

    # Only the Prometheus integration goes through a mirror; aws, azure and splunk do not.
    if ctx.settings.mirror and name == "prometheus":
        status, summary = _mirror(ctx, evidence, hints)
        findings.append((status, summary))
    elif name == "prometheus":
        hints.append(Hint("Give --mirror URL (and the mirror API key by environment) to test the mirror itself.", RUNBOOK))

    if ctx.settings.server_log:
        logged = plugin_log.judge(ctx, evidence, hints)
        if logged is not None:
            findings.append(logged)
    elif ctx.integration.server_loggers:
        hints.append(Hint(
            f"Give --server-log (the stackstate-server pod's log, or /opt/stackstate/var/log/stackstate.log) "
            f"to see the {name} plugin's errors: expired credentials, throttling, an unreachable source.",
            RUNBOOK,
        ))

    arrival = _arrival(ctx, evidence, hints)
    if arrival is not None:
        findings.append(arrival)

    evidence.append(Text("What cannot be checked from outside StackState", _outside(ctx)))
    if not findings:
        what = "--server-log (the plugin's errors)" + (" or --mirror" if name == "prometheus" else "")
        if ctx.integration.on_demand and ctx.settings.es:
            why = (f"{name} metrics are retrieved on demand and not stored in Elasticsearch, so their absence "
                   f"there proves nothing; give {what} to judge the plugin.")
        else:
            why = f"No pull source to look at: give {what}" + (
                "" if ctx.integration.on_demand else f" or --es (to see {name} data arrive)") + "."
        return ctx.result(Status.SKIP, why, evidence, hints)
    order = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS]
    worst = min(findings, key=lambda f: order.index(f[0]) if f[0] in order else len(order))
    summary = " ".join(s for st, s in sorted(findings, key=lambda f: order.index(f[0]) if f[0] in order else 9))
    return ctx.result(worst[0], summary, evidence, hints)


def _outside(ctx: Context) -> str:
    text = OUTSIDE_VIEW.get(ctx.integration.name, "the plugin's own configuration and logs.")
    if ctx.integration.on_demand:
        text += (
            f" {ctx.integration.name} metrics are retrieved on demand (when a stream is viewed or a check uses "
            "them) and stored nowhere stsdebug can read: whether a retrieval works shows in the server log "
            "and in the data source's Test Connection (StackState UI: Settings > Telemetry Sources)."
        )
    return text


def _mirror(ctx: Context, evidence: list[Evidence], hints: list[Hint]) -> tuple[Status, str]:
    url = ctx.settings.mirror
    try:
        answer = ctx.mirror.test_connection()
    except SourceError as exc:
        hints.append(Hint("Check the mirror process is running and reachable from StackState on its port (default 9900).", RUNBOOK))
        return Status.ERROR, f"Prometheus mirror at {url} could not be tested: {str(exc).rstrip('.')}."
    kind = str(answer.get("_type", ""))
    error = answer.get("error")
    # A failure may also come wrapped: {"status": "FAILURE", "error": {"_type": ..., "message": ...}}
    if isinstance(error, dict) and isinstance(error.get("_type"), str):
        answer = {**answer, **error}
        kind = error["_type"]
    evidence.append(Table("Mirror TestConnectionRequest", ["field", "value"], [[k, str(v)] for k, v in answer.items()]))
    if kind == "TestConnectionResponse" and str(answer.get("status", "")).upper() == "OK":
        return Status.PASS, f"Prometheus mirror at {url} answers TestConnection with OK."
    if kind in MIRROR_ERRORS:
        meaning, todo = MIRROR_ERRORS[kind]
        hints.append(Hint(todo, RUNBOOK))
        detail = answer.get("message") or answer.get("error") or ""
        extra = f" ({detail})" if detail else ""
        return Status.FAIL, f"Prometheus mirror at {url} answered {kind}: {meaning}{extra}."
    return Status.FAIL, f"Prometheus mirror at {url} gave an unexpected answer to TestConnection ({kind or 'no _type'})."


def _arrival(ctx: Context, evidence: list[Evidence], hints: list[Hint]) -> tuple[Status, str] | None:
    """Whether the integration's documents keep arriving in Elasticsearch (where it stores them)."""
    if not ctx.settings.es:
        return None
    name = ctx.integration.name
    try:
        census = ctx.census.elasticsearch()
    except SourceError as exc:
        return Status.ERROR, f"Could not see whether {name} data arrives: {str(exc).rstrip('.')}."
    if census is None:
        return None
    cad = cadence_of(ctx, census)
    fresh = freshness.judge(census.matched_newest, ctx.now, cad)
    evidence.append(
        Figures(f"{name} data arriving in Elasticsearch")
        .add("documents in the window", census.matched)
        .add("newest document age", None if fresh.age is None else round(max(0.0, fresh.age), 1), "s")
        .add("reporting interval", f"{cad.seconds:g} s ({cad.basis})")
    )
    if ctx.integration.on_demand and fresh.state != freshness.FRESH:
        return None  # stored nowhere: absence or old copies prove nothing
    if fresh.state == freshness.UNSEEN:
        hints.append(
            Hint(
                f"No {name} data arrives: check the {name} StackPack instance is installed and "
                "its credentials are valid, then the StackState server logs for the plugin's errors.",
                RUNBOOK,
            )
        )
        return Status.FAIL, f"No {name} documents arrived in Elasticsearch in the last {ctx.window.spec}."
    if fresh.stale:
        hints.append(Hint(f"The {name} plugin stopped delivering: look at the StackState server log around "
                          "the time of the newest document.", RUNBOOK))
        return Status.FAIL, f"{name} data stopped arriving in Elasticsearch: {fresh.clause(f'{name} document')}."
    if census.matched == 0:
        return Status.PASS, f"{name} data is on time in Elasticsearch: {fresh.clause(f'{name} document')}."
    return Status.PASS, f"{name} documents keep arriving in Elasticsearch ({census.matched:,} in the window)."
