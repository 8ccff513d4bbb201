"""Telemetry stream definitions from the command line or a file (pure: no I/O but reading the file).

A StackState telemetry stream selects Elasticsearch documents with an AND of
``key = value`` conditions and draws one metric field from them. Two ways to give one:

- ``--stream 'host=i-0abc,tags.region=eu-west-1,metric=values.aws.ec2.cpuutilization'``
  (repeatable). ``metric`` is the reserved key naming the metric field; every other
  key is a condition. A value containing a comma is written in double quotes:
  ``labels="a,b"``.
- ``--streams-file FILE``: a YAML or JSON list (or ``{"streams": [...]}``) of
  ``{name, conditions, metric}``; ``conditions`` is a mapping ``{key: value}``, a list of
  ``{key, value}`` objects (StackState's own shape) or a list of ``"key=value"`` strings.
- StackState's own ``MetricStream`` objects, as exported or written in StackPack templates
  (STJ, docs 5.1 ``configure/telemetry/telemetry_synchronized_topology.md``): ``{"_type":
  "MetricStream", "name", "dataSource", "query": {"_type": "MetricTelemetryQuery",
  "conditions": [{"key", "value"}], "metricField", "aggregation"}}``, one, a list, or inside an
  export's ``nodes`` (and a component's ``streams``). In the UI's words: the data source,
  the filters (conditions) and the select (metric field).

Metric fields may be given as the UI shows them, bare (``system.load.norm``), for both data
sources: the streams stage reads them against the index mapping (``values.<name>`` for the
multi-metric layout, ``name = <metric>`` and field ``value`` for one document per point).

Bad input raises ``UsageError`` with one line saying what and where.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stsdebug import nesting
from stsdebug.errors import UsageError
from stsdebug.inputs import read_text

METRIC_KEY = "metric"
MAX_CONDITIONS = 20
_KEY = re.compile(r"[A-Za-z0-9_@][A-Za-z0-9_.@\-]*\Z")
_FILE_KEYS = ("name", "conditions", "metric", "integration")


@dataclass(frozen=True)
class Condition:
    key: str
    value: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@dataclass(frozen=True)
class StreamDef:
    name: str
    conditions: tuple[Condition, ...]
    metric: str | None  # the metric field, e.g. values.aws.ec2.cpuutilization or value
    origin: str  # where it was given, for messages: "--stream #1", "streams.yaml item 2"
    # A streams file may serve several integrations; a stream naming one is checked
    # only when that integration is traced.
    integration: str | None = None
    data_source: str | None = None  # a MetricStream's dataSource, as written (a name or an id)
    aggregation: str | None = None

    def describe(self) -> str:
        parts = [str(c) for c in self.conditions]
        if self.metric:
            parts.append(f"{METRIC_KEY}={self.metric}")
        return ", ".join(parts) or "(no conditions)"


def load(streams: Sequence[str], streams_file: str | None) -> list[StreamDef]:
    """Every stream given on the command line, then every stream in the file."""
    out = [parse_stream(text, i) for i, text in enumerate(streams, start=1)]
    if streams_file:
        out += load_file(streams_file)
    names = [s.name for s in out]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"stream name {name!r} is used twice; stream names must be unique")
    return out


def parse_stream(text: str, index: int = 1) -> StreamDef:
    """Parse ``'key=value,...,metric=FIELD'`` (the ``--stream`` option)."""
    origin = f"--stream #{index}"
    where = f"{origin} {text!r}"
    if not text or not text.strip():
        raise UsageError(f"{origin}: empty; expected 'KEY=VALUE,...,metric=FIELD'")
    conditions: list[Condition] = []
    metric: str | None = None
    for part in _split(text, where):
        key, sep, value = part.partition("=")
        key, value = key.strip(), _unquote(value.strip(), where)
        if not sep:
            raise UsageError(f"{where}: {part.strip()!r} is not KEY=VALUE")
        if key == METRIC_KEY:
            if metric is not None:
                raise UsageError(f"{where}: {METRIC_KEY}= is given twice")
            if not value:
                raise UsageError(f"{where}: {METRIC_KEY}= needs a field name")
            metric = _field(value, where)
            continue
        conditions.append(_condition(key, value, where))
    return _finish(f"stream {index}", conditions, metric, origin, where)


def load_file(path: str) -> list[StreamDef]:
    """Read a YAML or JSON list of ``{name, conditions, metric}``."""
    p = Path(path).expanduser()
    label = f"streams file {path}"
    text = read_text(p, label)
    data = _parse_text(text, label, json_first=p.suffix.lower() == ".json")
    if isinstance(data, dict) and set(data) == {"streams"}:
        data = data["streams"]
    elif isinstance(data, dict) and isinstance(data.get("nodes"), list):
        data = _metric_streams(data["nodes"])  # an export: the MetricStream nodes
        if not data:
            raise UsageError(f"{label}: the export's nodes hold no MetricStream")
    elif isinstance(data, dict) and data.get("_type") == METRIC_STREAM:
        data = [data]
    if not isinstance(data, list):
        raise UsageError(
            f"{label}: expected a list of streams {{name, conditions, metric}} or of MetricStream objects"
        )
    if not data:
        raise UsageError(f"{label}: the list of streams is empty")
    return [
        _from_item(item, f"{label} item {i}", p.name, i) for i, item in enumerate(data, start=1)
    ]


METRIC_STREAM = "MetricStream"
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\$\{[^}]*\}")
STACKSTATE_SOURCES = ("stackstate metrics", "stackstate multi metrics", "stackstate-metrics")


def _metric_streams(nodes: list[Any]) -> list[Any]:
    """MetricStream objects of an export: top-level nodes, and the streams of components."""
    out: list[Any] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        if node.get("_type") == METRIC_STREAM:
            out.append(node)
        for key in ("streams", "telemetry"):
            inner = node.get(key)
            if isinstance(inner, list):
                out += [x for x in inner if isinstance(x, dict) and x.get("_type") == METRIC_STREAM]
    return out


def _from_metric_stream(item: dict[str, Any], where: str, file_name: str, index: int) -> StreamDef:
    """A MetricStream as StackState stores and exports it."""
    query = item.get("query")
    if not isinstance(query, dict):
        raise UsageError(f"{where}: a MetricStream needs a 'query' object with conditions and metricField")
    kind = query.get("_type")
    if kind is not None and kind != "MetricTelemetryQuery":
        raise UsageError(f"{where}: query _type {kind!r} is not a MetricTelemetryQuery (a metric stream's query)")
    name = item.get("name")
    if name is None:
        name = f"{file_name} #{index}"
    if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip():
        raise UsageError(f"{where}: 'name' must be a non-empty string")
    metric = query.get("metricField")
    if metric is not None:
        if not isinstance(metric, str) or not metric.strip():
            raise UsageError(f"{where}: 'query.metricField' must be a metric name such as system.load.norm")
        _no_placeholder(metric, f"{where}: query.metricField", "the metric the stream selects")
        metric = _field(metric.strip(), where)
    pairs = _pairs(query.get("conditions"), where)
    for key, value in pairs:
        if isinstance(value, str):
            _no_placeholder(value, f"{where}: condition {key!r}", "the value it has for the component")
    conditions = [_condition(k, v, where) for k, v in pairs]
    d = _finish(str(name).strip(), conditions, metric, f"{file_name} item {index}", where)
    source = item.get("dataSource")
    aggregation = query.get("aggregation")
    return replace(
        d,
        data_source=None if source is None else str(source).strip(),
        aggregation=aggregation if isinstance(aggregation, str) else None,
    )


def _no_placeholder(text: str, where: str, what: str) -> None:
    m = _PLACEHOLDER.search(text)
    if m:
        raise UsageError(
            f"{where} holds the template placeholder {m.group(0)!r}: give {what} (as the UI shows it on "
            "the component's stream) instead"
        )


def is_stackstate_source(data_source: str | None) -> bool:
    """Is the stream drawn from StackState's own metric store (Elasticsearch)? Unknown (an id, a
    template's resolve) counts as yes; a plugin's data source (CloudWatch, ...) as no."""
    if data_source is None:
        return True
    text = data_source.strip().lower()
    if text.isdigit() or "{{" in text or "urn:" in text:
        return True
    return any(text == s or s in text for s in STACKSTATE_SOURCES)


# --- internals ------------------------------------------------------------------------


def _parse_text(text: str, label: str, *, json_first: bool) -> Any:
    if json_first:
        try:
            return nesting.loads_json(text)
        except nesting.TooDeep as exc:
            raise UsageError(f"{label}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{label}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
            ) from None
    import yaml  # JSON is YAML too, so one parser serves both

    try:
        return nesting.load_yaml(text, yaml.SafeLoader)
    except nesting.TooDeep as exc:
        raise UsageError(f"{label}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "syntax error"
        at = f" (line {mark.line + 1} column {mark.column + 1}: {problem})" if mark else ""
        raise UsageError(f"{label}: not valid YAML or JSON{at}") from None


def _from_item(item: Any, where: str, file_name: str, index: int) -> StreamDef:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected an object with name, conditions and metric")
    if item.get("_type") == METRIC_STREAM or ("query" in item and "_type" in item):
        if item.get("_type") != METRIC_STREAM:
            raise UsageError(f"{where}: _type {item.get('_type')!r} is not a MetricStream")
        return _from_metric_stream(item, where, file_name, index)
    unknown = sorted(str(k) for k in item if k not in _FILE_KEYS)
    if unknown:
        raise UsageError(
            f"{where}: unknown key {unknown[0]!r}; a stream has {', '.join(_FILE_KEYS)}"
        )
    name = item.get("name")
    if name is None:
        name = f"{file_name} #{index}"
    if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip():
        raise UsageError(f"{where}: 'name' must be a non-empty string")
    metric = item.get("metric")
    if metric is not None:
        if not isinstance(metric, str) or not metric.strip():
            raise UsageError(
                f"{where}: 'metric' must be a field name such as values.system.load.norm"
            )
        metric = _field(metric.strip(), where)
    conditions = [_condition(k, v, where) for k, v in _pairs(item.get("conditions"), where)]
    integration = item.get("integration")
    if integration is not None and (not isinstance(integration, str) or not integration.strip()):
        raise UsageError(f"{where}: 'integration' must be an integration name such as mysql")
    d = _finish(str(name).strip(), conditions, metric, f"{file_name} item {index}", where)
    return replace(d, integration=integration.strip().lower()) if integration else d


def _pairs(raw: Any, where: str) -> list[tuple[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [(str(k), v) for k, v in raw.items()]
    if not isinstance(raw, list):
        raise UsageError(f"{where}: 'conditions' must be a mapping or a list of {{key, value}}")
    out: list[tuple[str, Any]] = []
    for n, entry in enumerate(raw, start=1):
        if isinstance(entry, dict) and set(entry) == {"key", "value"}:
            out.append((str(entry["key"]), entry["value"]))
        elif isinstance(entry, str) and "=" in entry:
            key, _, value = entry.partition("=")
            out.append((key.strip(), value.strip()))
        else:
            raise UsageError(
                f"{where}: condition {n} must be {{key: ..., value: ...}} or 'KEY=VALUE'"
            )
    return out


def _condition(key: str, value: Any, where: str) -> Condition:
    key = key.strip()
    if not key:
        raise UsageError(f"{where}: a condition has an empty key")
    if key == METRIC_KEY:
        raise UsageError(
            f"{where}: {METRIC_KEY!r} names the metric field, it cannot be a condition"
        )
    if not _KEY.match(key):
        raise UsageError(f"{where}: {key!r} is not a field name (letters, digits, _ . - @)")
    if value is None or isinstance(value, (dict, list)):
        raise UsageError(f"{where}: condition {key!r} needs a single value")
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value).strip()
    if not text:
        raise UsageError(f"{where}: condition {key!r} has an empty value")
    return Condition(key, text)


def _field(name: str, where: str) -> str:
    if not _KEY.match(name):
        raise UsageError(f"{where}: metric field {name!r} is not a field name")
    return name


def _finish(
    name: str, conditions: list[Condition], metric: str | None, origin: str, where: str
) -> StreamDef:
    keys = [c.key for c in conditions]
    for key in keys:
        if keys.count(key) > 1:
            raise UsageError(f"{where}: condition {key!r} is given twice")
    if not conditions and metric is None:
        raise UsageError(f"{where}: a stream needs at least one condition or a metric field")
    if len(conditions) > MAX_CONDITIONS:
        raise UsageError(f"{where}: more than {MAX_CONDITIONS} conditions")
    return StreamDef(name, tuple(conditions), metric, origin)


def _split(text: str, where: str) -> list[str]:
    """Split on commas outside double quotes; drop empty parts (a trailing comma)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise UsageError(f"{where}: unbalanced double quote")
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _unquote(value: str, where: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if '"' in value:
        raise UsageError(f"{where}: a quoted value must be quoted as a whole: {value!r}")
    return value
