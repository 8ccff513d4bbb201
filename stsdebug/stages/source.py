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
from stsdebug.stages.base import Context

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

    arrival = _arrival(ctx, evidence, hints)
    if arrival is not None:
        findings.append(arrival)

    evidence.append(Text("What cannot be checked from outside StackState", OUTSIDE_VIEW.get(name, "the plugin's own configuration and logs.")))
    if not findings:
        return ctx.result(
            Status.SKIP,
            f"No pull source to look at: give --es (to see {name} data arrive) or --mirror.",
            evidence,
            hints,
        )
    order = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS]
    worst = min(findings, key=lambda f: order.index(f[0]) if f[0] in order else len(order))
    summary = " ".join(s for _, s in findings)
    return ctx.result(worst[0], summary, evidence, hints)


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
    """Whether the integration's documents keep arriving in Elasticsearch."""
    if not ctx.settings.es:
        return None
    name = ctx.integration.name
    try:
        census = ctx.census.elasticsearch()
    except SourceError as exc:
        return Status.ERROR, f"Could not see whether {name} data arrives: {str(exc).rstrip('.')}."
    if census is None:
        return None
    age = None if census.matched_newest is None else max(0.0, ctx.now - census.matched_newest)
    evidence.append(
        Figures(f"{name} data arriving in Elasticsearch")
        .add("documents in the window", census.matched)
        .add("newest document age", None if age is None else round(age, 1), "s")
    )
    if census.matched == 0:
        hints.append(
            Hint(
                f"No {name} data arrives: check the {name} StackPack instance is installed and "
                "its credentials are valid, then the StackState server logs for the plugin's errors.",
                RUNBOOK,
            )
        )
        return Status.FAIL, f"No {name} documents arrived in Elasticsearch in the last {ctx.window.spec}."
    # Pull plugins poll every few minutes; data older than half the window means polling stopped.
    if age is not None and age > max(600.0, ctx.window.seconds / 2):
        hints.append(Hint(f"The {name} plugin stopped delivering recently: look at the StackState server logs around the time of the newest document.", RUNBOOK))
        return Status.WARN, f"{name} data arrives, but the newest document is {age:.0f} s old."
    return Status.PASS, f"{name} documents keep arriving in Elasticsearch ({census.matched:,} in the window)."
