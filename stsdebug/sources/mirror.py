"""The Prometheus mirror API (POST-only, header X-MIRROR-API-KEY), as StackState calls it.

Endpoints (StackState's mirror tutorial and sample mirror): ``api/connection``
(TestConnectionRequest → ``{"status": "OK", "_type": "TestConnectionResponse"}``),
``api/field/name``, ``api/field/value``, ``api/metric``. Typed errors come back as
JSON objects whose ``_type`` names them (MetricStoreConnectionError, ...).
"""

from __future__ import annotations

from typing import Any

from stsdebug.errors import SourceError
from stsdebug.sources.http import HttpSource, HttpStatusError

SYSTEM = "Prometheus mirror"


class MirrorSource:
    def __init__(self, base_url: str, api_key: str | None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"X-MIRROR-API-KEY": api_key} if api_key else {}
        self.http = HttpSource(timeout, system=SYSTEM)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self.http.post_json(f"{self.base_url}/{path}", body, self.headers)
        except HttpStatusError as exc:
            # A mirror may answer its typed errors with an HTTP error status.
            typed = _typed(exc.body)
            if typed is not None:
                return typed
            raise
        data = resp.json()
        if not isinstance(data, dict):
            raise SourceError(f"{resp.url} answered JSON that is not an object.", system=SYSTEM, cause="malformed")
        return data

    def test_connection(self, connection_details: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._post(
            "api/connection",
            {"_type": "TestConnectionRequest", "connectionDetails": connection_details or {}},
        )

    def field_names(self) -> dict[str, Any]:
        return self._post("api/field/name", {"_type": "FieldNamesRequest", "connectionDetails": {}})

    def close(self) -> None:
        self.http.close()


def _typed(body: str) -> dict[str, Any] | None:
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("_type"), str) else None
