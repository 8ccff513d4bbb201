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
StdinTimeoutOpt = Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=0.1, max=3600, help="With -: seconds allowed for stdin to deliver the whole payload. Default 60.")]


def validate(payload: PayloadArg, format: TextOrJsonOpt = TextOrJson.text, timeout: StdinTimeoutOpt = 60.0) -> None:
    """Check a receiver intake payload the way the receiver would. Exit 0 valid, 1 invalid, 2 unreadable."""
    from stsdebug.payloads import decode_payload, validate_text
    from stsdebug.render import validate as render_validate

    name, raw = _read(payload, timeout)
    result = validate_text(decode_payload(raw))
    if format is TextOrJson.json:
        sys.stdout.write(json.dumps(render_validate.to_dict(result, name), indent=2) + "\n")
    else:
        sys.stdout.write(render_validate.render_text(result, name))
    raise typer.Exit(0 if result.valid else 1)


def _read(payload: str, timeout: float) -> tuple[str, bytes]:
    from stsdebug.errors import SourceError
    from stsdebug.inputs import MAX_DOCUMENT, open_stream, read_bytes, read_stdin

    if payload == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("stdin is a terminal: pipe a payload in, or give a file name")
        # A pipe left open and silent must not hold the command: stdin has `timeout` seconds.
        try:
            sys.stdin.fileno()
        except (OSError, ValueError):  # not a file descriptor (an in-memory stream): read it
            raw = read_stdin("stdin", limit=MAX_DOCUMENT)
        else:
            try:
                with open_stream(None, "stdin", timeout) as stream:
                    raw = read_stdin("stdin", limit=MAX_DOCUMENT, stream=stream)
            except SourceError as exc:
                raise UsageError(f"{str(exc).rstrip('.')} (--timeout {timeout:g})") from None
        if not raw.strip():
            raise UsageError("stdin is empty: pipe a payload in, or give a file name")
        return "stdin", raw
    return payload, read_bytes(Path(payload), payload, expected="a JSON payload", limit=MAX_DOCUMENT)


def register(app: typer.Typer) -> None:
    app.command()(validate)
