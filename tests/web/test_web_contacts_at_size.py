"""The contacts manager at 5,000 contacts, in Chromium: search, pages, a new contact, grants
and revokes on different pages kept in one batch, submit, and the pending view paged the same
way; nothing on the page moves while editing (layout shifts measured by the browser itself).
Without JavaScript the roster is read-only and still searches and pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from service.demo import seed_large
from service.extensions import db
from tests.factories import PASSWORD
from tests.web.browser import ADMIN, new_page, review_lines, sign_in

BIG_ADMIN = "admin@bigco.example"
CONTACTS = 5000
DASH = "\N{EN DASH}"
FIRST_PAGE = f"1{DASH}50 of 5,000 contacts"
CHECKED = re.compile("No problems found|to fix")

# Every layout shift the page makes that no input of the person caused (`hadRecentInput`
# false), kept for the test to read: what "the page moved under the pointer" means.
WATCH_SHIFTS = """
window.unexpectedShifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput && entry.value > 0) {
      window.unexpectedShifts.push({
        value: entry.value,
        sources: (entry.sources || []).map((s) => s.node ? s.node.outerHTML.slice(0, 120) : ""),
      });
    }
  }
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.fixture
def bigco(app):
    with app.app_context():
        seed_large(session=db.session, slug="bigco", contacts=CONTACTS, password=PASSWORD)
        db.session.commit()


def shifts(page: Page) -> list[dict]:
    return page.evaluate("window.unexpectedShifts.splice(0)")


def contact_name(row) -> str:
    return row.locator(".contact-name").inner_text()


def pinned(page: Page, candidates) -> Locator:
    """The first of `candidates`, pinned by its contact id (a filter stops matching it once
    the row is edited)."""
    contact_id = candidates.first.get_attribute("data-contact-id")
    return page.locator(f'#roster-table tbody.contact[data-contact-id="{contact_id}"]')


