"""Time to first paint of `stsdebug tui --load RUN.json`, measured as a user sees it.

Starts the real command on a pseudo-terminal of the given size and times from
just before the process starts until the terminal has received the first full
frame: the verdict banner and the footer keys both drawn. Then presses q and
waits for a clean exit. Repeats and prints min / median / max.

    python bench/tui_first_paint.py [--runs 10] [--size 80x24] [--trace fixtures/traces/kafka_fail.json]

With --baseline it also times a minimal Textual app (one label and a footer) the
same way: the floor that Python and Textual set on this machine.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Both must be on screen: the verdict (content) and the footer (the last thing laid out).
MARKERS = (b"stops at StackState Agent", b"Quit")
TIMEOUT = 20.0
BASELINE_APP = """
from textual.app import App
from textual.binding import Binding
from textual.widgets import Footer, Label

class Hello(App):
    BINDINGS = [Binding("q", "quit", "Quit")]

    def compose(self):
        yield Label("stops at StackState Agent")
        yield Footer()

Hello().run()
"""


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(trace: Path | None, cols: int, rows: int, cpu: list[float] | None = None) -> float:
    """Seconds to first paint of `stsdebug tui --load trace` (or of the baseline app if None).

    With ``cpu``, the CPU seconds the process had used at first paint are appended to it:
    a figure that a loaded machine does not inflate as it does wall time.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed stsdebug has its .pyc files, as Textual has
    t0 = time.perf_counter()
    command = (
        [sys.executable, "-c", BASELINE_APP]
        if trace is None
        else [sys.executable, "-m", "stsdebug", "tui", "--load", str(trace)]
    )
    proc = subprocess.Popen(
        command,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    painted: float | None = None
    try:
        while painted is None:
            if time.perf_counter() - t0 > TIMEOUT:
                raise RuntimeError(f"no first paint within {TIMEOUT:.0f} s; got {seen[-300:]!r}")
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                raise RuntimeError(f"stsdebug exited before painting: {seen[-300:]!r}") from None
            seen += chunk
            if all(m in seen for m in MARKERS):
                painted = time.perf_counter() - t0
                if cpu is not None:
                    cpu.append(_cpu_s(proc.pid))
        os.write(master, b"q")
        deadline = time.perf_counter() + TIMEOUT
        while proc.poll() is None and time.perf_counter() < deadline:
            # Keep draining so the child never blocks on a full terminal buffer.
            if select.select([master], [], [], 0.1)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        if proc.wait(timeout=5) != 0:
            raise RuntimeError(f"{command[1:3]} exited with {proc.returncode} after q")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return painted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--trace", type=Path, default=ROOT / "fixtures" / "traces" / "kafka_fail.json")
    parser.add_argument("--baseline", action="store_true", help="also time a minimal Textual app")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    subjects: list[tuple[str, Path | None]] = [("stsdebug tui --load", args.trace)]
    if args.baseline:
        subjects.append(("minimal Textual app", None))
    for name, trace in subjects:
        one_run(trace, cols, rows)  # warm the file cache and .pyc files; not counted
        times = [one_run(trace, cols, rows) * 1000 for _ in range(args.runs)]
        print(
            f"{name}: first paint at {cols}x{rows} over {args.runs} runs: min {min(times):.0f} ms,"
            f" median {statistics.median(times):.0f} ms, max {max(times):.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
