"""Service levels on the pages, in Chromium: the queue's due column, its order and its "Due soon"
and "Overdue" filters (kept by a saved view), and the ticket page's targets, breached or paused."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from service.models_base import utcnow
from tests.tickets.support import raise_ticket
from tests.tickets.test_ticket_queue_sla import set_sla
from tests.web.browser import ADMIN, STAFF, new_page, sign_in
from tests.web.test_web_accessibility import AXE, violations

H = timedelta(hours=1)


def overdue_ticket(app, client, factory, resolution_in: timedelta) -> tuple[str, dict]:
    """A demo ticket whose first response was due an hour ago; its reference and requester."""
    factory.demo()
    admin = factory.headers(ADMIN)
    reference = raise_ticket(client, admin)
    now = utcnow()
    set_sla(app, reference, first_response_due=now - H, resolution_due=now + resolution_in)
    return reference, admin


def test_the_queue_shows_what_is_due_and_filters_overdue_and_due_soon(
    app, client, factory, browser, base_url, shots
):
    overdue_ticket(app, client, factory, 30 * H)
    page = new_page(browser)
    sign_in(page, base_url, STAFF)
    page.goto(f"{base_url}/tickets")
    row = page.locator(".tickets-table tbody tr").first
    expect(row.locator(".col-due")).to_contain_text("First response")
    expect(row.locator(".col-due .badge")).to_have_text("Overdue")

    page.get_by_label("Service level").select_option("overdue")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".tickets-table tbody tr")).to_have_count(1)
    expect(page.get_by_label("Service level")).to_have_value("overdue")
    shots(page, "queue-overdue")
    assert violations(AXE.run(page)) == []
    page.get_by_label("Service level").select_option("due_soon")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No request matches these filters.")).to_be_visible()

    # The due column sorts; the order is kept with the filters.
    page.get_by_label("Service level").select_option("overdue")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name="Due", exact=False).click()
    expect(page.locator("th.col-due")).to_have_attribute("aria-sort", "ascending")
    expect(page.get_by_label("Order")).to_have_value("due")
    expect(page.get_by_label("Service level")).to_have_value("overdue")
    page.get_by_label("Save these filters as a view").fill("Overdue first")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("status").first).to_contain_text("is saved")
    views = client.get("/api/tickets/views", headers=factory.headers(STAFF)).get_json()
    assert views["items"][0]["query"]["sla"] == "overdue"
    assert views["items"][0]["query"]["sort"] == "due"
    expect(page.get_by_label("Service level")).to_have_value("overdue")


def test_the_ticket_page_says_when_each_target_is_due_breached_and_paused(
    app, client, factory, browser, base_url, shots
):
    reference, admin = overdue_ticket(app, client, factory, 2 * H)
    page = new_page(browser)
    sign_in(page, base_url, STAFF)
    page.goto(f"{base_url}/tickets/{reference}")
    first = page.locator(".sla-target", has_text="First response due")
    resolution = page.locator(".sla-target", has_text="Resolution due")
    expect(first.locator(".badge")).to_have_text("Overdue")
    expect(resolution.locator(".badge")).to_have_text("Due soon")

    staff = factory.headers(STAFF)
    asked = client.post(
        f"/api/tickets/{reference}/comments",
        json={"body": "Which team?", "query": True},
        headers=staff,
    )
    assert asked.status_code == 201
    page.reload()
    expect(first).to_contain_text("Responded")
    expect(first.locator(".badge")).to_have_text("Overdue")  # it came late
    expect(resolution.locator(".badge")).to_have_text("Paused")
    expect(page.locator("#sla-paused")).to_contain_text("The clock is stopped")
    shots(page, "ticket-service-levels")
    assert violations(AXE.run(page)) == []

    # The customer sees the same due times; a finished ticket shows none.
    customer = new_page(browser)
    sign_in(customer, base_url, ADMIN)
    customer.goto(f"{base_url}/tickets/{reference}")
    expect(customer.locator(".sla-target")).to_have_count(2)
    client.post(f"/api/tickets/{reference}/cancel", json={}, headers=admin)
    customer.reload()
    expect(customer.locator(".sla-target")).to_have_count(0)
