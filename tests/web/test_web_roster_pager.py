"""The contacts manager's pager and columns, in Chromium: a page opened from an address with a
cursor says where it is and pages back from there, and the actions stay on screen at 1280 px."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.browser import new_page, sign_in

BIG_ADMIN = "admin@bigco.example"
DASH = "\N{EN DASH}"


def third_page_address(page, base_url: str) -> str:
    """The address of the roster's third page, as its links give it (without JavaScript)."""
    response = page.request.get(f"{base_url}/orgs/bigco/contacts")
    for _ in range(2):
        found = re.search(r'rel="next" href="([^"]+)"', response.text())
        assert found
        response = page.request.get(base_url + found.group(1).replace("&amp;", "&"))
    return response.url


def test_a_page_opened_from_its_address_counts_and_pages_back_from_there(bigco, browser, base_url):
    page = new_page(browser)
    sign_in(page, base_url, BIG_ADMIN)
    address = third_page_address(page, base_url)
    assert "cursor=" in address

    # Without the script, the page says where it is and links to the page before it.
    html = page.request.get(address).text()
    assert f"101{DASH}150 of 508 contacts" in html
    assert 'rel="prev"' in html

    page.goto(address)
    expect(page.locator("#roster-editor")).to_have_attribute("data-ready", "true")
    summary = page.locator("#roster-summary")
    previous = page.get_by_role("button", name="Previous page")
    expect(summary).to_have_text(f"101{DASH}150 of 508 contacts")
    previous.click()
    expect(summary).to_have_text(f"51{DASH}100 of 508 contacts")
    previous.click()
    expect(summary).to_have_text(f"1{DASH}50 of 508 contacts")
    expect(previous).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    expect(summary).to_have_text(f"51{DASH}100 of 508 contacts")
    page.context.close()


def test_the_actions_stay_on_screen_at_1280_pixels(bigco, browser, base_url):
    page = new_page(browser, {"width": 1280, "height": 900})
    sign_in(page, base_url, BIG_ADMIN)
    expect(page.locator("#roster-editor")).to_have_attribute("data-ready", "true")
    scroller = page.locator(".table-wrap.roster-scroll")
    actions = page.locator("#roster-table tbody.contact .col-actions").first.locator("button")
    expect(actions).to_have_count(2)
    # Scrolled as far right or left as it goes, the row's buttons are inside the visible box.
    for to in ("scrollWidth", "0"):
        scroller.evaluate(f"(el) => {{ el.scrollLeft = {'el.scrollWidth' if to != '0' else 0}; }}")
        # The box the roster is seen through, without its scroll bar.
        left, right = scroller.evaluate(
            "(el) => { const r = el.getBoundingClientRect();"
            " return [r.left + el.clientLeft, r.left + el.clientLeft + el.clientWidth]; }"
        )
        for button in actions.all():
            box = button.bounding_box()
            assert box
            assert box["x"] >= left - 1, to
            assert box["x"] + box["width"] <= right + 1, to
    page.context.close()
