"""StackState 6 metric bindings: load them, find their ``${...}`` placeholders, fill them
from a component. Pure (no I/O) except ``given``, which reads the one file the user named.

Where the formats come from (docs/v6/facts.md has the details):

- ``MetricBinding`` nodes, as written in STY/YAML and applied with ``sts settings apply
  -f`` (StackVista/stackstate-docs ``use/metrics/k8s-add-charts.md``;
  StackVista/stackpack-templates ``templates/generic/provisioning/metricbindings.sty``):
  ``{_type: MetricBinding, name, identifier, queries: [{expression, alias}], scope, unit,
  enabled, ...}``, alone, in a list, or under ``nodes:``; the same as JSON (STJ).
- ``ComponentPresentation`` nodes of newer StackPacks carry their charts under
  ``metrics: [{metricId, name, queries|metricQueries: [{expression, alias}]}]`` and their
  scope under ``binding.query`` (StackVista/contrib-stackpacks
  ``stackpacks/*/settings/**/*.sty``).
- STY files may use the tags ``!include`` and ``!icon``; their values are read as plain
  strings.

Placeholders in an expression: ``${tags.<label>}`` and ``${tags.singleValue('<label>')}``
are the component's labels, ``${name}`` its name; ``${__interval}`` and
``${__rate_interval}`` are the chart's step, filled at query time. In an ``alias``,
``${label}`` names a label of the result series, not of the component.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from stsdebug import nesting
from stsdebug.errors import UsageError

PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
_TAG = re.compile(r"^tags\.(.+)$")
_SINGLE_VALUE = re.compile(r"""^tags\.singleValue\(\s*(['"])(.+?)\1\s*\)$""")
INTERVALS = ("__interval", "__rate_interval")


class BindingFileError(UsageError):
    """A bindings file cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class Placeholder:
    text: str  # as written, "${tags.cluster-name}"
    kind: str  # tag | name | interval | unknown
    key: str | None  # the tag (label) name for kind "tag", the variable for "interval"
    start: int
    end: int


@dataclass(frozen=True)
class Unresolved:
    placeholder: Placeholder
    reason: str  # one sentence, for evidence


@dataclass(frozen=True)
class Filled:
    expression: str
    unresolved: tuple[Unresolved, ...] = ()
    used: Mapping[str, str] = field(default_factory=dict)  # placeholder text -> value

    @property
    def complete(self) -> bool:
        return not self.unresolved


@dataclass(frozen=True)
class BindingQuery:
    expression: str
    alias: str = ""


@dataclass(frozen=True)
class MetricBinding:
    name: str
    queries: tuple[BindingQuery, ...]
    identifier: str = ""
    scope: str = ""  # STQL topology query selecting the components that show the chart
    unit: str = ""
    enabled: bool = True
    node_type: str = "MetricBinding"  # or ComponentPresentation, or "--binding"
    source: str = ""  # where it was read, for evidence


def placeholders(expr: str) -> list[Placeholder]:
    """Every ``${...}`` in `expr`, classified."""
    out = []
    for m in PLACEHOLDER.finditer(expr):
        inner = m.group(1).strip()
        kind, key = _classify(inner)
        out.append(Placeholder(m.group(0), kind, key, m.start(), m.end()))
    return out


def component_tags(labels: Iterable[str]) -> dict[str, list[str]]:
    """StackState component labels ("cluster-name:prod", "stackpack:kubernetes") as tags.

    The label is split at its first ``:``; a label without one is a tag with an empty
    value. A key can repeat, which is why values are lists.
    """
    tags: dict[str, list[str]] = {}
    for label in labels:
        key, _, value = str(label).partition(":")
        tags.setdefault(key.strip(), []).append(value.strip())
    return tags


def fill(
    expr: str,
    *,
    tags: Mapping[str, str | Sequence[str]] | None = None,
    name: str | None = None,
    interval: str = "1m",
    rate_interval: str | None = None,
) -> Filled:
    """Fill the placeholders StackState fills from the component and the chart.

    A placeholder left unfilled stays in the expression as written (as StackState shows
    it in the chart inspector) and is listed in ``unresolved`` with the reason. Tag
    values are inserted as they are, as StackState does.
    """
    tags = tags or {}
    used: dict[str, str] = {}
    unresolved: list[Unresolved] = []
    pieces: list[str] = []
    pos = 0
    for ph in placeholders(expr):
        value, reason = _value(ph, tags, name, interval, rate_interval or interval)
        pieces.append(expr[pos:ph.start])
        if value is None:
            pieces.append(ph.text)
            unresolved.append(Unresolved(ph, reason))
        else:
            pieces.append(value)
            used[ph.text] = value
        pos = ph.end
    pieces.append(expr[pos:])
    return Filled("".join(pieces), tuple(unresolved), used)


def from_query(query: str, *, source: str = "--binding") -> MetricBinding:
    """A binding made of one query given on the command line."""
    if not query.strip():
        raise UsageError("The binding query is empty.")
    return MetricBinding(name=query.strip(), queries=(BindingQuery(query.strip()),),
                         node_type="--binding", source=source)


def load(text: str, *, source: str) -> list[MetricBinding]:
    """Bindings from STY/YAML or STJ/JSON text; other node types are skipped.

    Raises BindingFileError when the text is not YAML/JSON or holds no binding.
    """
    data = _parse(text, source)
    nodes = _nodes(data)
    out: list[MetricBinding] = []
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        kind = str(node.get("_type") or node.get("type") or "")
        where = f"{source} node {index + 1}"
        if kind == "MetricBinding":
            out.append(_binding(node, where))
        elif kind == "ComponentPresentation":
            out.extend(_presentation(node, where))
    if not out:
        raise BindingFileError(f"{source}: no MetricBinding (or ComponentPresentation with "
                               "metrics) found.")
    return out


# --- internals ------------------------------------------------------------------------


def _classify(inner: str) -> tuple[str, str | None]:
    if inner == "name":
        return "name", None
    if inner in INTERVALS:
        return "interval", inner
    m = _SINGLE_VALUE.match(inner)
    if m:
        return "tag", m.group(2)
    m = _TAG.match(inner)
    if m and "(" not in inner:
        return "tag", m.group(1)
    return "unknown", None


def _value(ph: Placeholder, tags: Mapping[str, str | Sequence[str]], name: str | None,
           interval: str, rate_interval: str) -> tuple[str | None, str]:
    if ph.kind == "interval":
        return (rate_interval if ph.key == "__rate_interval" else interval), ""
    if ph.kind == "name":
        if name:
            return name, ""
        return None, "no component name was given"
    if ph.kind == "tag":
        assert ph.key is not None
        raw = tags.get(ph.key)
        if raw is None:
            near = _near_key(ph.key, tags)
            hint = f" (the component has {near!r})" if near else ""
            return None, f"the component has no label {ph.key!r}{hint}"
        values = [raw] if isinstance(raw, str) else list(raw)
        distinct = sorted(set(values))
        if len(distinct) == 1:
            return distinct[0], ""
        if not distinct:
            return None, f"the component's label {ph.key!r} has no value"
        return None, f"the component's label {ph.key!r} has {len(distinct)} values ({', '.join(distinct[:3])})"
    return None, f"StackState fills no placeholder {ph.text} from a component"


def _near_key(key: str, tags: Mapping[str, Any]) -> str | None:
    """A tag key that differs from `key` only in case or -/_/. (cluster-name vs cluster_name)."""
    norm = re.sub(r"[-_.]", "", key).lower()
    for k in tags:
        if re.sub(r"[-_.]", "", k).lower() == norm:
            return k
    return None


class _StyLoader(yaml.SafeLoader):
    """SafeLoader that reads STY's own tags (!include, !icon, ...) as plain strings."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node)


_StyLoader.add_multi_constructor("!", _any_tag)


def _parse(text: str, source: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return nesting.loads_json(text)
        except nesting.TooDeep as exc:
            raise BindingFileError(f"{source}: cannot read the bindings: {exc}.") from None
        except ValueError:
            pass  # YAML flow style also starts like this; let YAML have a go
    try:
        return nesting.load_yaml(text, _StyLoader)  # a SafeLoader subclass
    except nesting.TooDeep as exc:
        raise BindingFileError(f"{source}: cannot read the bindings: {exc}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML or JSON"
        raise BindingFileError(f"{source}: cannot read the bindings{where}: {problem}.") from None


def _nodes(data: Any) -> list[Any]:
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        return list(data["nodes"])
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return [data]
    return []


def _queries(raw: Any, where: str) -> tuple[BindingQuery, ...]:
    if not isinstance(raw, list):
        raise BindingFileError(f"{where}: 'queries' must be a list of {{expression, alias}}.")
    out = []
    for q in raw:
        if not isinstance(q, dict) or not isinstance(q.get("expression"), str) \
                or not q["expression"].strip():
            raise BindingFileError(f"{where}: a query has no expression.")
        out.append(BindingQuery(q["expression"].strip(), str(q.get("alias") or "")))
    if not out:
        raise BindingFileError(f"{where}: the binding has no queries.")
    return tuple(out)


def _binding(node: dict[str, Any], where: str) -> MetricBinding:
    return MetricBinding(
        name=str(node.get("name") or node.get("identifier") or where),
        queries=_queries(node.get("queries"), where),
        identifier=str(node.get("identifier") or ""),
        scope=str(node.get("scope") or ""),
        unit=str(node.get("unit") or ""),
        enabled=node.get("enabled") is not False,
        node_type="MetricBinding",
        source=where,
    )


def _presentation(node: dict[str, Any], where: str) -> list[MetricBinding]:
    binding = node.get("binding")
    scope = str(binding.get("query") or "") if isinstance(binding, dict) else ""
    out = []
    for metric in node.get("metrics") or []:
        if not isinstance(metric, dict):
            continue
        raw = metric.get("queries", metric.get("metricQueries"))
        if raw is None:
            continue  # a chart without queries (e.g. one that only references others)
        chart = metric.get("chart")
        unit = metric.get("unit") or (chart.get("unit") if isinstance(chart, dict) else "")
        mid = str(metric.get("metricId") or "")
        out.append(MetricBinding(
            name=str(metric.get("name") or mid or where),
            queries=_queries(raw, f"{where} metric {mid or '?'}"),
            identifier=mid,
            scope=scope,
            unit=str(unit or ""),
            node_type="ComponentPresentation",
            source=where,
        ))
    return out


def given(queries: Sequence[str], path: str | None) -> list[MetricBinding]:
    """The bindings the user gave: ``--binding`` queries first, then ``--bindings-file``'s
    nodes. UsageError (one line, naming the file) when the file cannot be read or holds none."""
    from pathlib import Path

    from stsdebug.inputs import read_text

    out = [from_query(q) for q in queries]
    if path:
        text = read_text(Path(path), f"--bindings-file {path}",
                         expected="a bindings file (STY, YAML or JSON)")
        out.extend(load(text, source=path))
    return out
