"""The receiver's intake API, for the opt-in probe: the only write stsdebug ever makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


class IntakeSource:
    """POSTs intake payloads to one receiver. A 4xx/5xx answer is returned, not raised: it is
    the finding."""

    def __init__(self, receiver: str, api_key: str | None, timeout: float) -> None:
        self.url = intake_url(receiver)
        self._api_key = api_key
        self._http = HttpSource(timeout, system=SYSTEM)

    def post(self, payload: dict[str, Any]) -> IntakeAnswer:
        try:
            resp = self._http.request(
                "POST", self.url, params={"api_key": self._api_key or ""}, json_body=payload, system=SYSTEM
            )
        except HttpStatusError as exc:
            return IntakeAnswer(exc.status, exc.reason, exc.body, 0.0, display_url(self.url))
        return IntakeAnswer(resp.status, resp.reason, resp.excerpt(500), resp.elapsed_ms, resp.url)

    def close(self) -> None:
        self._http.close()
