"""Driving Debian's Chromium with Playwright: launch options, signing in, screenshots, emails.

Playwright never downloads a browser here: it starts /usr/bin/chromium (`make test` installs the
`chromium` package when it is missing).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Response, expect

from tests.factories import PASSWORD
from tests.jobs import bodies, outbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1360, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

ADMIN = "admin@acme.example"
STAFF = "staff@vendor.example"
STAFF2 = "staff2@vendor.example"
VIEWER = "boris.banks@acme.example"  # acme's financial contact: may read the roster only
OUTSIDER = "admin@buyco.example"  # admin of another organization


# What went wrong in the pages' scripts and assets during the current test; the fixture
# `no_script_errors` (tests/web/conftest.py) fails the test when it is not empty.
SCRIPT_ERRORS: list[str] = []
ASSET_TYPES = ("script", "stylesheet", "image", "font")


def new_page(browser: Browser, viewport: dict[str, int] | None = None) -> Page:
    """A page in a fresh context: its own cookies, as a separate person's browser.

    An uncaught script error, a Content-Security-Policy refusal and an asset that fails to load
    are recorded in SCRIPT_ERRORS. (Pages and JSON calls that answer 4xx on purpose are not.)
    """
    context = browser.new_context(viewport=viewport or DESKTOP, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda error: SCRIPT_ERRORS.append(f"{page.url}: {error}"))
    page.on("console", lambda message: _refusal(page, message))
    page.on("response", _failed_asset)
    return page


def _refusal(page: Page, message: ConsoleMessage) -> None:
    if message.type == "error" and message.text.startswith("Refused to"):
        SCRIPT_ERRORS.append(f"{page.url}: {message.text}")


def _failed_asset(response: Response) -> None:
    if response.status >= 400 and response.request.resource_type in ASSET_TYPES:
        SCRIPT_ERRORS.append(f"{response.url}: {response.status}")


def review_lines(page: Page) -> Locator:
    """Open the contacts manager's review dialog (Request Changes): its lines, one an item."""
    page.get_by_role("button", name="Request Changes").click()
    return page.locator("#review-lines li")


def expect_review(page: Page, *, status: str, lines: list[str]) -> None:
    """Once the dry run says `status`, the review dialog lists exactly `lines`."""
    expect(page.locator("#check-status")).to_have_text(status)
    expect(review_lines(page)).to_have_text(lines)


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # The page's module scripts have run by DOMContentLoaded: only then do its controls respond.
    page.wait_for_load_state("domcontentloaded")


class Shots:
    """Screenshots of every page, for the README.

    Each is always taken (a page that cannot render fails the test). It is written to
    docs/screenshots/ when that file is missing or UPDATE_SCREENSHOTS=1, otherwise to a
    temporary folder, so an ordinary test run leaves the work tree unchanged.
    """

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.update = os.environ.get("UPDATE_SCREENSHOTS") == "1"

    def __call__(self, page: Page, name: str, *, full_page: bool = True) -> None:
        target = SCREENSHOTS / f"{name}.png"
        if not (self.update or not target.exists()):
            target = self.scratch / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=full_page, animations="disabled")


def emailed_link(app: Flask, recipient: str, kind: str = "activate") -> str:
    """The path of the newest `/<kind>/<token>` link emailed to the recipient (outbox folder)."""
    links = [
        match
        for message in outbox(app)
        if recipient in str(message["To"])
        for match in re.findall(rf"https?://[^\s\"'<>]+/{kind}/[A-Za-z0-9_\-]+", bodies(message))
    ]
    assert links, f"no {kind} link was emailed to {recipient}"
    return urlsplit(links[-1]).path
