"""The typer application: global options, help layout, shell completion, and the commands.

Thin on purpose: each command lives in its own module under ``stsdebug.commands`` and
registers itself; this module only assembles them. Heavy libraries (textual,
elasticsearch, kafka) are imported by the commands that need them, when they run, so
``stsdebug --help`` and completion stay fast.
"""

# No `from __future__ import annotations`: typer reads these annotations at run time.

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from stsdebug import __version__
from stsdebug.commands import (
    bundle,
    check,
    demo,
    diff,
    integrations,
    report,
    sandbox,
    tui,
    validate,
)
from stsdebug.commands.errors import clean_errors, is_clean


def _usage_error_class() -> type[Exception]:
    """click's UsageError as typer raises it (typer may carry its own copy of click, so the
    class is found through typer's public BadParameter, one of its kind)."""
    return next((c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"), typer.BadParameter)


USAGE_ERROR = _usage_error_class()

# In the order `stsdebug --help` lists them.
COMMANDS = (check, report, diff, validate, integrations, tui, sandbox, demo, bundle)


@contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    """A mistyped command, option or value is one line on stderr and exit 2, like every other
    mistake (not typer's usage block and error box)."""
    try:
        yield
    except USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            raise  # `stsdebug` alone: the help is the answer
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "stsdebug"
        message = str(getattr(exc, "format_message", exc.__str__)()).rstrip(".")
        sys.stderr.write(f"stsdebug: error: {message} (see `{where} --help`)\n")
        raise typer.Exit(int(getattr(exc, "exit_code", 2))) from None


class StsdebugGroup(TyperGroup):
    """The root group: usage errors anywhere below it become one line."""

    def make_context(
        self, info_name: Optional[str], args: Sequence[str], parent: Any = None, **extra: Any
    ) -> Any:
        with _one_line_usage_errors():
            return super().make_context(info_name, list(args), parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _one_line_usage_errors():
            return super().invoke(ctx)


app = typer.Typer(
    cls=StsdebugGroup,
    name="stsdebug",
    help="Find out why telemetry is missing in StackState: walks agent → receiver → Kafka → "
    "Elasticsearch → telemetry streams in order and names where the data stops.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"stsdebug {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = None,
) -> None:
    """stsdebug: where does StackState telemetry stop?"""


def _share_typer_adapters() -> None:
    """Build typer's pydantic TypeAdapter once per plain type, not once per option.

    typer (0.16+) coerces every option's value, given or not, through a TypeAdapter it
    builds for that option when the command runs: about 2 ms each, a tenth of a second for
    `check`'s options, most of them plain ``str``, ``bool`` or numbers. For those, the
    adapter depends on the type alone (typer's ``build_leaf_adapter``), so one serves all.
    Anything else, or a typer without that function, is left as typer does it.
    """
    try:
        from typer import _adapters
    except ImportError:  # pragma: no cover - an older typer without adapters
        return
    build = getattr(_adapters, "build_leaf_adapter", None)
    if build is None or getattr(build, "_stsdebug_shared", False):
        return
    shared: dict[Any, Any] = {}

    def leaf_adapter(annotation: Any, parameter_info: Any) -> Any:
        plain = getattr(parameter_info, "parser", None) is None and (
            annotation in (str, bool)
            or (annotation in (int, float) and getattr(parameter_info, "min", None) is None
                and getattr(parameter_info, "max", None) is None and not getattr(parameter_info, "clamp", False))
        )
        if not plain:
            return build(annotation, parameter_info=parameter_info)
        adapter = shared.get(annotation)
        if adapter is None:
            adapter = shared[annotation] = build(annotation, parameter_info=parameter_info)
        return adapter

    leaf_adapter._stsdebug_shared = True  # type: ignore[attr-defined]
    _adapters.build_leaf_adapter = leaf_adapter


def _assemble() -> None:
    for module in COMMANDS:
        module.register(app)
    for info in app.registered_commands:
        if info.callback is not None and not is_clean(info.callback):
            info.callback = clean_errors(info.callback)


_assemble()


def main() -> None:
    _share_typer_adapters()
    try:
        app(standalone_mode=True)
    except BrokenPipeError:
        sys.exit(0)
