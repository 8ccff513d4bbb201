"""The field corpus: load a scenario, seed its systems, run stsdebug on it, compare.

A scenario is a directory under ``fixtures/field/`` with a ``scenario.toml`` (see
fixtures/field/README.md for the keys) and its input files in StackState's real
formats. This module only uses stsdebug's public API: ``stsdebug.settings.resolve``
builds the settings from the scenario's flags, and ``stsdebug.trace.Trace`` runs
them with the scenario's fixed "now".

Scenarios that need Kafka or Elasticsearch describe what to seed; each gets a
noida-db of its own, started on free loopback ports and stopped by PID, so the
topic and index names are the real ones (``sts_multi_metrics``,
``sts_multi_metrics-YYYY.MM.DD``) and no scenario sees another's data.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parents[2]
FIELD = ROOT / "fixtures" / "field"

# Settings that name files: given relative to the scenario directory.
PATH_KEYS = frozenset(
    {"agent_output", "agent_log", "receiver_log", "streams_file", "server_log", "es_ca_file", "kafka_ssl_cafile"}
)
STATUSES = ("pass", "warn", "fail", "error", "skip", "blocked")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(spec: str | int | float) -> float:
    """'90s', '7m', '-2h', '3h1m', '1.5d' or a number of seconds."""
    if isinstance(spec, (int, float)):
        return float(spec)
    text = spec.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?", text.lstrip("-"))
    if not parts or "".join(n + u for n, u in parts) != text.lstrip("-"):
        raise ValueError(f"not a duration: {spec!r}")
    return sign * sum(float(n) * _UNITS[u or "s"] for n, u in parts)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass
class Expectation:
    status: list[str]  # acceptable verdict statuses
    stage: list[str]  # acceptable verdict stages ("" = none, for pass)
    stages: dict[str, list[str]] = field(default_factory=dict)  # stage id -> acceptable statuses
    contains: list[list[str]] = field(default_factory=list)  # each group: one alternative must appear
    not_contains: list[str] = field(default_factory=list)  # in the verdict stage (or the judged stages)
    nowhere: list[str] = field(default_factory=list)  # anywhere in the trace JSON (secrets)
    stage_contains: dict[str, list[list[str]]] = field(default_factory=dict)
    why: str = ""


@dataclass
class Scenario:
    name: str
    path: Path
    title: str
    seen: str
    integration: str | None
    now: float
    window: str
    local_tz: str
    settings: dict[str, Any]
    seed: dict[str, Any]
    expect: Expectation
    sources: list[str]
    tags: list[str]

    @property
    def kind(self) -> str:
        """healthy / warn / broken: how the corpus counts it."""
        if set(self.expect.status) <= {"pass"}:
            return "healthy"
        if set(self.expect.status) <= {"pass", "warn"}:
            return "warn"
        return "broken"

    def expected_text(self) -> str:
        stage = "/".join(s for s in self.expect.stage if s) or "-"
        return f"{'/'.join(self.expect.status)} @ {stage}"


def _groups(items: Sequence[Any]) -> list[list[str]]:
    return [[str(x) for x in _as_list(item)] for item in items]


def load(path: Path) -> Scenario:
    data = tomllib.loads((path / "scenario.toml").read_text(encoding="utf-8"))
    exp = data["expect"]
    status = [str(s) for s in _as_list(exp["status"])]
    for s in status:
        if s not in STATUSES:
            raise ValueError(f"{path.name}: unknown status {s!r}")
    stage = [str(s) for s in _as_list(exp.get("stage", ""))]
    now_spec = data["now"]
    now = (
        datetime.fromisoformat(now_spec.replace("Z", "+00:00")).timestamp()
        if isinstance(now_spec, str)
        else now_spec.timestamp()
    )
    return Scenario(
        name=path.name,
        path=path,
        title=data["title"],
        seen=data.get("seen", ""),
        integration=data.get("integration"),
        now=now,
        window=data.get("window", "15m"),
        local_tz=data.get("local_tz", "UTC"),
        settings=dict(data.get("settings", {})),
        seed=dict(data.get("seed", {})),
        expect=Expectation(
            status=status,
            stage=stage,
            stages={k: [str(s) for s in _as_list(v)] for k, v in exp.get("stages", {}).items()},
            contains=_groups(exp.get("contains", [])),
            not_contains=[str(s) for s in exp.get("not_contains", [])],
            nowhere=[str(s) for s in exp.get("nowhere", [])],
            stage_contains={k: _groups(v) for k, v in exp.get("stage_contains", {}).items()},
            why=exp.get("why", ""),
        ),
        sources=[str(s) for s in data.get("sources", [])],
        tags=[str(s) for s in data.get("tags", [])],
    )


def all_scenarios() -> list[Scenario]:
    return [load(p) for p in sorted(FIELD.iterdir()) if (p / "scenario.toml").is_file()]


# --- outcome --------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: Scenario
    verdict_status: str | None = None
    verdict_stage: str | None = None
    stages: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # why it is wrong; empty = right
    unsupported: list[str] = field(default_factory=list)  # settings stsdebug does not have
    crashed: str | None = None  # a one-line error instead of a trace

    @property
    def ok(self) -> bool:
        return not (self.problems or self.unsupported or self.crashed)

    @property
    def category(self) -> str:
        """right / unsupported / error / silent / wrong."""
        if self.ok:
            return "right"
        if self.unsupported:
            return "unsupported"
        if self.crashed:
            return "error"
        if self.scenario.kind == "broken" and self.verdict_status in ("pass", "skip"):
            return "silent"  # a broken installation, and stsdebug saw nothing wrong
        return "wrong"

    def got_text(self) -> str:
        if self.unsupported:
            return "needs " + ", ".join(f"--{u.replace('_', '-')}" for u in self.unsupported)
        if self.crashed:
            return self.crashed
        return f"{self.verdict_status} @ {self.verdict_stage or '-'}"

    def explain(self) -> str:
        lines = [f"{self.scenario.name}: expected {self.scenario.expected_text()}, got {self.got_text()}"]
        lines += [f"  - {p}" for p in self.problems]
        if self.stages:
            lines.append("  stages: " + ", ".join(f"{k}={v}" for k, v in self.stages.items()))
        return "\n".join(lines)


def _text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False).lower()


def judge(scenario: Scenario, trace: dict[str, Any]) -> Outcome:
    """Compare a trace (its JSON form) with the scenario's expectation."""
    exp = scenario.expect
    verdict = trace["verdict"]
    out = Outcome(scenario, verdict["status"], verdict.get("stage"))
    by_id = {s["id"]: s for s in trace["stages"]}
    out.stages = {s["id"]: s["status"] for s in trace["stages"]}
    if out.verdict_status not in exp.status:
        out.problems.append(f"verdict status {out.verdict_status}, expected {' or '.join(exp.status)}")
    if (out.verdict_stage or "") not in exp.stage and exp.stage != [""]:
        out.problems.append(f"verdict stage {out.verdict_stage or '-'}, expected {' or '.join(exp.stage)}")
    elif exp.stage == [""] and out.verdict_stage and out.verdict_status not in ("pass", "skip"):
        out.problems.append(f"verdict names {out.verdict_stage}, expected no stage")
    for sid, allowed in exp.stages.items():
        got = out.stages.get(sid)
        if got not in allowed:
            out.problems.append(f"stage {sid} is {got or 'absent'}, expected {' or '.join(allowed)}")

    def said(stage_id: str | None) -> str:
        parts: list[Any] = [verdict.get("sentence", "")]
        if stage_id and stage_id in by_id:
            s = by_id[stage_id]
            parts += [s.get("summary"), s.get("evidence"), s.get("hints")]
        return _text(parts)

    # Words the verdict stage must say; for a verdict without a stage, the stages the
    # expectation names (or every stage).
    judged = [out.verdict_stage] if out.verdict_stage else (list(exp.stages) or list(by_id))
    text = " ".join(said(s) for s in judged)
    for group in exp.contains:
        if not any(alt.lower() in text for alt in group):
            out.problems.append(f"does not say {' / '.join(repr(a) for a in group)}")
    for word in exp.not_contains:
        if word.lower() in text:
            out.problems.append(f"says {word!r}, which it must not")
    for sid, groups in exp.stage_contains.items():
        stage_text = said(sid)
        for group in groups:
            if not any(alt.lower() in stage_text for alt in group):
                out.problems.append(f"stage {sid} does not say {' / '.join(repr(a) for a in group)}")
    everything = json.dumps(trace, ensure_ascii=False)
    for secret in exp.nowhere:
        if secret in everything:
            out.problems.append(f"the trace shows {secret[:6]}… (must appear nowhere)")
    return out


