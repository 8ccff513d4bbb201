"""Elasticsearch reads, through the official client's 7.17 line.

Why 7.17: StackState 5.x runs Elasticsearch 7.17. The 8.x/9.x Python clients send
``compatible-with=8``/``9`` media types that an ES 7 server refuses; the 7.17 client
sends plain ``application/json``, which ES 7 and ES 8 both accept.

Every call has the configured timeout, no retries (``max_retries=0``,
``retry_on_timeout=False``), and turns any library error into one ``SourceError``
sentence. Once the cluster proved unreachable (refused, DNS, TLS, timeout, auth, not
Elasticsearch) later calls fail at once with the same sentence, so the stages that
share this source do not each wait out the timeout again.

Only reads: searches always ask for ``size=0`` (aggregations, never documents).
The answers are parsed in ``es_answers`` (pure, shared with recorded fixtures); the
helpers that turn mappings into field facts and windows into queries are in ``es_query``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from stsdebug.deadline import DeadlineExceeded, bounded
from stsdebug.errors import SourceError
from stsdebug.sources.addresses import url_problem
from stsdebug.sources.errors import Failure, cannot_reach, classify, short, tls_reason
from stsdebug.sources.es_answers import (
    SYSTEM,
    Health,
    IndexInfo,
    IndexSettings,
    NodeDisk,
    Watermarks,
    _shape,
    parse_allocation,
    parse_field_names,
    parse_health,
    parse_index_settings,
    parse_indices,
    parse_mappings,
    parse_search,
    parse_watermarks,
)
from stsdebug.sources.es_transport import connection_class, serializer
from stsdebug.sources.lean import UNUSED_BY_ES, without

T = TypeVar("T")


# --- the source ---------------------------------------------------------------------


class ESSource:
    """One Elasticsearch cluster, read with bounded, counted requests."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        ca_file: str | None = None,
        insecure: bool = False,
    ) -> None:
        with without(*UNUSED_BY_ES):
            from elasticsearch import Elasticsearch
            from elasticsearch.exceptions import ElasticsearchWarning

        # The client warns when it cannot run its product check for lack of privileges;
        # the 401/403 that follows is reported as an error sentence instead.
        warnings.filterwarnings("ignore", category=ElasticsearchWarning)
        # The client logs every failed request with a traceback at WARNING; with no
        # handler configured Python would print that to stderr. Failures are reported
        # as SourceError sentences instead.
        lib_log = logging.getLogger("elasticsearch")
        lib_log.addHandler(logging.NullHandler())
        lib_log.propagate = False
        self.url, self.where, self.host = _parse_url(url)
        self.timeout = timeout
        self.requests = 0  # HTTP requests sent (counted below the client, retries included)
        self._lock = threading.Lock()
        self._dead: SourceError | None = None
        self._first_call = threading.Lock()
        self._answered = False
        self._resolved = False
        if ca_file and not Path(ca_file).expanduser().is_file():
            raise SourceError(
                f"Elasticsearch CA file {ca_file} does not exist.", system=SYSTEM, cause="config"
            )
        bounded_connection = connection_class(self._count)
        self._bad_answer: type[Exception] = bounded_connection.bad_answer
        kwargs: dict[str, Any] = {
            "timeout": timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
            # Every request bounded: a total deadline, a body cap, a bounded inflate.
            "connection_class": bounded_connection,
            "serializer": serializer(),
        }
        if username:
            kwargs["http_auth"] = (username, password or "")
        if api_key:
            key_id, sep, key = api_key.partition(":")
            kwargs["api_key"] = (key_id, key) if sep else api_key
        if self.url.startswith("https://"):
            if insecure:
                kwargs.update(verify_certs=False, ssl_show_warn=False)
            elif ca_file:
                kwargs["ca_certs"] = str(Path(ca_file).expanduser())
        self._client = Elasticsearch([self.url], **kwargs)

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing never fails a trace
            self._client.close()

    # --- reads (each one request; parsing is in es_answers) -----------

    def info(self) -> dict[str, Any]:
        data = self._call("the cluster information (GET /)", self._client.info)
        return cast(dict[str, Any], _shape(data, dict, self.where, "GET /"))

    def version(self) -> str:
        info = self.info()
        return str((info.get("version") or {}).get("number") or "unknown")

    def health(self) -> Health:
        return parse_health(self._call("cluster health", self._client.cluster.health), self.where)

    def indices(self, pattern: str) -> list[IndexInfo]:
        """Every index matching the pattern (open or closed), sorted by name."""
        data = self._call(
            f"the index list for {pattern}",
            self._client.cat.indices,
            index=pattern,
            format="json",
            h="index,health,status,docs.count,store.size",
            bytes="b",
            s="index",
        )
        return parse_indices(data, self.where)

    def index_settings(self, pattern: str) -> dict[str, IndexSettings]:
        """Blocks and field limit of every open index matching the pattern."""
        data = self._call(
            f"the index settings for {pattern}",
            self._client.indices.get_settings,
            index=pattern,
            include_defaults=True,
            filter_path=(
                "*.settings.index.blocks,*.settings.index.mapping.total_fields,"
                "*.defaults.index.blocks,*.defaults.index.mapping.total_fields"
            ),
        )
        return parse_index_settings(data, self.where)

    def mappings(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The mapping ``properties`` of each named index."""
        names = list(names)
        if not names:
            return {}
        data = self._call(
            "the index mappings",
            self._client.indices.get_mapping,
            index=",".join(names),
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        return parse_mappings(data, self.where)

    def field_names(self, pattern: str, fields: str) -> list[str]:
        """Names of the leaf fields matching ``fields`` (e.g. ``values.*``) across every index."""
        data = self._call(
            f"the field list for {pattern}",
            self._client.field_caps,
            index=pattern,
            fields=fields,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        return parse_field_names(data, self.where)

    def allocation(self) -> list[NodeDisk]:
        data = self._call(
            "the disk allocation", self._client.cat.allocation, format="json", bytes="b"
        )
        return parse_allocation(data, self.where)

    def watermarks(self) -> Watermarks:
        data = self._call(
            "the cluster settings",
            self._client.cluster.get_settings,
            include_defaults=True,
            filter_path="*.cluster.routing.allocation.disk",
        )
        return parse_watermarks(data, self.where)

    def search(
        self, index: str, query: Mapping[str, Any], aggs: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Count and aggregate; never returns documents (``size=0``)."""
        kwargs: dict[str, Any] = {
            "index": index,
            "size": 0,
            "track_total_hits": True,
            "ignore_unavailable": True,
            "allow_no_indices": True,
            "query": dict(query),
        }
        if aggs:
            kwargs["aggs"] = dict(aggs)
        data = self._call(f"a search of {index}", self._client.search, **kwargs)
        return parse_search(data, self.where, with_aggs=bool(aggs))

    # --- plumbing -----------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[..., T], **kwargs: Any) -> T:
        if self._answered:
            return self._call_once(what, fn, **kwargs)
        # Stages run at the same time: until the cluster has answered once, one call at a
        # time, so a hostile or silent endpoint costs one request, not one per stage.
        with self._first_call:
            result = self._call_once(what, fn, **kwargs)
            self._answered = True
            return result

    def _call_once(self, what: str, fn: Callable[..., T], **kwargs: Any) -> T:
        if self._dead is not None:
            raise self._dead
        self._check_dns()
        from elasticsearch import exceptions as ex

        dead = False
        try:
            return fn(**kwargs)
        except ex.ElasticsearchException as exc:
            error = self._translate(what, exc)
            # An answer that is not HTTP, too large or undecodable: the next one would be too.
            dead = isinstance(exc, self._bad_answer)
        except (OSError, ValueError) as exc:
            error = SourceError(
                f"Reading {what} from Elasticsearch at {self.where} failed: {exc}.",
                system=SYSTEM,
                cause="connection",
            )
        if dead or error.cause in ("timeout", "refused", "dns", "tls", "auth", "connection", "product"):
            self._dead = error
        raise error

    def _check_dns(self) -> None:
        """Resolve the host once, under the timeout: the client's own lookup has no timeout."""
        if self._resolved:
            return
        try:
            ipaddress.ip_address(self.host.strip("[]"))
            self._resolved = True
            return
        except ValueError:
            pass
        try:
            bounded(lambda: socket.getaddrinfo(self.host, None), self.timeout, "es-dns")
        except DeadlineExceeded:
            error = SourceError(
                f"Cannot resolve the host name {self.host!r} of Elasticsearch ({self.where}): the DNS "
                f"lookup did not finish within {self.timeout:g} s.",
                system=SYSTEM,
                cause="dns",
            )
        except Exception as exc:  # noqa: BLE001 - any lookup failure is a DNS failure here
            error = cannot_reach(Failure("dns", str(exc)), system=SYSTEM, what="Elasticsearch",
                                 where=self.where, host=self.host)
        else:
            self._resolved = True
            return
        self._dead = error
        raise error

    def _translate(self, what: str, exc: Exception) -> SourceError:
        from elasticsearch import exceptions as ex

        at = f"Elasticsearch at {self.where}"

        def err(message: str, cause: str) -> SourceError:
            return SourceError(message, system=SYSTEM, cause=cause)

        if isinstance(exc, self._bad_answer):
            # Not HTTP, a body past the cap, a body that cannot be decoded: the same again
            # on the next request would only cost another 16 MB.
            return err(f"{at} {getattr(exc, 'problem', 'sent an unusable answer')} (reading {what}).", "malformed")
        if isinstance(exc, (ex.ConnectionTimeout, ex.SSLError, ex.ConnectionError)):
            if isinstance(exc, ex.ConnectionTimeout):
                failure = Failure("timeout", "no answer in time")
            else:
                failure = classify(exc)
                if isinstance(exc, ex.SSLError) and failure.cause != "tls":
                    failure = Failure("tls", tls_reason(exc))
            if failure.cause == "timeout":
                return err(f"{at} did not answer within {self.timeout:g} s (reading {what}).", "timeout")
            if failure.cause == "reset":
                return err(f"{at} closed the connection without answering (reading {what}).", "connection")
            if failure.cause == "network":
                return err(f"Cannot connect to {at}: {short(str(getattr(exc, 'error', exc)))}.", "connection")
            verify = "certificate" in failure.reason
            advice = (
                "; give its CA with --es-ca-file, or --es-insecure to skip verification"
                if verify
                else " (plain HTTP on this port?)"
            )
            return cannot_reach(failure, system=SYSTEM, what="Elasticsearch", where=self.where,
                                host=self.host, seconds=self.timeout, tls_advice=advice)
        if isinstance(exc, ex.UnsupportedProductError):
            return err(
                f"The server at {self.where} is not Elasticsearch, or sent a malformed answer: its "
                "GET / response lacks the Elasticsearch product marks.",
                "product",
            )
        if isinstance(exc, ex.SerializationError):
            return err(
                f"{at} sent a malformed answer (not JSON) to a request for {what}.", "malformed"
            )
        if isinstance(exc, ex.AuthenticationException):
            return err(
                f"{at} refused the credentials (HTTP 401); check --es-username/--es-password-env "
                "or --es-api-key-env.",
                "auth",
            )
        if isinstance(exc, ex.AuthorizationException):
            return err(
                f"{at} denied access to {what} (HTTP 403): the user or API key lacks the privilege "
                f"({_reason(exc)}).",
                "auth",
            )
        if isinstance(exc, ex.TransportError):
            code = exc.status_code
            if isinstance(code, int) and 300 <= code < 400:
                return err(
                    f"{at} answered HTTP {code}, a redirect, to a request for {what}; redirects are not "
                    "followed (no credentials go elsewhere): give --es the address it redirects to.",
                    "http",
                )
            if isinstance(code, int):
                return err(
                    f"{at} answered HTTP {code} to a request for {what}: {_reason(exc)}.", "http"
                )
            return err(f"Reading {what} from {at} failed: {short(str(exc))}.", "connection")
        return err(f"Reading {what} from {at} failed: {short(str(exc))}.", "connection")


# --- small helpers ------------------------------------------------------------------------


def _parse_url(url: str) -> tuple[str, str, str]:
    """(url for the client, scheme://host:port for messages, host) — never credentials."""
    raw = url.strip()
    if "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise SourceError(
            "The Elasticsearch URL is not valid (expected http(s)://host:port).",
            system=SYSTEM,
            cause="config",
        ) from None
    problem = url_problem(raw)
    if problem or not parts.hostname:
        raise SourceError(
            f"The Elasticsearch URL is not valid (expected http(s)://host:port): {problem or 'no host'}.",
            system=SYSTEM,
            cause="config",
        )
    host = parts.hostname
    shown_host = f"[{host}]" if ":" in host else host
    where = f"{parts.scheme}://{shown_host}:{port or (443 if parts.scheme == 'https' else 9200)}"
    if port is None:
        # The client assumes 9200 for a URL without a port; say it explicitly.
        netloc = parts.netloc + f":{443 if parts.scheme == 'https' else 9200}"
        raw = parts._replace(netloc=netloc).geturl()
    return raw, where, host


def _reason(exc: Any) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            root = (error.get("root_cause") or [{}])[0] if error.get("root_cause") else error
            reason = (
                root.get("reason") or error.get("reason") or root.get("type") or error.get("type")
            )
            if reason:
                return short(str(reason))
        elif isinstance(error, str):
            return short(error)
    err = getattr(exc, "error", None)
    if isinstance(err, str) and err and not err.lstrip().startswith("<"):
        return short(err)
    return "no reason given"
