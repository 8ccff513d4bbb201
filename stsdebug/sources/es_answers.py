"""Elasticsearch's answers, parsed: cluster health, the index list, index settings (blocks,
field limits), mappings, field capabilities, disk allocation, watermarks and searches.
Pure functions, so recorded answers in fixtures/es/ go through the same code as live ones;
a malformed answer is one ``SourceError`` sentence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from stsdebug.errors import SourceError

SYSTEM = "elasticsearch"


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
    return cast(dict[str, Any], body)


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


# --- small parsing helpers -------------------------------------------------------------


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
