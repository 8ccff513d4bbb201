"""The Prometheus-compatible query API: VictoriaMetrics directly, or through StackState.

Two ways in, one client (docs/v6/facts.md has the sources):

- VictoriaMetrics itself, ``http://suse-observability-victoriametrics:8428`` (or one
  instance, ``...-victoria-metrics-0:8428``): ``/api/v1/query``, ``/api/v1/query_range``,
  ``/api/v1/series``, ``/api/v1/labels``, ``/api/v1/label/<name>/values``, plus its own
  ``/api/v1/status/tsdb``, ``/flags`` and ``/health``.
- The StackState API, ``https://<host>/prometheus`` with a service token in ``X-API-Key``
  (the router rewrites ``/prometheus/api/v1/`` to the API's ``/api/metrics/``), for when
  the pods cannot be reached. A base URL ending in ``/api/metrics`` is used as is.

Every call is one GET through ``HttpSource`` (timeout, body cap, one-sentence errors) and
is counted in ``requests_sent``, so that a stage's cost can be measured. A query the
server refuses (bad PromQL, missing argument, timeout) is a ``PromQueryError`` carrying
the server's own words. Nothing here judges what the answers mean.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from stsdebug.errors import SourceError, UsageError
from stsdebug.sources.http import MAX_BODY, HttpResponse, HttpSource, HttpStatusError

SYSTEM = "Prometheus query API"
_ERROR_FIELD = re.compile(r'"error"\s*:\s*"((?:[^"\\]|\\.)*)')
_FLAG = re.compile(r'^-([A-Za-z0-9_.\-]+)="(.*)"$')


class PromQueryError(SourceError):
    """The API answered, but refused or failed the query; ``str()`` holds its reason."""

    def __init__(self, message: str, *, system: str, status: int, error_type: str = "") -> None:
        super().__init__(message, system=system, cause="query")
        self.status = status
        self.error_type = error_type


@dataclass(frozen=True)
class PrometheusApiConfig:
    url: str  # base URL, see the module docstring
    api_key: str | None = None  # service token (StackState) or None (VictoriaMetrics)
    # X-API-Key carries a service token; a personal API token goes in X-API-Token
    # (StackVista/stackstate-cli generated/stackstate_api/api/openapi.yaml, securitySchemes).
    api_key_header: str = "X-API-Key"
    timeout: float = 10.0
    verify: bool | str = True
    max_body: int = MAX_BODY
    system: str = SYSTEM


@dataclass(frozen=True)
class PromSeries:
    """One series of a query result: labels and (epoch seconds, value) points, oldest first."""

    labels: Mapping[str, str]
    points: Sequence[tuple[float, float]]

    @property
    def name(self) -> str:
        return self.labels.get("__name__", "")

    @property
    def newest(self) -> tuple[float, float] | None:
        return self.points[-1] if self.points else None


@dataclass(frozen=True)
class QueryResult:
    result_type: str  # vector | matrix | scalar | string
    series: Sequence[PromSeries] = ()
    scalar: tuple[float, float] | None = None
    warnings: Sequence[str] = ()

    @property
    def empty(self) -> bool:
        return not self.series and self.scalar is None


@dataclass(frozen=True)
class Listing:
    """Series or label values; ``truncated`` when the limit cut the answer short."""

    items: Sequence[Any]
    truncated: bool = False


class PrometheusApi:
    """Read-only client of one Prometheus-compatible API."""

    def __init__(self, config: PrometheusApiConfig, *, http: HttpSource | None = None) -> None:
        parts = urlsplit(config.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"{config.url!r} is not an http:// or https:// URL")
        self.config = config
        path = parts.path.rstrip("/")
        if path.endswith("/api/v1"):
            path = path[: -len("/api/v1")]
        self._root = f"{parts.scheme}://{parts.netloc}{path}"
        self._api = self._root if path.endswith("/api/metrics") else f"{self._root}/api/v1"
        self.via_stackstate = path.endswith(("/prometheus", "/api/metrics"))
        self._headers = {config.api_key_header: config.api_key} if config.api_key else {}
        self._http = http or HttpSource(timeout=config.timeout, verify=config.verify,
                                        system=config.system, max_body=config.max_body)
        self._own_http = http is None
        self.requests_sent = 0  # every request sent, answered or not

    # --- the Prometheus API ------------------------------------------------------------

    def query(self, expr: str, *, at: float | None = None, timeout: str | None = None) -> QueryResult:
        """Instant query, at `at` (epoch seconds) or the server's now."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = _ts(at)
        if timeout:
            params["timeout"] = timeout
        return _result(self._data("query", params), self.config.system)

    def query_range(self, expr: str, *, start: float, end: float, step: float | str) -> QueryResult:
        params = {"query": expr, "start": _ts(start), "end": _ts(end),
                  "step": step if isinstance(step, str) else f"{step:g}"}
        return _result(self._data("query_range", params), self.config.system)

    def series(self, selectors: Sequence[str], *, start: float | None = None,
               end: float | None = None, limit: int | None = None) -> Listing:
        """Label sets of the series matching any selector (``match[]``) in the window."""
        if not selectors:
            raise UsageError("A series lookup needs at least one selector.")
        params = self._window({"match[]": list(selectors)}, start, end, limit)
        data = self._data("series", params)
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise self._malformed("series")
        return _limited([{str(k): str(v) for k, v in x.items()} for x in data], limit)

    def label_values(self, label: str, *, match: Sequence[str] = (), start: float | None = None,
                     end: float | None = None, limit: int | None = None) -> Listing:
        """Values of `label` (``__name__`` lists metric names), optionally among `match`."""
        params = self._window({"match[]": list(match)} if match else {}, start, end, limit)
        data = self._data(f"label/{quote(label, safe='')}/values", params)
        if not isinstance(data, list):
            raise self._malformed("label values")
        return _limited([str(x) for x in data], limit)

    def label_names(self, *, match: Sequence[str] = (), start: float | None = None,
                    end: float | None = None) -> list[str]:
        params = self._window({"match[]": list(match)} if match else {}, start, end, None)
        data = self._data("labels", params)
        if not isinstance(data, list):
            raise self._malformed("labels")
        return [str(x) for x in data]

    # --- VictoriaMetrics only (not served through the StackState API) -----------------

    def tsdb_status(self, *, match: str | None = None, top_n: int = 10) -> dict[str, Any]:
        """VictoriaMetrics' cardinality summary: series count by metric name, label, ..."""
        params: dict[str, Any] = {"topN": top_n}
        if match:
            params["match[]"] = match
        data = self._data("status/tsdb", params)
        if not isinstance(data, dict):
            raise self._malformed("TSDB status")
        return data

    def health(self) -> str:
        """The body of ``/health`` (``OK`` when VictoriaMetrics or vmagent is up)."""
        return self._get(f"{self._root}/health", None).text.strip()

    def flags(self) -> dict[str, str]:
        """Command-line flags from ``/flags`` (``retentionPeriod`` among them)."""
        out = {}
        for line in self._get(f"{self._root}/flags", None).text.splitlines():
            m = _FLAG.match(line.strip())
            if m:
                out[m.group(1)] = m.group(2)
        return out

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> PrometheusApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------

    @staticmethod
    def _window(params: dict[str, Any], start: float | None, end: float | None,
                limit: int | None) -> dict[str, Any]:
        if start is not None:
            params["start"] = _ts(start)
        if end is not None:
            params["end"] = _ts(end)
        if limit is not None:
            # One more than wanted: a server that honours `limit` would otherwise hide
            # whether the answer was cut short.
            params["limit"] = int(limit) + 1
        return params

    def _get(self, url: str, params: dict[str, Any] | None) -> HttpResponse:
        self.requests_sent += 1
        try:
            return self._http.get(url, headers=self._headers or None, params=params,
                                  system=self.config.system)
        except HttpStatusError as exc:
            reason = _server_error(exc.body)
            if reason is None or exc.status in (401, 403):
                raise
            raise PromQueryError(
                f"{self.config.system} refused the request (HTTP {exc.status}): {reason}",
                system=self.config.system, status=exc.status) from None

    def _data(self, endpoint: str, params: dict[str, Any]) -> Any:
        resp = self._get(f"{self._api}/{endpoint}", params)
        body = resp.json()
        if not isinstance(body, dict) or "status" not in body:
            raise self._malformed(endpoint)
        if body.get("status") != "success":
            reason = str(body.get("error") or "no reason given")
            raise PromQueryError(f"{self.config.system} refused the request: {reason[:300]}",
                                 system=self.config.system, status=resp.status,
                                 error_type=str(body.get("errorType") or ""))
        return body.get("data")

    def _malformed(self, what: str) -> SourceError:
        return SourceError(f"{self.config.system} answered the {what} request with an "
                           "unexpected body (not a Prometheus API answer).",
                           system=self.config.system, cause="malformed")


