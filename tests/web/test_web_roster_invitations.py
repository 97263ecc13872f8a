"""The roster's rows say where an invited contact's link stands ("Invited · expires in …") and
send a new one from the row, in Chromium at 1280x900 and 390x844; read-only rows say it too."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service.accounts import tokens
from service.accounts.models import TokenPurpose, User
from service.extensions import db
from service.organizations.models import Organization
from tests.jobs import outbox, run_jobs
from tests.tickets.support import NO_MANAGE
from tests.web.browser import ADMIN, new_page, sign_in
from tests.web.forms import sign_in as sign_in_client

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
IVY = "ivy.invited@acme.example"


@pytest.fixture
def ivy(app, factory) -> None:
    factory.demo()
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    factory.contact(
        acme, IVY, ["technical"], account="invited", first_name="Ivy", last_name="Aaron"
    )
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == IVY))
        tokens.issue(session=db.session, user_id=user_id, purpose=TokenPurpose.ACTIVATION)
        db.session.commit()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_an_invited_contacts_row_shows_time_left_and_resends(app, browser, base_url, ivy, viewport):
    page = new_page(browser, VIEWPORTS[viewport])
    sign_in(page, base_url, ADMIN)
    page.goto(f"{base_url}/orgs/acme/contacts")
    row = page.locator("tbody.contact", has_text="Ivy Aaron")
    expect(row.locator(".invitation-state")).to_have_text(
        re.compile(r"Invited · expires in (2 d 23 h|3 d 0 h)")
    )
    before = len(outbox(app))
    row.get_by_role("button", name="Send a new link to Ivy Aaron").click()
    expect(row.locator(".invitation-state")).to_have_text("Invited · new link sent")
    run_jobs(app)
    assert len([m for m in outbox(app)[before:] if IVY in str(m["To"])]) == 1


def test_read_only_rows_say_it_too(app, ivy):
    viewer = app.test_client()
    assert sign_in_client(viewer, NO_MANAGE).status_code == 302
    html = viewer.get("/orgs/acme/contacts").get_data(as_text=True)
    assert re.search(r"Invited · expires in (2 d 23 h|3 d 0 h)", html)
