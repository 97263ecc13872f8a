"""Amending a pending request with two admins, in Chromium at 1280x900 and 390x844: the second
admin finds the request on the contacts manager with a link and "Amend", finds its batch put
back in the editor, changes it and submits it as the ticket's next revision; staff see what the
revision changed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.demo_ids import contact_ids
from tests.tickets.support import OTHER_ADMIN, new_contact, raise_ticket
from tests.web.browser import ADMIN, STAFF, new_page, sign_in

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_second_admin_amends_the_pending_request(
    client, factory, browser, base_url, shots, viewport
):
    factory.demo()
    grace = contact_ids(factory)["grace.gill"]
    first = [
        new_contact(),
        {"op": "update_contact", "contact_id": grace, "fields": {"job_title": "Head of IT"}},
    ]
    reference = raise_ticket(client, factory.headers(ADMIN), first)

    page = new_page(browser, VIEWPORTS[viewport])
    sign_in(page, base_url, OTHER_ADMIN)
    page.goto(f"{base_url}/orgs/acme/contacts")
    banner = page.locator(".pending-banner")
    expect(banner.get_by_role("link", name=f"View {reference}")).to_be_visible()
    banner.get_by_role("link", name=f"Amend {reference}").click()

    expect(page.get_by_role("heading", name=f"Amending {reference} (revision 1)")).to_be_visible()
    expect(page.locator(".amend-lines summary")).to_have_text("2 changes of revision 1")
    # The pending batch is back in the editor: the new contact's card and Grace's edit.
    expect(page.locator("#change-count")).to_have_text("2")
    card = page.locator("fieldset.new-contact")
    expect(card.locator("legend")).to_contain_text("Nia New")
    expect(card.locator('input[data-role="technical"]')).to_be_checked()
    expect(page.locator("#check-status")).to_have_text("No problems found")
    boris = page.locator("tbody.contact", has_text="Boris Banks")
    boris.locator('input[data-role="technical"]').check()
    expect(page.locator("#change-count")).to_have_text("3")
    expect(page.locator("#check-status")).to_have_text("No problems found")
    shots(page, f"amend-{viewport}", full_page=False)
    page.get_by_role("button", name="Request Changes").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Submit request").click()
    expect(page.locator("#submitted")).to_be_visible()
    expect(page.locator("#submitted-link")).to_have_text(reference)

    page.goto(f"{base_url}/tickets/{reference}")
    expect(page.locator(".page-sub")).to_contain_text("revision 2")
    expect(page.locator(".timeline")).to_contain_text("amended the request (revision 2)")

    staff = new_page(browser, VIEWPORTS[viewport])
    sign_in(staff, base_url, STAFF)
    staff.goto(f"{base_url}/tickets/{reference}")
    diff = staff.locator(".revision-diff")
    expect(diff).to_contain_text("What revision 2 changed")
    expect(diff.locator(".diff-added")).to_contain_text(re.compile("Boris Banks"))
    expect(diff.locator(".diff-removed")).to_have_count(0)
    expect(staff.locator("section[aria-labelledby=changes-title]")).to_contain_text("Nia New")