def _ts(t: float) -> str:
    return f"{t:.3f}"


def _limited(items: list[Any], limit: int | None) -> Listing:
    # Servers differ on `limit` (some ignore it); cut here either way.
    if limit is not None and len(items) > limit:
        return Listing(items[:limit], truncated=True)
    return Listing(items, truncated=False)


def _server_error(body: str) -> str | None:
    """The "error" text of a Prometheus error envelope, from a possibly cut-off body."""
    try:
        data = json.loads(body)
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])[:300]
    except ValueError:
        pass
    m = _ERROR_FIELD.search(body)
    if m:
        try:
            return str(json.loads(f'"{m.group(1)}"'))[:300]
        except ValueError:
            return m.group(1)[:300]
    return None


def _float(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _point(raw: Any) -> tuple[float, float]:
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise ValueError("point")
    return float(raw[0]), _float(raw[1])


def _result(data: Any, system: str) -> QueryResult:
    try:
        if not isinstance(data, dict):
            raise ValueError("data")
        kind = str(data.get("resultType"))
        raw: Any = data.get("result")
        if kind in ("vector", "matrix") and not isinstance(raw, list):
            raise ValueError("result")
        if kind == "vector":
            series = [PromSeries(dict(r.get("metric") or {}), [_point(r["value"])]) for r in raw]
            return QueryResult(kind, series)
        if kind == "matrix":
            series = [PromSeries(dict(r.get("metric") or {}), [_point(p) for p in r["values"]])
                      for r in raw]
            return QueryResult(kind, series)
        if kind in ("scalar", "string"):
            return QueryResult(kind, scalar=_point(raw))
        raise ValueError(kind)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise SourceError(f"{system} answered a query with a result it could not read.",
                          system=system, cause="malformed") from None

