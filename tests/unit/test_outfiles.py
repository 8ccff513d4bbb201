"""Output files that cannot hurt: symlinks, devices, FIFOs, planted temp names, hard links,
read-only and full targets, several outputs at once (stsdebug.outfiles and the CLI)."""

from __future__ import annotations

import os
import secrets
import select
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stsdebug import outfiles
from stsdebug.cli import app
from stsdebug.errors import UsageError
from stsdebug.outfiles import check_outputs, write_atomic, write_outputs

runner = CliRunner()
LOG_LINE = "2026-11-21 10:00:00 UTC | CORE | INFO | (a.go:1 in f) | hello\n"


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".stsdebug-tmp"))


# --- regular files -----------------------------------------------------------------------


def test_new_file_is_written_with_the_umask_mode_and_no_temp_left(tmp_path: Path) -> None:
    out = write_atomic(tmp_path / "r.txt", "report ✓")
    assert out.read_text(encoding="utf-8") == "report ✓"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert leftovers(tmp_path) == []


def test_replacing_keeps_the_old_files_mode(tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    out.write_text("old")
    out.chmod(0o600)
    write_atomic(out, "new")
    assert out.read_text() == "new" and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_bytes_are_written_as_they_are(tmp_path: Path) -> None:
    write_atomic(tmp_path / "b.zip", b"PK\x03\x04\xff")
    assert (tmp_path / "b.zip").read_bytes() == b"PK\x03\x04\xff"


def test_a_directory_a_missing_directory_and_no_name_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        write_atomic(tmp_path, "x")
    with pytest.raises(UsageError, match="does not exist"):
        write_atomic(tmp_path / "nope" / "x", "x")
    with pytest.raises(UsageError, match="no file name"):
        write_atomic("  ", "x")


# --- symlinks ----------------------------------------------------------------------------


def test_a_symlink_is_written_through_and_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real" / "report.html"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []


def test_a_dangling_symlink_and_a_loop_are_refused(tmp_path: Path) -> None:
    dangling = tmp_path / "d"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="does not exist"):
        write_atomic(dangling, "x")
    assert not (tmp_path / "nowhere").exists() and dangling.is_symlink()
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(UsageError, match=r"loop\: cannot write|cannot write"):
        write_atomic(loop, "x")


def test_a_symlink_to_an_input_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text(LOG_LINE)
    link = tmp_path / "out.txt"
    link.symlink_to(log)
    with pytest.raises(UsageError, match="refusing to overwrite"):
        write_atomic(link, "report", [log])
    assert log.read_text() == LOG_LINE


def test_a_symlink_planted_by_another_user_in_a_sticky_directory_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = shared / "report.txt"
    link.symlink_to(victim)
    os.lchown(link, 65534, 65534)  # made by "nobody"
    with pytest.raises(UsageError, match="another user"):
        write_atomic(link, "report")
    assert victim.read_text() == "precious"
    os.lchown(link, os.geteuid(), os.getegid())  # our own link in the same place: followed
    write_atomic(link, "report")
    assert victim.read_text() == "report"


def test_a_planted_temp_name_is_never_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "agent.log"
    log.write_text(LOG_LINE)
    out = tmp_path / "report.txt"
    # The old fixed name, and the first random name the writer will draw: both planted.
    (tmp_path / ".report.txt.stsdebug-tmp").symlink_to(log)
    names = iter(["0000000000000000", "1111111111111111"])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".report.txt.0000000000000000.stsdebug-tmp").symlink_to(log)
    write_atomic(out, "report", [log])
    assert log.read_text() == LOG_LINE
    assert out.read_text() == "report"
    assert (tmp_path / ".report.txt.0000000000000000.stsdebug-tmp").is_symlink()  # left alone


