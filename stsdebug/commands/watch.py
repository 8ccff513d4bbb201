"""`stsdebug check --watch [INTERVAL]`: trace again and again, and say what changed.

Runs never pile up: the next one starts INTERVAL after the previous one started, or at
once when a run took longer than that, and never while one runs. Each run is compared
with the one before (``stsdebug.tracediff``): stages whose status changed are marked in
the stage list, and stages that changed and figures that moved (a lag that keeps
growing, records that stop) are listed under it. Watch mode is read-only: it refuses
``--probe``. Ctrl-C stops it and exits with the code of the last run that finished.

On a terminal each run redraws the screen (as ``watch`` does), with a countdown to the
next run on stderr; in a pipe each run is appended under a dated rule. With
``--format json`` each run is one line of JSON (the trace, with ``watch`` added: the run
number and the changes since the run before). ``--output`` and ``--html`` are rewritten
after every run, so they always hold the latest one.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from rich.console import RenderableType
from rich.rule import Rule
from rich.text import Text as RichText

from stsdebug.errors import UsageError
from stsdebug.model import TraceResult
from stsdebug.render import diff as diff_text
from stsdebug.render import output, text
from stsdebug.render.output import Format
from stsdebug.render.terminal import Terminal
from stsdebug.settings import Settings
from stsdebug.tracediff import TraceDiff, compare

DEFAULT_INTERVAL = "30s"
MIN_INTERVAL_S = 2.0
HOME_CLEAR = "\x1b[H\x1b[2J\x1b[3J"


def interval_seconds(spec: str) -> float:
    """'30s', '2m', '10' (seconds) -> seconds; a one-line error for anything else."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", spec or "")
    if not m:
        raise UsageError(f"--watch {spec!r}: expected an interval like 10s, 30s or 2m")
    seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if seconds < MIN_INTERVAL_S or seconds > 86400:
        raise UsageError(f"--watch {spec!r}: the interval must be between {MIN_INTERVAL_S:g}s and 24h")
    return seconds


def optional_value(args: list[str], flag: str, default: str) -> list[str]:
    """``--watch`` with no interval after it gets ``default`` (click options need a value)."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == flag:
            following = args[i + 1] if i + 1 < len(args) else None
            # check takes no arguments of its own: a word after --watch is its interval
            # (a bad one is then refused by name), an option or nothing means the default.
            if following is None or following.startswith("-"):
                out.append(default)
    return out


@dataclass
class Sinks:
    """Where each run goes."""

    fmt: Format = Format.text
    verbose: bool = False
    output: str | None = None
    html: str | None = None
    template_dir: str | None = None
    protected: Iterable[Path] = ()


class Watch:
    def __init__(
        self,
        settings: Settings,
        interval_s: float,
        run: Callable[[Settings], TraceResult],
        exit_code: Callable[[TraceResult], int],
        sinks: Sinks,
        *,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
        runs: int | None = None,
    ) -> None:
        if settings.probe:
            raise UsageError("--watch stays read-only: it cannot be combined with --probe, which writes")
        if sinks.fmt is Format.junit:
            raise UsageError("--watch prints text or JSON lines; --format junit is for one run")
        self.settings = settings
        self.interval_s = interval_s
        self.run_trace = run
        self.exit_code = exit_code
        self.sinks = sinks
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.clock = clock
        self.stop = stop or threading.Event()
        self.runs = runs
        self.term = Terminal.of(self.stdout)
        self.err = Terminal.of(self.stderr)
        self.previous: TraceResult | None = None
        self.count = 0

    def loop(self) -> int:
        """Run until Ctrl-C (or ``runs`` runs); the exit code of the last run that finished."""
        code: int | None = None
        try:
            while not self.stop.is_set():
                started = self.clock()
                trace = self.run_trace(self.settings)
                self.count += 1
                code = self.exit_code(trace)
                same = self.previous is not None and self.previous.integration == trace.integration
                self.show(trace, compare(self.previous, trace) if same and self.previous else None)
                self.previous = trace
                if self.runs is not None and self.count >= self.runs:
                    break
                self.wait_until(started + self.interval_s)
        except KeyboardInterrupt:
            self._clear_countdown()
            runs = f"{self.count} run{'s' if self.count != 1 else ''}"
            said = f"; exit {code}, the code of the last run" if code is not None else ""
            self.stderr.write(f"stsdebug: watch stopped after {runs}{said}\n")
            return code if code is not None else 130
        return code if code is not None else 0

    # --- between runs ----------------------------------------------------------------------
    def wait_until(self, when: float) -> None:
        while not self.stop.is_set():
            left = when - self.clock()
            if left <= 0:
                break
            if self.err.tty:
                self.stderr.write(f"\r\x1b[2Knext run in {left:.0f} s · Ctrl-C stops")
                self.stderr.flush()
            self.stop.wait(min(1.0, left))
        self._clear_countdown()

    def _clear_countdown(self) -> None:
        if self.err.tty:
            self.stderr.write("\r\x1b[2K")
            self.stderr.flush()

    # --- one run -------------------------------------------------------------------------
    def show(self, trace: TraceResult, d: TraceDiff | None) -> None:
        s = self.sinks
        if s.output:
            output.write(s.output, output.render(trace, s.fmt, verbose=s.verbose), s.protected)
        if s.html:
            output.write(s.html, output.html(trace, s.template_dir, diff=d), s.protected)
        if s.output:
            self.stdout.write(f"run {self.count} at {_now()}: {trace.verdict.status.word}, written to {s.output}\n")
        elif s.fmt is Format.json:
            data = trace.to_dict()
            data["watch"] = {"run": self.count, "changes": d.to_dict() if d is not None else None}
            self.stdout.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            self.stdout.write(self.screen(trace, d))
        self.stdout.flush()

    def screen(self, trace: TraceResult, d: TraceDiff | None) -> str:
        term = self.term
        con, buf = text.console(term.width, term.color)
        every = f"every {self.interval_s:g} s"
        head = f"run {self.count} · {_now()} · {every} · Ctrl-C stops"
        parts: list[RenderableType] = [Rule(RichText(head, style="bold"), align="left", characters="─")]
        changed = {c.id: c for c in d.changed} if d is not None else {}
        parts += text.parts(trace, verbose=self.sinks.verbose, ascii_only=term.ascii, width=term.width,
                            changed=changed, details=self.sinks.verbose)
        if d is not None:
            parts += [RichText(""), RichText("Since the previous run", style="bold")]
            if d.changed or d.figures:
                parts += diff_text.parts(d, ascii_only=term.ascii, heading=False)
            else:
                parts.append(RichText("  nothing changed", style="dim"))
        for part in parts:
            con.print(part)
        body = text.tidy(buf.getvalue())
        return (HOME_CLEAR + body) if term.tty else body + "\n"


def _now() -> str:
    return datetime.now(tz=timezone.utc).strftime("%H:%M:%S UTC")
