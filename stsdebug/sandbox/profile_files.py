"""The files ``sandbox up`` writes beside the state file: API keys, streams and the profile.

Both StackState versions' sandboxes write the ``sandbox`` profile the same way; only
its values differ.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from stsdebug.sandbox import paths, world


def write_secrets(base: Path) -> dict[str, Path]:
    out = {}
    for name in ("api_key_file", "mirror_api_key_file"):
        path = base / name.removesuffix("_file")
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_hex(16) + "\n")
        out[name] = path
    return out


def write_streams(base: Path, faults: list[str]) -> Path:
    lines = ["# Telemetry streams of the sandbox, one per integration (written by `stsdebug sandbox up`)."]
    for s in world.STREAMS:
        lines.append(f"- name: {json.dumps(s.name)}")
        lines.append(f"  integration: {s.integration}")
        lines.append("  conditions:")
        for key, value in s.conditions:
            if "wrong-tag-value" in faults and (s.name, key) == world.WRONG_TAG[:2]:
                value = world.WRONG_TAG[2]
            lines.append(f"    {key}: {json.dumps(value)}")
        lines.append(f"  metric: {s.metric}")
    path = base / "streams.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_profile(base: Path, title: str, faults: list[str], values: dict[str, Any]) -> Path:
    """The ``sandbox`` profile: ``title`` as its first comment, then ``values`` in TOML."""
    out = [
        f"# {title}",
        f"# Faults: {', '.join(faults) or 'none (healthy)'}",
        f"[profiles.{paths.PROFILE_NAME}]",
    ]
    out += [f"{key} = {toml(value)}" for key, value in values.items()]
    path = paths.profile_path(base)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def toml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's