def test_five_thousand_contacts_search_page_edit_across_pages_and_submit(
    bigco, browser, base_url, shots
):
    page = new_page(browser, {"width": 1280, "height": 900})
    page.add_init_script(WATCH_SHIFTS)
    sign_in(page, base_url, BIG_ADMIN)
    assert page.evaluate("PerformanceObserver.supportedEntryTypes.includes('layout-shift')")
    expect(page.locator("#roster-editor")).to_have_attribute("data-ready", "true")
    rows = page.locator("#roster-table tbody.contact")
    summary = page.locator("#roster-summary")
    count = page.locator("#change-count")
    expect(rows).to_have_count(50)
    expect(summary).to_have_text(FIRST_PAGE)
    # A contact's fields exist only once its row is opened.
    expect(page.locator("#roster-table [data-field]")).to_have_count(0)
    shifts(page)

    # Grant on the first page.
    granted = pinned(
        page,
        page.locator(
            '#roster-table tbody.contact:has(input[data-role="technical"]:not(:checked))'
        ).filter(has_not_text=BIG_ADMIN),
    )
    granted_name = contact_name(granted)
    granted.locator('input[data-role="technical"]').check()
    expect(granted.locator(".pending-chip")).to_have_text("1 change")
    expect(count).to_have_text("1")
    expect(page.locator("#check-status")).to_have_text(CHECKED)
    assert shifts(page) == []

    # Revoke on the second page: the first page's change stays in the batch.
    page.get_by_role("button", name="Next page").click()
    expect(summary).to_have_text(f"51{DASH}100 of 5,000 contacts")
    shifts(page)  # paging may move the page; editing must not
    revoked = pinned(
        page, page.locator('#roster-table tbody.contact:has(input[data-role="agreement"]:checked)')
    )
    revoked_name = contact_name(revoked)
    revoked.locator('input[data-role="agreement"]').uncheck()
    expect(count).to_have_text("2")
    expect(page.locator("#check-status")).to_have_text(CHECKED)
    assert shifts(page) == []

    # Search as you type, and edit a field of a contact found.
    search = page.get_by_label("Search")
    search.press_sequentially("admin@bigco", delay=20)
    expect(rows).to_have_count(1)
    expect(summary).to_have_text(f"1{DASH}1 of 1 contact")
    shifts(page)
    admin_row = rows.first
    admin_row.locator("button.disclosure").click()
    admin_row.get_by_label("Job title").fill("Head of Procurement")
    expect(count).to_have_text("3")
    expect(page.locator("#check-status")).to_have_text("No problems found")
    assert shifts(page) == []
    admin_row.locator("[data-field='email']").fill("not an address")
    problem = page.locator("#problem-list a").first
    expect(problem).to_contain_text("email")
    expect(count).to_have_text("3")

    # Back to the whole roster: the first page's grant is still shown where it was made.
    search.fill("")
    expect(summary).to_have_text(FIRST_PAGE)
    again = granted
    expect(again.locator('input[data-role="technical"]')).to_be_checked()
    expect(again.locator(".pending-chip")).to_have_text("1 change")

    # "Has a pending change" lists exactly the contacts the batch changes, from every page.
    page.get_by_label("Has a pending change").check()
    expect(rows).to_have_count(3)
    expect(revoked).to_have_count(1)
    expect(revoked.locator('input[data-role="agreement"]')).not_to_be_checked()
    page.get_by_label("Has a pending change").uncheck()
    expect(summary).to_have_text(FIRST_PAGE)

    # A problem is a link in the action bar that reaches its field, from another page too.
    page.get_by_role("button", name="Next page").click()
    expect(summary).to_have_text(f"51{DASH}100 of 5,000 contacts")
    problem.click()
    expect(page.get_by_label("Has a pending change")).to_be_checked()
    focused = page.locator("#roster-table [data-field='email']:focus")
    expect(focused).to_have_attribute("aria-invalid", "true")
    focused.fill(BIG_ADMIN)
    expect(page.locator("#problem-list li")).to_have_count(0)
    expect(page.locator("#check-status")).to_have_text("No problems found")
    page.get_by_label("Has a pending change").uncheck()
    expect(summary).to_have_text(FIRST_PAGE)

    # "Add contact" opens above the list, and its fields are checked only once left.
    page.get_by_role("button", name="Add contact").click()
    new = page.locator("fieldset.new-contact")
    expect(new.get_by_label("Salutation")).to_be_focused()
    table_top = page.locator("#roster-table").bounding_box()
    new_box = new.bounding_box()
    assert table_top and new_box and new_box["y"] < table_top["y"]
    expect(page.locator("#check-status")).not_to_have_text("Checking your changes…")
    expect(new.locator(".field-error:not(:empty)")).to_have_count(0)
    new.locator("input[data-field=email]").fill("not an address")
    new.locator("input[data-field=email]").blur()
    expect(new.locator("#f-n1-email-error")).not_to_be_empty()
    expect(page.locator("#problem-list a", has_text="New contact")).not_to_have_count(0)
    new.get_by_label("Salutation").select_option("Ms")
    new.get_by_label("First name").fill("Nadia")
    new.get_by_label("Last name").fill("Newcombe")
    new.locator("input[data-field=email]").fill("nadia.newcombe@bigco.example")
    new.get_by_label("Technical Contact").check()
    expect(page.locator("#check-status")).to_have_text("No problems found")
    expect(count).to_have_text("4")
    shifts(page)

    # Editing moves nothing: the chips, the field slots, the counts in the headers and the
    # action bar keep their places while the server's answers come and go.
    box = rows.nth(3).locator('input[data-role="management"]')
    box.click()
    expect(page.locator("#check-status")).to_have_text(CHECKED)
    box.click()
    expect(count).to_have_text("4")
    expect(page.locator("#check-status")).to_have_text("No problems found")
    page.wait_for_timeout(600)
    assert shifts(page) == []

    # A focused checkbox of the last row is not hidden under the sticky action bar.
    last = rows.last.locator("input.role-box").first
    last.focus()
    bar = page.locator("#action-bar").bounding_box()
    focused = last.bounding_box()
    assert bar and focused and focused["y"] + focused["height"] <= bar["y"]
    shots(page, "contacts-manager-5000", full_page=False)

    lines = review_lines(page)
    expect(lines).to_have_count(4)
    expect(page.get_by_role("dialog")).to_contain_text(f"Grant Technical Contact to {granted_name}")
    expect(page.get_by_role("dialog")).to_contain_text(
        f"Revoke Agreement Contact from {revoked_name}"
    )
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#submitted")).to_be_visible()
    # Issue 16: `[hidden]` used to lose to `.btn { display: inline-flex }`.
    expect(page.get_by_role("button", name="Add contact")).to_be_hidden()
    expect(page.locator("#action-bar")).to_be_hidden()

    # The pending view pages the same way, and lists what the request changes.
    page.goto(f"{base_url}/orgs/bigco/contacts")
    expect(page.locator(".pending-banner")).to_be_visible()
    table_rows = page.locator(".side-by-side tbody tr")
    expect(table_rows).to_have_count(51)  # a page of 50, and the new contact on the first
    expect(page.locator("#roster-summary")).to_contain_text("of 5,000 contacts")
    page.get_by_role("link", name="Next page").click()
    expect(table_rows).to_have_count(50)
    page.get_by_label("Only what the request changes").check()
    page.get_by_role("button", name="Search").click()
    expect(table_rows).to_have_count(4)
    expect(page.locator(".side-by-side")).to_contain_text("Nadia Newcombe")
    expect(page.locator(".side-by-side")).to_contain_text(revoked_name)


def test_without_javascript_the_roster_is_read_only_and_still_searches(factory, browser, base_url):
    factory.demo()
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/orgs/acme/contacts")
    expect(page.locator("noscript").first).to_be_attached()
    # No control that would do nothing.
    expect(page.locator("input.role-box")).to_have_count(0)
    expect(page.get_by_role("button", name="Add contact")).to_be_hidden()
    expect(page.get_by_role("button", name="Request Changes")).to_be_hidden()
    expect(page.get_by_label("Give another organization access")).to_be_hidden()
    expect(page.get_by_role("img", name="Holds Financial Contact")).to_have_count(1)
    # Search and filters are a plain form.
    page.get_by_label("Search").fill("bor")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=bor"))
    expect(page.locator("tbody.contact")).to_have_count(1)
    expect(page.locator("tbody.contact")).to_contain_text("Boris Banks")
    context.close()