def test_temp_names_are_unpredictable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real_open = os.open

    def spy(path: object, flags: int, *a: object) -> int:
        if str(path).endswith(".stsdebug-tmp"):
            seen.append(Path(str(path)).name)
            assert flags & os.O_EXCL and flags & os.O_NOFOLLOW
        return real_open(path, flags, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", spy)
    for _ in range(3):
        write_atomic(tmp_path / "r.txt", "x")
    assert len(set(seen)) == 3 and all(len(n) > len(".r.txt.stsdebug-tmp") + 12 for n in seen)


# --- devices and FIFOs -------------------------------------------------------------------


def test_dev_null_and_a_mknod_device_are_written_through_not_replaced(tmp_path: Path) -> None:
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's numbers
    write_atomic(node, "report")
    assert stat.S_ISCHR(node.lstat().st_mode)
    write_atomic("/dev/null", "report")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert leftovers(tmp_path) == []


def test_a_full_device_is_an_error_and_stays_a_device(tmp_path: Path) -> None:
    node = tmp_path / "full"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # /dev/full's numbers
    with pytest.raises(UsageError, match="No space left on device"):
        write_atomic(node, "report")
    assert stat.S_ISCHR(node.lstat().st_mode)
    with pytest.raises(UsageError, match="No space left on device"):
        write_atomic("/dev/full", "report")
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_a_block_device_and_a_socket_are_refused(tmp_path: Path) -> None:
    import socket

    node = tmp_path / "disk"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 250))
    with pytest.raises(UsageError, match="block device"):
        write_atomic(node, "report")
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(UsageError, match="is a socket"):
            write_atomic(sock_path, "report")


def test_a_fifo_with_a_reader_gets_everything(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    opened = threading.Event()

    data = "line\n" * 100_000  # bigger than a pipe buffer

    def reader() -> None:
        # Non-blocking, so that the FIFO has a reader before the writer opens it; a
        # read before any writer came says EOF, so read until everything arrived.
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        opened.set()
        chunks, size, deadline = [], 0, time.monotonic() + 20
        while size < len(data) and time.monotonic() < deadline:
            select.select([fd], [], [], 0.1)
            try:
                b = os.read(fd, 65536)
            except BlockingIOError:
                continue
            chunks.append(b)
            size += len(b)
        os.close(fd)
        got.append(b"".join(chunks))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    opened.wait(5)
    write_atomic(fifo, data)
    t.join(10)
    assert got == [data.encode()]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="nothing is reading"):
        write_atomic(fifo, "report")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_fifo_reader_that_stops_reading_ends_the_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outfiles, "STALL_S", 0.5)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, never read
    try:
        with pytest.raises(UsageError, match="nothing was read"):
            write_atomic(fifo, "x" * (1 << 20))
    finally:
        os.close(fd)


# --- inputs, hard links, duplicates ------------------------------------------------------


def test_an_input_by_another_name_or_a_hard_link_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "agent.log"
    log.write_text(LOG_LINE)
    hard = tmp_path / "hard.log"
    os.link(log, hard)
    monkeypatch.chdir(tmp_path)
    for out in ("agent.log", "./agent.log", str(tmp_path / "x" / ".." / "agent.log"), "hard.log"):
        if "x" in out:
            (tmp_path / "x").mkdir(exist_ok=True)
        with pytest.raises(UsageError, match="refusing to overwrite"):
            check_outputs({"--output": out}, [str(log)])
    assert log.read_text() == LOG_LINE


def test_an_output_inside_an_input_directory_is_refused(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with pytest.raises(UsageError, match="input directory"):
        check_outputs({"--html": logs / "r.html"}, [logs])
    (logs / "sub").mkdir()
    check_outputs({"--html": logs / "sub" / "r.html", "-o": tmp_path / "r.txt"}, [logs])


def test_the_same_file_for_two_outputs_is_refused_but_dev_null_twice_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="--html ./r: is also given to --output"):
        check_outputs({"--output": "r", "--html": "./r"}, [])
    existing = tmp_path / "e"
    existing.write_text("x")
    os.link(existing, tmp_path / "e2")
    with pytest.raises(UsageError, match="is also given to --output"):
        check_outputs({"--output": "e", "--html": "e2"}, [])
    check_outputs({"--output": "/dev/null", "--html": "/dev/null"}, [])
    check_outputs({"--output": None, "--html": "r"}, ["-", None])


# --- several outputs: all or nothing -----------------------------------------------------


