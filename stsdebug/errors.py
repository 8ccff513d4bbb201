"""Error types with one human sentence each; the CLI turns them into one line and an exit code."""

from __future__ import annotations


class StsdebugError(Exception):
    """Base for errors stsdebug reports as one clean line."""

    exit_code = 2


class UsageError(StsdebugError):
    """The user asked for something that cannot be done as given (exit 2)."""


class ConfigError(UsageError):
    """A config file, profile or setting is wrong (exit 2)."""


class SourceError(StsdebugError):
    """A system under diagnosis could not be read: unreachable, timeout, auth, malformed answer.

    Stages turn this into an `error` result with ``str(exc)`` as the reason.
    """

    def __init__(self, message: str, *, system: str = "", cause: str = "") -> None:
        super().__init__(message)
        self.system = system
        self.cause = cause  # short machine-readable class: timeout, refused, dns, tls, auth, http, malformed
