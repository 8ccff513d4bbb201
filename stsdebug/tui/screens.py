"""Modal screens: help, confirmation, integration picker, window and file name prompts."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from stsdebug.errors import StsdebugError
from stsdebug.integrations import Integration
from stsdebug.tui.display import WORDS, one_line, probe_question

# (key, what it does): the single list the footer, the help screen and docs/tui.md follow.
KEYS: list[tuple[str, str]] = [
    ("r", "Run the trace again (cancels a run in progress)"),
    ("i", "Pick another integration from the catalog and run"),
    ("w", "Change the time window (15m, 2h, 1d...) and run"),
    ("W", "Watch: run again every 30 s and mark what changed (W again stops)"),
    ("p", "Run with the probe: sends one marked metric (asks first)"),
    ("s", "Save the trace as JSON"),
    ("e", "Export the self-contained HTML report"),
    ("/", "Filter the evidence of the selected stage"),
    ("Escape", "Cancel the run in progress"),
    ("↑ ↓ / Tab", "Pick a stage / move between the list and the evidence"),
    ("Ctrl+P", "Command palette"),
    ("?", "This help"),
    ("q", "Quit"),
]

STATUS_HELP: list[tuple[str, str]] = [
    ("pass", "seen working in the window"),
    ("warn", "works, but needs attention"),
    ("fail", "the data stops here"),
    ("error", "could not be checked (unreachable, timeout, auth, bad config)"),
    ("skip", "not applicable, or no input given for it"),
    ("blocked", "failed too, as expected after an earlier failure"),
    ("cancelled", "the run was cancelled before this stage finished"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", show=False),
    ]

    def __init__(self, marks: dict[str, str]) -> None:
        super().__init__()
        self.marks = marks

    def compose(self) -> ComposeResult:
        keys = Content("\n").join(
            Content.assemble((f"{key:>10}", "bold"), "  ", what) for key, what in KEYS
        )
        legend = Content("\n").join(
            Content.assemble(
                (f"{self.marks.get(s, '?'):>3} {WORDS[s]:<9}", "bold"), " ", what
            )
            for s, what in STATUS_HELP
        )
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static(Content("stsdebug keys"), classes="dialog-title")
            yield Static(keys)
            yield Static(Content("Stage status"), classes="dialog-title")
            yield Static(legend)
            yield Static(Content("Escape, ? or q closes this help."), classes="note")


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; the safe answer (No) has the focus."""

    BINDINGS = [
        Binding("escape,n", "answer(False)", "No", show=False),
        Binding("y", "answer(True)", "Yes", show=False),
    ]

    def __init__(self, title: str, message: str, yes: str = "Yes", danger: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.yes = yes
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(Content(self.title_text), classes="dialog-title")
            yield Static(Content(self.message), id="confirm-message")
            with Horizontal(classes="buttons"):
                yield Button(
                    Content(f"{self.yes} (y)"),
                    id="yes",
                    variant="error" if self.danger else "primary",
                )
                yield Button(Content("Cancel (n)"), id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptScreen(ModalScreen[str | None]):
    """One line of input, checked by ``validate`` (which raises StsdebugError with the reason)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(
        self,
        title: str,
        value: str,
        help_text: str = "",
        validate: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.help_text = help_text
        self.check = validate

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box", classes="dialog"):
            yield Static(Content(self.title_text), classes="dialog-title")
            yield Input(value=self.value, id="prompt-input", select_on_focus=True, compact=True)
            yield Static(Content(self.help_text), id="prompt-help", classes="note")
            yield Static(Content(""), id="prompt-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        error = self.query_one("#prompt-error", Static)
        if not value:
            error.update(Content("Enter a value, or press Escape to cancel."))
            return
        if self.check is not None:
            try:
                self.check(value)
            except StsdebugError as exc:
                error.update(Content(one_line(str(exc))))
                return
        self.dismiss(value)


class IntegrationScreen(ModalScreen[str | None]):
    """The catalog, filterable by typing; Enter picks."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(self, catalog: Iterable[Integration], current: str | None) -> None:
        super().__init__()
        self.catalog = list(catalog)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="integration-box", classes="dialog"):
            yield Static(Content("Pick an integration"), classes="dialog-title")
            yield Input(placeholder="type to filter", id="integration-filter", compact=True)
            yield OptionList(id="integration-list")
            yield Label(Content("Enter runs the trace for it; Escape cancels."), classes="note")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#integration-filter", Input).focus()

    def _fill(self, query: str) -> None:
        q = query.strip().casefold()
        options = self.query_one("#integration-list", OptionList)
        options.clear_options()
        width = max((len(i.name) for i in self.catalog), default=8)
        for entry in self.catalog:
            haystack = " ".join([entry.name, entry.kind, entry.title, *entry.aliases]).casefold()
            if q and q not in haystack:
                continue
            prompt = Content.assemble(
                (f"{entry.name:<{width}}", "bold"), f"  {entry.kind:<4}  ", one_line(entry.title)
            )
            options.add_option(Option(prompt, id=entry.name))
        if options.option_count:
            names = [options.get_option_at_index(i).id for i in range(options.option_count)]
            options.highlighted = names.index(self.current) if self.current in names else 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one("#integration-list", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        # Arrow keys in the filter box move the highlight in the list below it.
        options = self.query_one("#integration-list", OptionList)
        if event.key in ("down", "up") and self.focused is not options:
            options.action_cursor_down() if event.key == "down" else options.action_cursor_up()
            event.stop()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


def window_prompt(current: str) -> PromptScreen:
    """`w`: a new time window, checked before it is accepted."""
    from stsdebug.settings import parse_window

    return PromptScreen(
        "Time window",
        current,
        "How far back to look: 30s, 15m, 2h, 1d (at most 30d). Enter runs.",
        validate=parse_window,
    )


def probe_confirm(receiver: str | None, probe_host: str | None, sts_version: str = "5") -> ConfirmScreen:
    """`p`: the probe writes to the system being diagnosed, so it asks first."""
    return ConfirmScreen("Run the probe?", probe_question(receiver, probe_host, sts_version), "Send probe",
                         danger=True)
