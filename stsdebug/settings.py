"""Settings: every endpoint, credential, path, threshold and timeout, resolved once.

Precedence: command-line flags > ``STSDEBUG_*`` environment > a profile in a TOML
config file > defaults. Secrets come from the environment or from files and are
never printed (see ``redacted()``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from stsdebug.errors import ConfigError, UsageError
from stsdebug.inputs import MAX_SECRET, read_text
from stsdebug.suggest import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ENV_PREFIX = "STSDEBUG_"

# Fields that hold secrets. Each can also be given as <name>_env (the name of an
# environment variable holding it) or <name>_file (a file holding it).
SECRET_FIELDS = (
    "api_key",
    "sts_api_token",
    "es_password",
    "es_api_key",
    "kafka_sasl_password",
    "mirror_api_key",
    "prometheus_api_token",
)

STS_VERSIONS = ("5", "6", "auto")
MIN_SCRAPE_S, MAX_SCRAPE_S = 1.0, 120.0  # /metrics pages lag ~1 s; a stage waits this long
LIST_FIELDS = ("receiver_log", "server_log", "server_log_pattern", "streams", "metric_prefix", "host", "tag",
               "check", "bindings", "component_tag")
MAP_FIELDS = ("labels",)

# Profiles that live outside the user's config file, by name: a function of the
# environment that returns the TOML file holding ``[profiles.<name>]`` (or raises
# ConfigError saying why there is none). `stsdebug sandbox` registers "sandbox".
ProfileLocator = Callable[[Mapping[str, str]], Path]
PROFILE_LOCATORS: dict[str, ProfileLocator] = {}


def register_profile(name: str, locate: ProfileLocator) -> None:
    PROFILE_LOCATORS[name] = locate


@dataclass
class Settings:
    integration: str | None = None
    # push or pull, for an integration that exists both ways (splunk); chosen from the
    # inputs when not given
    kind: str | None = None
    # pull: where the plugin's data lives, "on-demand" (retrieved when viewed, stored nowhere)
    # or "elasticsearch" (stored in the metric indices); overrides the catalog
    storage: str | None = None

    # agent
    agent_output: str | None = None
    agent_log: str | None = None
    agent_cmd: str | None = None
    # receiver
    receiver_log: list[str] = field(default_factory=list)
    # zone of receiver log timestamps, which logback writes without one:
    # local (default), UTC, +02:00, or a name like Europe/Amsterdam
    receiver_log_tz: str | None = None
    receiver: str | None = None  # receiver base URL, e.g. https://host:7077
    receiver_health: str | None = None  # explicit health URL (Kubernetes: :1618/readiness)
    api_key: str | None = None
    # StackState API (topic API)
    sts_api: str | None = None
    sts_api_token: str | None = None
    # Kafka
    kafka: str | None = None
    topic: str = "sts_multi_metrics"
    mm2es_group: str | None = None
    # how often the mover commits its offsets (Kafka consumers auto-commit every 5 s by
    # default; mm2es's own setting is not published): two samples closer than this
    # cannot tell a stopped group from one that commits on a timer
    mm2es_commit_interval: float = 5.0
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    kafka_sasl_mechanism: str | None = None  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    # Elasticsearch
    es: str | None = None
    index_pattern: str = "sts_multi_metrics-*"
    es_username: str | None = None
    es_password: str | None = None
    es_api_key: str | None = None
    es_ca_file: str | None = None
    es_insecure: bool = False
    es_layout: str | None = None  # multi | single; detected from the mapping when unset
    # streams
    streams: list[str] = field(default_factory=list)
    streams_file: str | None = None
    # pull sources
    mirror: str | None = None  # Prometheus mirror base URL
    # StackState server log (file, directory of rotated logs, or - for stdin): the pull
    # plugins' errors; its zone-less times are read like the receiver log's
    server_log: list[str] = field(default_factory=list)
    # extra CAUSE:REGEX patterns for the plugins' errors in it (their wording is not public)
    server_log_pattern: list[str] = field(default_factory=list)
    mirror_api_key: str | None = None
    # StackState 6 / SUSE Observability (docs/v6/facts.md)
    sts_version: str = "auto"  # 5, 6, or auto: decided from positive evidence (stsdebug.stsversion)
    victoria_metrics: str | None = None  # VictoriaMetrics base URL (query service, :8428)
    vmagent: str | None = None  # vmagent base URL (:8429)
    prometheus_api: str | None = None  # StackState's Prometheus-compatible path: https://HOST/prometheus
    prometheus_api_token: str | None = None  # a service token, sent in X-API-Key
    receiver_metrics: str | None = None  # the receiver's own metrics page (:9404/metrics)
    scrape_interval: float = 5.0  # seconds between the two scrapes of a /metrics page (rates)
    bindings: list[str] = field(default_factory=list)  # metric binding PromQL queries
    bindings_file: str | None = None  # STY/YAML/JSON MetricBinding or ComponentPresentation nodes
    component_tag: list[str] = field(default_factory=list)  # KEY=VALUE labels of the component
    component_name: str | None = None  # fills ${name}
    # what identifies the integration's data (overrides the catalog)
    metric_prefix: list[str] = field(default_factory=list)
    host: list[str] = field(default_factory=list)
    tag: list[str] = field(default_factory=list)
    check: list[str] = field(default_factory=list)  # agent check names that produce the data
    # run
    window: str = "15m"
    timeout: float = 10.0
    probe: bool = False
    probe_host: str | None = None
    probe_timeout: float = 30.0  # seconds the probe waits for its record at each hop
    fail_on: str = "fail"
    # free-form key=value labels recorded in the trace's `labels` (the sandbox names its faults)
    labels: dict[str, str] = field(default_factory=dict)
    # where these came from
    profile: str | None = None
    config: str | None = None

    def redacted(self) -> dict[str, Any]:
        """The settings as shown in outputs: secrets replaced by a marker, empty values left out."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, [], "", {}) or f.name in MAP_FIELDS:  # labels have their own key
                continue
            if f.name in SECRET_FIELDS:
                out[f.name] = "<redacted>"
            else:
                out[f.name] = value
        return out

    def secret_values(self) -> list[str]:
        return [v for name in SECRET_FIELDS if (v := getattr(self, name))]

    def has_any_input(self) -> bool:
        return any(
            getattr(self, name)
            for name in (
                "agent_output",
                "agent_log",
                "agent_cmd",
                "receiver_log",
                "receiver",
                "sts_api",
                "kafka",
                "es",
                "streams",
                "streams_file",
                "mirror",
                "server_log",
                "victoria_metrics",
                "vmagent",
                "prometheus_api",
                "receiver_metrics",
                "bindings",
                "bindings_file",
            )
        )


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("stsdebug")) / "config.toml"


