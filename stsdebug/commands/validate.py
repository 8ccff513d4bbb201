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
    if payload == "-":
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            raise UsageError("stdin is empty: pipe a payload in, or give a file name")
        return "stdin", raw
    try:
        return payload, Path(payload).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{payload}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{payload}: is a directory, expected a JSON payload") from None
    except OSError as exc:
        raise UsageError(f"{payload}: cannot read ({exc.strerror})") from None


def register(app: typer.Typer) -> None:
    app.command()(validate)
