"""The ticket page in Chromium at 1280x900 and 390x844: a 500-change batch in sections by kind,
approval of a batch that erases people only after a confirmation, "Comment" as the default, focus
on the field a refused form names, and a flash that agrees with the banner."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.tickets.support import STAFF
from tests.web.browser import new_page, sign_in

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
ADMIN = "admin@big.example"
KEPT = 10  # contacts that keep their place in the batch below
DELETED = 10


@pytest.fixture
def big_ticket(client, factory) -> str:
    """A ticket of 500 changes: 470 new contacts, 10 detail edits, 10 role grants and 10
    deletions (which need two approvals)."""
    factory.staff(STAFF)
    factory.staff("staff2@vendor.example")
    org_id = factory.org("big", name="Big Org")
    factory.contact(org_id, ADMIN, ["cust_admin", "financial"], account="active")
    kept = [
        factory.contact(org_id, f"kept{n}@big.example", ["technical"], last_name=f"Kept{n}")
        for n in range(KEPT)
    ]
    leaving = [
        factory.contact(org_id, f"gone{n}@big.example", ["technical"], last_name=f"Leaver{n}")
        for n in range(DELETED)
    ]
    changes: list[dict[str, Any]] = [
        {
            "op": "add_contact",
            "ref": f"n{n}",
            "contact": {
                "salutation": "Ms",
                "first_name": "New",
                "last_name": f"Person{n}",
                "email": f"new{n}@big.example",
            },
            "roles": ["technical"],
        }
        for n in range(470)
    ]
    changes += [
        {"op": "update_contact", "contact_id": c, "fields": {"job_title": "Lead"}} for c in kept
    ]
    changes += [{"op": "grant_role", "contact_id": c, "role": "agreement"} for c in kept]
    changes += [{"op": "delete_contact", "contact_id": c} for c in leaving]
    headers = factory.headers(ADMIN)
    version = client.get("/api/orgs/big/contacts", headers=headers).get_json()["version"]
    body = {"base_version": version, "changes": changes}
    answer = client.post("/api/orgs/big/change-requests", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["ticket"]["reference"])


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_500_change_ticket_is_grouped_confirmed_before_erasing_and_comments_by_default(
    browser, base_url, big_ticket, shots, viewport
):
    page = new_page(browser, VIEWPORTS[viewport])
    sign_in(page, base_url, STAFF)
    page.goto(f"{base_url}/tickets/{big_ticket}")
    groups = page.locator("details.change-group")
    expect(groups).to_have_count(4)
    expect(groups.nth(0).locator("summary")).to_have_text("New contacts 470")
    expect(page.locator("details.group-deletions summary")).to_contain_text("10")
    for n in range(4):
        expect(groups.nth(n)).not_to_have_attribute("open", "")
    # Closed sections: the comment box is within a couple of screens, not 100,000 px away.
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4 * VIEWPORTS[viewport]["height"], height
    page.locator("details.group-deletions summary").click()
    expect(page.locator("details.group-deletions li")).to_have_count(DELETED)
    shots(page, f"ticket-500-{viewport}")

    # A refused comment: the page comes back with the field focused and its error beside it.
    page.get_by_role("button", name="Send", exact=True).click()
    body = page.get_by_label("Comment", exact=True)
    expect(body).to_be_focused()
    expect(page.locator("#comment-body-error")).to_be_visible()
    expect(page.get_by_label("Comment to the customer")).to_be_checked()
    body.fill("Looking at the leavers now.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".flashes")).to_contain_text("Your comment is added")
    expect(page.locator(".ticket-title .badge")).to_have_text("Open")

    # Approving first shows whom the batch erases; nothing is recorded until confirmed.
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("heading", name="Approve and erase 10 contacts?")).to_be_visible()
    expect(page.locator(".erase-list li")).to_have_count(DELETED)
    expect(page.locator(".erase-list")).to_contain_text("Test Leaver0")
    shots(page, f"confirm-erase-{viewport}")
    page.get_by_role("link", name="Back to the ticket").click()
    expect(page.locator(".facts")).to_contain_text("0 of 2")
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_role("button", name="Approve and erase").click()
    expect(page.locator(".flashes")).to_contain_text("Another staff member must approve it too")
    expect(page.locator(".facts")).to_contain_text("1 of 2")


def test_the_flash_after_the_last_approval_agrees_with_the_banner(
    browser, base_url, big_ticket, client, factory
):
    client.post(f"/api/tickets/{big_ticket}/approve", headers=factory.headers(STAFF))
    page = new_page(browser, VIEWPORTS["desktop"])
    sign_in(page, base_url, "staff2@vendor.example")
    page.goto(f"{base_url}/tickets/{big_ticket}")
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_role("button", name="Approve and erase").click()
    flash = page.locator(".flashes")
    expect(flash).to_contain_text("Approved")
    banner = page.locator(".ticket-main > .alert .alert-title").first.inner_text()
    if banner == "Implemented":  # the embedded default applies it before the page comes back
        expect(flash).to_contain_text("every change is applied")
        expect(flash).not_to_contain_text("being applied")
    else:
        assert banner == "Applying the changes"
        expect(flash).to_contain_text("being applied")
