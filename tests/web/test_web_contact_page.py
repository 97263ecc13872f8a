"""A contact's page in Chromium: the alternate email, the assistant as a link to that contact,
and "Recent activity" with links to the tickets, newest first; reached from the read-only roster."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from service.contacts.models import Contact
from tests.jobs import run_jobs
from tests.tickets.support import raise_ticket
from tests.web.browser import ADMIN, STAFF, VIEWER, new_page, sign_in


def test_a_contacts_page_shows_the_alternate_email_the_assistant_and_recent_activity(
    app, client, factory, browser, base_url, shots
):
    factory.demo()
    ada = factory.scalar(select(Contact.id).where(Contact.email == ADMIN))
    boris = factory.scalar(select(Contact.id).where(Contact.email == VIEWER))
    fields = {"alternate_email": "ada.home@private.example", "assistant_id": boris}
    reference = raise_ticket(
        client,
        factory.headers(ADMIN),
        [{"op": "update_contact", "contact_id": ada, "fields": fields}],
    )
    assert (
        client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF)).status_code
        == 202
    )
    run_jobs(app)

    page = new_page(browser)
    sign_in(page, base_url, ADMIN)
    page.goto(f"{base_url}/orgs/acme/contacts/{ada}")
    expect(page.get_by_role("heading", name="Ms Ada Ackland")).to_be_visible()
    details = page.locator("#contact-details")
    expect(details).to_contain_text("ada.home@private.example")
    activity = page.locator("#activity li")
    expect(activity.first).to_contain_text(reference)
    expect(activity.first).to_contain_text("Implemented")
    shots(page, "contact-page")
    activity.first.get_by_role("link", name=reference).click()
    expect(page).to_have_url(f"{base_url}/tickets/{reference}")
    page.go_back()
    details.get_by_role("link", name="Boris Banks").click()
    expect(page.get_by_role("heading", name="Mr Boris Banks")).to_be_visible()
    expect(page.locator("#contact-details")).to_contain_text("Ada Ackland")

    # Without the editor (a viewer), each row of the roster links to the contact's page.
    viewer = new_page(browser)
    sign_in(viewer, base_url, VIEWER)
    viewer.goto(f"{base_url}/orgs/acme/contacts")
    row = viewer.locator("tbody.contact", has_text="Ada Ackland")
    row.locator("summary").click()
    row.get_by_role("link", name="Details and recent activity").click()
    expect(viewer).to_have_url(f"{base_url}/orgs/acme/contacts/{ada}")
    missing = viewer.goto(f"{base_url}/orgs/acme/contacts/999999")
    assert missing is not None and missing.status == 404
