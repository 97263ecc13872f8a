"""The whole story in a real browser: a batch from the contacts manager to an activated account.

An admin adds a contact, revokes the last holder of a required role and sees the inline error,
fixes it and requests the changes; staff find the request in the queue and ask a question; the
admin answers; two staff members approve (taking a required role away needs four eyes); the
worker applies it; the admin sees it implemented; the new contact opens the emailed link and
sets a password.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.jobs import run_jobs
from tests.web.browser import (
    ADMIN,
    PHONE,
    STAFF,
    STAFF2,
    emailed_link,
    new_page,
    sign_in,
)

# The one browser test that also runs on the PostgreSQL pass: the apply and the activation email
# go through real workers there.
pytestmark = pytest.mark.browser_on_postgres

NEW_CONTACT = "nina.newman@acme.example"
NEW_PASSWORD = "gentle harbour lantern 42"


def ticket_status(page: Page):
    return page.locator(".ticket-title .badge")


def test_admin_request_reviewed_applied_and_new_contact_activates(
    app, factory, browser, base_url, shots
):

    factory.demo()

    # The admin signs in and lands on the contacts manager.
    admin = new_page(browser)
    admin.goto(f"{base_url}/login")
    shots(admin, "sign-in")
    sign_in(admin, base_url, ADMIN)
    expect(admin).to_have_url(f"{base_url}/orgs/acme/contacts")
    expect(admin.get_by_role("heading", name="Contacts and roles")).to_be_visible()
    required = admin.locator("thead th.is-required")
    expect(required).to_have_count(2)
    expect(required.first).to_contain_text("Customer Administrator")
    shots(admin, "contacts-manager", full_page=False)

    # Add a contact, with details and a role.
    admin.get_by_role("button", name="Add contact").click()
    nina = admin.locator("fieldset.new-contact")
    expect(nina.get_by_label("Salutation")).to_be_focused()
    nina.get_by_label("Salutation").select_option("Ms")
    nina.get_by_label("First name").fill("Nina")
    nina.get_by_label("Last name").fill("Newman")
    nina.locator("input[data-field=email]").fill(NEW_CONTACT)
    nina.get_by_label("Job title").fill("Finance Lead")
    nina.locator('input[data-role="technical"]').check()
    expect(admin.locator("#check-status")).to_have_text("No problems found")
    expect(admin.locator("#change-count")).to_have_text("1")

    # Revoke the only active holder of a required role: the problem shows on that row.
    boris = admin.locator("tbody.contact", has_text="Boris Banks")
    boris.locator('input[data-role="financial"]').uncheck()
    financial = admin.locator('thead th[data-role="financial"]')
    expect(financial).to_contain_text("No active holder")
    issue = admin.locator(
        "#problem-list li", has_text="no active contact holding the required role Financial Contact"
    )
    expect(issue).to_contain_text("Boris Banks")
    expect(boris.locator('input[data-role="financial"]')).to_have_attribute("aria-invalid", "true")
    expect(admin.get_by_role("button", name="Request Changes")).to_be_disabled()
    shots(admin, "contacts-inline-error", full_page=False)

    # A field problem shows under its field.
    nina.locator("input[data-field=email]").fill("nina at acme")
    nina.locator("input[data-field=email]").blur()
    expect(nina.locator(".field-error").filter(has_text=re.compile(r"\w"))).to_be_visible()
    nina.locator("input[data-field=email]").fill(NEW_CONTACT)

    # Fix it: the new contact takes the financial role over, and Boris, who must keep a role
    # while active, becomes an agreement contact.
    nina.locator('input[data-role="financial"]').check()
    boris.locator('input[data-role="agreement"]').check()
    # Taking a required role from Boris is no problem, but the submitter is warned, before
    # submitting, that it asks for two approvals.
    expect(admin.locator("#check-status")).to_have_text("Ready, with 1 warning")
    expect(issue).to_have_count(0)
    expect(financial).to_contain_text("1 active holder")
    expect(admin.locator("#change-count")).to_have_text("3")

    admin.get_by_role("button", name="Request Changes").click()
    dialog = admin.get_by_role("dialog")
    expect(dialog).to_contain_text("Add Nina Newman as Financial Contact, Technical Contact")
    expect(dialog).to_contain_text("Revoke Financial Contact from Boris Banks")
    expect(dialog).to_contain_text("This needs two approvals")
    dialog.get_by_label("Note to the reviewer").fill("Nina takes finance over from Boris.")
    shots(admin, "contacts-review-dialog", full_page=False)
    dialog.get_by_role("button", name="Submit request").click()

    confirmation = admin.locator("#submitted")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_be_focused()
    reference = admin.locator("#submitted-link").inner_text()
    assert re.fullmatch(r"CR-\d{6}", reference)
    shots(admin, "contacts-submitted")
    admin.locator("#submitted-link").click()
    expect(admin).to_have_url(f"{base_url}/tickets/{reference}")
    expect(ticket_status(admin)).to_have_text("Open")
    expect(admin.locator("section[aria-labelledby=changes-title]")).to_contain_text(
        "Revoke Financial Contact from Boris"
    )

    # While it waits, the roster is read-only: current and requested roles side by side.
    admin.goto(f"{base_url}/orgs/acme/contacts")
    expect(admin.get_by_role("link", name=f"View {reference}")).to_be_visible()
    expect(admin.get_by_role("button", name="Add contact")).to_have_count(0)
    nina_row = admin.get_by_role("row", name=re.compile("Nina Newman"))
    expect(nina_row).to_contain_text("New contact")
    expect(admin.get_by_role("row", name=re.compile("Boris Banks"))).to_contain_text("(removed)")
    shots(admin, "contacts-pending")

    # Staff find it in the queue and ask a question.
    staff = new_page(browser)
    sign_in(staff, base_url, STAFF)
    expect(staff).to_have_url(f"{base_url}/tickets")
    row = staff.get_by_role("row", name=re.compile(reference))
    expect(row).to_contain_text("Acme Widgets plc")
    expect(row).to_contain_text("Open")
    shots(staff, "review-queue")
    row.get_by_role("link", name=reference).click()
    staff.get_by_role("button", name="Assign to me").click()
    expect(staff.locator(".flashes")).to_contain_text(f"Assigned to {STAFF}")
    staff.get_by_label("Comment", exact=True).fill(
        "Is Nina replacing Boris as the financial contact?"
    )
    staff.get_by_label("Question for the customer").check()
    staff.get_by_role("button", name="Send", exact=True).click()
    expect(ticket_status(staff)).to_have_text("Awaiting customer")

    # The admin answers.
    admin.goto(f"{base_url}/tickets/{reference}")
    expect(admin.locator(".tl-comment.is-query")).to_contain_text("Is Nina replacing Boris")
    admin.get_by_label("Comment").fill("Yes: Boris moves to another team next month.")
    shots(admin, "ticket-customer")
    admin.get_by_role("button", name="Send answer").click()
    expect(ticket_status(admin)).to_have_text("Open")

    # Two different staff members approve; the worker applies the batch.
    staff.reload()
    expect(staff.locator(".timeline")).to_contain_text("Boris moves to another team")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator(".flashes")).to_contain_text("Another staff member must approve")
    expect(ticket_status(staff)).to_have_text("Open")
    shots(staff, "ticket-staff")

    second = new_page(browser)
    sign_in(second, base_url, STAFF2)
    second.goto(f"{base_url}/tickets/{reference}")
    second.get_by_role("button", name="Approve").click()
    expect(second.locator(".flashes")).to_contain_text("Approved")
    run_jobs(app)
    second.reload()
    expect(ticket_status(second)).to_have_text("Implemented")

    # The admin sees it implemented, and the new contact on the roster.
    admin.reload()
    expect(ticket_status(admin)).to_have_text("Implemented")
    expect(admin.locator(".timeline")).to_contain_text("applied every change")
    shots(admin, "ticket-implemented")
    admin.goto(f"{base_url}/orgs/acme/contacts")
    expect(admin.locator("tbody.contact", has_text="Nina Newman")).to_be_visible()
    expect(
        admin.locator("tbody.contact", has_text="Boris Banks").locator(
            'input[data-role="financial"]'
        )
    ).not_to_be_checked()
    # Nina has not activated yet: her invitation is listed, to send again or revoke.
    admin.get_by_role("link", name="Invitations").click()
    invitation = admin.get_by_role("row", name=re.compile("Nina Newman"))
    expect(invitation).to_contain_text("Pending")
    expect(invitation.get_by_role("button", name="Send a new link to Nina Newman")).to_be_visible()
    shots(admin, "invitations")
    phone = new_page(browser, PHONE)
    phone.context.add_cookies(admin.context.cookies())
    phone.goto(f"{base_url}/orgs/acme/contacts")
    shots(phone, "contacts-phone", full_page=False)

    # The new contact opens the emailed link and sets a password.
    link = emailed_link(app, NEW_CONTACT)
    newcomer = new_page(browser)
    newcomer.goto(f"{base_url}{link}")
    expect(newcomer.get_by_role("heading", name="Activate your account")).to_be_visible()
    shots(newcomer, "activate")
    newcomer.get_by_label("New password").fill("too short")
    newcomer.get_by_label("Repeat the password").fill("too short")
    newcomer.get_by_role("button", name="Set your password").click()
    expect(newcomer.locator(".field-error")).to_contain_text("at least 12 characters")
    # A refused password leaves the link usable.
    newcomer.get_by_label("New password").fill(NEW_PASSWORD)
    newcomer.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    newcomer.get_by_role("button", name="Set your password").click()
    expect(newcomer.locator(".flashes")).to_contain_text("Your password is set")
    expect(newcomer).to_have_url(f"{base_url}/orgs/acme/contacts")
    expect(newcomer.get_by_role("button", name="Add contact")).to_have_count(0)

    # The link worked once: opened again, its page says so at once, without a form.
    newcomer.goto(f"{base_url}{link}")
    expect(newcomer.get_by_role("heading", name="This link is not valid any more")).to_be_visible()
    expect(newcomer.get_by_label("New password")).to_have_count(0)
    shots(newcomer, "link-not-valid")

    # And the password signs in.
    later = new_page(browser)
    sign_in(later, base_url, NEW_CONTACT, NEW_PASSWORD)
    expect(later).to_have_url(f"{base_url}/orgs/acme/contacts")
