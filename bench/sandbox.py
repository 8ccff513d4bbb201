"""Startup time and memory of the whole sandbox (bench/README.md, section "Sandbox").

    python bench/sandbox.py [--runs 5] [--soak 60]

Measures, in a temporary state dir: `stsdebug sandbox up` wall time (a fresh CLI
process, as a user runs it) and the sandbox's own ready time, for a healthy sandbox
`--runs` times and once per fault; `sandbox down` wall time; the resident memory of
each process right after `up` and after `--soak` seconds of live running.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cli(base: Path, *args: str) -> tuple[float, str]:
    env = dict(os.environ, STSDEBUG_SANDBOX_DIR=str(base))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "stsdebug", "sandbox", *args], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return time.perf_counter() - t0, out


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _memory(state: dict) -> dict[str, float]:
    return {name: round(_rss_mib(p["pid"]), 1) for name, p in state["processes"].items() if p["alive"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--soak", type=float, default=60.0)
    args = parser.parse_args()
    from stsdebug.sandbox.faults import FAULTS

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "state"
        walls, readies, downs = [], [], []
        for _ in range(args.runs):
            wall, out = _cli(base, "up", "--format", "json")
            walls.append(wall)
            readies.append(json.loads(out)["ready_s"])
            down, _ = _cli(base, "down")
            downs.append(down)
        print(f"healthy up (CLI wall, median of {args.runs}): {statistics.median(walls):.2f} s "
              f"(min {min(walls):.2f}, max {max(walls):.2f})")
        print(f"healthy ready_s (median): {statistics.median(readies):.2f} s")
        print(f"down (CLI wall, median): {statistics.median(downs):.2f} s")
        for name in FAULTS:
            wall, out = _cli(base, "up", "--fault", name, "--format", "json")
            print(f"  up --fault {name}: {wall:.2f} s wall, ready_s {json.loads(out)['ready_s']:.2f}")
        _cli(base, "down")
        _, out = _cli(base, "up", "--format", "json")
        state = json.loads(out)
        print("RSS after up (MiB):", _memory(state))
        time.sleep(args.soak)
        _, out = _cli(base, "status", "--format", "json")
        print(f"RSS after {args.soak:g} s live (MiB):", _memory(json.loads(out)))
        _cli(base, "down")


if __name__ == "__main__":
    main()
