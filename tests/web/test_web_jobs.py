"""The Jobs page in Chromium: staff see a failed delivery by ids and retry it; a customer is
refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from service.notifications.tasks import send_email
from tests.jobs import run_jobs
from tests.tickets.support import new_contact, raise_ticket
from tests.web.browser import ADMIN, STAFF, new_page, sign_in

pytestmark = pytest.mark.postgres_only

BUSY = "philippa.quorndon@acme.example"


def test_staff_retry_a_failed_delivery_from_the_jobs_page_and_customers_are_refused(
    app, client, factory, browser, base_url, shots, start_smtp, monkeypatch
):
    monkeypatch.setattr(send_email, "retry", None, raising=False)  # its retries spent at once
    factory.demo()
    inbox = start_smtp()
    inbox.refuse[BUSY] = "451 4.2.1 mailbox busy"
    reference = raise_ticket(client, factory.headers(ADMIN), [new_contact(email=BUSY)])
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    run_jobs(app)

    page = new_page(browser)
    sign_in(page, base_url, STAFF)
    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    failed = page.locator("#failed-jobs tbody tr")
    expect(failed).to_have_count(1)
    expect(failed.first).to_contain_text("DeliveryError")
    expect(failed.first).to_contain_text("Still to do")
    assert "philippa" not in page.content().lower()
    shots(page, "jobs")

    inbox.refuse.clear()
    failed.first.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text("is queued again")
    run_jobs(app)
    page.reload()
    expect(page.locator("#failed-jobs")).to_have_count(0)
    assert BUSY in {message["To"] for message in inbox.messages()}

    customer = new_page(browser)
    sign_in(customer, base_url, ADMIN)
    answer = customer.goto(f"{base_url}/jobs")
    assert answer is not None and answer.status == 403
    expect(customer.get_by_role("link", name="Jobs")).to_have_count(0)
