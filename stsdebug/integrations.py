"""The integration catalog (integrations.toml beside this file) and the matcher built from it."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources

from stsdebug.errors import UsageError
from stsdebug.suggest import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PUSH_STAGES = ("scope", "agent", "receiver", "kafka", "elasticsearch", "streams")
PULL_STAGES = ("scope", "source", "elasticsearch", "streams")
KINDS = ("push", "pull")
ON_DEMAND = "on-demand"
STORAGES = (ON_DEMAND, "elasticsearch")
# StackState 6 / SUSE Observability: the receiver remote-writes to vmagent, vmagent to
# VictoriaMetrics, and charts come from PromQL metric bindings. StackState's own services
# (the plugins that pull from clouds among them) write to the same vmagent.
PUSH_STAGES_6 = ("scope", "agent", "receiver", "vmagent", "victoriametrics", "bindings")
PULL_STAGES_6 = ("scope", "vmagent", "victoriametrics", "bindings")
PLANS = {
    ("5", "push"): PUSH_STAGES,
    ("5", "pull"): PULL_STAGES,
    ("6", "push"): PUSH_STAGES_6,
    ("6", "pull"): PULL_STAGES_6,
}


@dataclass(frozen=True)
class Integration:
    name: str
    kind: str  # push | pull: the plan traced (for one that exists both ways, see `planned`)
    title: str
    checks: tuple[str, ...] = ()
    metric_prefixes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    source: str = ""
    agent_types: bool = False  # Kubernetes/OpenShift: several agent types supply metrics
    kinds: tuple[str, ...] = ()  # every kind it exists as (splunk: push and pull); () = (kind,)
    interval_s: float | None = None  # seconds between reports when the data does not show it
    interval_source: str = ""
    storage: str = "elasticsearch"  # pull: "on-demand" when the plugin stores nothing
    storage_source: str = ""
    server_loggers: tuple[str, ...] = ()  # what ties a StackState server log line to its plugin

    @property
    def stages(self) -> tuple[str, ...]:
        """The StackState 5 plan (kept for callers that know no version)."""
        return self.stages_for("5")

    def stages_for(self, sts_version: str) -> tuple[str, ...]:
        """The stage ids of this integration's plan for a StackState version ("5" or "6")."""
        return PLANS[(sts_version, "push" if self.kind == "push" else "pull")]

    @property
    def on_demand(self) -> bool:
        """Pulled only when a stream is viewed or a check uses it: nothing stored to look at."""
        return self.kind == "pull" and self.storage == ON_DEMAND

    def kind_text(self) -> str:
        return "/".join(self.kinds) if len(self.kinds) > 1 else self.kind

    def identifies(self) -> str:
        parts = []
        if self.metric_prefixes:
            parts.append("metrics " + ", ".join(p + "*" for p in self.metric_prefixes))
        if self.tags:
            parts.append("tags " + ", ".join(self.tags))
        if self.checks:
            parts.append("checks " + ", ".join(self.checks))
        return "; ".join(parts) or "nothing by default: give --metric-prefix, --host or --tag"


