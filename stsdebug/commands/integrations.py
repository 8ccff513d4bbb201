"""`stsdebug integrations`: the catalog."""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import json
import sys

import typer

from stsdebug.commands.options import TextOrJson, TextOrJsonOpt


def integrations(format: TextOrJsonOpt = TextOrJson.text) -> None:
    """The integration catalog: name, push or pull, and what identifies its data."""
    from stsdebug.integrations import load_catalog

    catalog = load_catalog()
    if format is TextOrJson.json:
        rows = [
            {
                "name": i.name,
                "kind": i.kind,
                "title": i.title,
                "stages": list(i.stages),
                "checks": list(i.checks),
                "metric_prefixes": list(i.metric_prefixes),
                "tags": list(i.tags),
                "aliases": list(i.aliases),
            }
            for i in catalog.values()
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    width = max(len(n) for n in catalog)
    for i in catalog.values():
        sys.stdout.write(f"{i.name:<{width}}  {i.kind:<4}  {i.title}\n")
        sys.stdout.write(f"{'':<{width}}        identified by {i.identifies()}\n")


def register(app: typer.Typer) -> None:
    app.command()(integrations)
