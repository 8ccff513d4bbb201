"""Fixtures for the HTML report tests: headless Chromium (Debian package `chromium`) via playwright.

The browser is never downloaded: playwright drives /usr/bin/chromium. A missing
browser is a failure, not a skip (scripts/test installs it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("headless Chromium is missing: install the Debian package 'chromium'")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: the sync playwright loop must not outlive this module, so it
    # cannot meet the asyncio loops other suites (the TUI tests) run.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Visit:
    """A page opened from a report file, with everything it tried to do."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked_by_csp: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        # The file itself and the download's blob: URL are the only loads allowed.
        return [u for u in self.requests if u != self.url and not u.startswith(("blob:", "data:"))]


@pytest.fixture
def open_report(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def _open(
        path: Path,
        width: int = 1280,
        height: int = 900,
        color_scheme: str = "light",
        bypass_csp: bool = False,
    ) -> Visit:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,
            bypass_csp=bypass_csp,
            accept_downloads=True,
            offline=True,
        )
        contexts.append(context)
        page = context.new_page()
        visit = Visit(page, path.resolve().as_uri())
        page.on("request", lambda r: visit.requests.append(r.url))
        page.on("requestfailed", lambda r: visit.blocked_by_csp.append(r.url) if r.failure == "csp" else None)
        page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: visit.page_errors.append(str(e)))

        def _dialog(d: Any) -> None:
            visit.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", _dialog)
        page.goto(visit.url, wait_until="load", timeout=15_000)
        return visit

    yield _open
    for c in contexts:
        c.close()
