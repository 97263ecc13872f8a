"""Small things a careful reviewer found, each held in Chromium: the signed-out flash above the
sign-in card, the queue filters' Clear inside its box, focus kept after Discard, and the
invitations page fitting a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser import ADMIN, DESKTOP, PHONE, STAFF, new_page, sign_in

VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_signed_out_flash_stands_above_the_sign_in_card(factory, browser, base_url, viewport):
    factory.demo()
    page = new_page(browser, VIEWPORTS[viewport])
    sign_in(page, base_url, ADMIN)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    flash, card = box(page, ".flashes"), box(page, ".auth-card")
    assert flash["y"] + flash["height"] <= card["y"], (flash, card)
    assert abs(flash["x"] - card["x"]) < 1 and abs(flash["width"] - card["width"]) < 1
    no_sideways_scroll(page)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_queue_filters_clear_stays_inside_the_filters(factory, browser, base_url, viewport):
    factory.demo()
    page = new_page(browser, VIEWPORTS[viewport])
    sign_in(page, base_url, STAFF)
    page.goto(f"{base_url}/tickets?status=open&q=acme&sort=-created_at")
    clear = page.get_by_role("link", name="Clear")
    expect(clear).to_be_visible()
    assert inside(box(page, "form.filters >> text=Clear"), box(page, "form.filters"))
    assert inside(box(page, ".filters-actions"), box(page, "form.filters"))
    no_sideways_scroll(page)


def test_focus_stays_on_the_page_after_discard(demo_page):
    page = demo_page(ADMIN)
    devon = page.locator("tbody.contact", has_text="Devon Tran")
    devon.get_by_role("button", name="Delete").click()
    discard = page.get_by_role("button", name="Discard", exact=True)
    expect(discard).to_be_enabled()
    discard.click()
    page.get_by_role("button", name="Discard them").click()
    expect(discard).to_be_disabled()
    # The disabled button cannot hold focus: it moves to a control, never to <body>.
    assert page.evaluate("document.activeElement !== document.body")
    assert page.evaluate("document.activeElement.matches('button, a, input, select, [tabindex]')")


def test_the_invitations_page_fits_a_phone(factory, browser, base_url):
    factory.demo()
    page = new_page(browser, PHONE)
    sign_in(page, base_url, ADMIN)
    page.goto(f"{base_url}/orgs/acme/invitations")
    expect(page.locator("table").first).to_contain_text("carla.conti@acme.example")
    no_sideways_scroll(page)
