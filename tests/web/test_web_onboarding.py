"""Onboarding in Chromium: staff create an organization with its first administrator, rename
and close it, add and deactivate staff; the first administrator activates from the email;
people without the right are refused."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser import ADMIN, PHONE, STAFF, emailed_link, new_page, sign_in

STAFF2 = "staff2@vendor.example"
FIRST_ADMIN = "gina.green@greenco.example"


def test_staff_onboard_rename_and_close_an_organization_in_the_pages(
    app, browser, base_url, shots, demo_page
):
    page = demo_page(STAFF)
    page.get_by_role("link", name="Organizations").click()
    expect(page.get_by_role("heading", name="Organizations", exact=True)).to_be_visible()
    expect(page.locator("#organizations")).to_contain_text("Acme Widgets plc")

    form = page.locator("form", has=page.get_by_role("button", name="Create organization"))
    form.get_by_label("Full name").fill("GreenCo Energy")
    form.get_by_label("Short name").fill("Green Co")
    form.get_by_label("Seat limit").fill("8")
    form.get_by_label("First name").fill("Gina")
    form.get_by_label("Last name").fill("Green")
    form.get_by_label("Email").fill(STAFF2)
    form.get_by_role("button", name="Create organization").click()
    # Each refusal beside its field, what was typed kept.
    expect(page.locator("#slug-error")).to_be_visible()
    page.get_by_label("Short name").fill("greenco")
    page.get_by_role("button", name="Create organization").click()
    expect(page.locator("#admin_email-error")).to_contain_text("staff account has this email")
    page.get_by_label("Email").fill(FIRST_ADMIN)
    shots(page, "organizations")
    page.get_by_role("button", name="Create organization").click()

    expect(page.get_by_role("status")).to_contain_text("GreenCo Energy is onboarded")
    expect(page.get_by_role("heading", name="GreenCo Energy")).to_be_visible()
    page.get_by_label("New name").fill("GreenCo Power")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="GreenCo Power")).to_be_visible()

    # The first administrator activates from the email and sees the organization's contacts.
    admin = new_page(browser)
    admin.goto(base_url + emailed_link(app, FIRST_ADMIN))
    admin.get_by_label("New password").fill("green and long enough 1")
    admin.get_by_label("Repeat the password").fill("green and long enough 1")
    admin.get_by_role("button", name="Set your password").click()
    expect(admin).to_have_url(f"{base_url}/orgs/greenco/contacts")
    expect(admin.locator("main")).to_contain_text("Gina")

    page.get_by_text("Close GreenCo Power").click()
    page.get_by_role("button", name="Close organization").click()
    expect(page.locator("#close-confirm-error")).to_be_visible()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Close organization").click()
    expect(page.get_by_role("status")).to_contain_text("is closed")
    expect(page.locator("#org-status")).to_contain_text("Closed")
    shots(page, "organization-closed")


def test_staff_with_staff_manage_add_and_deactivate_staff_and_others_are_refused(
    app, factory, browser, base_url
):
    factory.demo()
    page = new_page(browser, PHONE)
    sign_in(page, base_url, STAFF)
    page.goto(f"{base_url}/staff")
    expect(page.get_by_role("heading", name="Staff accounts")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_label("Email").fill("new.reviewer@vendor.example")
    page.get_by_role("button", name="Add staff account").click()
    expect(page.get_by_role("status")).to_contain_text("activation link was sent")
    expect(page.locator("#staff-accounts")).to_contain_text("new.reviewer@vendor.example")
    assert emailed_link(app, "new.reviewer@vendor.example").startswith("/activate/")
    page.get_by_role("button", name=f"Deactivate {STAFF2}").click()
    expect(page.get_by_role("status")).to_contain_text("deactivated")
    expect(page.get_by_role("button", name=f"Deactivate {STAFF}")).to_have_count(0)

    reviewer = new_page(browser)
    sign_in(reviewer, base_url, "staff@vendor.example")
    customer = new_page(browser)
    sign_in(customer, base_url, ADMIN)
    for path in ("/organizations", "/organizations/acme", "/staff"):
        answer = customer.goto(f"{base_url}{path}")
        assert answer is not None and answer.status == 403, path
    expect(customer.get_by_role("link", name="Organizations")).to_have_count(0)
    missing = reviewer.goto(f"{base_url}/organizations/no-such-org")
    assert missing is not None and missing.status == 404
