"""The receiver's intake API, for the opt-in probe: the only write stsdebug ever makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stsdebug.errors import SourceError
from stsdebug.sources.http import HttpSource, HttpStatusError, display_url

SYSTEM = "StackState receiver"


@dataclass
class IntakeAnswer:
    status: int
    reason: str
    body: str  # first 500 characters: the receiver's own message
    latency_ms: float
    url: str  # without the api_key


def intake_url(receiver: str) -> str:
    """Linux: https://host:7077 → .../stsAgent/intake; Kubernetes: https://base/receiver → same suffix."""
    base = receiver.rstrip("/")
    return base if base.endswith("/stsAgent/intake") else base + "/stsAgent/intake"


def post(receiver: str, api_key: str | None, payload: dict[str, Any], timeout: float) -> IntakeAnswer:
    """POST one intake payload. A 4xx/5xx answer is returned, not raised: it is the finding."""
    url = intake_url(receiver)
    http = HttpSource(timeout, system=SYSTEM)
    try:
        resp = http.request(
            "POST", url, params={"api_key": api_key or ""}, json_body=payload, system=SYSTEM
        )
    except HttpStatusError as exc:
        return IntakeAnswer(exc.status, exc.reason, exc.body, 0.0, display_url(url))
    except SourceError:
        raise
    finally:
        http.close()
    return IntakeAnswer(resp.status, resp.reason, resp.excerpt(500), resp.elapsed_ms, resp.url)
