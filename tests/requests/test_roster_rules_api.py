"""Rules of the roster that the products state: nobody left without a role, nobody deletes the
last account that manages the organization, and each organization's own mandatory fields."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.contacts.models import Contact
from tests.demo_ids import contact_ids
from tests.tickets.support import OUTSIDER, REQUESTER, STAFF, new_contact

URL = "/api/orgs/acme/change-requests/validate"


def codes(client, headers, changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    version = client.get("/api/orgs/acme/contacts", headers=headers).get_json()["version"]
    response = client.post(URL, json={"base_version": version, "changes": changes}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [(e["code"], e["path"]) for e in response.get_json()["errors"]]


def ada_id(factory) -> int:
    contact_id: int = factory.scalar(select(Contact.id).where(Contact.email == REQUESTER))
    return contact_id


def test_taking_a_contacts_last_role_is_refused_unless_they_go(client, factory):
    factory.demo()
    admin, ids = factory.headers(REQUESTER), contact_ids(factory)
    revoke = {"op": "revoke_role", "contact_id": ids["devon.tran"], "role": "technical"}
    assert codes(client, admin, [revoke]) == [("contact_without_role", "changes/0")]
    deactivate = {"op": "deactivate_contact", "contact_id": ids["devon.tran"]}
    assert codes(client, admin, [revoke, deactivate]) == []


def test_deleting_the_last_account_that_manages_the_organization_is_refused(client, factory):
    factory.demo()
    admin, ids = factory.headers(REQUESTER), contact_ids(factory)
    # Ada (the requester) and Frank are acme's admins with an account; Carla's is only invited.
    changes = [
        {"op": "grant_role", "contact_id": ids["devon.tran"], "role": "cust_admin"},
        {"op": "delete_contact", "contact_id": ids["frank.fischer"]},
        {"op": "delete_contact", "contact_id": ada_id(factory)},
    ]
    assert codes(client, admin, changes) == [
        ("last_manager", "changes/1"),
        ("last_manager", "changes/2"),
    ]
    assert codes(client, admin, changes[:2]) == []


def test_staff_choose_the_fields_a_new_contact_must_carry(client, factory):
    factory.demo()
    staff, admin = factory.headers(STAFF), factory.headers(REQUESTER)
    assert client.get("/api/orgs/acme", headers=admin).get_json()["required_fields"] == [
        "salutation",
        "first_name",
        "last_name",
        "email",
    ]
    every = ["salutation", "first_name", "last_name", "email", "job_title", "phone", "mobile"]
    body = {"required_fields": every}
    assert client.patch("/api/orgs/acme", json=body).status_code == 401
    assert client.patch("/api/orgs/acme", json=body, headers=admin).status_code == 403
    outsider = factory.headers(OUTSIDER)
    assert client.patch("/api/orgs/acme", json=body, headers=outsider).status_code == 404
    no_email = client.patch(
        "/api/orgs/acme", json={"required_fields": ["last_name"]}, headers=staff
    )
    assert no_email.status_code == 422
    assert no_email.get_json()["errors"][0]["path"] == "required_fields"
    assert client.patch("/api/orgs/acme", json={}, headers=staff).status_code == 422
    changed = client.patch("/api/orgs/acme", json=body, headers=staff)
    assert changed.status_code == 200 and changed.get_json()["required_fields"] == every
    assert codes(client, admin, [new_contact()]) == [
        ("missing_field", "changes/0/contact/job_title"),
        ("missing_field", "changes/0/contact/mobile"),
        ("missing_field", "changes/0/contact/phone"),
    ]
    fewer = {"required_fields": ["email", "last_name"]}
    assert client.patch("/api/orgs/acme", json=fewer, headers=staff).status_code == 200
    bare = new_contact()
    bare["contact"] = {"last_name": "New", "email": "nia.new@acme.example"}
    assert codes(client, admin, [bare]) == []
