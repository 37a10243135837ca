"""A real browser for the end-to-end tests: Debian's Chromium driven by Playwright.

``browser`` is a pytest fixture (one Chromium per test module); ``open_widget``
opens the shop page as a demo buyer with the chat widget open; ``REPORTS`` is
where the tests leave their screenshots (gitignored).
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import pytest

from bot.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
REPORTS = PROJECT_ROOT / "reports"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def open_widget(browser: Any, web_url: str, buyer: Optional[str] = None, name: str = "") -> Any:
    """The shop page with the chat widget open, logged in as ``buyer`` (the demo
    login; ``name`` is how the page lists them) or as a visitor."""
    page = browser.new_page()
    page.goto(web_url + "/")
    if buyer:
        page.select_option("#buyer", buyer)  # the demo login: reloads with their token
        page.wait_for_selector(f"#buyer >> text={name or buyer}", state="attached")
    page.click(".rw-launcher")
    page.wait_for_selector(".rw-new-message")
    return page


def send(page: Any, text: str) -> None:
    """Type ``text`` into the widget and send it."""
    page.fill(".rw-new-message", text)
    page.press(".rw-new-message", "Enter")
