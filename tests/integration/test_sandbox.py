"""Sandbox lifecycle: up, status, down, a second up, Ctrl-C, and the errors of a bad start.

Every test starts its own sandbox in a temporary state dir (real noida-db processes and
the real runtime) and checks by PID and port that nothing stays behind.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stsdebug.commands.sandbox import register_sandbox_profile
from stsdebug.errors import ConfigError
from stsdebug.sandbox import control, paths
from stsdebug.sandbox.control import SandboxError
from stsdebug.settings import resolve
from tests.integration.sandbox_support import (
    assert_nothing_left,
    env_with,
    listening,
    pid_alive,
    pids_of,
    processes_naming,
    run_cli,
    sandbox,
)

pytestmark = pytest.mark.wire

register_sandbox_profile()  # as the CLI does when it builds its commands


def test_up_status_down_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    base = tmp_path / "state"
    state = control.up(base=base, die_with_parent=True)
    try:
        assert state["running"] is True
        assert state["ready_s"] < 5.0, "the sandbox must be ready in under 5 seconds"
        assert set(state["processes"]) == {"elasticsearch", "kafka", "runtime"}
        assert all(pid_alive(pid) for pid in pids_of(state))
        for name, port in state["ports"].items():
            assert listening(port), f"{name} port {port} is not listening"
        e = state["endpoints"]
        assert e["kafka"] == f"127.0.0.1:{state['ports']['kafka']}"
        assert e["elasticsearch"] == f"http://127.0.0.1:{state['ports']['elasticsearch']}"
        assert e["receiver"] == f"http://127.0.0.1:{state['ports']['receiver']}"
        for key in ("agent", "agent_output", "receiver", "mm2es"):
            assert Path(state["logs"][key]).is_file(), key
        assert paths.profile_path(base).is_file()
    finally:
        result = control.down(base)
    assert result["was_running"] is True
    assert len(result["stopped"]) == 3
    assert_nothing_left(state)
    assert not paths.profile_path(base).exists()
    assert not paths.state_path(base).exists()
    assert not (base / "run").exists()
    assert control.status(base)["running"] is False


def test_second_up_replaces_the_first_and_two_state_dirs_coexist(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    with sandbox(a) as first:
        second = control.up(base=a, die_with_parent=True)
        assert "replaced" in second and len(second["replaced"]) == 3
        assert_nothing_left(first)  # the first sandbox is fully gone ...
        assert all(pid_alive(pid) for pid in pids_of(second))  # ... and the second runs
        with sandbox(b) as other:
            assert set(other["ports"].values()).isdisjoint(second["ports"].values())
            assert all(pid_alive(pid) for pid in pids_of(other))
            assert all(pid_alive(pid) for pid in pids_of(second))
        assert_nothing_left(other)
        assert control.status(a)["running"] is True
    assert_nothing_left(second)


def _es_answers(base: Path) -> bool:
    try:
        es = json.loads(paths.state_path(base).read_text())["processes"]["elasticsearch"]
        return listening(int(es["ports"]["elasticsearch"]))
    except (OSError, ValueError, KeyError, TypeError):
        return False


# When to press Ctrl-C: the moment each process appears in /proc (it is starting, not
# ready), and once Elasticsearch answers (Kafka is about to be spawned).
INTERRUPT_AT: dict[str, Callable[[Path], object]] = {
    "elasticsearch starting": lambda base: processes_naming(base / "run" / "es"),
    "elasticsearch up, kafka next": _es_answers,
    "kafka starting": lambda base: processes_naming(base / "run" / "kafka"),
    "runtime starting": lambda base: [p for p, cmd in processes_naming(base / "run") if "stsdebug.sandbox.runtime" in cmd],
}


@pytest.mark.parametrize("moment", list(INTERRUPT_AT))
def test_ctrl_c_during_up_stops_every_process_it_started(tmp_path: Path, moment: str) -> None:
    base = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stsdebug", "sandbox", "up"],
        env=env_with(base), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not INTERRUPT_AT[moment](base):
            assert proc.poll() is None, f"sandbox up ended before {moment}: {proc.communicate()}"
            assert time.monotonic() < deadline, f"never reached {moment}"
            time.sleep(0.002)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Not only the PIDs the state file knew: every process whose command line names the
    # state dir, found through /proc, including one that was being spawned.
    deadline = time.monotonic() + 10
    while processes_naming(base) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = processes_naming(base)
    if left:  # do not leave them to the next test run either
        control.down(base)
    assert left == [], f"still running after Ctrl-C at {moment}: {left}"
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not paths.state_path(base).exists()


def test_sigterm_during_up_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    base = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "stsdebug", "sandbox", "up"], env=env_with(base),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not processes_naming(base / "run" / "kafka") and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 10
    while processes_naming(base) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_naming(base) == []
    assert proc.returncode == 130 and "Traceback" not in err


def test_down_finds_processes_no_state_file_remembers(tmp_path: Path) -> None:
    base = tmp_path / "state"
    state = control.up(base=base, die_with_parent=True)
    paths.state_path(base).unlink()  # lost: down must still find every process by /proc
    tail = subprocess.Popen(["tail", "-f", state["logs"]["runtime"]], stdout=subprocess.DEVNULL)
    try:
        control.down(base)
        left = [p for p, cmd in processes_naming(base) if p != tail.pid]
        assert left == []
        assert tail.poll() is None  # someone's `tail -f` of a sandbox log is not ours to stop
    finally:
        tail.kill()
        tail.wait()
    assert_nothing_left(state)


def test_missing_binary_is_one_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    base = tmp_path / "state"
    with pytest.raises(SandboxError) as err:
        control.up(base=base, noida_binary=tmp_path / "no-such-noida-db", die_with_parent=True)
    text = str(err.value)
    assert "no-such-noida-db" in text and "not found" in text
    assert "pip install 'stsdebug[sandbox]'" in text
    assert "\n" not in text
    assert not paths.state_path(base).exists()


@pytest.mark.parametrize("which", ["es_port", "kafka_port", "receiver_port"])
def test_a_taken_port_is_one_clear_error_and_leaves_nothing(tmp_path: Path, which: str) -> None:
    base = tmp_path / "state"
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(SandboxError) as err:
            control.up(base=base, die_with_parent=True, **{which: port})
    assert f"port {port}" in str(err.value) and "already in use" in str(err.value)
    assert not paths.state_path(base).exists()
    assert control.status(base)["running"] is False


def test_cli_up_status_down_and_the_profile(tmp_path: Path) -> None:
    base = tmp_path / "state"
    env = env_with(base)
    try:
        up = subprocess.run([sys.executable, "-m", "stsdebug", "sandbox", "up", "--fault", "kafka-down"],
                            env=env, capture_output=True, text=True, timeout=60)
        assert up.returncode == 0, up.stderr
        assert "Sandbox up in" in up.stdout and "kafka-down" in up.stdout
        key = (base / "api_key").read_text().strip()
        assert key not in up.stdout
        st = subprocess.run([sys.executable, "-m", "stsdebug", "sandbox", "status", "--format", "json"],
                            env=env, capture_output=True, text=True, timeout=30)
        assert st.returncode == 0, st.stderr
        state = json.loads(st.stdout)
        assert key not in st.stdout
        assert state["faults"] == ["kafka-down"]
        assert state["processes"]["kafka"]["alive"] is False  # the fault stopped it
        assert state["processes"]["kafka"]["stopped_by_fault"] == "kafka-down"
        assert not listening(state["ports"]["kafka"])
        for k in ("kafka", "elasticsearch", "receiver", "topic_api", "mirror"):
            assert state["endpoints"][k]
        for k in ("agent", "receiver", "mm2es"):
            assert Path(state["logs"][k]).is_file()

        settings = resolve({"profile": "sandbox", "integration": "system"}, env=env)
        assert settings.es == state["endpoints"]["elasticsearch"]
        assert settings.kafka == state["endpoints"]["kafka"]
        assert settings.receiver == state["endpoints"]["receiver"]
        assert settings.api_key == key
        assert settings.window == "5m" and settings.labels == {"sandbox_faults": "kafka-down"}
        assert settings.streams_file and Path(settings.streams_file).is_file()
    finally:
        down = subprocess.run([sys.executable, "-m", "stsdebug", "sandbox", "down"],
                              env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert "Sandbox stopped" in down.stdout
    assert_nothing_left(state)
    again = run_cli(base, "sandbox", "status")
    assert again.exit_code == 1 and "No sandbox is up" in again.stdout
    with pytest.raises(ConfigError, match="stsdebug sandbox up"):
        resolve({"profile": "sandbox"}, env=env)


def test_faults_list_is_the_documented_contract() -> None:
    from stsdebug.integrations import find

    result = run_cli(Path("/nonexistent"), "sandbox", "faults", "--format", "json")
    assert result.exit_code == 0
    faults = json.loads(result.stdout)
    assert len(faults) >= 10
    for f in faults:
        assert set(f) == {"name", "integration", "expected_stage", "expected_status", "description", "sts_version"}
        integration = find(f["integration"])
        if f["expected_status"] == "pass":  # a variant that breaks nothing names no stage
            assert f["expected_stage"] == ""
            continue
        assert f["expected_stage"] in integration.stages_for(f["sts_version"]) and f["expected_stage"] != "scope"
    text = run_cli(Path("/nonexistent"), "sandbox", "faults").stdout
    assert all(f["name"] in text for f in faults)
    bad = run_cli(Path("/nonexistent"), "sandbox", "up", "--fault", "kafka-dwn")
    assert bad.exit_code == 2 and "did you mean kafka-down" in bad.stderr
