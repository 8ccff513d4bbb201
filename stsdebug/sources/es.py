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
The module also holds the pure helpers that turn mappings into field facts and
windows into range queries, so that stages can build queries without knowing the
DSL's corners.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from stsdebug.errors import SourceError
from stsdebug.settings import Settings

SYSTEM = "elasticsearch"
TIMESTAMP_FIELD = "timestamp"
# Epoch milliseconds are above this, epoch seconds below (until the year 5138).
_MS_THRESHOLD = 1e11

T = TypeVar("T")


# --- what the reads return ----------------------------------------------------------


@dataclass
class Health:
    status: str  # green | yellow | red
    nodes: int
    data_nodes: int
    unassigned_shards: int
    active_shards_percent: float | None = None


@dataclass
class IndexInfo:
    name: str
    health: str | None
    status: str | None  # open | close
    docs: int | None
    size_bytes: int | None


@dataclass
class IndexSettings:
    blocks: dict[str, bool]  # read_only, read_only_allow_delete, write, ... -> set?
    field_limit: int  # index.mapping.total_fields.limit

    @property
    def write_blocks(self) -> list[str]:
        return [
            name
            for name in ("read_only_allow_delete", "read_only", "write")
            if self.blocks.get(name)
        ]


@dataclass
class NodeDisk:
    node: str
    percent: float | None
    used_bytes: int | None
    total_bytes: int | None
    avail_bytes: int | None


