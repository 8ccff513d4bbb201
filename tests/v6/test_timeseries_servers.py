"""The launchers of the real VictoriaMetrics and vmagent binaries (no mocks)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from stsdebug.sandbox import timeseries
from stsdebug.sandbox.servers import ServerError, ServerProcess


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_session_servers_answer_health(victoria_metrics: ServerProcess, vmagent: ServerProcess) -> None:
    for proc in (victoria_metrics, vmagent):
        resp = httpx.get(f"{timeseries.base_url(proc)}/health", timeout=5, trust_env=False)
        assert (resp.status_code, resp.text.strip()) == (200, "OK")
        assert proc.alive()


def test_victoria_metrics_runs_with_the_charts_flags(victoria_metrics: ServerProcess) -> None:
    flags = httpx.get(f"{timeseries.base_url(victoria_metrics)}/flags", timeout=5, trust_env=False).text
    assert '-retentionPeriod="1"' in flags
    assert '-dedup.minScrapeInterval="1ms"' in flags
    assert '-maxLabelsPerTimeseries="60"' in flags
    assert str(victoria_metrics.data_dir / "storage") in flags


def test_vmagent_hides_its_remote_write_url(vmagent: ServerProcess) -> None:
    base = timeseries.base_url(vmagent)
    assert '-remoteWrite.url="secret"' in httpx.get(f"{base}/flags", timeout=5, trust_env=False).text
    page = httpx.get(f"{base}/metrics", timeout=5, trust_env=False).text
    assert 'vmagent_remotewrite_pending_data_bytes{path="' in page
    assert 'url="1:secret-url"' in page


def test_stop_frees_the_port_and_is_idempotent(tmp_path: Path) -> None:
    vm = timeseries.start_victoria_metrics(tmp_path / "vm", retention="3d", die_with_parent=True)
    port = vm.ports["http"]
    assert _open(port)
    vm.stop()
    assert not vm.alive() and not _open(port)
    vm.stop()  # second stop is harmless
    assert (tmp_path / "vm" / "storage").is_dir()
    assert (tmp_path / "vm" / "victoria-metrics.log").stat().st_size > 0


def test_a_stopped_server_rebuilt_from_its_fields_is_seen_as_gone(tmp_path: Path) -> None:
    agent = timeseries.start_vmagent("http://127.0.0.1:9/api/v1/write", tmp_path / "a",
                                     die_with_parent=True)
    clone = ServerProcess(agent.name, agent.pid, dict(agent.ports), agent.log_path, agent.data_dir)
    assert clone.alive()
    agent.stop()
    assert not clone.alive()


def test_vmagent_is_healthy_even_when_its_remote_is_down(tmp_path: Path) -> None:
    # It buffers instead: health alone cannot tell that metrics are stuck.
    agent = timeseries.start_vmagent("http://127.0.0.1:9/api/v1/write", tmp_path / "a",
                                     die_with_parent=True)
    try:
        resp = httpx.get(f"{timeseries.base_url(agent)}/health", timeout=5, trust_env=False)
        assert resp.text.strip() == "OK"
        assert (tmp_path / "a" / "buffer").is_dir()
    finally:
        agent.stop()


def test_missing_binary_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerError) as err:
        timeseries.start_victoria_metrics(tmp_path / "vm")
    msg = str(err.value)
    assert "victoria-metrics binary is not installed" in msg
    assert "apt-get install -y victoria-metrics" in msg
    assert "\n" not in msg
    with pytest.raises(ServerError, match="vmagent binary is not installed"):
        timeseries.start_vmagent("http://127.0.0.1:1/api/v1/write", tmp_path / "a")


def test_port_in_use_is_refused_before_starting(victoria_metrics: ServerProcess, tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="already in use"):
        timeseries.start_victoria_metrics(tmp_path / "vm", port=victoria_metrics.ports["http"])


def test_bad_flag_value_fails_with_the_log_tail(tmp_path: Path) -> None:
    with pytest.raises(ServerError) as err:
        timeseries.start_victoria_metrics(tmp_path / "vm", retention="forever", ready_timeout=10)
    assert "exited" in str(err.value) and "retentionPeriod" in str(err.value)


def test_environment_flags_cannot_redirect_the_servers(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setenv("VM_retentionPeriod", "forever")
    vm = timeseries.start_victoria_metrics(tmp_path / "vm", extra_args=("-envflag.enable",),
                                           die_with_parent=True)
    try:
        assert vm.alive()
    finally:
        vm.stop()
