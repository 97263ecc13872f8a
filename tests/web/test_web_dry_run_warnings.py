"""The contacts manager shows the dry run's warnings before submitting: an admin deactivating
themselves reads that they lose the right to manage, and that the batch needs two approvals."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser import ADMIN


def test_the_review_warns_an_admin_who_deactivates_themselves(demo_page):
    page = demo_page(ADMIN)
    ada = page.locator("tbody.contact", has_text="Ada Ackland")
    ada.get_by_role("button", name="Deactivate").click()
    request = page.get_by_role("button", name="Request Changes")
    expect(request).to_be_enabled()
    request.click()
    warnings = page.locator("#review-warnings")
    expect(warnings).to_be_visible()
    expect(warnings).to_contain_text("you will lose the right to manage this organization")
    expect(warnings).to_contain_text("This needs two approvals")
    expect(warnings).to_contain_text("it takes a required role away from someone")


def test_the_delegation_picker_offers_purchasers_by_name_and_confirms_the_grant(demo_page):
    page = demo_page(ADMIN)
    options = page.locator("#delegate-options option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", "buyco")
    expect(options.first).to_have_attribute("label", "BuyCo Procurement (buyco) · purchaser")
    grant = page.get_by_label("Give another organization access")
    expect(grant).to_have_attribute("list", "delegate-options")
    grant.fill("acme")
    expect(page.locator("#grant-delegate-error")).to_contain_text("This is your own organization")
    grant.fill("buyco")
    request = page.get_by_role("button", name="Request Changes")
    expect(request).to_be_enabled()
    request.click()
    expect(page.locator("#review-warnings")).to_contain_text(
        "You are giving BuyCo Procurement (purchaser) the right to manage "
        "Acme Widgets plc's contacts"
    )
