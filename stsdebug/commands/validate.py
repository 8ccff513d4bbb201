"""`stsdebug validate`: check a receiver intake payload the way the receiver would."""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from stsdebug.commands.options import TextOrJson, TextOrJsonOpt
from stsdebug.errors import UsageError

PayloadArg = Annotated[str, typer.Argument(metavar="PAYLOAD|-", help="Receiver intake JSON (metrics, events, health), or - for stdin.")]


def validate(payload: PayloadArg, format: TextOrJsonOpt = TextOrJson.text) -> None:
    """Check a receiver intake payload the way the receiver would. Exit 0 valid, 1 invalid, 2 unreadable."""
    from stsdebug.payloads import decode_payload, validate_text
    from stsdebug.render import validate as render_validate

    name, raw = _read(payload)
    result = validate_text(decode_payload(raw))
    if format is TextOrJson.json:
        sys.stdout.write(json.dumps(render_validate.to_dict(result, name), indent=2) + "\n")
    else:
        sys.stdout.write(render_validate.render_text(result, name))
    raise typer.Exit(0 if result.valid else 1)


def _read(payload: str) -> tuple[str, bytes]:
    from stsdebug.inputs import MAX_DOCUMENT, read_bytes, read_stdin

    if payload == "-":
        raw = read_stdin("stdin", limit=MAX_DOCUMENT)
        if not raw.strip():
            raise UsageError("stdin is empty: pipe a payload in, or give a file name")
        return "stdin", raw
    return payload, read_bytes(Path(payload), payload, expected="a JSON payload", limit=MAX_DOCUMENT)


def register(app: typer.Typer) -> None:
    app.command()(validate)
