"""The role catalog and the roster endpoint, with isolation between organizations."""

from __future__ import annotations

from tests.contacts.support import raise_pending
from tests.tickets.support import update_contact


def test_role_catalog_lists_the_default_roles_with_their_attributes(factory, client):
    factory.demo()
    body = client.get("/api/roles", headers=factory.headers("admin@acme.example")).get_json()
    roles = {role["code"]: role for role in body["roles"]}
    assert {"management", "cust_admin", "financial", "agreement", "technical"} <= set(roles)
    assert roles["cust_admin"]["required"] and roles["financial"]["required"]
    assert not roles["technical"]["required"]
    assert "contacts:manage" in roles["cust_admin"]["permissions"]
    for role in roles.values():
        assert set(role) >= {"code", "name", "audience", "permissions", "emails", "required"}
        assert all(":" in p for p in role["permissions"])


def test_roster_lists_active_and_deactivated_contacts_with_version(factory, client):
    factory.demo()
    body = client.get(
        "/api/orgs/acme/contacts", headers=factory.headers("admin@acme.example")
    ).get_json()
    assert body["organization"] == {
        "slug": "acme",
        "name": "Acme Widgets plc",
        "kind": "customer",
        "seat_limit": 20,
    }
    assert body["version"] == 1
    assert body["required_roles"] == ["cust_admin", "financial"]
    assert body["pending_ticket"] is None
    assert len(body["contacts"]) == 8
    admin = next(c for c in body["contacts"] if c["email"] == "admin@acme.example")
    assert admin["roles"] == ["cust_admin", "management"]
    assert admin["account_status"] == "active"
    assert {c["status"] for c in body["contacts"]} == {"active", "deactivated"}
    expected = {
        "id",
        "salutation",
        "first_name",
        "last_name",
        "email",
        "alternate_email",
        "assistant_id",
        "job_title",
        "phone",
        "mobile",
        "status",
        "roles",
        "account_status",
    }
    assert all(set(c) == expected for c in body["contacts"])


def test_roster_of_another_organization_is_404_like_a_missing_one(factory, client):
    factory.demo()
    headers = factory.headers("admin@buyco.example")
    other = client.get("/api/orgs/acme/contacts", headers=headers)
    missing = client.get("/api/orgs/nowhere/contacts", headers=headers)
    assert other.status_code == missing.status_code == 404
    assert other.get_json() == missing.get_json()


def test_roster_needs_a_token(factory, client):
    factory.demo()
    assert client.get("/api/orgs/acme/contacts").status_code == 401


def test_roster_needs_a_role_that_may_view_contacts(factory, client):
    org = factory.org("acme")
    factory.contact(org, "counsel@acme.example", ["agreement"], account="active")
    response = client.get(
        "/api/orgs/acme/contacts", headers=factory.headers("counsel@acme.example")
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_staff_may_read_any_roster(factory, client):
    factory.demo()
    response = client.get(
        "/api/orgs/acme/contacts", headers=factory.headers("staff@vendor.example")
    )
    assert response.status_code == 200


def test_unknown_view_is_422(factory, client):
    factory.demo()
    response = client.get(
        "/api/orgs/acme/contacts?view=future", headers=factory.headers("admin@acme.example")
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["path"] == "view"


def test_pending_view_shows_current_and_requested_side_by_side(factory, client):
    ids, headers, reference = raise_pending(
        client,
        factory,
        lambda ids: [
            update_contact(ids["erin.okafor"], job_title="Head of Operations"),
            {"op": "delete_contact", "contact_id": ids["grace.gill"]},
        ],
    )

    current = client.get("/api/orgs/acme/contacts", headers=headers).get_json()
    assert current["pending_ticket"] == reference
    assert all("requested" not in c for c in current["contacts"])

    pending = client.get("/api/orgs/acme/contacts?view=pending", headers=headers).get_json()
    by_id = {c["id"]: c for c in pending["contacts"] if c["id"] is not None}
    devon = by_id[ids["devon.tran"]]
    assert devon["roles"] == ["technical"]
    assert devon["requested"]["roles"] == ["management", "technical"]
    assert by_id[ids["erin.okafor"]]["requested"]["fields"] == {"job_title": "Head of Operations"}
    assert by_id[ids["grace.gill"]]["requested"]["delete"] is True
    assert by_id[ids["boris.banks"]]["requested"] == {
        "roles": ["financial"],
        "fields": {},
        "status": "active",
        "delete": False,
    }
    new = [c for c in pending["contacts"] if c["id"] is None]
    assert len(new) == 1 and new[0]["ref"] == "n1"
    assert new[0]["requested"]["roles"] == ["agreement"]
