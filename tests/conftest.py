"""Shared pytest fixtures.

Wire-compatible test servers (see docs/test-servers.md): one noida-db (Elasticsearch
+ Kafka) and one Tansu (Kafka) per test session, started lazily on free loopback
ports and stopped by PID at the end, also when the session fails or is interrupted.
At the very end, the session checks through /proc that nothing it started is left.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stsdebug.sandbox import procs, servers
from stsdebug.sandbox.servers import ServerProcess


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the session (torn down last, after the server fixtures): no process this
    session started, or whose command line names its temporary directory, is running.

    Leftovers are stopped by PID and the session fails, naming them: a leak is a bug.
    """
    yield
    base = tmp_path_factory.getbasetemp()
    mine = procs.find(env={procs.STARTED_BY_ENV: str(os.getpid())})
    left = sorted(set(mine) | set(procs.find(naming=base)))
    if not left:
        return
    described = [f"{pid} {' '.join(procs.cmdline(pid) or [])[:200]}" for pid in left]
    survivors = procs.stop(left, grace=2.0)
    pytest.fail(
        "processes left running by the tests (stopped now"
        + (f", except {survivors}" if survivors else "")
        + "):\n  " + "\n  ".join(described),
        pytrace=False,
    )


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
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for key in list(os.environ):
        if key.startswith("STSDEBUG_"):
            monkeypatch.delenv(key)