def _coerce(name: str, value: Any, origin: str) -> Any:
    kind = str(_FIELD_TYPES[name])
    if name in MAP_FIELDS:
        return _coerce_map(name, value, origin)
    if name in LIST_FIELDS:
        if isinstance(value, str):
            # Lists in the environment are separated by newlines or ';' (stream
            # definitions contain commas).
            return [v.strip() for v in re.split(r"[;\n]", value) if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise ConfigError(f"{origin}: {name} must be a list of strings")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{origin}: {name} must be true or false, not {value!r}")
    if kind == "float":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: {name} must be a number of seconds, not {value!r}") from None
        if not 0 < number <= 3600:
            raise ConfigError(f"{origin}: {name} must be between 0 and 3600 seconds")
        return number
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ConfigError(f"{origin}: {name} must be a string")
    return value


def _coerce_map(name: str, value: Any, origin: str) -> dict[str, str]:
    """A TOML table, or KEY=VALUE items (a list, or one string separated by ';' or newlines)."""
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    else:
        if isinstance(value, str):
            value = [v for v in re.split(r"[;\n]", value) if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{origin}: {name} must be a table or a list of KEY=VALUE strings")
        items = []
        for raw in value:
            key, sep, val = raw.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"{origin}: {name} item {raw!r} is not KEY=VALUE")
            items.append((key.strip(), val.strip()))
    out: dict[str, str] = {}
    for key, val in items:
        if not isinstance(val, (str, int, float)) or isinstance(val, bool):
            raise ConfigError(f"{origin}: {name}.{key} must be a string")
        out[key] = str(val)
    return out


def load_config(path: Path) -> dict[str, Any]:
    if not path.expanduser().exists():
        raise ConfigError(f"config file {path} does not exist")
    text = read_text(path, f"config file {path}")  # a regular file of at most 16 MB
    try:
        return dict(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply") from None


def _profile_values(
    config_path: str | None, profile: str | None, env: Mapping[str, str]
) -> tuple[dict[str, Any], str | None, str | None]:
    explicit = config_path or env.get(ENV_PREFIX + "CONFIG")
    path = Path(explicit).expanduser() if explicit else default_config_path()
    wanted = profile or env.get(ENV_PREFIX + "PROFILE")
    if not explicit and wanted in PROFILE_LOCATORS and not _defines(path, wanted):
        path = PROFILE_LOCATORS[wanted](env)
        explicit = str(path)
    if not explicit and not path.exists():
        if profile:
            raise ConfigError(
                f"profile {profile!r} asked for, but there is no config file at {path}"
                " (give one with --config)"
            )
        return {}, None, None
    data = load_config(path)
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"config file {path}: [profiles] must be a table of tables")
    name = profile or env.get(ENV_PREFIX + "PROFILE") or data.get("default_profile")
    if not name:
        return {}, str(path), None
    if name not in profiles or not isinstance(profiles[name], dict):
        more = did_you_mean(str(name), profiles) or f"; it has: {', '.join(profiles) or 'none'}"
        raise ConfigError(f"config file {path} has no profile {name!r}{more}")
    values = dict(profiles[name])
    # Relative paths in a profile are relative to the config file.
    base = path.parent
    for key in ("agent_output", "agent_log", "streams_file", "es_ca_file", "kafka_ssl_cafile", "bindings_file"):
        if isinstance(values.get(key), str) and not Path(values[key]).is_absolute():
            values[key] = str(base / values[key])
    for key in ("receiver_log", "server_log"):
        if isinstance(values.get(key), str):
            values[key] = [values[key]]
        if isinstance(values.get(key), list):
            values[key] = [
                str(base / v) if isinstance(v, str) and v != "-" and not Path(v).is_absolute() else v
                for v in values[key]
            ]
    return values, str(path), str(name)


def _defines(user_config: Path, name: str) -> bool:
    """Does the user's own config file have ``[profiles.<name>]``? (It wins over a located one.)"""
    if not user_config.exists():
        return False
    profiles = load_config(user_config).get("profiles")
    return isinstance(profiles, dict) and name in profiles


def _read_secret_file(path: str, origin: str) -> str:
    # A regular file of at most 64 KB: a FIFO or /dev/zero would never end (use *_env for a
    # secret that is not on disk).
    return read_text(Path(path), f"{origin}: secret file {path}", limit=MAX_SECRET).strip()


def resolve(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from flags (None = not given), the environment and a config profile."""
    flags = {k: v for k, v in (flags or {}).items() if v not in (None, [], ())}
    env = os.environ if env is None else env
    profile_vals, config_used, profile_used = _profile_values(
        flags.pop("config", None), flags.pop("profile", None), env
    )
    secret_sources: dict[str, Any] = {}
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}  # where each value came from, for the messages of settings_check
    known = set(_FIELD_TYPES)
    for key, value in profile_vals.items():
        base = key.removesuffix("_env").removesuffix("_file")
        if base in SECRET_FIELDS and key != base:
            secret_sources.setdefault(base, (key, value, f"profile {profile_used!r}"))
            continue
        if key not in known or key in ("profile", "config"):
            raise ConfigError(f"profile {profile_used!r}: unknown setting {key!r}")
        merged[key] = _coerce(key, value, f"profile {profile_used!r}")
        origins[key] = f"profile {profile_used!r} {key}"
    for key in known - {"profile", "config"}:
        env_name = ENV_PREFIX + key.upper()
        if env_name in env:
            merged[key] = _coerce(key, env[env_name], f"environment variable {env_name}")
            origins[key] = f"environment variable {env_name}"
            secret_sources.pop(key, None)  # a direct value beats a profile's *_env/*_file
    for base in SECRET_FIELDS:
        for suffix in ("_env", "_file"):
            env_name = ENV_PREFIX + (base + suffix).upper()
            if env_name in env:
                secret_sources[base] = (base + suffix, env[env_name], f"environment variable {env_name}")
    for key, value in flags.items():
        base = key.removesuffix("_env").removesuffix("_file")
        if base in SECRET_FIELDS and key != base:
            secret_sources[base] = (key, value, f"--{key.replace('_', '-')}")
            continue
        if key not in known:
            raise UsageError(f"unknown option {key}")
        merged[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
        origins[key] = f"--{key.replace('_', '-')}"
        secret_sources.pop(key, None)
    for base, (key, value, origin) in secret_sources.items():
        if base in flags:  # a direct value given as a flag wins
            continue
        if key.endswith("_env"):
            if value not in env:
                raise ConfigError(f"{origin}: environment variable {value} is not set")
            merged[base] = env[value]
        else:
            merged[base] = _read_secret_file(str(value), origin)
    settings = Settings(**merged)
    settings.config = config_used
    settings.profile = profile_used
    if settings.fail_on not in ("fail", "warn"):
        raise UsageError("--fail-on must be 'fail' or 'warn'")
    if not MIN_SCRAPE_S <= settings.scrape_interval <= MAX_SCRAPE_S:
        raise UsageError(f"--scrape-interval must be between {MIN_SCRAPE_S:g} and {MAX_SCRAPE_S:g} seconds")
    settings.sts_version = settings.sts_version.strip().lower()
    if settings.sts_version not in STS_VERSIONS:
        raise UsageError(f"--sts-version must be 5, 6 or auto, not {settings.sts_version!r}")
    from stsdebug import settings_check

    settings_check.check(settings, origins)
    return settings


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_window(spec: str) -> float:
    """'15m' -> 900.0 seconds. Plain numbers are seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", spec or "")
    if not m:
        raise UsageError(f"--window {spec!r}: expected a duration like 30s, 15m, 2h or 1d")
    seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if seconds <= 0 or seconds > 30 * 86400:
        raise UsageError(f"--window {spec!r}: must be more than 0 and at most 30d")
    return seconds