@dataclass
class Watermarks:
    low: str = "85%"
    high: str = "90%"
    flood_stage: str = "95%"
    enabled: bool = True
    from_cluster: bool = False  # False: the cluster did not say, Elasticsearch defaults assumed


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
        from elasticsearch import Elasticsearch
        from elasticsearch.connection import Urllib3HttpConnection
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
        self._resolved = False
        if ca_file and not Path(ca_file).expanduser().is_file():
            raise SourceError(
                f"Elasticsearch CA file {ca_file} does not exist.", system=SYSTEM, cause="config"
            )
        source = self

        class _Counting(Urllib3HttpConnection):  # type: ignore[misc]
            def perform_request(self, *args: Any, **kwargs: Any) -> Any:
                with source._lock:
                    source.requests += 1
                return super().perform_request(*args, **kwargs)

        kwargs: dict[str, Any] = {
            "timeout": timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
            "connection_class": _Counting,
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

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing never fails a trace
            self._client.close()

    # --- reads (each one request; parsing is in the parse_* functions below) -----------

    def info(self) -> dict[str, Any]:
        data = self._call("the cluster information (GET /)", self._client.info)
        return _shape(data, dict, self.where, "GET /")

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
        if self._dead is not None:
            raise self._dead
        self._check_dns()
        from elasticsearch import exceptions as ex

        try:
            return fn(**kwargs)
        except ex.ElasticsearchException as exc:
            error = self._translate(what, exc)
        except (OSError, ValueError) as exc:
            error = SourceError(
                f"Reading {what} from Elasticsearch at {self.where} failed: {exc}.",
                system=SYSTEM,
                cause="connection",
            )
        if error.cause in ("timeout", "refused", "dns", "tls", "auth", "connection", "product"):
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
        box: dict[str, BaseException | bool] = {}

        def lookup() -> None:
            try:
                socket.getaddrinfo(self.host, None)
                box["ok"] = True
            except BaseException as exc:  # noqa: BLE001 - reported below
                box["error"] = exc

        worker = threading.Thread(target=lookup, name="es-dns", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            error = SourceError(
                f"Cannot resolve Elasticsearch host {self.host}: the DNS lookup did not finish "
                f"within {self.timeout:g} s.",
                system=SYSTEM,
                cause="dns",
            )
        elif "error" in box:
            error = SourceError(
                f"Cannot resolve Elasticsearch host {self.host}: no such host (DNS lookup failed).",
                system=SYSTEM,
                cause="dns",
            )
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

        if isinstance(exc, ex.ConnectionTimeout):
            return err(
                f"{at} did not answer within {self.timeout:g} s (reading {what}).", "timeout"
            )
        if isinstance(exc, ex.SSLError):
            return err(
                f"TLS handshake with {at} failed ({_tls_reason(exc)}); give its CA with "
                "--es-ca-file, or --es-insecure to skip verification.",
                "tls",
            )
        if isinstance(exc, ex.ConnectionError):
            text = f"{exc.info!r} {exc.error}" if hasattr(exc, "info") else str(exc)
            low = text.lower()
            if "refused" in low:
                return err(f"Cannot connect to {at}: connection refused.", "refused")
            if "resolve" in low or "name or service" in low or "nodename" in low:
                return err(
                    f"Cannot resolve Elasticsearch host {self.host}: no such host "
                    "(DNS lookup failed).",
                    "dns",
                )
            if "timed out" in low or "timeout" in low:
                return err(
                    f"{at} did not answer within {self.timeout:g} s (reading {what}).", "timeout"
                )
            if "ssl" in low or "certificate" in low:
                return err(
                    f"TLS handshake with {at} failed; check --es-ca-file or --es-insecure.", "tls"
                )
            if "remotedisconnected" in low or "connection aborted" in low or "reset" in low:
                return err(
                    f"{at} closed the connection without answering (reading {what}).", "connection"
                )
            return err(f"Cannot connect to {at}: {_short(str(exc.error))}.", "connection")
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
            if isinstance(code, int):
                return err(
                    f"{at} answered HTTP {code} to a request for {what}: {_reason(exc)}.", "http"
                )
            return err(f"Reading {what} from {at} failed: {_short(str(exc))}.", "connection")
        return err(f"Reading {what} from {at} failed: {_short(str(exc))}.", "connection")


def from_settings(settings: Settings) -> ESSource:
    if not settings.es:
        raise SourceError("No Elasticsearch URL given (--es).", system=SYSTEM, cause="config")
    return ESSource(
        settings.es,
        timeout=settings.timeout,
        username=settings.es_username,
        password=settings.es_password,
        api_key=settings.es_api_key,
        ca_file=settings.es_ca_file,
        insecure=settings.es_insecure,
    )


# --- pure parsers of the answers (recorded answers in fixtures/es/ go through them too) ---


def parse_health(data: Any, where: str) -> Health:
    body = _shape(data, dict, where, "cluster health")
    status = body.get("status")
    if status not in ("green", "yellow", "red"):
        raise _malformed(where, "cluster health", "no green/yellow/red status in it")
    return Health(
        status=status,
        nodes=_int(body.get("number_of_nodes")) or 0,
        data_nodes=_int(body.get("number_of_data_nodes")) or 0,
        unassigned_shards=_int(body.get("unassigned_shards")) or 0,
        active_shards_percent=_float(body.get("active_shards_percent_as_number")),
    )


def parse_indices(data: Any, where: str) -> list[IndexInfo]:
    rows = _shape(data, list, where, "the index list")
    out: list[IndexInfo] = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("index"), str):
            raise _malformed(where, "the index list", "a row without an index name")
        out.append(
            IndexInfo(
                name=row["index"],
                health=row.get("health"),
                status=row.get("status"),
                docs=_int(row.get("docs.count")),
                size_bytes=_int(row.get("store.size")),
            )
        )
    return sorted(out, key=lambda i: i.name)


def parse_index_settings(data: Any, where: str) -> dict[str, IndexSettings]:
    body = _shape(data or {}, dict, where, "the index settings")
    out: dict[str, IndexSettings] = {}
    for name, entry in body.items():
        if not isinstance(entry, dict):
            raise _malformed(where, "the index settings", f"index {name} is not an object")
        merged: dict[str, Any] = {}
        for part in ("defaults", "settings"):  # explicit settings win over defaults
            section = _unflatten(entry.get(part) or {})  # with flat_settings, keys are dotted
            _deep_merge(merged, section.get("index") or {})
        blocks = {k: _truthy(v) for k, v in (merged.get("blocks") or {}).items()}
        limit = _int(((merged.get("mapping") or {}).get("total_fields") or {}).get("limit"))
        out[name] = IndexSettings(blocks=blocks, field_limit=limit or 1000)
    return out


def parse_mappings(data: Any, where: str) -> dict[str, dict[str, Any]]:
    body = _shape(data or {}, dict, where, "the index mappings")
    out: dict[str, dict[str, Any]] = {}
    for name, entry in body.items():
        mapping = entry.get("mappings") if isinstance(entry, dict) else None
        if not isinstance(mapping, dict):
            raise _malformed(where, "the index mappings", f"index {name} has no mappings object")
        # ES 6 kept one type level ({"_doc": {"properties": ...}}); accept it too.
        if "properties" not in mapping and len(mapping) == 1:
            only = next(iter(mapping.values()))
            if isinstance(only, dict) and "properties" in only:
                mapping = only
        props = mapping.get("properties") or {}
        if not isinstance(props, dict):
            raise _malformed(where, "the index mappings", f"index {name} has bad properties")
        out[name] = props
    return out


def parse_field_names(data: Any, where: str) -> list[str]:
    body = _shape(data or {}, dict, where, "the field list")
    caps = body.get("fields") or {}
    if not isinstance(caps, dict):
        raise _malformed(where, "the field list", "'fields' is not an object")
    return sorted(
        name
        for name, types in caps.items()
        if isinstance(types, dict) and not set(types) <= {"object", "nested"}
    )


def parse_allocation(data: Any, where: str) -> list[NodeDisk]:
    rows = _shape(data, list, where, "the disk allocation")
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise _malformed(where, "the disk allocation", "a row that is not an object")
        if row.get("node") == "UNASSIGNED" or row.get("disk.percent") in (None, ""):
            continue  # the line counting unassigned shards has no disk
        out.append(
            NodeDisk(
                node=str(row.get("node")),
                percent=_float(row.get("disk.percent")),
                used_bytes=_int(row.get("disk.used")),
                total_bytes=_int(row.get("disk.total")),
                avail_bytes=_int(row.get("disk.avail")),
            )
        )
    return out


def parse_watermarks(data: Any, where: str) -> Watermarks:
    body = _shape(data or {}, dict, where, "the cluster settings")
    merged: dict[str, Any] = {}
    # Precedence in Elasticsearch: transient > persistent > defaults.
    for part in ("defaults", "persistent", "transient"):
        section = _unflatten(body.get(part) or {})
        disk = (((section.get("cluster") or {}).get("routing") or {}).get("allocation") or {}).get(
            "disk"
        ) or {}
        _deep_merge(merged, disk)
    marks = merged.get("watermark") or {}
    result = Watermarks(from_cluster=bool(marks))
    for key in ("low", "high", "flood_stage"):
        if isinstance(marks.get(key), str):
            setattr(result, key, marks[key])
    if "threshold_enabled" in merged:
        result.enabled = _truthy(merged["threshold_enabled"])
    return result


def parse_search(data: Any, where: str, *, with_aggs: bool) -> dict[str, Any]:
    body = _shape(data, dict, where, "a search")
    if not isinstance(body.get("hits"), dict):
        raise _malformed(where, "a search", "no hits object in it")
    if with_aggs and not isinstance(body.get("aggregations"), dict):
        raise _malformed(where, "a search", "no aggregations in it")
    return body


def _shape(data: Any, kind: type, where: str, what: str) -> Any:
    if not isinstance(data, kind):
        expected = "object" if kind is dict else "list"
        raise _malformed(where, what, f"expected a JSON {expected}")
    return data


def _malformed(where: str, what: str, detail: str) -> SourceError:
    return SourceError(
        f"Elasticsearch at {where} sent a malformed answer to a request for {what}: {detail}.",
        system=SYSTEM,
        cause="malformed",
    )


# --- pure helpers: mappings ------------------------------------------------------------


@dataclass
class FieldMap:
    """Field facts merged from the mappings of several indices.

    ``leaves`` maps a dotted path to its type (``keyword``, ``text``, ``float``...);
    ``term_field`` to the field a term query or terms aggregation must use (``host``
    mapped as text with a ``keyword`` sub-field is queried as ``host.keyword``).
    ``counts`` is each index's field count as ``index.mapping.total_fields.limit``
    counts it: every object, leaf and multi-field.
    """

    leaves: dict[str, str] = field(default_factory=dict)
    term_field: dict[str, str] = field(default_factory=dict)
    objects: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_mappings(cls, mappings: Mapping[str, Mapping[str, Any]]) -> FieldMap:
        fm = cls()
        for index, props in mappings.items():
            fm.counts[index] = fm._walk(props, "")
        return fm

    def _walk(self, props: Mapping[str, Any], prefix: str) -> int:
        count = 0
        for name, spec in props.items():
            if not isinstance(spec, Mapping):
                continue
            path = prefix + name
            count += 1
            sub = spec.get("properties")
            if isinstance(sub, Mapping):
                self.objects.add(path)
                count += self._walk(sub, path + ".")
                continue
            kind = str(spec.get("type", "object"))
            if kind in ("object", "nested"):
                self.objects.add(path)
                continue
            self.leaves.setdefault(path, kind)
            multi = spec.get("fields") if isinstance(spec.get("fields"), Mapping) else {}
            count += len(multi)
            if kind == "text":
                kw = next((k for k, s in multi.items() if (s or {}).get("type") == "keyword"), None)
                if kw:
                    self.term_field.setdefault(path, f"{path}.{kw}")
            else:
                self.term_field.setdefault(path, path)
        return count

    def term(self, path: str) -> str:
        """The field to use for exact matches and terms aggregations on ``path``."""
        return self.term_field.get(path, path)

    def has(self, path: str) -> bool:
        return path in self.leaves or path in self.objects

    def metric_names(self) -> list[str]:
        """Metric names of the multi-metric layout: the leaves under ``values``."""
        return sorted(p[len("values.") :] for p in self.leaves if p.startswith("values."))

    def layout(self) -> str | None:
        """``multi`` (a ``values`` object), ``single`` (a ``value`` leaf), or None if unknown."""
        if "values" in self.objects or any(p.startswith("values.") for p in self.leaves):
            return "multi"
        if "value" in self.leaves:
            return "single"
        return None


# --- pure helpers: queries -------------------------------------------------------------


def window_query(start: float, end: float, ts_field: str = TIMESTAMP_FIELD) -> dict[str, Any]:
    """Documents whose timestamp lies in [start, end] (epoch seconds), whatever its unit.

    Absolute numbers, never date math. The field may hold epoch seconds, epoch
    milliseconds (as ``long``) or be a ``date``; the two ranges cannot overlap, so one
    ``should`` covers every case.
    """
    return {
        "bool": {
            "should": [
                {"range": {ts_field: {"gte": int(start), "lte": int(end) + 1}}},
                {"range": {ts_field: {"gte": int(start * 1000), "lte": int(end * 1000) + 999}}},
            ],
            "minimum_should_match": 1,
        }
    }


def to_epoch_seconds(value: Any) -> float | None:
    """A timestamp aggregation value (seconds or milliseconds) in epoch seconds."""
    number = _float(value)
    if number is None:
        return None
    return number / 1000.0 if abs(number) > _MS_THRESHOLD else number


def all_of(*clauses: Mapping[str, Any] | None) -> dict[str, Any]:
    kept = [dict(c) for c in clauses if c]
    if not kept:
        return {"match_all": {}}
    return {"bool": {"filter": kept}}


def any_of(clauses: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    kept = [dict(c) for c in clauses]
    if not kept:
        return MATCH_NONE
    if len(kept) == 1:
        return kept[0]
    return {"bool": {"should": kept, "minimum_should_match": 1}}


def exists_any(fields: Iterable[str]) -> dict[str, Any]:
    return any_of({"exists": {"field": f}} for f in fields)


MATCH_NONE: dict[str, Any] = {"bool": {"must_not": [{"match_all": {}}]}}


# --- small parsing helpers -------------------------------------------------------------


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
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(
            "The Elasticsearch URL is not valid (expected http(s)://host:port).",
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


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _unflatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Settings may come nested or with dotted keys ({"blocks.write": "true"}); nest them.

    A name can be both a setting and the prefix of others (``watermark.flood_stage`` and
    ``watermark.flood_stage.frozen``): the setting's own value wins its name.
    """
    out: dict[str, Any] = {}
    for key, raw in data.items():
        value = _unflatten(raw) if isinstance(raw, Mapping) else raw
        node = out
        parts = str(key).split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                if nxt is not None:
                    break  # a value already holds this name; the longer setting is not ours
                nxt = node[part] = {}
            node = nxt
        else:
            leaf = parts[-1]
            if isinstance(value, dict) and isinstance(node.get(leaf), dict):
                _deep_merge(node[leaf], value)
            elif not (isinstance(value, dict) and leaf in node):
                node[leaf] = value
    return out


def _deep_merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {}
            _deep_merge(into[key], value)
        else:
            into[key] = value


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
                return _short(str(reason))
        elif isinstance(error, str):
            return _short(error)
    err = getattr(exc, "error", None)
    if isinstance(err, str) and err and not err.lstrip().startswith("<"):
        return _short(err)
    return "no reason given"


def _tls_reason(exc: Any) -> str:
    text = str(getattr(exc, "error", "") or exc)
    low = text.lower()
    if "certificate verify failed" in low:
        if "self-signed" in low or "self signed" in low:
            return "certificate verify failed: self-signed certificate"
        if "hostname" in low or "ip address mismatch" in low:
            return "certificate verify failed: the certificate does not match the host"
        return "certificate verify failed"
    if "wrong version number" in low:
        return "the server does not speak TLS on this port"
    if "unexpected_eof" in low or "eof occurred" in low:
        return "the server closed the connection during the handshake; plain HTTP on this port?"
    return _short(text)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"
