"""stsdebug: trace where StackState telemetry stops."""

__version__ = "0.1.0"
