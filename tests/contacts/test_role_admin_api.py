"""Role catalog administration by staff: create, change, and what a new required role means."""

from __future__ import annotations

import pytest

from tests.jobs import outbox, run_jobs
from tests.tickets.support import OTHER_ADMIN, REQUESTER, STAFF, raise_ticket

ROLE = {
    "code": "security",
    "name": "Security Contact",
    "audience": "customer",
    "permissions": ["security:view", "incidents:manage"],
    "emails": ["security_advisory"],
    "required": False,
}


@pytest.fixture
def staff(factory):
    factory.demo()
    return factory.headers(STAFF)


def test_staff_add_a_role_and_everyone_sees_it_in_the_catalog(client, factory, staff):
    created = client.post("/api/roles", json=ROLE, headers=staff)
    assert created.status_code == 201
    assert created.get_json()["violations"] == []
    catalog = client.get("/api/roles", headers=factory.headers(REQUESTER)).get_json()["roles"]
    assert {**ROLE, "permissions": sorted(ROLE["permissions"])}.items() <= next(
        r for r in catalog if r["code"] == "security"
    ).items()
    assert client.post("/api/roles", json=ROLE, headers=staff).get_json()["code"] == "role_exists"


def test_making_a_role_required_reports_every_organization_without_a_holder(client, staff):
    client.post("/api/roles", json=ROLE, headers=staff)
    changed = client.patch("/api/roles/security", json={"required": True}, headers=staff)
    assert changed.status_code == 200
    assert changed.get_json()["required"] is True
    assert changed.get_json()["violations"] == ["acme"]
    partner = client.patch("/api/roles/partner_admin", json={"required": True}, headers=staff)
    assert partner.get_json()["violations"] == []


def test_bad_role_definitions_are_refused_with_paths(client, staff):
    bad = {**ROLE, "permissions": ["security:own"], "code": "Bad Code"}
    response = client.post("/api/roles", json=bad, headers=staff)
    assert response.status_code == 422
    assert {e["path"] for e in response.get_json()["errors"]} == {"permissions/0", "code"}
    unknown = client.patch(
        "/api/roles/technical", json={"incompatible_with": ["nope"]}, headers=staff
    )
    assert unknown.status_code == 422
    assert client.patch("/api/roles/nope", json={"name": "x"}, headers=staff).status_code == 404


def test_a_dry_run_reports_what_a_newly_required_role_would_break_and_stores_nothing(
    client, factory, staff
):
    def catalog():
        roles = client.get("/api/roles", headers=staff).get_json()["roles"]
        return {role["code"]: role for role in roles}

    before = catalog()
    url = "/api/roles/main_manager?dry_run=true"
    checked = client.patch(url, json={"required": True}, headers=staff)
    assert checked.status_code == 200
    assert checked.get_json()["required"] is True
    assert checked.get_json()["violations"] == ["acme"]
    created = client.post("/api/roles?dry_run=true", json={**ROLE, "required": True}, headers=staff)
    assert created.status_code == 201 and created.get_json()["violations"] == ["acme"]
    assert catalog() == before
    admin = factory.headers(REQUESTER)
    assert client.patch(url, json={"required": True}, headers=admin).status_code == 403
    assert client.patch(url, json={"required": True}).status_code == 401
    missing = "/api/roles/nope?dry_run=true"
    assert client.patch(missing, json={"required": True}, headers=staff).status_code == 404


def test_only_staff_change_the_catalog(client, factory, staff):
    admin = factory.headers(REQUESTER)
    assert client.post("/api/roles", json=ROLE, headers=admin).status_code == 403
    assert (
        client.patch("/api/roles/technical", json={"name": "x"}, headers=admin).status_code == 403
    )
    assert client.post("/api/roles", json=ROLE).status_code == 401


def test_holders_of_a_role_that_asks_for_it_hear_when_a_request_is_implemented(
    app, client, factory, staff
):
    reference = raise_ticket(client, factory.headers(REQUESTER))
    client.post(f"/api/tickets/{reference}/approve", headers=staff)
    run_jobs(app)
    implemented = [m["To"] for m in outbox(app) if "is done" in str(m["Subject"])]
    # frank.fischer holds cust_admin, whose catalog entry lists "request_implemented".
    assert REQUESTER in implemented and OTHER_ADMIN in implemented
