"""Regenerate docs/screenshots/ from the fixture traces: ``python -m tests.report.screenshots``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from stsdebug.render import html
from tests.factories import every_kind

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# (file, viewport width, height, colour scheme, whole page?)
SHOTS = [
    ("report-1280-light.png", 1280, 1500, "light", False),
    ("report-1280-dark.png", 1280, 900, "dark", False),
    ("report-400.png", 400, 1400, "light", False),
]


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(html.render(every_kind()), encoding="utf-8")
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for name, width, height, scheme, full in SHOTS:
            context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme, offline=True)
            page = context.new_page()
            page.goto(page_file.as_uri())
            page.screenshot(path=str(OUT / name), full_page=full)
            context.close()
            print("wrote", OUT / name)
        browser.close()


if __name__ == "__main__":
    main()
