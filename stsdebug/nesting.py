"""JSON and YAML from strangers, parsed without ``RecursionError`` and without blowing up.

Python's JSON parser and PyYAML recurse once per level of nesting: ``[[[[...`` a few
thousand deep ends in ``RecursionError``, which is no sentence for a user. YAML aliases can
also make a small file stand for billions of nodes (``&a [x, x]``, ``&b [*a, *a]``, ...) or
for a structure that contains itself. Every document stsdebug reads from a file the user
named or from an answer it received goes through here:

    data = loads_json(text)                # TooDeep (a ValueError) past MAX_DEPTH levels
    data = load_yaml(text, yaml.SafeLoader)
    check_shape(data)                      # for data parsed elsewhere

``TooDeep`` says what is wrong in words that complete "<file>: ..." or "answered with
JSON ..."; callers turn it into their own one-line error. The limits are far above any
real document (a trace is about 10 levels deep, an Elasticsearch mapping 20).
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 100  # levels of arrays/objects
MAX_NODES = 5_000_000  # arrays/objects and values, aliases counted as often as they are used


class TooDeep(ValueError):
    """A document nested deeper, or standing for more nodes, than stsdebug reads."""


def loads_json(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses documents nested more than ``max_depth`` levels."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep(f"nested more than {max_depth} levels deep") from None
    if _may_be_deep(data, max_depth):
        check_shape(value, max_depth=max_depth)
    return value


def load_yaml(text: str, loader: type[Any], *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """``yaml.load(text, Loader=loader)`` (a SafeLoader kind), refusing deep nesting, alias
    bombs and documents that contain themselves."""
    import yaml

    try:
        value = yaml.load(text, Loader=loader)  # noqa: S506 - callers pass SafeLoader or a subclass
    except RecursionError:
        raise TooDeep(f"nested more than {max_depth} levels deep") from None
    check_shape(value, max_depth=max_depth, max_nodes=max_nodes)
    return value


def _may_be_deep(data: str | bytes, max_depth: int) -> bool:
    # Cheap: nesting deeper than max_depth needs more than max_depth opening brackets.
    if isinstance(data, bytes):
        return data.count(b"[") + data.count(b"{") > max_depth
    return data.count("[") + data.count("{") > max_depth


def check_shape(value: Any, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Raise TooDeep if ``value`` nests deeper than ``max_depth``, stands for more than
    ``max_nodes`` nodes once shared parts are counted at each use, or contains itself.

    Iterative (no recursion to overflow) and linear in the distinct containers.
    """
    memo: dict[int, tuple[int, int]] = {}  # id -> (height, nodes)
    active: set[int] = set()  # containers whose children are being measured: the path
    keep: list[Any] = []  # holds every container measured, so no id is reused meanwhile
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            height, nodes = 1, 1
            for child in children:
                h, n = memo.get(id(child), (0, 1)) if _is_container(child) else (0, 1)
                height = max(height, h + 1)
                nodes += n
            active.discard(key)
            memo[key] = (height, nodes)
            if height > max_depth:
                raise TooDeep(f"nested more than {max_depth} levels deep")
            if nodes > max_nodes:
                raise TooDeep(f"standing for more than {max_nodes:,} values (repeated aliases)")
            continue
        if not _is_container(node) or key in memo:
            continue
        if key in active:
            raise TooDeep("containing itself (a recursive alias)")
        if len(active) >= max_depth:
            raise TooDeep(f"nested more than {max_depth} levels deep")
        active.add(key)
        keep.append(node)
        stack.append((node, True))
        stack.extend((c, False) for c in children if _is_container(c) and id(c) not in memo)


def _is_container(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple, set))


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return []
