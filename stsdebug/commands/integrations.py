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
                "kinds": list(i.kinds or (i.kind,)),
                "title": i.title,
                "stages": list(i.stages),
                "checks": list(i.checks),
                "metric_prefixes": list(i.metric_prefixes),
                "tags": list(i.tags),
                "aliases": list(i.aliases),
                "interval_s": i.interval_s,
                "storage": i.storage if "pull" in (i.kinds or (i.kind,)) else None,
            }
            for i in catalog.values()
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    width = max(len(n) for n in catalog)
    kinds = max(len(i.kind_text()) for i in catalog.values())
    pad = " " * (width + kinds + 4)
    for i in catalog.values():
        sys.stdout.write(f"{i.name:<{width}}  {i.kind_text():<{kinds}}  {i.title}\n")
        sys.stdout.write(f"{pad}identified by {i.identifies()}\n")
        if "pull" in (i.kinds or (i.kind,)) and i.storage == "on-demand":
            sys.stdout.write(f"{pad}pulled on demand by its StackState plugin: nothing is stored in sts_multi_metrics-*\n")


def register(app: typer.Typer) -> None:
    app.command()(integrations)
