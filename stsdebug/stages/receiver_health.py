"""Stage `receiver`: its health endpoint (``/health`` on Linux, ``:1618/readiness`` on Kubernetes)."""

from __future__ import annotations

from dataclasses import dataclass

from stsdebug.errors import SourceError
from stsdebug.model import Figures
from stsdebug.stages.base import Context


@dataclass
class Health:
    url: str
    state: str  # ok | unhealthy | unreachable
    status: int | None = None
    detail: str = ""  # one sentence (unreachable) or a body excerpt
    elapsed_ms: float | None = None



def _health_url(receiver: str | None, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if not receiver:
        return None
    base = receiver.split("?", 1)[0].rstrip("/")
    for suffix in ("/stsAgent/intake", "/stsAgent"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base + "/health"


def _check_health(ctx: Context, url: str) -> Health:
    from stsdebug.sources.http import HttpStatusError, display_url

    http = ctx.http
    shown = display_url(url)
    try:
        resp = http.get(url, system="the receiver health endpoint")
    except HttpStatusError as exc:
        if exc.status >= 500:
            return Health(shown, "unhealthy", exc.status, exc.body[:200])
        return Health(shown, "unreachable", exc.status, str(exc))
    except SourceError as exc:
        return Health(shown, "unreachable", None, str(exc))
    return Health(shown, "ok", resp.status, resp.excerpt(), resp.elapsed_ms)


def _health_figures(h: Health) -> Figures:
    f = Figures("Receiver health endpoint").add("URL", h.url)
    if h.status is not None:
        f.add("HTTP status", h.status)
    if h.elapsed_ms is not None:
        f.add("Answered in", round(h.elapsed_ms), "ms")
    if h.state == "unreachable":
        f.add("Problem", h.detail)
    elif h.detail:
        f.add("Body", h.detail)
    return f
