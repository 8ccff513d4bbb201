"""Log scan benchmark: stsdebug's receiver and agent log scans against grep on the same file.

Run:  python bench/log_scan.py [--size-mb 200] [--runs 3] [--quick] [--no-readme]

Each figure is the best of ``--runs`` rounds, as wall time and as CPU time (user + system,
``getrusage`` of the child: grep's and stsdebug's alike). The goal is judged on CPU time,
which is what the wall time is on an idle machine; on this shared machine wall time grows
with the load of the others' work.

It generates logs (bench/loggen.py: both receiver layouts and the agent layout; 0.1%,
1%, 5% and 20% problem entries; messages that repeat exactly and messages that vary in
numbers, ids, hosts and durations; with and without multi-line stack traces) and times,
on the same file with a warm page cache:

* the peer: ``grep -E '<equivalent patterns>' FILE > OUT`` (grep writing what it found to a
  file: GNU grep stops at the first match when its output is /dev/null);
* the scanner alone (a child process that scans the whole log, every entry in the window,
  and reports its own scan time and peak RSS);
* the CLI as a user runs it, ``stsdebug check --receiver-log FILE`` / ``--agent-log FILE``
  (default 15 minute window), for a few of the files, start-up included.

``rows()`` returns ``Row`` tuples (name, goal, stsdebug seconds, peer seconds, ratio, peak
MB, met) for a combined benchmark command; run standalone it prints a table and writes
it to bench/README.md, section "Log scans". Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import loggen  # noqa: E402

README = HERE / "README.md"
SECTION = "## Log scans"
GOAL_RATIO = 1.5
GOAL_MB = 100.0

# What a support engineer would grep for: the problems each scan classifies.
RECEIVER_GREP = (
    r"ERROR|WARN|Failed to deserialize JSON|JsonParseException|MismatchedInputException|"
    r"JsonMappingException|DeserializationException|org\.apache\.kafka\.common\.errors|"
    r"Broker may not be available|Failed to update metadata"
)
AGENT_GREP = (
    r"ERROR|WARN|transaction|Too many errors|TLS Handshake|DNS Lookup|Successfully posted|"
    r"Sent transactional payload|SendJSONToV1Intake|Error running check|Traceback|API Key"
)


class Row(NamedTuple):
    name: str
    goal: str
    stsdebug_s: float  # wall seconds, best of the runs
    peer_s: float
    ratio: float  # of the wall times
    peak_mb: float
    met: bool  # judged on CPU time (what an idle machine's wall time would be) and memory
    stsdebug_cpu: float = 0.0  # CPU seconds (user + system), best of the runs
    peer_cpu: float = 0.0

    @property
    def cpu_ratio(self) -> float:
        return self.stsdebug_cpu / self.peer_cpu if self.peer_cpu else float("nan")


class Case(NamedTuple):
    kind: str  # receiver | agent
    layout: str  # linux | kubernetes | agent
    rate: float
    vary: bool
    stacks: bool
    cli: bool  # also time the CLI on this file

    @property
    def name(self) -> str:
        what = "varying" if self.vary else "repeating"
        stack = ", stack traces" if self.stacks else ""
        return f"{self.kind} ({self.layout}), {self.rate * 100:g}% problems, {what}{stack}"


CASES = [
    Case("receiver", "linux", 0.001, True, True, False),
    Case("receiver", "kubernetes", 0.001, False, False, False),
    Case("receiver", "linux", 0.01, True, True, True),
    Case("receiver", "kubernetes", 0.01, False, False, False),
    Case("receiver", "linux", 0.05, True, False, True),
    Case("receiver", "kubernetes", 0.05, True, True, False),
    Case("receiver", "linux", 0.2, True, True, False),
    Case("receiver", "kubernetes", 0.2, False, False, False),
    Case("agent", "agent", 0.001, True, False, False),
    Case("agent", "agent", 0.01, True, True, True),
    Case("agent", "agent", 0.05, False, False, False),
    Case("agent", "agent", 0.2, True, True, False),
]

# The peak RSS of the scanning process itself: /proc's VmHWM (ru_maxrss of a child counts the
# benchmark's own memory, copied by fork, as its peak).
_PEAK = """
def _peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
_SCAN_RECEIVER = _PEAK + """
import json, sys, time
from stsdebug.logs.receiver_format import parse_tz
from stsdebug.sources import logs
t, c = time.perf_counter(), time.process_time()
r = logs.scan_paths([sys.argv[1]], None, parse_tz("UTC"))
s, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"s": s, "cpu": cpu, "rss": _peak_mb(),
                  "found": sum(b.count for p in r.problems.values() for b in p.values()), "lines": r.total_lines}))
"""
_SCAN_AGENT = _PEAK + """
import json, sys, time
from stsdebug.logs.agent_scan import AgentScan
from stsdebug.sources.agent import AgentSource
t, c = time.perf_counter(), time.process_time()
src = AgentSource(log=sys.argv[1])
inp = src.inputs()[0]
r = src.scan(inp, AgentScan())
s, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"s": s, "cpu": cpu, "rss": _peak_mb(),
                  "found": sum(f.total for f in r.findings.values()), "lines": r.lines}))
"""


