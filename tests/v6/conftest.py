"""Session fixtures for StackState 6's time-series parts: the real VictoriaMetrics and
vmagent binaries (Debian package victoria-metrics; scripts/test installs it), started on
free loopback ports and stopped by PID at the end of the session.

`victoria_metrics` keeps the chart's one-month retention but shows samples after 1 s
instead of 30 s (``-search.latencyOffset``), so that tests can read back what they
wrote. `vmagent` remote-writes to it. Tests that stop a server start their own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from stsdebug.sandbox import timeseries
from stsdebug.sandbox.servers import ServerProcess
from tests.conftest import _session_server

_names = itertools.count()


@pytest.fixture(scope="session")
def victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("victoria-metrics")
    yield from _session_server(timeseries.start_victoria_metrics(
        data_dir, latency_offset="1s", die_with_parent=True))


@pytest.fixture(scope="session")
def vmagent(victoria_metrics: ServerProcess,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    buffer_dir: Path = tmp_path_factory.mktemp("vmagent")
    yield from _session_server(timeseries.start_vmagent(
        timeseries.write_url(victoria_metrics), buffer_dir, die_with_parent=True))


@pytest.fixture
def vm_url(victoria_metrics: ServerProcess) -> str:
    return timeseries.base_url(victoria_metrics)


@pytest.fixture
def metric_name(request: pytest.FixtureRequest) -> str:
    """A metric name no other test writes, so tests sharing the session's storage do
    not see each other's series."""
    return f"stsdebug_test_{next(_names)}_{abs(hash(request.node.nodeid)) % 10**8}"
