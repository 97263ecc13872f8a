"""The API's Swagger UI page works in a real browser under the strict Content-Security-Policy."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser import new_page

RECORD_VIOLATIONS = (
    "window.violations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " event => window.violations.push(event.violatedDirective + ' ' + event.blockedURI));"
)


def test_the_docs_page_renders_every_operation_without_a_policy_violation(browser, base_url):
    page = new_page(browser)
    page.add_init_script(RECORD_VIOLATIONS)
    foreign: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base_url) else foreign.append(r.url))

    page.goto(f"{base_url}/api/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    page.locator(".opblock-summary").first.click()
    page.get_by_role("button", name="Try it out").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()

    assert page.evaluate("window.violations") == []
    assert foreign == []
