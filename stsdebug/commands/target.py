"""From check options to Settings: what every command that runs a trace shares."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from stsdebug.commands.options import CheckOptions
from stsdebug.settings import Settings

NEEDS_INPUT = """\
stsdebug check needs something to look at. Give at least one of:
  --agent-output FILE / --agent-log FILE / --agent-cmd CMD   the StackState Agent
  --receiver-log PATH|- / --receiver URL                     the receiver
  --kafka HOST:PORT or --sts-api URL                         the sts_multi_metrics topic
  --es URL                                                   Elasticsearch
  --stream 'KEY=VALUE,...,metric=FIELD' / --streams-file     telemetry stream filters
  --mirror URL                                               the Prometheus mirror (pull)
  --server-log PATH|-                                        the StackState server log (pull plugins)
StackState 6 (SUSE Observability):
  --victoria-metrics URL / --prometheus-api URL              VictoriaMetrics (or StackState's query path)
  --vmagent URL / --receiver-metrics URL                     vmagent, the receiver's own metrics
  --binding 'QUERY' / --bindings-file FILE                   metric bindings to explain
or a profile that sets them: --profile NAME (try `stsdebug sandbox up` then --profile sandbox).
Every option can also come from STSDEBUG_<OPTION> environment variables."""


def resolve(opts: CheckOptions, *, fail_on: str | None = None) -> Settings:
    """Settings from the options, the environment and the profile, checked up front.

    A malformed setting, integration or stream definition is a one-line error (exit 2)
    here, before anything runs.
    """
    from stsdebug import settings as settings_mod

    flags = opts.flags()
    if fail_on is not None:
        flags["fail_on"] = fail_on
    s = settings_mod.resolve(flags)  # every setting checked there (stsdebug.settings_check)
    if s.integration:
        from stsdebug.integrations import find
        from stsdebug.trace import integration_for

        s.integration = find(s.integration).name
        integration_for(s)  # a --kind the integration does not have is a usage error
    if s.streams or s.streams_file:
        from stsdebug.streamdefs import load as load_streams

        load_streams(s.streams, s.streams_file)
    if s.bindings or s.bindings_file:
        from stsdebug.bindings import given

        given(s.bindings, s.bindings_file)
    if s.component_tag:
        from stsdebug.stages.v6.bindings import parse_component_tags

        parse_component_tags(s.component_tag)
    return s


def require_input(s: Settings, command: str = "check") -> None:
    """Exit 2 with the list of what can be given when the settings point at nothing."""
    if not s.has_any_input():
        sys.stderr.write(NEEDS_INPUT.replace("stsdebug check", f"stsdebug {command}", 1) + "\n")
        raise typer.Exit(2)


def input_paths(s: Settings) -> list[Path]:
    """The files the user gave (inputs, config, CA files): no output may be written over one."""
    paths = [s.agent_output, s.agent_log, s.streams_file, *s.receiver_log, *s.server_log, s.config,
             s.es_ca_file, s.kafka_ssl_cafile, s.bindings_file]
    return [Path(p).expanduser().resolve() for p in paths if p and p != "-"]
