"""The stsdebug command line. Thin: resolve settings, run, hand the result to one output layer.

Heavy libraries (textual, elasticsearch, kafka) are imported only by the
commands that need them, so `stsdebug --help` stays fast.
"""



import inspect
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from stsdebug import __version__
from stsdebug.commands import clean_errors
from stsdebug.errors import UsageError

app = typer.Typer(
    name="stsdebug",
    help="Find out why telemetry is missing in StackState: walks agent → receiver → Kafka → "
    "Elasticsearch → telemetry streams in order and names where the data stops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"


class FailOn(str, Enum):
    fail = "fail"
    warn = "warn"


# --- options shared by check, tui and bundle -------------------------------------------------
_T = "Target"
_A = "Agent and receiver"
_K = "Kafka"
_E = "Elasticsearch and streams"
_M = "What identifies the data"


def _common(
    integration: Annotated[Optional[str], typer.Option("--integration", "-i", help="Integration to trace (see `stsdebug integrations`).", rich_help_panel=_T)] = None,
    profile: Annotated[Optional[str], typer.Option(help="Profile in the config file.", rich_help_panel=_T)] = None,
    config: Annotated[Optional[str], typer.Option(help="Config file (TOML). Default: the user config dir.", rich_help_panel=_T)] = None,
    window: Annotated[Optional[str], typer.Option(help="How far back to look, e.g. 15m, 2h, 1d.", rich_help_panel=_T)] = None,
    timeout: Annotated[Optional[float], typer.Option(help="Seconds allowed for each network call.", rich_help_panel=_T)] = None,
    agent_output: Annotated[Optional[str], typer.Option(help="Saved output of `stackstate-agent check <name> -l debug`.", rich_help_panel=_A)] = None,
    agent_log: Annotated[Optional[str], typer.Option(help="StackState Agent log (agent.log).", rich_help_panel=_A)] = None,
    agent_cmd: Annotated[Optional[str], typer.Option(help="Run the agent check command (may start with `kubectl exec ... --`).", rich_help_panel=_A)] = None,
    receiver_log: Annotated[Optional[list[str]], typer.Option(help="Receiver log file, directory of rotated logs, or - for stdin. Repeatable.", rich_help_panel=_A)] = None,
    receiver: Annotated[Optional[str], typer.Option(help="Receiver base URL, e.g. https://host:7077.", rich_help_panel=_A)] = None,
    receiver_health: Annotated[Optional[str], typer.Option(help="Receiver health URL if not <receiver>/health (Kubernetes: :1618/readiness).", rich_help_panel=_A)] = None,
    api_key_env: Annotated[Optional[str], typer.Option(help="Environment variable holding the receiver API key.", rich_help_panel=_A)] = None,
    api_key_file: Annotated[Optional[str], typer.Option(help="File holding the receiver API key.", rich_help_panel=_A)] = None,
    sts_api: Annotated[Optional[str], typer.Option(help="StackState API base URL (topic API), for when Kafka is not reachable.", rich_help_panel=_K)] = None,
    sts_api_token_env: Annotated[Optional[str], typer.Option(help="Environment variable holding the StackState API token.", rich_help_panel=_K)] = None,
    kafka: Annotated[Optional[str], typer.Option(help="Kafka bootstrap servers, host:port[,host:port].", rich_help_panel=_K)] = None,
    topic: Annotated[Optional[str], typer.Option(help="Topic carrying metrics.", rich_help_panel=_K)] = None,
    mm2es_group: Annotated[Optional[str], typer.Option(help="Consumer group of the Kafka-to-Elasticsearch mover (discovered if not given).", rich_help_panel=_K)] = None,
    kafka_security_protocol: Annotated[Optional[str], typer.Option(help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.", rich_help_panel=_K)] = None,
    kafka_sasl_mechanism: Annotated[Optional[str], typer.Option(help="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.", rich_help_panel=_K)] = None,
    kafka_sasl_username: Annotated[Optional[str], typer.Option(help="SASL user name.", rich_help_panel=_K)] = None,
    kafka_sasl_password_env: Annotated[Optional[str], typer.Option(help="Environment variable holding the SASL password.", rich_help_panel=_K)] = None,
    kafka_ssl_cafile: Annotated[Optional[str], typer.Option(help="CA file for Kafka TLS.", rich_help_panel=_K)] = None,
    es: Annotated[Optional[str], typer.Option(help="Elasticsearch URL.", rich_help_panel=_E)] = None,
    index_pattern: Annotated[Optional[str], typer.Option(help="Metric indices.", rich_help_panel=_E)] = None,
    es_username: Annotated[Optional[str], typer.Option(help="Elasticsearch user (basic auth).", rich_help_panel=_E)] = None,
    es_password_env: Annotated[Optional[str], typer.Option(help="Environment variable holding the Elasticsearch password.", rich_help_panel=_E)] = None,
    es_api_key_env: Annotated[Optional[str], typer.Option(help="Environment variable holding an Elasticsearch API key.", rich_help_panel=_E)] = None,
    es_ca_file: Annotated[Optional[str], typer.Option(help="CA file for Elasticsearch TLS.", rich_help_panel=_E)] = None,
    es_insecure: Annotated[Optional[bool], typer.Option("--es-insecure", help="Do not verify the Elasticsearch TLS certificate.", rich_help_panel=_E)] = None,
    es_layout: Annotated[Optional[str], typer.Option(help="Document layout: multi or single (detected from the mapping if not given).", rich_help_panel=_E)] = None,
    stream: Annotated[Optional[list[str]], typer.Option(help="A telemetry stream filter: 'KEY=VALUE,...,metric=FIELD'. Repeatable.", rich_help_panel=_E)] = None,
    streams_file: Annotated[Optional[str], typer.Option(help="YAML or JSON list of streams {name, conditions, metric}.", rich_help_panel=_E)] = None,
    mirror: Annotated[Optional[str], typer.Option(help="Prometheus mirror base URL (pull).", rich_help_panel=_E)] = None,
    mirror_api_key_env: Annotated[Optional[str], typer.Option(help="Environment variable holding the mirror API key.", rich_help_panel=_E)] = None,
    metric_prefix: Annotated[Optional[list[str]], typer.Option(help="Metric name prefix identifying the data (overrides the catalog). Repeatable.", rich_help_panel=_M)] = None,
    host: Annotated[Optional[list[str]], typer.Option(help="Only records from this host. Repeatable.", rich_help_panel=_M)] = None,
    tag: Annotated[Optional[list[str]], typer.Option(help="Only records with this tag, KEY:VALUE. Repeatable.", rich_help_panel=_M)] = None,
    probe: Annotated[Optional[bool], typer.Option("--probe", help="Send one marked metric through the receiver and follow it (writes!).", rich_help_panel=_T)] = None,
    probe_host: Annotated[Optional[str], typer.Option(help="Host name the probe metric carries.", rich_help_panel=_T)] = None,
    probe_timeout: Annotated[Optional[float], typer.Option(help="Seconds the probe waits at each hop (default 30).", rich_help_panel=_T)] = None,
) -> None:  # pragma: no cover - only its signature is used
    ...


COMMON = list(inspect.signature(_common).parameters)
# Renamed on the way into Settings (flags named *_env/_file are resolved there).
_FLAG_TO_SETTING = {"stream": "streams"}


def with_check_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the shared check options; it receives them as ``flags`` (a dict)."""
    own = [p for name, p in inspect.signature(fn).parameters.items() if name != "flags"]
    params = own + list(inspect.signature(_common).parameters.values())

    def wrapper(**kwargs: Any) -> Any:
        flags = {_FLAG_TO_SETTING.get(k, k): kwargs.pop(k) for k in COMMON}
        return fn(flags=flags, **kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


NEEDS_INPUT = """\
stsdebug check needs something to look at. Give at least one of:
  --agent-output FILE / --agent-log FILE / --agent-cmd CMD   the StackState Agent
  --receiver-log PATH|- / --receiver URL                     the receiver
  --kafka HOST:PORT or --sts-api URL                         the sts_multi_metrics topic
  --es URL                                                   Elasticsearch
  --stream 'KEY=VALUE,...,metric=FIELD' / --streams-file     telemetry stream filters
  --mirror URL                                               the Prometheus mirror (pull)
or a profile that sets them: --profile NAME (try `stsdebug sandbox up` then --profile sandbox).
Every option can also come from STSDEBUG_<OPTION> environment variables."""


def _resolve(flags: dict[str, Any]) -> Any:
    from stsdebug import settings as settings_mod

    s = settings_mod.resolve(flags)
    settings_mod.parse_window(s.window)
    if s.integration:
        from stsdebug.integrations import find

        s.integration = find(s.integration).name
    if s.streams or s.streams_file:
        from stsdebug.streamdefs import load as load_streams

        load_streams(s.streams, s.streams_file)  # bad stream definitions: one line, exit 2
    return s


def _input_paths(s: Any) -> list[Path]:
    paths = [s.agent_output, s.agent_log, s.streams_file, *s.receiver_log]
    return [Path(p).resolve() for p in paths if p and p != "-"]


def _write(path: str, text: str, protected: list[Path]) -> None:
    from stsdebug.outfiles import write_atomic

    write_atomic(path, text, protected)


def _render(trace: Any, fmt: Format, verbose: bool = False) -> str:
    if fmt is Format.json:
        return trace.to_json() + "\n"
    if fmt is Format.junit:
        from stsdebug.render import junit

        return junit.render(trace)
    from stsdebug.render import text

    return text.render(trace, verbose=verbose)


def _html(trace: Any, template_dir: str | None) -> str:
    try:
        from stsdebug.render import html
    except ImportError:
        raise UsageError("HTML reports are not available in this build of stsdebug") from None
    return html.render(trace, template_dir=template_dir)


def _emit(
    trace: Any,
    fmt: Format,
    output: str | None,
    html_path: str | None,
    template_dir: str | None,
    protected: list[Path],
    verbose: bool = False,
) -> None:
    rendered = _render(trace, fmt, verbose)
    if output:
        _write(output, rendered, protected)
    else:
        sys.stdout.write(rendered)
    if html_path:
        _write(html_path, _html(trace, template_dir), protected)


@app.command()
@with_check_options
def check(
    flags: dict[str, Any],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write the output to this file instead of stdout.")] = None,
    html: Annotated[Optional[str], typer.Option("--html", help="Also write a self-contained HTML report.")] = None,
    template_dir: Annotated[Optional[str], typer.Option(help="Directory of Jinja2 templates overriding the built-in report.")] = None,
    fail_on: Annotated[Optional[FailOn], typer.Option(help="Exit 1 on a failure (default) or on a warning too.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show evidence of passing stages too.")] = False,
) -> None:
    """Trace an integration's telemetry through the pipeline and name where it stops.

    Exit codes: 0 no stage failed, 1 a stage failed, 2 usage or configuration error,
    3 nothing failed but a stage could not be checked.
    """
    if fail_on is not None:
        flags["fail_on"] = fail_on.value
    s = _resolve(flags)
    if not s.has_any_input():
        sys.stderr.write(NEEDS_INPUT + "\n")
        raise typer.Exit(2)
    from stsdebug.trace import Trace, exit_code

    trace = Trace(s).run()
    _emit(trace, format, output, html, template_dir, _input_paths(s), verbose)
    raise typer.Exit(exit_code(trace, s.fail_on))


@app.command()
def report(
    run: Annotated[str, typer.Argument(help="A saved trace: JSON from --format json, or an HTML report.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write the output to this file instead of stdout.")] = None,
    html: Annotated[Optional[str], typer.Option("--html", help="Write a self-contained HTML report.")] = None,
    template_dir: Annotated[Optional[str], typer.Option(help="Directory of Jinja2 templates overriding the built-in report.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show evidence of passing stages too.")] = False,
) -> None:
    """Re-render a saved trace (JSON or HTML report) as text, JSON, JUnit or HTML."""
    from stsdebug.model import TraceResult
    from stsdebug.redact import redact_trace

    trace = redact_trace(TraceResult.load(Path(run)))  # a hand-edited trace may hold anything
    protected = [Path(run).resolve()]
    if html and not output and format is Format.text:
        _write(html, _html(trace, template_dir), protected)
        return
    _emit(trace, format, output, html, template_dir, protected, verbose)


class ValidateFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def validate(
    payload: Annotated[str, typer.Argument(help="Receiver intake JSON (metrics, events, health), or - for stdin.")],
    format: Annotated[ValidateFormat, typer.Option("--format", "-f")] = ValidateFormat.text,
) -> None:
    """Check a receiver intake payload the way the receiver would. Exit 0 valid, 1 invalid, 2 unreadable."""
    import json

    from stsdebug.payloads import decode_payload, validate_text
    from stsdebug.render import validate as render_validate

    if payload == "-":
        raw = sys.stdin.buffer.read()
        name = "stdin"
        if not raw.strip():
            raise UsageError("stdin is empty: pipe a payload in, or give a file name")
    else:
        path = Path(payload)
        name = payload
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{payload}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{payload}: is a directory, expected a JSON payload") from None
        except OSError as exc:
            raise UsageError(f"{payload}: cannot read ({exc.strerror})") from None
    report_ = validate_text(decode_payload(raw))
    if format is ValidateFormat.json:
        sys.stdout.write(json.dumps(render_validate.to_dict(report_, name), indent=2) + "\n")
    else:
        sys.stdout.write(render_validate.render_text(report_, name))
    raise typer.Exit(0 if report_.valid else 1)


@app.command()
def integrations(
    format: Annotated[ValidateFormat, typer.Option("--format", "-f")] = ValidateFormat.text,
) -> None:
    """The integration catalog: name, push or pull, and what identifies its data."""
    import json

    from stsdebug.integrations import load_catalog

    catalog = load_catalog()
    if format is ValidateFormat.json:
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


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"stsdebug {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = None,
) -> None:
    """stsdebug: where does StackState telemetry stop?"""


# Command groups in their own modules; each has register(app, with_check_options).
OPTIONAL_COMMANDS = (
    "stsdebug.commands.tui",
    "stsdebug.commands.sandbox",
    "stsdebug.commands.demo",
    "stsdebug.commands.bundle",
)



def _finalize() -> None:
    import importlib

    for module in OPTIONAL_COMMANDS:
        try:
            importlib.import_module(module).register(app, with_check_options)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_clean", False):
            info.callback = clean_errors(info.callback)


_finalize()


def main() -> None:
    try:
        app(standalone_mode=True)
    except BrokenPipeError:
        sys.exit(0)
