"""The staff queue in Chromium at 1280x900 and 390x844: the working view by default, what each
row says of its batch, and a saved view."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.tickets.support import new_contact, raise_ticket
from tests.web.browser import ADMIN, STAFF, STAFF2, new_page, sign_in

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_queue_opens_on_my_unfinished_work_and_keeps_a_saved_view(
    client, factory, browser, base_url, shots, viewport
):
    factory.demo()
    admin = factory.headers(ADMIN)
    finished = raise_ticket(client, admin)
    client.post(f"/api/tickets/{finished}/cancel", json={}, headers=admin)
    waiting = raise_ticket(
        client, admin, [new_contact(), new_contact("n2", "nico.new@acme.example")]
    )

    page = new_page(browser, VIEWPORTS[viewport])
    sign_in(page, base_url, STAFF)
    page.goto(f"{base_url}/tickets")
    expect(page.get_by_text("Your working view")).to_be_visible()
    rows = page.locator(".tickets-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(waiting)
    expect(rows.first).to_contain_text("2 changes")
    expect(rows.first).to_contain_text("2 adds")
    expect(rows.first).to_contain_text("0 of 1")
    expect(page.get_by_label("Status", exact=True)).to_have_value("unfinished")
    expect(page.get_by_label("Assignee", exact=True)).to_have_value("me_or_none")
    no_sideways_scroll(page)
    shots(page, f"queue-{viewport}")

    # Another staff member takes it: it leaves this one's working view.
    staff = factory.headers(STAFF)
    client.post(f"/api/tickets/{waiting}/assign", json={"assignee": STAFF2}, headers=staff)
    page.reload()
    expect(page.locator(".tickets-table tbody tr")).to_have_count(0)

    # Every request, finished first, saved as a view and opened again.
    page.get_by_label("Status", exact=True).select_option("")
    page.get_by_label("Assignee", exact=True).select_option("")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".tickets-table tbody tr")).to_have_count(2)
    page.get_by_label("Save these filters as a view").fill("Everything")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("status").first).to_contain_text("is saved")
    views = page.get_by_role("navigation", name="Views of the queue")
    expect(views.get_by_role("link", name="Everything")).to_have_attribute("aria-current", "page")
    expect(page.locator(".tickets-table tbody tr")).to_have_count(2)
    no_sideways_scroll(page)

    views.get_by_role("link", name="My work").click()
    expect(page.locator(".tickets-table tbody tr")).to_have_count(0)
    views.get_by_role("link", name="Everything").click()
    expect(page.locator(".tickets-table tbody tr").first).to_contain_text(finished)

    views.get_by_role("button", name="Delete the view Everything").click()
    expect(views.get_by_role("link", name="Everything")).to_have_count(0)
