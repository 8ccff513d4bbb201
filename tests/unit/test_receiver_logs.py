"""stsdebug.sources.logs: finding, opening and scanning receiver log inputs."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import threading
import time
from datetime import timezone
from pathlib import Path

import pytest

from stsdebug.errors import SourceError, UsageError
from stsdebug.sources import logs

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "receiver"
T10 = 1795255200.0  # 2026-11-21 10:00:00 UTC
UTC = timezone.utc


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


# --- expand ----------------------------------------------------------------------------


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as err:
        logs.expand([str(tmp_path / "nope.log")])
    assert "nope.log: no such file or directory" in one_line(err)


def test_directory_without_logs_is_a_usage_error(tmp_path):
    (tmp_path / "notes.md").write_text("hello")
    with pytest.raises(UsageError) as err:
        logs.expand([str(tmp_path)])
    assert "no log files in this directory" in one_line(err)


def test_gz_name_without_gzip_content(tmp_path):
    bad = tmp_path / "stackstate-receiver.log.1.gz"
    bad.write_bytes(b"plain text, not gzip\n")
    with pytest.raises(UsageError) as err:
        logs.expand([str(bad)])
    assert "not a gzip file" in one_line(err)


def test_gzip_with_a_broken_body_is_refused_up_front(tmp_path):
    good = gzip.compress(b"2026-11-21 10:00:00,000 [t] INFO  a.B - x\n" * 100)
    bad = tmp_path / "r.log.2.gz"
    bad.write_bytes(good[:10] + b"\x00garbage\xff" * 20)
    with pytest.raises(UsageError) as err:
        logs.expand([str(bad)])
    assert "corrupt gzip" in one_line(err)


def test_truncated_gzip_fails_while_reading_with_one_line(tmp_path):
    text = "".join(f"2026-11-21 10:00:{i % 60:02d},000 [t] INFO  a.B - line {i} {os.urandom(8).hex()}\n"
                   for i in range(20000)).encode()
    comp = gzip.compress(text)
    bad = tmp_path / "r.log.1.gz"
    bad.write_bytes(comp[: len(comp) // 2])
    inputs = logs.expand([str(bad)])  # its start is fine
    with pytest.raises(UsageError) as err:
        logs.scan(inputs, None, UTC)
    assert "r.log.1.gz" in one_line(err) and "gzip" in str(err.value)


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        # root reads anything; a directory given where a file is expected is the same path
        target = tmp_path / "dir.log"
        target.mkdir()
        (target / "x").write_text("")
        with pytest.raises(UsageError) as err:
            logs.expand([str(target)])
        assert "no log files" in one_line(err)
        return
    f = tmp_path / "secret.log"
    f.write_text("x")
    f.chmod(0)
    with pytest.raises(UsageError) as err:
        logs.expand([str(f)])
    assert "cannot read" in one_line(err)


def test_stdin_only_once():
    with pytest.raises(UsageError):
        logs.expand(["-", "-"])


def test_rotated_directory_is_read_oldest_first_and_only_receiver_files():
    inputs = logs.expand([str(FIX / "rotated")])
    assert [Path(i.name).name for i in inputs] == [
        "stackstate-receiver.log.3.gz",
        "stackstate-receiver.log.2.gz",
        "stackstate-receiver.log.1",
        "stackstate-receiver.log",
    ]
    assert [i.gzip for i in inputs] == [True, True, False, False]
    assert [i.rotated for i in inputs] == [True, True, True, False]


def test_logback_dated_names_sort_by_date_then_index(tmp_path):
    names = ["stackstate-receiver.log", "stackstate-receiver.2024-01-15.1.log", "stackstate-receiver.2024-01-14.0.log",
             "stackstate-receiver.2024-01-15.0.log.gz", "other.txt.bak"]
    for n in names:
        data = b"x\n"
        (tmp_path / n).write_bytes(gzip.compress(data) if n.endswith(".gz") else data)
    got = [p.name for p in logs.rotated_files(tmp_path)]
    assert got == ["stackstate-receiver.2024-01-14.0.log", "stackstate-receiver.2024-01-15.0.log.gz",
                   "stackstate-receiver.2024-01-15.1.log", "stackstate-receiver.log"]


def test_scanning_the_rotated_directory_keeps_time_order():
    report = logs.scan(logs.expand([str(FIX / "rotated")]), (T10 - 7200, T10 + 3600), UTC)
    b = report.result.problems["in"]["deserialization"]
    assert b.count == 12
    # Reasons group by template (file-3 and file-2 alike read "file-N"); samples keep the real text.
    assert [s.lines[0].text.rsplit(": ", 1)[-1] for s in b.samples()] == ["file-3"] * 3 + ["live"] * 3
    assert b.reasons["file-N"].first == T10 - 3600 and b.reasons["live"].last == T10 + 40
    assert [s.name.rsplit("/", 1)[-1] for s in report.result.sources][0] == "stackstate-receiver.log.3.gz"


def test_rotated_files_last_written_before_the_window_are_not_read(tmp_path):
    d = tmp_path / "logs"
    shutil.copytree(FIX / "rotated", d)
    old = T10 - 3 * 3600
    for name in ("stackstate-receiver.log.3.gz", "stackstate-receiver.log.2.gz"):
        os.utime(d / name, (old, old))
    report = logs.scan(logs.expand([str(d)]), (T10 - 1800, T10 + 3600), UTC)
    assert [Path(n).name for n in report.skipped] == ["stackstate-receiver.log.3.gz", "stackstate-receiver.log.2.gz"]
    assert report.result.total_lines == 12  # only .log.1 and the live file


# --- stdin ------------------------------------------------------------------------------


def test_stdin_is_scanned():
    data = (FIX / "kubernetes.log").read_bytes()
    report = logs.scan(logs.expand(["-"]), None, UTC, stdin=io.BytesIO(data))
    assert report.result.sources[0].name == "stdin"
    assert report.result.problems["in"]["kafka"].count == 5


def test_gzip_on_stdin_is_unpacked():
    data = (FIX / "kubernetes.log").read_bytes()
    report = logs.scan(logs.expand(["-"]), None, UTC, stdin=io.BytesIO(gzip.compress(data) + gzip.compress(data)))
    assert report.result.total_lines == 20  # two gzip members
    assert report.result.problems["in"]["kafka"].count == 10


def test_empty_stdin_is_a_usage_error():
    with pytest.raises(UsageError) as err:
        logs.scan(logs.expand(["-"]), None, UTC, stdin=io.BytesIO(b""))
    assert "stdin is empty" in one_line(err)


def test_stdin_left_open_without_data_gives_up_at_the_deadline():
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb", buffering=0) as reader:
            t0 = time.monotonic()
            with pytest.raises(SourceError) as err:
                logs.scan(logs.expand(["-"]), None, UTC, stdin=reader, deadline=time.time() + 0.5)
            assert time.monotonic() - t0 < 1.5
            assert "Nothing arrived on stdin" in one_line(err)
    finally:
        os.close(w)


def test_stdin_that_keeps_streaming_is_cut_at_the_deadline():
    r, w = os.pipe()
    stop = threading.Event()
    line = b"2026-11-21 10:00:00,000 WARN  a.B - Failed to deserialize JSON on fields: , with message: m\n"

    def writer() -> None:
        while not stop.is_set():
            try:
                os.write(w, line)
            except OSError:
                return
            time.sleep(0.01)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        with os.fdopen(r, "rb", buffering=0) as reader:
            t0 = time.monotonic()
            report = logs.scan(logs.expand(["-"]), None, UTC, stdin=reader, deadline=time.time() + 0.6)
            assert time.monotonic() - t0 < 2
        assert report.result.stopped
        assert report.result.problems["in"]["deserialization"].count >= 1
    finally:
        stop.set()
        os.close(w)
        t.join(2)


# --- two processes for big files ------------------------------------------------------------


def _big_log(path: Path, n: int = 30000) -> None:
    rows = []
    for i in range(n):
        ts = f"2026-11-21 {10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},000"
        if i % 97 == 0:
            rows.append(f"{ts} [t] WARN  com.stackstate.api.ReceiverRoutes - Failed to deserialize JSON on fields: , "
                        f"with message: reason {i % 5}\n")
        elif i % 211 == 0:
            rows.append(f"{ts} [t] ERROR a.B - Failed to send\norg.apache.kafka.common.errors.TimeoutException: "
                        f"Failed to update metadata after 60000 ms.\n\tat x.Y(Z.java:1)\n")
        else:
            rows.append(f"{ts} [t] INFO  com.stackstate.receiver.X - fine {i}\n")
    path.write_text("".join(rows))


def test_scan_paths_for_scripts(tmp_path):
    path = tmp_path / "x.log"
    _big_log(path, 500)
    r = logs.scan_paths([str(path)], None, None)
    assert r.total_lines == 500 + 2 * len([i for i in range(500) if i % 211 == 0 and i % 97])


# --- iter_lines (small logs) ----------------------------------------------------------------


def test_iter_lines_cleans_and_caps(tmp_path):
    p = tmp_path / "a.log"
    p.write_bytes(b"one\r\n\x1b[31mtwo\x1b[0m\r\n" + b"z" * 100000 + b"\nfour\xff")
    got = list(logs.iter_lines(logs.expand([str(p)])[0]))
    assert [n for n, _ in got] == [1, 2, 3, 4]
    assert got[0][1] == "one" and got[1][1] == "two" and got[3][1] == "four\ufffd"
    assert len(got[2][1]) == 4096
