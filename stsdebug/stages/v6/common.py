"""Small things every StackState 6 stage needs: is a source configured, is only StackState's
query path given, and the sentences for both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stsdebug.errors import SourceError

if TYPE_CHECKING:
    from stsdebug.stages.base import Context

ONLY_API = (
    "Only StackState's Prometheus API path was given (--prometheus-api): {what} cannot be read "
    "through it; give {flag} from inside the cluster (kubectl port-forward) to check it."
)


def configured(ctx: Context, name: str) -> bool:
    """Was the source `name` given (or substituted by a test)? Nothing is contacted."""
    try:
        ctx.sources.get(name)
    except SourceError as exc:
        if exc.cause == "config":
            return False
        raise
    return True


def only_api(ctx: Context) -> bool:
    """Only StackState's /prometheus path was given: no pod of the metrics path is reachable."""
    s = ctx.settings
    return bool(s.prometheus_api) and not (s.victoria_metrics or s.vmagent or s.receiver_metrics)


def only_api_reason(what: str, flag: str) -> str:
    return ONLY_API.format(what=what, flag=flag)
