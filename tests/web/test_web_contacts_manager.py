"""The contacts manager's editing in a real browser: every kind of change, keyboard, discard."""

from __future__ import annotations

import re

from playwright.sync_api import Response, expect

from tests.jobs import run_jobs
from tests.tickets.support import new_contact, raise_ticket
from tests.web.browser import ADMIN, STAFF, expect_review


def test_each_edit_becomes_one_item_of_the_batch_and_discard_undoes_them_all(demo_page):
    page = demo_page(ADMIN)
    count = page.locator("#change-count")

    # Keyboard only: tab to a contact, open its details, edit a field.
    boris = page.locator("tbody.contact", has_text="Boris Banks")
    toggle = boris.get_by_role("button", name="Boris Banks")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    phone = boris.get_by_label("Phone")
    phone.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("+44 20 7946 0999")
    expect(count).to_have_text("1")

    devon = page.locator("tbody.contact", has_text="Devon Tran")
    devon.get_by_role("button", name="Delete").click()
    expect(devon.get_by_role("button", name="Undo delete")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(devon.locator(".pending-chip")).to_have_text("Will be deleted")
    grace = page.locator("tbody.contact", has_text="Grace Gill")
    grace.get_by_role("button", name="Deactivate").click()
    expect(grace.locator(".pending-chip")).to_have_text("Will be deactivated")
    hugo = page.locator("tbody.contact", has_text="Hugo Hart")
    hugo.get_by_role("button", name="Reactivate").click()
    expect(count).to_have_text("4")
    expect_review(
        page,
        status="No problems found",
        lines=[
            "Change phone of Boris Banks",
            "Deactivate Grace Gill",
            "Reactivate Hugo Hart",
            "Delete Devon Tran and erase their personal data",
        ],
    )
    page.get_by_role("button", name="Keep editing").click()
    expect(page.get_by_role("dialog")).to_be_hidden()

    # Discarding asks first; keeping them changes nothing.
    page.get_by_role("button", name="Discard", exact=True).click()
    confirm = page.get_by_role("dialog", name=re.compile("Discard the 4 changes you prepared"))
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Keep them").click()
    expect(count).to_have_text("4")
    page.get_by_role("button", name="Discard", exact=True).click()
    confirm.get_by_role("button", name="Discard them").click()
    expect(count).to_have_text("0")
    expect(phone).to_have_value("+44 20 7946 0102")
    expect(devon.get_by_role("button", name="Delete")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".pending-chip:not(:empty)")).to_have_count(0)
    expect(page.get_by_role("button", name="Request Changes")).to_be_disabled()


def test_the_review_dialog_shows_the_servers_lines_for_the_batch(demo_page):
    page = demo_page(ADMIN)
    answers: list[Response] = []
    page.on(
        "response",
        lambda response: (
            answers.append(response) if "/change-requests/validate" in response.url else None
        ),
    )

    page.get_by_role("button", name="Add contact").click()
    new = page.locator("fieldset.new-contact")
    new.get_by_label("Salutation").select_option("Ms")
    new.get_by_label("First name").fill("Nia")
    new.get_by_label("Last name").fill("New")
    new.locator("input[data-field=email]").fill("nia.new@acme.example")
    new.locator('input.role-box[data-role="technical"]').check()
    boris = page.locator("tbody.contact", has_text="Boris Banks")
    boris.locator('input.role-box[data-role="agreement"]').check()
    page.get_by_label("Give another organization access").fill("BuyCo")
    # Worded by the server (service/requests/describe.py), as the ticket will word them: the
    # page knows the partner only by the slug typed, the server names the organization.
    expect_review(
        page,
        status="Ready, with 1 warning",
        lines=[
            "Add Nia New as Technical Contact",
            "Grant Agreement Contact to Boris Banks",
            "Let BuyCo Procurement manage this organization's contacts",
        ],
    )
    summaries = [line["summary"] for line in answers[-1].json()["changes"]]
    assert page.locator("#review-lines li").all_inner_texts() == summaries


def test_a_request_submitted_elsewhere_meanwhile_is_reported_in_the_action_bar(factory, demo_page):
    page = demo_page(ADMIN)
    raise_ticket(factory.client, factory.headers("frank.fischer@acme.example"), [new_contact()])

    page.locator("tbody.contact", has_text="Devon Tran").get_by_role(
        "button", name="Deactivate"
    ).click()
    problems = page.locator("#action-bar #problem-list")
    expect(problems).to_contain_text("already has an unfinished change request")
    expect(page.get_by_role("button", name="Request Changes")).to_be_disabled()


def test_delegated_access_is_granted_and_ended_in_the_batch(
    app, factory, base_url, shots, demo_page
):
    page = demo_page(ADMIN)
    panel = page.locator("#delegations")
    expect(panel).to_contain_text("No other organization manages these contacts.")
    request = page.get_by_role("button", name="Request Changes")

    # A name that is no organization is refused next to the field.
    grant = page.get_by_label("Give another organization access")
    grant.fill("no-such-org")
    expect(page.locator("#grant-delegate-error")).to_contain_text(
        "No purchaser organization has this short name"
    )
    expect(grant).to_have_attribute("aria-invalid", "true")
    expect(request).to_be_disabled()
    grant.fill("buyco")
    expect(page.locator("#check-status")).to_have_text("Ready, with 1 warning")
    expect(page.locator("#grant-delegate-error")).to_be_hidden()
    request.click()
    expect(page.locator("#review-lines li")).to_have_text(
        ["Let BuyCo Procurement manage this organization's contacts"]
    )
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#submitted")).to_be_visible()
    reference = page.locator("#submitted-link").inner_text()
    # While it waits, the read-only roster says what the request asks.
    page.goto(f"{base_url}/orgs/acme/contacts")
    expect(page.locator(".delegations li", has_text="buyco")).to_contain_text(
        "The request gives this organization access"
    )

    approved = factory.client.post(
        f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF)
    )
    assert approved.status_code == 202
    run_jobs(app)

    # Granted: listed with the ticket that granted it, and it can be ended the same way.
    page.goto(f"{base_url}/orgs/acme/contacts")
    delegate = panel.locator("li.delegate", has_text="buyco")
    expect(delegate).to_contain_text(reference)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    shots(page, "contacts-delegations", full_page=False)
    delegate.get_by_label("End this access").check()
    expect(page.locator("#change-count")).to_have_text("1")
    expect(page.locator("#check-status")).to_have_text("No problems found")
    request.click()
    expect(page.locator("#review-lines li")).to_have_text(
        ["End BuyCo Procurement's access to this organization's contacts"]
    )
