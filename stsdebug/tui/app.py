"""The stsdebug TUI: run a trace live (or open a saved one) and browse its stages.

The layout, the drawing and the keys live here; running a trace (on a worker thread)
and watch mode are in ``stsdebug.tui.live``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.events import Key, Resize
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, ListView, Static

from stsdebug import __version__
from stsdebug.model import TraceResult
from stsdebug.tui import display
from stsdebug.tui.live import LiveRuns
from stsdebug.tui.main_screen import MainScreen
from stsdebug.tui.palette import StsdebugCommands
from stsdebug.tui.run_state import RunView
from stsdebug.tui.startup import resume_gc
from stsdebug.tui.widgets.detail import DetailPane
from stsdebug.tui.widgets.filter import FilterBox
from stsdebug.tui.widgets.footer import KeyFooter
from stsdebug.tui.widgets.header import TraceHeader
from stsdebug.tui.widgets.pipeline import PipelineStrip
from stsdebug.tui.widgets.stage_list import StageList
from stsdebug.tui.widgets.verdict import NextStep, VerdictBanner

if TYPE_CHECKING:
    from stsdebug.settings import Settings
    from stsdebug.tui.runner import Runner

# Saving (stsdebug.tui.files) and the dialogs (stsdebug.tui.screens) are imported by the keys
# that use them: the first frame waits for every import before it.

# Below this the layout cannot show the strip, the list and the detail side by side.
MIN_WIDTH = 60
MIN_HEIGHT = 18
WIDE = 120  # from here the stage list gets wider and shows summaries
FOOTER_WIDE = 100  # from here the footer has room for every key and the palette
SPIN_INTERVAL = 0.1
WATCH_S = 30.0  # W: run again this long after the previous run started


class StsdebugApp(LiveRuns):
    CSS_PATH = "app.tcss"
    TITLE = "stsdebug"
    COMMANDS = App.COMMANDS | {StsdebugCommands}

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "rerun", "Rerun"),
        Binding("i", "integration", "Integration"),
        Binding("w", "window", "Window"),
        Binding("W", "watch", "Watch"),
        Binding("p", "probe", "Probe"),
        Binding("s", "save", "Save"),
        Binding("e", "export", "Export"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("escape", "cancel", "Cancel run", key_display="Esc"),
        # The same key, left out of a narrow footer (the banner says "Escape cancels").
        Binding("escape", "cancel_quiet", "Cancel run", show=False),
    ]

    def __init__(
        self,
        settings: Settings | None = None,
        loaded: TraceResult | None = None,
        *,
        runner: Runner | None = None,
        loaded_from: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        animate: bool = True,
        ascii_only: bool | None = None,
        cwd: Path | None = None,
        notice: str | None = None,
    ) -> None:
        super().__init__()
        if settings is None and loaded is None:
            raise ValueError("StsdebugApp needs settings to run a trace or a loaded trace")
        if settings is not None and runner is None:
            raise ValueError("StsdebugApp needs a runner to run a trace live")
        self.settings = settings
        self.loaded = loaded
        self.loaded_from = loaded_from
        self.runner: Runner | None = runner
        self.clock = clock
        self.spin = animate  # not `animate`: that is App.animate, which widgets call
        self.ascii_only = display.use_ascii() if ascii_only is None else ascii_only
        self.marks = display.marks(self.ascii_only)
        self.frames = display.spinner(self.ascii_only)
        self.cwd = cwd or Path.cwd()
        self.notice = notice  # said once when the app opens (the demo says what it shows)
        self.view = RunView.loaded(loaded) if loaded is not None else RunView()
        self.run_id = 0
        self.cancel_event: threading.Event | None = None
        self.run_settings: Settings | None = None  # those of the run shown (probe may differ)
        self.query_text = ""
        self.last_trace: TraceResult | None = loaded
        self._frame = 0
        self._user_moved = False
        self._spin_timer: Timer | None = None
        self._closed = False
        self._wide_footer: bool | None = None
        # Watch mode (W): the interval, the timer of the next run and when it fires (app clock).
        self.watch_s: float | None = None
        self._watch_timer: Timer | None = None
        self._watch_clock: Timer | None = None
        self._watch_next: float | None = None
        self._watch_prev: TraceResult | None = None
        self._run_started = 0.0

    # --- layout -------------------------------------------------------------
    def get_default_screen(self) -> Screen[None]:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        # Before any widget is styled: a class set on the screen later restyles every one.
        self._size_classes(self.size.width, self.size.height)
        yield TraceHeader(id="header")
        yield PipelineStrip(ascii_only=self.ascii_only, id="pipeline")
        yield VerdictBanner(id="verdict")
        yield NextStep(id="next-step")
        with Horizontal(id="main"):
            yield StageList(id="stages")
            with Vertical(id="detail-column"):
                yield FilterBox(
                    placeholder="filter the evidence (Enter keeps it, Escape clears)",
                    id="filter",
                    compact=True,
                )
                yield DetailPane(id="detail")
        yield Static(id="too-small")
        # Sized now, so that the footer's first keys are already those of this width.
        self._wide_footer = self.size.width >= FOOTER_WIDE
        yield KeyFooter(compact=True, id="footer", show_command_palette=self._wide_footer)

    def on_ready(self) -> None:
        # The first frame is drawn: the collector, if paused for the start, runs again.
        resume_gc()

    def on_mount(self) -> None:
        self._apply_size(self.size.width, self.size.height)
        self.query_one("#filter", FilterBox).display = False
        if self.spin:
            self._spin_timer = self.set_interval(SPIN_INTERVAL, self._tick)
        if self.loaded is None:
            # After the first frame: planning and the trace's imports must not delay it.
            self.call_after_refresh(self.start_run)
        else:
            self._select_verdict_stage()
            self.refresh_view()
        self.query_one(StageList).focus()
        if self.notice:
            self.notify(self.notice, title="stsdebug demo", timeout=12, markup=False)

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _size_classes(self, width: int, height: int) -> bool:
        """Set the screen's classes for this size; whether it is too small."""
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        screen = self.default_screen  # not a dialog that may be on top
        screen.set_class(small, "-too-small")
        screen.set_class(width >= WIDE, "-wide")
        return small

    def _apply_size(self, width: int, height: int) -> None:
        small = self._size_classes(width, height)
        wide_footer = width >= FOOTER_WIDE
        if wide_footer != self._wide_footer:
            # Rebuilding the footer is costly: only when it crosses the width.
            self._wide_footer = wide_footer
            with contextlib.suppress(NoMatches):
                # The footer lists every key; the palette has its own entry in the help.
                self.query_one("#footer", Footer).show_command_palette = wide_footer
            self.refresh_bindings()
        if small:
            self.query_one("#too-small", Static).update(
                Content(display.too_small(width, height, MIN_WIDTH, MIN_HEIGHT))
            )

    # --- rendering --------------------------------------------------------
    def refresh_view(self) -> None:
        live = self.run_settings or self.settings
        source = self.loaded_from.name if self.loaded_from else ("file" if self.loaded else None)
        parts = display.header_for(
            self.view.trace or self.last_trace,
            live,
            running=self.view.running,
            integration=self.view.integration,
            kind_of=display.integration_kind,
            version=__version__,
            source=source,
        )
        if self.watch_s is not None:
            parts.insert(1, self._watch_text())
        self.query_one(TraceHeader).show(parts, self.ascii_only)
        self.query_one(PipelineStrip).show(self.view.stages, self.marks, self._spin_frame())
        banner = self.view.banner(self.clock(), self.marks)
        mark = self.frames[self._frame % len(self.frames)] if self.view.running else None
        self.query_one(VerdictBanner).show(banner, mark or self.marks.get(banner.status, "?"))
        self.query_one(NextStep).show(banner.next_step)
        stages = self.query_one(StageList)
        stages.show(
            self.view.stages, self.marks, self._spin_frame(), self.clock(), select=self._selected,
            changes=self.view.changes,
        )
        self._show_detail()

    def _spin_frame(self) -> str:
        return self.frames[self._frame % len(self.frames)]

    @property
    def _selected(self) -> str | None:
        return self.query_one(StageList).selected_id

    def _show_detail(self) -> None:
        sid = self._selected
        view = next((s for s in self.view.stages if s.id == sid), None)
        self.query_one(DetailPane).show(view, self.query_text, self.marks)

    def _tick(self) -> None:
        if not self.view.running or self._closed:
            return
        self._frame += 1
        frame = self._spin_frame()
        try:
            self.query_one(PipelineStrip).show(self.view.stages, self.marks, frame)
            self.query_one(StageList).show(self.view.stages, self.marks, frame, self.clock())
            self.query_one(VerdictBanner).show(self.view.banner(self.clock(), self.marks), frame)
        except NoMatches:
            return  # the app is closing: its widgets are already gone

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        if event.list_view.id == "stages":
            self._show_detail()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        # Enter on a stage moves into its evidence.
        self._user_moved = True
        self.query_one(DetailPane).focus_first_table()

    def on_key(self, event: Key) -> None:
        if event.key in ("up", "down", "home", "end", "pageup", "pagedown"):
            self._user_moved = True

    def _select_verdict_stage(self) -> None:
        trace = self.view.trace
        target = trace.verdict.stage if trace is not None else None
        if target is None and self.view.stages:
            target = self.view.stages[0].id
        stages = self.query_one(StageList)
        stages.show(self.view.stages, self.marks, self._spin_frame(), self.clock(), select=target)
        if target:
            stages.select(target)

    # --- actions ----------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.view.running and self.size.width >= FOOTER_WIDE
        if action == "cancel_quiet":
            return self.view.running and self.size.width < FOOTER_WIDE
        # Under a dialog only quit works; the dialog has its own keys.
        return action == "quit" or not isinstance(self.screen, ModalScreen)

    def _read_only(self) -> bool:
        if self.settings is None:
            self.notify(
                "This trace was loaded from a file and is read-only. "
                "Run `stsdebug tui` with check options to trace live.",
                title="Read-only",
                severity="warning",
                markup=False,
            )
            return True
        return False

    def action_rerun(self) -> None:
        if self._read_only():
            return
        self.start_run()

    def action_cancel_quiet(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        if self.cancel_event is not None and self.view.cancel():
            self.cancel_event.set()
            watching = self.watch_s is not None
            self._stop_watch()
            self.refresh_bindings()
            self.refresh_view()
            self.notify("Run cancelled" + ("; watch stopped." if watching else "."), markup=False)

    # --- watch (W) ----------------------------------------------------------
    def action_watch(self) -> None:
        """W: run again every WATCH_S and mark what changed; W again stops. Never writes."""
        if self._read_only():
            return
        if self.watch_s is not None:
            self._stop_watch()
            self.notify("Watch stopped.", markup=False)
            self.refresh_view()
            return
        self.watch_s = WATCH_S
        self._watch_prev = self.view.trace or self.last_trace
        self._watch_clock = self.set_interval(1.0, self._refresh_header)
        self.notify(
            f"Watching: a run every {WATCH_S:.0f} s, changes marked in the stage list. W stops.",
            markup=False,
        )
        if not self.view.running:
            self._watch_run()
        self.refresh_view()

    def action_integration(self) -> None:
        if self._read_only():
            return
        from stsdebug.integrations import load_catalog
        from stsdebug.tui.screens import IntegrationScreen

        def picked(name: str | None) -> None:
            if name and self.settings is not None:
                self.settings = replace(self.settings, integration=name)
                self.start_run()

        current = self.view.integration or (self.settings.integration if self.settings else None)
        self.push_screen(IntegrationScreen(load_catalog().values(), current), picked)

    def action_window(self) -> None:
        if self._read_only():
            return
        assert self.settings is not None
        from stsdebug.tui.screens import window_prompt

        def chosen(value: str | None) -> None:
            if value and self.settings is not None:
                self.settings = replace(self.settings, window=value)
                self.start_run()

        self.push_screen(window_prompt(self.settings.window), chosen)

    def action_probe(self) -> None:
        if self._read_only():
            return
        assert self.settings is not None
        settings = self.settings
        if not settings.receiver:
            self.notify(
                "The probe sends its metric through the receiver: give --receiver URL "
                "(and its API key) to use it.",
                title="Probe not available",
                severity="warning",
                markup=False,
            )
            return
        def answered(yes: bool | None) -> None:
            if yes and self.settings is not None:
                # Only this run probes: a later `r` must not write again unasked.
                self.start_run(replace(self.settings, probe=True))

        from stsdebug.stsversion import decide
        from stsdebug.tui.screens import probe_confirm

        self.push_screen(probe_confirm(settings.receiver, settings.probe_host, decide(settings).version),
                         answered)

    def _finished_trace(self) -> TraceResult | None:
        trace = self.view.trace or self.last_trace
        if trace is None:
            self.notify("No finished trace yet: wait for the run to end.", markup=False)
        return trace

    def action_save(self) -> None:
        from stsdebug.tui import files

        trace = self._finished_trace()
        if trace is not None:
            self._save("Save the JSON trace", files.default_name(trace, "json"), files.as_json(trace))

    def action_export(self) -> None:
        from stsdebug.tui import files

        trace = self._finished_trace()
        if trace is None:
            return
        try:
            page = files.as_html(trace)
        except Exception as exc:  # noqa: BLE001 - a broken template must not crash the UI
            self.notify(f"HTML export failed: {type(exc).__name__}: {exc}", severity="error", markup=False)
            return
        self._save("Export the HTML report", files.default_name(trace, "html"), page)

    def _save(self, title: str, default: str, text: str) -> None:
        from stsdebug.tui import files

        protected = [self.loaded_from] if self.loaded_from else []
        files.save(self, title, default, text, cwd=self.cwd, protected=protected)

    def action_filter(self) -> None:
        box = self.query_one("#filter", FilterBox)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_text = event.value
            self._show_detail()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value.strip():
                event.input.display = False
            self.query_one(StageList).focus()

    def on_filter_box_cleared(self, event: FilterBox.Cleared) -> None:
        self.clear_filter()

    def clear_filter(self) -> None:
        box = self.query_one("#filter", FilterBox)
        box.value = ""
        self.query_text = ""
        box.display = False
        self.query_one(StageList).focus()
        self._show_detail()

    def action_help(self) -> None:
        from stsdebug.tui.screens import HelpScreen

        self.push_screen(HelpScreen(self.marks))

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit(self.exit_code())

    def exit_code(self) -> int:
        """Like `stsdebug check`: the last finished live trace decides; viewing a file is 0."""
        if self.loaded is not None and self.settings is None:
            return 0
        trace = self.view.trace or self.last_trace
        if trace is None:
            return 0
        from stsdebug.trace import exit_code

        return exit_code(trace, self.settings.fail_on if self.settings else "fail")

    def on_unmount(self) -> None:
        # The worker thread runs in the loop's executor, which is joined on exit:
        # make a run in progress stop, and stop showing its events.
        self._closed = True
        self._stop_watch()
        if self._spin_timer is not None:
            self._spin_timer.stop()
        if self.cancel_event is not None:
            self.cancel_event.set()


def run_tui(
    settings: Settings | None,
    loaded: TraceResult | None,
    *,
    loaded_from: Path | None = None,
    runner: Runner | None = None,
) -> int:
    """Open the TUI: run a trace with ``settings`` live, or show ``loaded`` read-only.

    Returns the exit code (that of the last finished live trace, as `stsdebug check`
    would; 0 when viewing a loaded trace or when no run finished; 1 after a crash).
    """
    app = StsdebugApp(settings, loaded, runner=runner, loaded_from=loaded_from)
    code = app.run()
    if app.return_code:  # textual caught a crash (and showed it): never exit 0 after one
        return int(app.return_code)
    return int(code or 0)