def load_catalog() -> dict[str, Integration]:
    text = resources.files("stsdebug").joinpath("integrations.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)["integrations"]
    out = {}
    for name, entry in data.items():
        raw_kind = entry["kind"]
        kinds = tuple(raw_kind) if isinstance(raw_kind, list) else (raw_kind,)
        # Without push input, an integration that exists both ways is traced as pull.
        kind = "pull" if "pull" in kinds else kinds[0]
        interval = entry.get("interval")
        out[name] = Integration(
            name=name,
            kind=kind,
            title=entry["title"],
            checks=tuple(entry.get("checks", ())),
            metric_prefixes=tuple(entry.get("metric_prefixes", ())),
            tags=tuple(entry.get("tags", ())),
            aliases=tuple(entry.get("aliases", ())),
            source=entry.get("source", ""),
            agent_types=bool(entry.get("agent_types", False)),
            kinds=kinds,
            interval_s=float(interval) if interval else None,
            interval_source=entry.get("interval_source", ""),
            storage=entry.get("storage", "elasticsearch"),
            storage_source=entry.get("storage_source", ""),
            server_loggers=tuple(entry.get("server_loggers", ())),
        )
    return out


def planned(
    entry: Integration,
    *,
    kind: str | None = None,
    push_input: bool = False,
    checks: Iterable[str] = (),
    storage: str | None = None,
) -> Integration:
    """The integration as a trace plans it: one kind, and the checks the user named.

    An integration that exists both ways (splunk: Agent V2 checks push, the older plugin
    pulls) is traced as push when agent, receiver or Kafka input is given (``push_input``)
    or ``kind`` says so, as pull otherwise. Checks named with --check come first and keep
    the catalog's (a custom check is judged like the integration's own).
    """
    kinds = entry.kinds or (entry.kind,)
    wanted = (kind or "").strip().lower() or None
    if wanted is not None:
        if wanted not in KINDS:
            raise UsageError(f"--kind {kind!r}: expected push or pull")
        if wanted not in kinds:
            raise UsageError(f"{entry.name} is traced as {entry.kind_text()} only, not as {wanted}")
        chosen = wanted
    elif len(kinds) > 1:
        chosen = "push" if push_input else "pull"
    else:
        chosen = kinds[0]
    named = tuple(dict.fromkeys(c.strip() for c in checks if c.strip()))
    merged = named + tuple(c for c in entry.checks if c not in named)
    stored = (storage or "").strip().lower() or entry.storage
    if stored not in STORAGES:
        raise UsageError(f"storage {storage!r}: expected {' or '.join(STORAGES)}")
    source = entry.storage_source if stored == entry.storage else "the storage setting"
    return replace(entry, kind=chosen, checks=merged, storage=stored, storage_source=source)


def find(name: str, catalog: Mapping[str, Integration] | None = None) -> Integration:
    catalog = catalog or load_catalog()
    key = name.strip().lower()
    if key in catalog:
        return catalog[key]
    for entry in catalog.values():
        if key in entry.aliases:
            return entry
    names = list(catalog) + [a for e in catalog.values() for a in e.aliases]
    hint = did_you_mean(key, names, cutoff=0.5)
    raise UsageError(
        f"unknown integration {name!r}{hint} (see `stsdebug integrations`)"
    )


@dataclass(frozen=True)
class Matcher:
    """Decides whether a telemetry record belongs to the integration under diagnosis.

    A record matches when one of its metric names starts with a prefix (or no
    prefixes are set), its host is one of ``hosts`` (if set), and it carries every
    ``tags`` key:value (if set).
    """

    prefixes: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    check_names: tuple[str, ...] = field(default=())

    @classmethod
    def build(
        cls,
        integration: Integration,
        prefixes: Iterable[str] = (),
        hosts: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> Matcher:
        pairs = []
        for raw in list(tags) or list(integration.tags):
            key, sep, value = raw.partition(":") if ":" in raw else raw.partition("=")
            if not sep or not key:
                raise UsageError(f"--tag {raw!r}: expected KEY:VALUE")
            pairs.append((key.strip(), value.strip()))
        return cls(
            prefixes=tuple(prefixes) or integration.metric_prefixes,
            hosts=tuple(hosts),
            tags=tuple(pairs),
            check_names=integration.checks,
        )

    @property
    def matches_everything(self) -> bool:
        return not (self.prefixes or self.hosts or self.tags)

    def name_matches(self, metric: str) -> bool:
        return not self.prefixes or metric.startswith(self.prefixes)

    def matches(self, names: Iterable[str], host: str | None, tags: Mapping[str, object]) -> bool:
        if self.hosts and host not in self.hosts:
            return False
        for key, value in self.tags:
            if str(tags.get(key, "")) != value:
                return False
        if not self.prefixes:
            return True
        return any(n.startswith(self.prefixes) for n in names)

    def describe(self) -> str:
        parts = []
        if self.prefixes:
            parts.append("metric names starting with " + " or ".join(self.prefixes))
        if self.hosts:
            parts.append("host " + " or ".join(self.hosts))
        if self.tags:
            parts.append("tags " + ", ".join(f"{k}:{v}" for k, v in self.tags))
        return " and ".join(parts) or "all records"


def prefix_of(metric: str) -> str:
    """The census key of a metric name: its first dotted segment plus the dot ('aws.' for 'aws.ec2.cpu')."""
    head, dot, _ = metric.partition(".")
    return head + dot if dot else metric
