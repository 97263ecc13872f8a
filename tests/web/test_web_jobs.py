"""The Jobs page in Chromium: staff see a failed job by ids and retry it; a customer is refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service.notifications.models import Email
from tests.jobs import fail_job, run_jobs
from tests.web.browser import ADMIN, STAFF, new_page, sign_in

pytestmark = pytest.mark.postgres_only


def test_staff_retry_a_failed_job_from_the_jobs_page_and_customers_are_refused(
    app, client, factory, browser, base_url, shots, start_smtp
):
    factory.demo()
    inbox = start_smtp()
    # A password reset's delivery failed, as a worker leaves a job when the database was away.
    assert client.post("/api/password-reset", json={"email": ADMIN}).status_code == 202
    email_id = factory.scalar(select(Email.id).where(Email.template == "password_reset"))
    fail_job(app, f"email-{email_id}", "OperationalError")

    page = new_page(browser)
    sign_in(page, base_url, STAFF)
    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    failed = page.locator("#failed-jobs tbody tr")
    expect(failed).to_have_count(1)
    expect(failed.first).to_contain_text("OperationalError")
    expect(failed.first).to_contain_text("Still to do")
    assert ADMIN not in page.content().lower()
    shots(page, "jobs")

    failed.first.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text("is queued again")
    run_jobs(app)
    page.reload()
    expect(page.locator("#failed-jobs")).to_have_count(0)
    assert ADMIN in {message["To"] for message in inbox.messages()}

    customer = new_page(browser)
    sign_in(customer, base_url, ADMIN)
    answer = customer.goto(f"{base_url}/jobs")
    assert answer is not None and answer.status == 403
    expect(customer.get_by_role("link", name="Jobs")).to_have_count(0)
