"""How StackState 6 names agent data in VictoriaMetrics, and how stsdebug selects it. Pure.

- **Metric names** (inferred): the receiver writes agent metrics with every character a
  Prometheus name cannot hold replaced by ``_``: the agent's ``kubernetes.cpu.requests`` is
  queried as ``kubernetes_cpu_requests`` and ``kubernetes_state.node.memory.allocatable`` as
  ``kubernetes_state_node_memory_allocatable`` (the names in StackVista/contrib-stackpacks'
  bindings and in StackVista/stackstate-cli's metric query tests). No public source states
  the rule itself.
- **Labels** (inferred): agent tags ``key:value`` become labels ``key="value"``, the host a
  ``host`` label.
- **Renames** (confirmed): vmagent relabels on the way in (StackVista/helm-charts
  ``stable/suse-observability/templates/vmagent/configmap-vmagent.yaml``): the agent's
  ``kube_cluster_name`` is stored as ``cluster_name``, ``pod`` as ``pod_name``, ...; the
  original label is dropped. A binding written with the agent's tag name finds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_BAD_NAME = re.compile(r"[^a-zA-Z0-9_:]")
_BAD_LABEL = re.compile(r"[^a-zA-Z0-9_]")
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")

HOST_LABEL = "host"

# vmagent's labelmap + labeldrop rules in the chart, as agent label -> stored label.
VMAGENT_RENAMES: dict[str, str] = {
    **{f"kube_{n}": n for n in ("cluster_name", "cronjob", "deployment", "endpoint", "namespace",
                                "priority_class", "region", "service", "zone")},
    "kube_container_name": "container",
    "kube_daemon_set": "daemonset",
    "kube_job": "job_name",
    "kube_replica_set": "replicaset",
    "kube_stateful_set": "statefulset",
    "container_name": "container",
    "pod": "pod_name",
}


def metric_name(name: str) -> str:
    """An agent metric name as stored: ``system.cpu.user`` -> ``system_cpu_user``."""
    out = _BAD_NAME.sub("_", name.strip())
    return "_" + out if out[:1].isdigit() else out


def label_name(key: str) -> str:
    """An agent tag key as a Prometheus label name, before vmagent's renames."""
    out = _BAD_LABEL.sub("_", key.strip())
    return "_" + out if out[:1].isdigit() else out


def stored_label(key: str) -> str:
    """An agent tag key as VictoriaMetrics stores it: sanitised, then renamed by vmagent."""
    name = label_name(key)
    return VMAGENT_RENAMES.get(name, name)


def renamed_from(label: str) -> list[str]:
    """The agent labels vmagent stores as `label` (``cluster_name`` <- ``kube_cluster_name``)."""
    return sorted(k for k, v in VMAGENT_RENAMES.items() if v == label)


def stored_prefix(prefix: str) -> str:
    """A catalog prefix (``system.``) as stored metric names start (``system_``)."""
    return metric_name(prefix) if prefix else ""


def quote(value: str) -> str:
    """A PromQL double-quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def re2_escape(text: str) -> str:
    return _RE2_SPECIAL.sub(r"\\\1", text)


def prefix_regex(prefixes: Iterable[str]) -> str:
    """An anchored regex (RE2) matching names that start with any of the stored prefixes,
    longest first so that a label_replace capture picks the most specific one."""
    stored = sorted({stored_prefix(p) for p in prefixes if p}, key=lambda p: (-len(p), p))
    return "(" + "|".join(re2_escape(p) for p in stored) + ")"


def selector(prefixes: Sequence[str], hosts: Sequence[str] = (),
             tags: Sequence[tuple[str, str]] = ()) -> str | None:
    """The series selector of data identified by metric prefixes, hosts and tags, or None
    when nothing identifies it (it would select everything)."""
    matchers: list[str] = []
    if prefixes:
        matchers.append(f"__name__=~{quote(prefix_regex(prefixes) + '.*')}")
    if hosts:
        matchers.append(f"{HOST_LABEL}=~{quote('|'.join(re2_escape(h) for h in hosts))}")
    for key, value in tags:
        matchers.append(f"{stored_label(key)}={quote(value)}")
    if not matchers:
        return None
    if not prefixes:
        matchers.insert(0, '__name__=~".+"')
    return "{" + ", ".join(matchers) + "}"
