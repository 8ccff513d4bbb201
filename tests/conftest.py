"""Shared pytest fixtures.

Wire-compatible test servers (see docs/test-servers.md): one noida-db (Elasticsearch
+ Kafka) and one Tansu (Kafka) per test session, started lazily on free loopback
ports and stopped by PID at the end, also when the session fails or is interrupted.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from pathlib import Path

import pytest

from stsdebug.sandbox import servers
from stsdebug.sandbox.servers import ServerProcess


def _session_server(proc: ServerProcess) -> Iterator[ServerProcess]:
    # atexit covers the paths where fixture teardown never runs (e.g. a KeyboardInterrupt
    # during collection of later tests); stop() is idempotent, so running both is fine.
    atexit.register(proc.stop)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def noida(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """noida-db serving Elasticsearch and Kafka for the whole session."""
    data_dir: Path = tmp_path_factory.mktemp("noida")
    yield from _session_server(servers.start_noida(data_dir, die_with_parent=True))


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A memory-only Tansu Kafka broker for the whole session."""
    log_dir: Path = tmp_path_factory.mktemp("tansu")
    yield from _session_server(servers.start_tansu(log_dir=log_dir, die_with_parent=True))


@pytest.fixture
def es_url(noida: ServerProcess) -> str:
    """Base URL of the session's Elasticsearch (noida-db)."""
    return servers.es_url(noida)


@pytest.fixture
def kafka_bootstrap(noida: ServerProcess) -> str:
    """Bootstrap string of the session's noida-db Kafka."""
    return servers.kafka_bootstrap(noida)


@pytest.fixture(params=["noida", "tansu"])
def kafka_server(request: pytest.FixtureRequest) -> str:
    """Bootstrap string of each Kafka implementation in turn, so a test runs on both."""
    server: ServerProcess = request.getfixturevalue(request.param)
    return servers.kafka_bootstrap(server)


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own stsdebug config, sandbox or STSDEBUG_* environment."""
    import os

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for key in list(os.environ):
        if key.startswith("STSDEBUG_"):
            monkeypatch.delenv(key)

