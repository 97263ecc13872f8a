"""Roles that explain themselves, in Chromium: a role column's info and the All roles page read
without JavaScript; a contact's details list their roles, required first; staff edit a role's
matrix (seeing first which organizations a newly required role leaves without a holder) and an
organization's seat limit and mandatory fields."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.web.browser import ADMIN, DESKTOP, SCRIPT_ERRORS, STAFF, new_page, sign_in


def page_without_javascript(browser: Browser) -> Page:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("pageerror", lambda error: SCRIPT_ERRORS.append(f"{page.url}: {error}"))
    return page


def test_role_info_and_all_roles_read_without_javascript(factory, browser, base_url, shots):
    factory.demo()
    page = page_without_javascript(browser)
    sign_in(page, base_url, ADMIN)
    page.goto(f"{base_url}/orgs/acme/contacts")
    header = page.locator("th[data-role='cust_admin']")
    info = header.locator("details.role-info")
    expect(info.locator(".role-info-body")).to_be_hidden()
    info.locator("summary").click()
    body = info.locator(".role-info-body")
    expect(body).to_be_visible()
    expect(body).to_contain_text("Contacts of customer organizations")
    expect(body).to_contain_text("Contacts: view and edit")
    expect(body).to_contain_text("Request implemented")
    expect(body).to_contain_text("Yes: at least one active contact must always hold it")
    shots(page, "role-info")

    body.get_by_role("link", name="Customer Administrator in All roles").click()
    assert page.url.endswith("/roles#role-cust_admin")
    card = page.locator("#role-cust_admin")
    expect(card.get_by_role("heading", name="Customer Administrator")).to_be_visible()
    contacts_row = card.locator("table.matrix tr", has_text="Contacts")
    expect(contacts_row.get_by_role("img", name="Yes", exact=True)).to_have_count(2)
    manager = page.locator("#role-main_manager")
    expect(manager).to_contain_text("Everything except delegations:edit, invoices:edit")
    expect(
        manager.locator("table.matrix tr", has_text="Delegated access").get_by_role(
            "img", name="No", exact=True
        )
    ).to_have_count(1)
    expect(page.get_by_role("link", name="New role")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit Customer Administrator")).to_have_count(0)
    shots(page, "all-roles")

    # With scripts, a contact's details list their roles, the required ones first.
    scripted = new_page(browser)
    sign_in(scripted, base_url, ADMIN)
    scripted.goto(f"{base_url}/orgs/acme/contacts")
    ada = scripted.locator("tbody.contact", has_text="Ada Ackland")
    ada.get_by_role("button", name="Ada Ackland").click()
    held = ada.locator(".contact-roles li")
    expect(held).to_have_text(["Customer Administrator Required", "Management"])


def test_staff_edit_a_roles_matrix_and_an_organizations_seat_limit(
    client, factory, browser, base_url, shots, demo_page
):
    page = demo_page(STAFF)
    page.get_by_role("link", name="Roles").click()
    page.get_by_role("link", name="Edit Technical Contact").click()
    page.get_by_label("Support: view").check()
    page.get_by_label("Contacts: view").uncheck()
    shots(page, "role-edit")
    page.get_by_role("button", name="Save role").click()
    expect(page.get_by_role("status")).to_contain_text("The role Technical Contact is saved.")
    support = page.locator("#role-technical table.matrix tr", has_text="Support")
    expect(support.get_by_role("img", name="Yes", exact=True)).to_have_count(2)
    staff = factory.headers(STAFF)
    roles = {r["code"]: r for r in client.get("/api/roles", headers=staff).get_json()["roles"]}
    assert roles["technical"]["permissions"] == ["support:manage", "support:view"]

    # Making a role required that no acme contact holds: the report comes before saving.
    page.get_by_role("link", name="Edit Main Manager").click()
    page.get_by_label("Required").check()
    page.get_by_role("button", name="Save role").click()
    report = page.locator("#required-report")
    expect(report).to_contain_text("leaves 1 organization without an active contact holding it")
    expect(report.get_by_role("listitem")).to_have_text(["acme"])
    roles = {r["code"]: r for r in client.get("/api/roles", headers=staff).get_json()["roles"]}
    assert roles["main_manager"]["required"] is False
    report.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_role("status")).to_contain_text("The role Main Manager is saved.")
    roles = {r["code"]: r for r in client.get("/api/roles", headers=staff).get_json()["roles"]}
    assert roles["main_manager"]["required"] is True
    assert roles["main_manager"]["grants_all"] is True

    page.get_by_role("link", name="Organizations").click()
    page.get_by_role("link", name="Settings of Acme Widgets plc").click()
    page.get_by_label("Seat limit").fill("25")
    page.get_by_label("Phone").check()
    page.get_by_label("Plan").select_option("premium")
    page.get_by_label("Resolution target (business hours)").fill("12")
    shots(page, "organization-settings")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text(
        "The settings of Acme Widgets plc are saved."
    )
    plan = client.get("/api/orgs/acme", headers=staff).get_json()
    assert plan["seat_limit"] == 25
    assert plan["required_fields"] == ["salutation", "first_name", "last_name", "email", "phone"]
    assert (plan["plan"], plan["sla_first_response_hours"], plan["sla_resolution_hours"]) == (
        "premium",
        None,
        12,
    )
    expect(page.get_by_label("Plan")).to_have_value("premium")
    page.goto(f"{base_url}/organizations")
    acme = page.locator("#organizations tr", has_text="Acme Widgets plc")
    expect(acme.locator(".org-plan")).to_have_text("Premium: 2 h / 12 h (overridden)")
    page.get_by_role("link", name="Settings of Acme Widgets plc").click()
    page.get_by_label("Resolution target (business hours)").fill("0")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_contain_text("Resolution target")
    assert client.get("/api/orgs/acme", headers=staff).get_json()["sla_resolution_hours"] == 12
    page.get_by_label("Resolution target (business hours)").fill("")
    page.get_by_label("Seat limit").fill("none")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_contain_text("Seat limit")
    assert client.get("/api/orgs/acme", headers=staff).get_json()["seat_limit"] == 25

    customer = new_page(browser)
    sign_in(customer, base_url, ADMIN)
    for path in ("/roles/technical/edit", "/roles/new", "/organizations", "/organizations/acme"):
        answer = customer.goto(f"{base_url}{path}")
        assert answer is not None and answer.status == 403, path
    expect(customer.get_by_role("link", name="Organizations")).to_have_count(0)
