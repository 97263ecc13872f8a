"""axe-core on every page, as a stranger, a customer admin and staff see it, on a desktop and a
phone. axe comes from a local copy (the `axe-playwright-python` package ships `axe.min.js`):
nothing is fetched at test time. Playwright evaluates it through the DevTools protocol, so the
pages' Content-Security-Policy stays as strict as it is in production.

The pages are taken from the URL map: a new page without an entry in PAGES fails the test, so
every page is checked as it is added.
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser

from tests.routes import routes
from tests.tickets.support import raise_ticket
from tests.web.browser import ADMIN, DESKTOP, PHONE, STAFF, new_page, sign_in

AXE = Axe()
# Routes the URL map has that are not pages a person reads: probes, metrics, assets, sign-out.
NOT_PAGES = {"/healthz", "/livez", "/readyz", "/metrics", "/logout", "/static/<path:filename>"}
# Every page route: who opens it, and the path with its parts filled in ({ref}: a ticket of
# acme, {contact}: a contact of acme). None for the stranger.
PAGES: dict[str, tuple[str | None, str]] = {
    "/login": (None, "/login"),
    "/password-reset": (None, "/password-reset"),
    "/activate/<token>": (None, "/activate/not-a-live-link"),
    "/reset/<token>": (None, "/reset/not-a-live-link"),
    "/": (ADMIN, "/"),
    "/account": (ADMIN, "/account"),
    "/orgs/<slug>/contacts": (ADMIN, "/orgs/acme/contacts"),
    "/orgs/<slug>/contacts/<int:contact_id>": (ADMIN, "/orgs/acme/contacts/{contact}"),
    "/orgs/<slug>/invitations": (ADMIN, "/orgs/acme/invitations"),
    "/tickets": (STAFF, "/tickets"),
    "/tickets/<reference>": (STAFF, "/tickets/{ref}"),
    "/roles": (ADMIN, "/roles"),
    "/roles/new": (STAFF, "/roles/new"),
    "/roles/<code>/edit": (STAFF, "/roles/cust_admin/edit"),
    "/jobs": (STAFF, "/jobs"),
    "/emails": (STAFF, "/emails"),
    "/organizations": (STAFF, "/organizations"),
    "/organizations/<slug>": (STAFF, "/organizations/acme"),
    "/staff": (STAFF, "/staff"),
    "/webhooks": (STAFF, "/webhooks"),
}


def page_routes(app: Flask) -> set[str]:
    return {
        rule.rule
        for rule in routes(app, "GET")
        if not rule.rule.startswith(("/api", "/web/", "/assets")) and rule.rule not in NOT_PAGES
    }


def test_every_page_has_an_entry(app):
    missing = sorted(page_routes(app) - PAGES.keys())
    assert missing == [], f"add each page to PAGES in {__name__}: {missing}"


def violations(results: Any) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_violation_on_any_page(
    app, factory, client, browser: Browser, base_url, viewport
):
    factory.demo()
    reference = raise_ticket(client, factory.headers(ADMIN))
    roster = client.get("/api/orgs/acme/contacts", headers=factory.headers(ADMIN)).get_json()
    parts = {"ref": reference, "contact": roster["contacts"][0]["id"]}
    pages = {None: new_page(browser, viewport)}
    for actor in (ADMIN, STAFF):
        pages[actor] = new_page(browser, viewport)
        sign_in(pages[actor], base_url, actor)
    found = {}
    for rule in sorted(PAGES.keys() & page_routes(app)):
        actor, path = PAGES[rule]
        page = pages[actor]
        page.goto(base_url + path.format(**parts))
        page.wait_for_load_state("networkidle")
        problems = violations(AXE.run(page))
        if problems:
            found[path] = problems
    assert found == {}
