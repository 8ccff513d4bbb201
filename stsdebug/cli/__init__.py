"""The stsdebug command line: ``app`` (the typer application) and ``main`` (its entry point)."""

from stsdebug.cli.app import app, main

__all__ = ["app", "main"]
