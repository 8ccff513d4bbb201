"""What the StackState 6 sandbox simulates besides the StackState 5 world it shares (the
agent's checks, the AWS series, the timeline): its integrations, the component the bindings
are shown for, the bindings themselves, and what each StackState 6 fault changes.

Pure data; the runtime and control read it.
"""

from __future__ import annotations

from typing import Any

from stsdebug.promnames import metric_name
from stsdebug.sandbox import world

INTEGRATIONS: tuple[str, ...] = ("system", "mysql", "postgres", "aws")

# The component the sandbox's bindings are shown for, as --component-tag KEY=VALUE.
COMPONENT_TAGS: tuple[str, ...] = (f"host={world.AGENT_HOST}", "db=app", "region=eu-west-1")

# Fault samples-too-old: the agent host's clock runs this far behind, beyond
# VictoriaMetrics' retention (the chart's -retentionPeriod=1: one month).
TOO_OLD_SKEW_S = -45 * 86400.0
RETENTION = "1"

# (name, integration, expression) of one MetricBinding per integration. The expressions use
# the component's labels the way StackState's bindings do (${tags.KEY}).
BINDINGS: tuple[tuple[str, str, str], ...] = (
    ("Host CPU iowait", "system",
     'avg by (host) (system_cpu_iowait{host="${tags.host}"})'),
    ("MySQL connections", "mysql",
     'mysql_net_connections{host="${tags.host}", env="prod", port="3306"}'),
    ("PostgreSQL connections", "postgres",
     'postgresql_connections{host="${tags.host}", db="${tags.db}"}'),
    ("EC2 CPU utilization", "aws",
     'avg by (host) (aws_ec2_cpuutilization{region="${tags.region}"})'),
)
# What the binding faults change in them: fault -> (binding name, old text, new text).
BINDING_FAULTS: dict[str, tuple[str, str, str]] = {
    "binding-wrong-label": ("MySQL connections", 'env="prod"', 'env="production"'),
    "binding-unresolved-tag": ("PostgreSQL connections", "${tags.db}", "${tags.database}"),
}
# Faults whose effect is the agent's (StackState 5 names the agent knows).
AGENT_FAULTS = {"binding-renamed-metric": "renamed-metric"}
RENAMED = tuple(metric_name(n) for n in world.RENAMED)
# Faults that break the path behind the receiver: history from before the fault went
# through while it still worked, so it is written straight to VictoriaMetrics.
PATH_FAULTS = frozenset({"vmagent-down", "vm-unreachable"})


def binding_nodes(faults: list[str]) -> list[dict[str, Any]]:
    """The sandbox's bindings as MetricBinding nodes (STY), with the faults' changes."""
    nodes = []
    for name, integration, expression in BINDINGS:
        for fault in faults:
            change = BINDING_FAULTS.get(fault)
            if change and change[0] == name:
                expression = expression.replace(change[1], change[2])
        slug = name.lower().replace(" ", "-")
        nodes.append({
            "_type": "MetricBinding",
            "name": name,
            "identifier": f"urn:custom:metric-binding:sandbox-{slug}",
            "queries": [{"expression": expression, "alias": "${host}"}],
            "scope": f'label = "integration:{integration}"',
            "unit": "short",
            "chartType": "line",
            "enabled": True,
        })
    return nodes
