"""Where the sandbox keeps its state. Tiny and import-light: `stsdebug sandbox` registers
``locate_profile`` with the settings, so ``--profile sandbox`` finds the profile file.

The state directory is ``$STSDEBUG_SANDBOX_DIR`` when set (tests point it at a
temporary directory), else ``platformdirs.user_state_dir("stsdebug")/sandbox``.
It holds ``state.json`` (PIDs, ports, paths), ``profile.toml`` (the ``sandbox``
profile), ``streams.yaml``, the API key files and ``run/``, the data and logs of the
sandbox that is up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_DIR = "STSDEBUG_SANDBOX_DIR"
PROFILE_NAME = "sandbox"


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    explicit = (os.environ if env is None else env).get(ENV_DIR)
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("stsdebug")) / "sandbox"


def profile_path(base: Path | None = None) -> Path:
    """The TOML file holding ``[profiles.sandbox]`` while a sandbox is up."""
    return (base or state_dir()) / "profile.toml"


def state_path(base: Path | None = None) -> Path:
    return (base or state_dir()) / "state.json"


def locate_profile(env: Mapping[str, str]) -> Path:
    """The profile file `stsdebug sandbox up` wrote; ConfigError when no sandbox is up."""
    from stsdebug.errors import ConfigError

    path = profile_path(state_dir(env))
    if not path.exists():
        raise ConfigError(
            f"profile 'sandbox' asked for, but no sandbox is up (looked in {path.parent}); "
            "start one with `stsdebug sandbox up`"
        )
    return path