def _run(cmd: list[str], env: dict[str, str], out: Path | None = None) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system) and peak RSS MB of the child, its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    if out is not None:
        with out.open("wb") as f:
            proc = subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, env=env)
        text = ""
    else:
        proc = subprocess.run(cmd, capture_output=True, env=env)
        text = proc.stdout.decode("utf-8", "replace")
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {proc.stderr.decode()[-400:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children is the largest of any child so far: it is exact for the first
    # child that grows past the others, which is why each tool's peak is taken in its own run.
    rss = after.ru_maxrss / 1024
    return wall, cpu, rss, text


def _gnu_time_rss(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak RSS MB of one command (peak from GNU time when present)."""
    if not Path("/usr/bin/time").exists():
        return _run(cmd, env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return wall, cpu, (int(m.group(1)) / 1024 if m else float("nan")), proc.stdout.decode("utf-8", "replace")


def rows(size_mb: int = 200, runs: int = 3, cases: list[Case] | None = None, workdir: Path | None = None,
         big_mb: int = 0) -> list[Row]:
    """Generate, time and compare; the fastest of ``runs`` rounds of each tool is kept."""
    tmp = workdir or Path(tempfile.mkdtemp(prefix="stsdebug-logscan-"))
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "none.toml").write_text("")
    env = dict(os.environ, STSDEBUG_CONFIG=str(tmp / "none.toml"), PYTHONPATH=str(ROOT),
               STSDEBUG_RECEIVER_LOG_TZ="UTC")
    # An installed stsdebug has its .pyc files; without them each run compiles ~100 modules.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    exe = shutil.which("stsdebug")
    cli = [exe] if exe else [sys.executable, "-m", "stsdebug"]
    subprocess.run([*cli, "--version"], env=env, capture_output=True)  # writes the .pyc files
    out: list[Row] = []
    try:
        for case in cases or CASES:
            path = tmp / f"{case.kind}.log"
            loggen.write(path, case.kind, size_mb << 20, time.time() - 5, rate=case.rate, vary=case.vary,
                         stacks=case.stacks, layout=case.layout)
            subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
            pattern = AGENT_GREP if case.kind == "agent" else RECEIVER_GREP
            scan_code = _SCAN_AGENT if case.kind == "agent" else _SCAN_RECEIVER
            flag = "--agent-log" if case.kind == "agent" else "--receiver-log"
            peer = scan = cli_t = (float("inf"), float("inf"))  # best (wall, CPU) of the runs
            peak = cli_peak = 0.0
            for _ in range(runs):
                wall, cpu, _, _ = _run(["grep", "-E", pattern, str(path)], env, out=tmp / "grep.out")
                peer = (min(peer[0], wall), min(peer[1], cpu))
                _, _, rss, text = _run([sys.executable, "-c", scan_code, str(path)], env)
                got = json.loads(text.strip().splitlines()[-1])
                scan = (min(scan[0], got["s"]), min(scan[1], got["cpu"]))
                peak = max(peak, got["rss"])
                if case.cli:
                    wall, cpu, crss, _ = _gnu_time_rss([*cli, "check", flag, str(path), "-f", "json"], env)
                    cli_t = (min(cli_t[0], wall), min(cli_t[1], cpu))
                    cli_peak = max(cli_peak, crss)
            goal = f"<= {GOAL_RATIO}x grep, < {GOAL_MB:g} MB"
            ratio = scan[1] / peer[1]
            out.append(Row(f"{case.name}: scanner alone", goal, scan[0], peer[0], scan[0] / peer[0], peak,
                           ratio <= GOAL_RATIO and peak < GOAL_MB, scan[1], peer[1]))
            if case.cli:
                ratio = cli_t[1] / peer[1]
                out.append(Row(f"{case.name}: stsdebug check {flag} (15m window)", goal, cli_t[0], peer[0],
                               cli_t[0] / peer[0], cli_peak, ratio <= GOAL_RATIO and cli_peak < GOAL_MB,
                               cli_t[1], peer[1]))
            print(*out[-2 if case.cli else -1:], sep="\n", flush=True)
        if big_mb:
            for kind in ("receiver", "agent"):
                path = tmp / f"{kind}-big.log"
                loggen.write(path, kind, big_mb << 20, time.time() - 5, rate=0.05, vary=True, stacks=True)
                code = _SCAN_AGENT if kind == "agent" else _SCAN_RECEIVER
                _, _, _, text = _run([sys.executable, "-c", code, str(path)], env)
                got = json.loads(text.strip().splitlines()[-1])
                wall, cpu, _, _ = _run(["grep", "-E", AGENT_GREP if kind == "agent" else RECEIVER_GREP, str(path)],
                                       env, out=tmp / "grep.out")
                out.append(Row(f"{kind}, {big_mb} MB, 5% varying with stacks: peak memory", f"< {GOAL_MB:g} MB",
                               got["s"], wall, got["s"] / wall, got["rss"], got["rss"] < GOAL_MB, got["cpu"], cpu))
                print(out[-1], flush=True)
                path.unlink()
    finally:
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def table(result: list[Row]) -> str:
    lines = [
        "| what | goal | stsdebug CPU s | grep CPU s | CPU ratio | stsdebug wall s | grep wall s | wall ratio "
        "| peak MB | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in result:
        lines.append(f"| {r.name} | {r.goal} | {r.stsdebug_cpu:.2f} | {r.peer_cpu:.2f} | {r.cpu_ratio:.2f}x | "
                     f"{r.stsdebug_s:.2f} | {r.peer_s:.2f} | {r.ratio:.2f}x | {r.peak_mb:.0f} | "
                     f"{'yes' if r.met else '**missed**'} |")
    return "\n".join(lines) + "\n"


EXPLAINED = """\
The peer is `grep -E` with the words each scan classifies, writing what it finds to a file;
"scanner alone" scans the whole log with every entry in the window (the worst case); the CLI
rows are `stsdebug check` as a user runs it, default 15-minute window, start-up included.
Figures are the best of the rounds; the goal is judged on CPU time (user + system of each
child, grep's too), which is the wall time of an idle machine. Peak MB is the peak RSS of
the scanning process (VmHWM) or of the CLI (GNU time). Where the time goes: "All benchmarks"
(`python bench/run.py`).
"""


def _write_readme(body: str) -> None:
    text = README.read_text()
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[end + 1:] if end >= 0 else "")
    README.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--big-mb", type=int, default=0, help="also scan one big log of each kind for peak memory")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="20 MB files, one run (a smoke test)")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    size, runs = (20, 1) if args.quick else (args.size_mb, args.runs)
    result = rows(size, runs, big_mb=args.big_mb)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    head = (f"{SECTION}\n\n`python bench/log_scan.py --size-mb {size} --runs {runs}"
            f"{f' --big-mb {args.big_mb}' if args.big_mb else ''}` on {os.cpu_count()} CPUs "
            f"(load average {load} at the end), Python {sys.version.split()[0]}, "
            f"{time.strftime('%Y-%m-%d')}; fastest of {runs} rounds.\n\n")
    text = table(result)
    print(text)
    if not args.no_readme and not args.quick:
        _write_readme(head + text + "\n" + EXPLAINED)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
