"""Who sees what, in a real browser: CSRF refusal, 404 for another organization, 403, 500."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service.accounts.service import Actor
from service.organizations.models import Organization
from service.web import ticket_pages
from tests.tickets.support import raise_ticket
from tests.web.browser import ADMIN, OUTSIDER, STAFF, VIEWER, new_page, sign_in


@pytest.fixture
def reference(factory):
    factory.demo()
    return raise_ticket(factory.client, factory.headers(ADMIN))


def test_a_form_posted_without_its_csrf_token_is_refused_with_a_400_page(
    app, browser, base_url, reference, shots
):
    page = new_page(browser)
    sign_in(page, base_url, ADMIN)
    page.goto(f"{base_url}/tickets/{reference}")
    page.get_by_label("Comment").fill("This should never be stored.")
    page.locator('form.comment-form input[name="csrf_token"]').evaluate("input => input.remove()")
    page.get_by_role("button", name="Comment").click()

    expect(page.get_by_role("heading", name="That did not work")).to_be_visible()
    expect(page.locator("main")).to_contain_text("security token is missing or expired")
    shots(page, "error-csrf")
    page.goto(f"{base_url}/tickets/{reference}")
    expect(page.locator(".timeline")).not_to_contain_text("This should never be stored.")

    # The pages' JSON calls need the token too (in the X-CSRFToken header).
    answer = page.request.post(
        f"{base_url}/web/orgs/acme/change-requests/validate",
        data={"base_version": 1, "changes": [{"op": "deactivate_contact", "contact_id": 4}]},
    )
    assert answer.status == 400
    assert answer.json()["code"] == "bad_request"


def test_another_organizations_pages_answer_404_like_missing_ones(
    browser, base_url, reference, shots
):
    page = new_page(browser)
    sign_in(page, base_url, OUTSIDER)
    expect(page).to_have_url(f"{base_url}/orgs/buyco/contacts")

    for path in ("/orgs/acme/contacts", f"/tickets/{reference}", "/orgs/no-such-org/contacts"):
        response = page.goto(f"{base_url}{path}")
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text("Acme")
    shots(page, "error-404")

    response = page.goto(f"{base_url}/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_a_customer_without_the_roles_for_a_page_gets_403(app, factory, browser, base_url, shots):
    factory.demo()
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    factory.contact(acme, "agnes.agreement@acme.example", ["agreement"], account="active")

    page = new_page(browser)
    sign_in(page, base_url, "agnes.agreement@acme.example")
    expect(page).to_have_url(f"{base_url}/account")
    expect(page.locator("main")).to_contain_text("nothing to do here yet")
    shots(page, "account-without-roles")
    for path in ("/orgs/acme/contacts", "/tickets"):
        response = page.goto(f"{base_url}{path}")
        assert response is not None and response.status == 403, path
        expect(
            page.get_by_role("heading", name="You do not have access to this page")
        ).to_be_visible()
    shots(page, "error-403")


def test_a_contact_who_may_only_view_sees_the_roster_read_only_and_cannot_submit(
    base_url, demo_page
):
    page = demo_page(VIEWER)
    expect(page).to_have_url(f"{base_url}/orgs/acme/contacts")
    expect(page.get_by_role("heading", name="Contacts and roles")).to_be_visible()
    expect(page.get_by_role("button", name="Add contact")).to_have_count(0)
    expect(page.locator("input.role-box")).to_have_count(0)
    expect(page.get_by_role("img", name="Holds Financial Contact")).to_have_count(1)

    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    body = {"base_version": 1, "changes": [{"op": "deactivate_contact", "contact_id": 4}]}
    for suffix in ("/validate", ""):
        answer = page.request.post(
            f"{base_url}/web/orgs/acme/change-requests{suffix}",
            data=body,
            headers={"X-CSRFToken": token},
        )
        assert answer.status == 403
        assert answer.json()["code"] == "forbidden"


def test_a_server_error_shows_a_plain_500_page_without_internals(
    browser, base_url, factory, monkeypatch, shots
):
    factory.demo()

    def broken(*, session, actor: Actor, filters):
        raise RuntimeError("database password is hunter2")

    page = new_page(browser)
    sign_in(page, base_url, STAFF)
    monkeypatch.setattr(ticket_pages.read_models, "list_tickets", broken)
    response = page.goto(f"{base_url}/tickets")
    assert response is not None and response.status == 500
    expect(page.get_by_role("heading", name="Something went wrong on our side")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("hunter2")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    shots(page, "error-500")
