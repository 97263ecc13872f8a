"""Fixtures of the browser tests: one Chromium for the session, a live server per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, sync_playwright

from service.demo import seed_large
from service.extensions import db
from tests.factories import PASSWORD, Factory
from tests.live_server import live_server
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, SCRIPT_ERRORS, Shots, new_page, sign_in


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is not installed: run `make test`, or `apt-get install chromium`.")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    with live_server(app) as url:
        yield url


@pytest.fixture
def browser_client(app: Flask) -> FlaskClient:
    """A test client for the pages, whose session cookies are its own, apart from `client`."""
    return app.test_client()


@pytest.fixture
def demo_page(factory: Factory, browser: Browser, base_url: str) -> Callable[[str], Page]:
    """The demo data, and a new page signed in as one of its people: `demo_page(ADMIN)`."""
    factory.demo()

    def signed_in_as(email: str) -> Page:
        page = new_page(browser)
        sign_in(page, base_url, email)
        return page

    return signed_in_as


@pytest.fixture
def bigco(app: Flask) -> None:
    """Bigco, a customer of 508 contacts (more than ten pages of the contacts manager), its
    administrator `admin@bigco.example`."""
    with app.app_context():
        seed_large(session=db.session, slug="bigco", contacts=508, password=PASSWORD)
        db.session.commit()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    return Shots(tmp_path_factory.mktemp("screenshots"))


@pytest.fixture(autouse=True)
def no_script_errors() -> Iterator[None]:
    """Every browser test also proves the pages' scripts ran without error under the CSP."""
    SCRIPT_ERRORS.clear()
    yield
    assert not SCRIPT_ERRORS, SCRIPT_ERRORS