# --- running ----------------------------------------------------------------------


@contextlib.contextmanager
def local_zone(name: str) -> Iterator[None]:
    """Run as on a machine whose local time zone is `name` (what naive log times are read in)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def _flags(scenario: Scenario) -> tuple[dict[str, Any], list[str]]:
    from stsdebug.settings import Settings

    known = {f.name for f in fields(Settings)}
    flags: dict[str, Any] = {"integration": scenario.integration, "window": scenario.window, "timeout": 5.0}
    unsupported = []
    for key, value in scenario.settings.items():
        if key not in known:
            unsupported.append(key)
            continue
        if key in PATH_KEYS:
            value = [_path(scenario, v) for v in value] if isinstance(value, list) else _path(scenario, value)
        flags[key] = value
    return flags, unsupported


def _path(scenario: Scenario, value: str) -> str:
    return value if value == "-" else str(scenario.path / value)


def run(scenario: Scenario) -> Outcome:
    """Seed, run the trace through the public API, and judge it."""
    from stsdebug.errors import StsdebugError
    from stsdebug.settings import resolve
    from stsdebug.trace import Trace

    flags, unsupported = _flags(scenario)
    if unsupported:
        return Outcome(scenario, unsupported=unsupported)
    with tempfile.TemporaryDirectory(prefix="stsdebug-field-") as tmp:
        empty = Path(tmp) / "config.toml"
        empty.write_text("", encoding="utf-8")
        flags["config"] = str(empty)  # never the developer's own profile
        with seeded(scenario, Path(tmp)) as endpoints, local_zone(scenario.local_tz):
            for key, value in endpoints.items():
                flags.setdefault(key, value)
            try:
                settings = resolve(flags, env={})
                trace = Trace(settings, now=scenario.now).run()
            except StsdebugError as exc:
                return Outcome(scenario, crashed=f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - stsdebug crashed: an outcome to report, not to hide
                return Outcome(scenario, crashed=f"crash: {type(exc).__name__}: {str(exc)[:300]}")
    return judge(scenario, trace.to_dict())


@contextlib.contextmanager
def seeded(scenario: Scenario, tmp: Path) -> Iterator[dict[str, str]]:
    """A noida-db of the scenario's own, seeded as it asks; the settings that point at it."""
    if not ("kafka" in scenario.seed or "es" in scenario.seed):
        yield {}
        return
    from stsdebug.sandbox import servers
    from tests.field import seeding

    proc = servers.start_noida(tmp / "noida", die_with_parent=True)
    try:
        endpoints: dict[str, str] = {}
        if "kafka" in scenario.seed:
            bootstrap = servers.kafka_bootstrap(proc)
            seeding.seed_kafka(bootstrap, scenario.seed["kafka"], scenario.now)
            endpoints["kafka"] = bootstrap
        if "es" in scenario.seed:
            url = servers.es_url(proc)
            seeding.seed_es(url, scenario.seed["es"], scenario.now)
            endpoints["es"] = url
        yield endpoints
    finally:
        proc.stop()
