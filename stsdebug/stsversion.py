"""Which StackState a target is: 5 (Kafka, Elasticsearch, telemetry streams) or 6 / SUSE
Observability (vmagent, VictoriaMetrics, metric bindings), and why stsdebug thinks so.

``--sts-version 5|6`` (or ``sts_version`` in a profile, or ``STSDEBUG_STS_VERSION``) decides
outright. ``auto`` (the default) decides from positive evidence only:

1. a StackState 6 endpoint was given: ``--victoria-metrics``, ``--vmagent`` or
   ``--prometheus-api``;
2. the StackState API given with ``--sts-api`` answers a Prometheus query on its
   ``/prometheus`` path (one bounded request; StackState 5 has no such path);
3. otherwise StackState 5.

What is *missing* never decides: a broken 5.x installation can lack its
``sts_multi_metrics`` topic too, so an empty or absent topic does not make a target 6.

Pure apart from the one optional request, which the caller passes in (``answers``), so
that all I/O stays in ``stsdebug.sources``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from stsdebug.settings import Settings

GIVEN = "given"
AUTO = "auto"

# Settings that only exist in StackState 6 (flag names for the sentences).
V6_ENDPOINTS = (
    ("victoria_metrics", "--victoria-metrics"),
    ("vmagent", "--vmagent"),
    ("prometheus_api", "--prometheus-api"),
)
PROMETHEUS_PATH = "/prometheus"

# Answers whether a URL serves the Prometheus query API: None when it does, else why not.
Answers = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Decision:
    version: str  # "5" | "6"
    mode: str  # GIVEN (flag, environment or profile) | AUTO (from evidence)
    reason: str  # one sentence: why this version
    # StackState's Prometheus path found by asking the StackState API (auto only).
    prometheus_api: str | None = None

    @property
    def label(self) -> str:
        return f"StackState {self.version}"

    def applied(self, settings: Settings) -> Settings:
        """The settings the trace runs with: the Prometheus path found by asking the API, if any."""
        if self.prometheus_api and not settings.prometheus_api:
            return dataclasses.replace(settings, prometheus_api=self.prometheus_api)
        return settings

    def to_dict(self) -> dict[str, str]:
        return {"mode": self.mode, "reason": self.reason}


def given_version(settings: Settings) -> Decision | None:
    """The version the user named, or None for auto."""
    if settings.sts_version in ("5", "6"):
        return Decision(
            settings.sts_version, GIVEN,
            f"StackState {settings.sts_version} was given (--sts-version, STSDEBUG_STS_VERSION or the "
            "profile's sts_version).",
        )
    return None


def endpoint_given(settings: Settings) -> str | None:
    """The first StackState 6 endpoint given, as its flag; None when there is none."""
    return next((flag for name, flag in V6_ENDPOINTS if getattr(settings, name)), None)


def decide(settings: Settings, answers: Answers | None = None) -> Decision:
    """The version of the target. ``answers`` is called at most once (auto, --sts-api given,
    no StackState 6 endpoint given); without it nothing is asked."""
    named = given_version(settings)
    if named is not None:
        return named
    flag = endpoint_given(settings)
    if flag:
        return Decision("6", AUTO, f"{flag} was given: a StackState 6 endpoint.")
    tried = ""
    if settings.sts_api and answers is not None:
        url = prometheus_url(settings.sts_api)
        why_not = answers(url)
        if why_not is None:
            return Decision(
                "6", AUTO,
                f"The StackState API at {url} answers Prometheus queries, a path StackState 6 has "
                "and StackState 5 has not.",
                prometheus_api=url,
            )
        tried = f" (the StackState API does not answer Prometheus queries at {url}: {why_not.rstrip('.')})"
    return Decision(
        "5", AUTO,
        f"No StackState 6 endpoint was given or answered{tried}, so StackState 5 is assumed; "
        "give --sts-version 6 for SUSE Observability.",
    )


def prometheus_url(sts_api: str) -> str:
    """StackState's Prometheus-compatible path under an API base URL (``https://HOST`` or
    ``https://HOST/api``)."""
    base = sts_api.split("?", 1)[0].rstrip("/")
    for suffix in ("/api", PROMETHEUS_PATH):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base + PROMETHEUS_PATH


# --- stages outside the target's plan --------------------------------------------------------

# stage id -> (the setting that feeds it, why it is not part of the other version's path)
OUTSIDE_6 = {
    "kafka": ("kafka", "the StackState 6 receiver writes metrics to vmagent, not to the Kafka "
                       "topic sts_multi_metrics (Kafka carries topology, health and events only)"),
    "elasticsearch": ("es", "StackState 6 stores metrics in VictoriaMetrics; Elasticsearch holds "
                            "logs and events only"),
    "streams": ("streams", "StackState 6 shows metrics through metric bindings (PromQL), not "
                           "telemetry streams; give the binding with --binding"),
    "source": ("mirror", "the Prometheus mirror is a StackState 5 data source"),
}
OUTSIDE_5 = {
    "vmagent": ("vmagent", "StackState 5 has no vmagent: its receiver writes metrics to Kafka"),
    "victoriametrics": ("victoria_metrics", "StackState 5 stores metrics in Elasticsearch, not "
                                            "VictoriaMetrics"),
    "bindings": ("bindings", "metric bindings are StackState 6; StackState 5 draws charts from "
                             "telemetry streams (--stream)"),
}
_ALSO = {"streams": ("streams_file",), "victoriametrics": ("prometheus_api",),
         "bindings": ("bindings_file",)}


def outside_plan(settings: Settings, decision: Decision) -> list[tuple[str, str]]:
    """(stage id, skip reason) for each stage of the *other* version whose input was given.

    Such a stage is shown as ``skip`` with the reason, never judged (a 5.x target is never
    judged by the 6 plan, nor the reverse)."""
    table = OUTSIDE_6 if decision.version == "6" else OUTSIDE_5
    other = "5" if decision.version == "6" else "6"
    out = []
    for stage_id, (setting, why) in table.items():
        names = (setting, *_ALSO.get(stage_id, ()))
        if not any(getattr(settings, n) for n in names):
            continue
        how = "as given" if decision.mode == GIVEN else decision.reason.rstrip(".")
        reason = (
            f"Not part of the target's metrics path: {why}. The target is traced as StackState "
            f"{decision.version} ({how}); give --sts-version {other} if that is wrong."
        )
        out.append((stage_id, reason))
    return out