def test_a_failing_output_leaves_the_others_untouched(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.html"
    a.write_text("old a")
    b.write_text("old b")
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    with pytest.raises(UsageError, match="No space left"):
        write_outputs([(a, "new a"), (full, "x"), (b, "new b")])
    assert a.read_text() == "old a" and b.read_text() == "old b"
    assert leftovers(tmp_path) == []
    write_outputs([(a, "new a"), (b, "new b")])
    assert a.read_text() == "new a" and b.read_text() == "new b"


def test_a_failing_rename_removes_every_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    calls = {"n": 0}
    real_replace = os.replace

    def flaky(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(5, "Input/output error")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(UsageError, match="Input/output error"):
        write_outputs([(a, "a"), (b, "b")])
    assert leftovers(tmp_path) == []


def test_a_read_only_file_system_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    # Root writes into any directory whatever its mode; a read-only mount stops even root.
    # The mount lives in a private mount namespace (unshare -m) and ends with the process.
    ro = tmp_path / "ro"
    ro.mkdir()
    code = (
        "import sys; from stsdebug.outfiles import write_atomic; from stsdebug.errors import UsageError\n"
        "try:\n write_atomic(sys.argv[1], 'x')\nexcept UsageError as e:\n print(e); sys.exit(2)\n"
    )
    script = 'mount -t tmpfs -o ro,size=64k tmpfs "$1" && exec "$2" -c "$3" "$1/r.txt"'
    r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(ro), sys.executable, code],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stdout.strip() == f"{ro / 'r.txt'}: cannot write (the directory {ro} is read-only)"
    assert list(ro.iterdir()) == []


# --- through the command line ------------------------------------------------------------


def test_cli_output_to_dev_full_is_one_line_and_the_device_stays(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text(LOG_LINE)
    node = tmp_path / "full"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    r = runner.invoke(app, ["check", "-i", "custom", "--agent-log", str(log), "-o", str(node)])
    assert r.exit_code == 2 and "No space left on device" in r.output
    assert "Traceback" not in r.output and stat.S_ISCHR(node.lstat().st_mode)


def test_cli_planted_symlink_at_the_old_temp_name_leaves_the_input_alone(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text(LOG_LINE)
    (tmp_path / ".report.txt.stsdebug-tmp").symlink_to(log)
    r = runner.invoke(app, ["check", "-i", "custom", "--agent-log", str(log), "-o", str(tmp_path / "report.txt")])
    assert r.exit_code in (0, 1, 3), r.output
    assert log.read_text() == LOG_LINE and "Verdict" in (tmp_path / "report.txt").read_text()


def test_bundle_to_a_symlink_writes_the_zip_through_it(tmp_path: Path) -> None:
    import zipfile

    from stsdebug import bundle
    from stsdebug.bundle import Bundle, BundleFile

    made = Bundle([BundleFile("manifest.json", b"{}")], {"created_at": "2026-11-21T10:00:00Z"})
    real = tmp_path / "real.zip"
    real.write_bytes(b"old")
    link = tmp_path / "b.zip"
    link.symlink_to(real)
    bundle.write(made, link)
    assert link.is_symlink() and zipfile.ZipFile(real).namelist() == ["manifest.json"]


@pytest.mark.parametrize("how", ["pipe", "file"])
def test_cli_output_to_dev_stdout_reaches_the_pipe_or_the_redirected_file(tmp_path: Path, how: str) -> None:
    log = tmp_path / "agent.log"
    log.write_text(LOG_LINE)
    argv = [sys.executable, "-m", "stsdebug", "check", "-i", "custom", "--agent-log", str(log), "-o", "/dev/stdout"]
    if how == "pipe":
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        shown = r.stdout
    else:
        out = tmp_path / "out.txt"
        out.write_text("old content that is longer than nothing\n" * 1000)
        inode = out.stat().st_ino
        with out.open("w") as fh:  # what the shell's `> out.txt` does
            r = subprocess.run(argv, stdout=fh, stderr=subprocess.PIPE, text=True, timeout=60)
        shown = out.read_text()
        assert out.stat().st_ino == inode  # written in place: the shell's file, not a new one
    assert r.returncode in (0, 1, 3), r.stderr
    assert "Verdict:" in shown and "old content" not in shown
    assert "Traceback" not in r.stderr
