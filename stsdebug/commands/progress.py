"""Live progress of a trace on stderr, for a person at a terminal.

One line, rewritten in place ten times a second: the marks of the stages done so far,
the stage running, how long it has run and what it waits for; with ``--probe``, each hop
of the probe as it is reached and how long the probe still waits at the current one.
Nothing at all is written when stderr is not a terminal (pipes, CI logs), and the line
is erased when the run ends or is interrupted, so the result on stdout is all that stays
on the screen.

Events are those of ``stsdebug.trace`` (``StageStarted``, ``StageFinished``,
``ProbeProgress``, ``TraceFinished``); others are ignored, and one that carries a
``what`` string replaces the "waiting for" text of the stage running.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TextIO

from stsdebug.redact import Redactor
from stsdebug.render import values
from stsdebug.render.safe import clean
from stsdebug.render.terminal import Terminal
from stsdebug.settings import Settings
from stsdebug.status_words import STATUS_WORDS
from stsdebug.trace import ProbeProgress, StageFinished, StageStarted, TraceFinished

TICK_S = 0.1
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_SPINNER = "|/-\\"
CLEAR = "\r\x1b[2K"
COLORS = {"pass": "32", "warn": "33", "fail": "1;31", "error": "1;35", "skip": "2", "blocked": "2;33"}


def waits_for(stage_id: str, settings: Settings) -> str:
    """What a stage reads, in a few words, from the settings it runs with (secrets redacted)."""
    # Redacted as the trace's own target is: secret settings, and credentials inside URLs.
    t = Redactor(settings.secret_values()).walk(settings.redacted(), "progress")

    def val(key: str) -> str:
        value = t.get(key)
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return str(value or "")

    what: dict[str, Callable[[], str]] = {
        "scope": lambda: "counting metric prefixes in Kafka and Elasticsearch",
        "agent": lambda: "reading " + (
            "the agent's check output" if val("agent_output") or val("agent_cmd") else "the agent log"
        ),
        "receiver": lambda: (
            f"reading the receiver log {val('receiver_log')}" if val("receiver_log")
            else f"asking the receiver at {val('receiver')}"
        ),
        "kafka": lambda: (
            f"reading {val('topic')} at {val('kafka')}" if val("kafka")
            else f"reading {val('topic')} through the topic API at {val('sts_api')}"
        ),
        "elasticsearch": lambda: f"asking Elasticsearch at {val('es')}",
        "streams": lambda: f"searching {val('index_pattern')} for each stream",
        "source": lambda: f"testing the source ({val('mirror') or 'Elasticsearch'})",
    }
    make = what.get(stage_id)
    return clean(make()) if make is not None else ""


@dataclass
class _Probe:
    probe_id: str
    reached: list[str] = field(default_factory=list)  # "✔ receiver +124 ms"
    waiting: str | None = None
    deadline: float | None = None  # monotonic time the current hop gives up


class Progress:
    """Trace events in, a live line on ``stream`` out (when it is a terminal)."""

    def __init__(
        self,
        settings: Settings,
        stream: TextIO,
        *,
        terminal: Terminal | None = None,
        total: int = 0,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = TICK_S,
    ) -> None:
        self.settings = settings
        self.stream = stream
        self.term = terminal or Terminal.of(stream)
        self.enabled = self.term.tty
        self.total = total
        self.clock = clock
        self.tick_s = tick_s
        self.started = clock()
        # Stages running now (several may run at once): index -> (id, title, started, what).
        self.running: dict[int, tuple[str, str, float, str]] = {}
        self.probe: _Probe | None = None
        self.done: list[str] = []  # statuses of the stages finished so far
        self.frame = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = False
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._tick, name="stsdebug-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        with self._lock:
            self._closed = True  # nothing is drawn after the line is erased
            self._erase()

    # --- events --------------------------------------------------------------------------
    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        with self._lock:
            if isinstance(event, StageStarted):
                self.running[event.index] = (event.id, event.title, self.clock(),
                                             waits_for(event.id, self.settings))
            elif isinstance(event, StageFinished):
                self.running.pop(event.index, None)
                self.done.append(event.result.status.value)
            elif isinstance(event, ProbeProgress):
                self._probe(event)
            elif isinstance(event, TraceFinished):
                self.running.clear()
            elif isinstance(getattr(event, "what", None), str) and self.running:
                first = min(self.running)
                sid, title, started, _what = self.running[first]
                self.running[first] = (sid, title, started, clean(event.what))
            self._draw()

    def _probe(self, event: ProbeProgress) -> None:
        if self.probe is None or self.probe.probe_id != event.probe_id:
            self.probe = _Probe(event.probe_id)
        p = self.probe
        if event.hop is None:
            p.waiting = event.name
            # The event's own clock may not be ours: count from when it arrived.
            p.deadline = self.clock() + event.deadline_s if event.deadline_s is not None else None
            return
        at = f" +{values.duration_ms(event.hop.at_ms)}" if event.hop.at_ms is not None else ""
        p.reached.append(f"{self._mark(event.hop.status.value)} {clean(event.hop.name)}{at}")
        p.waiting, p.deadline = None, None

    # --- drawing -------------------------------------------------------------------------
    def _mark(self, status: str) -> str:
        words = STATUS_WORDS[status]
        mark = words.ascii if self.term.ascii else words.mark
        if self.term.color and status in COLORS:
            return f"\x1b[{COLORS[status]}m{mark}\x1b[0m"
        return mark

    def line(self) -> str:
        """The live line as it reads now (without terminal codes)."""
        now = self.clock()
        frames = ASCII_SPINNER if self.term.ascii else SPINNER
        spin = frames[self.frame % len(frames)]
        total = values.duration_ms((now - self.started) * 1000)
        p = self.probe
        if not self.running and p is not None and p.waiting is not None:
            left = max(0.0, (p.deadline or now) - now)
            done = " → ".join(p.reached)
            return (f"{spin} probe {p.probe_id}: {done + ' → ' if done else ''}waiting at {p.waiting}, "
                    f"{left:.0f} s left · {total}")
        if not self.running:
            return f"{spin} tracing {self.settings.integration or 'custom'} · {total}"
        # The earliest stage still running leads; others running beside it are counted.
        index = min(self.running)
        _sid, title, started, what = self.running[index]
        of = f" ({index + 1} of {self.total})" if self.total else ""
        took = values.duration_ms((now - started) * 1000)
        also = f" (+{len(self.running) - 1} more running)" if len(self.running) > 1 else ""
        waits = f" · {what}" if what else ""
        done = "".join(self._mark(st) + " " for st in self.done)
        return f"{done}{spin} {clean(title)}{of}{also} · {took}{waits}"

    def _fit(self, text: str) -> str:
        """At most one terminal row (colour codes do not take room), or the line would wrap
        and the next redraw could no longer erase it."""
        width = max(10, self.term.width - 1)
        out, shown, i = [], 0, 0
        while i < len(text):
            if text[i] == "\x1b":
                end = text.find("m", i)
                end = len(text) - 1 if end < 0 else end
                out.append(text[i : end + 1])
                i = end + 1
                continue
            if shown == width - 1 and len(_visible(text[i:])) > 1:
                out.append("…")
                break
            out.append(text[i])
            shown += 1
            i += 1
        return "".join(out) + ("\x1b[0m" if self.term.color else "")

    def _draw(self) -> None:
        if self._closed:
            return
        # Marked live before writing: a Ctrl-C in the middle of the write still gets it erased.
        self._live = True
        self.stream.write(CLEAR + self._fit(self.line()))
        self.stream.flush()

    def _erase(self) -> None:
        if self._live:
            self.stream.write(CLEAR)
            self.stream.flush()
            self._live = False

    def _tick(self) -> None:
        while not self._stop.wait(self.tick_s):
            with self._lock:
                self.frame += 1
                self._draw()


def _visible(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def track(settings: Settings, stream: TextIO, total: int, env: Mapping[str, str] | None = None) -> Progress:
    """Progress for a trace of ``total`` stages on ``stream`` (silent unless it is a terminal)."""
    return Progress(settings, stream, terminal=Terminal.of(stream, env), total=total)


class Spinner:
    """``with Spinner(stream, "starting the sandbox"):`` one live line with the elapsed time
    while something slow runs, so the terminal is never blank; nothing when not a terminal."""

    def __init__(self, stream: TextIO, what: str, *, terminal: Terminal | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.what = what
        self.term = terminal or Terminal.of(stream)
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = clock()

    def __enter__(self) -> Spinner:
        if self.term.tty:
            self._thread = threading.Thread(target=self._tick, name="stsdebug-spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self.stream.write(CLEAR)
            self.stream.flush()

    def _tick(self) -> None:
        frames = ASCII_SPINNER if self.term.ascii else SPINNER
        n = 0
        while not self._stop.wait(TICK_S):
            took = values.duration_ms((self.clock() - self._started) * 1000)
            self.stream.write(f"{CLEAR}{frames[n % len(frames)]} {self.what} · {took}")
            self.stream.flush()
            n += 1
