"""Four-eyes approval: risky batches need two different staff members."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.organizations.models import Organization
from service.requests.policy import MASS_DELETE
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, STAFF2, new_contact, raise_ticket


@pytest.fixture
def ids(factory):
    factory.demo()
    return contact_ids(factory)


def required_approvals(client, factory, changes):
    reference = raise_ticket(client, factory.headers(REQUESTER), changes)
    detail = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    return reference, detail["approvals_required"]


def test_taking_a_required_role_away_needs_two_different_staff(app, client, factory, ids):
    changes = [
        {"op": "grant_role", "contact_id": ids["frank.fischer"], "role": "technical"},
        {"op": "revoke_role", "contact_id": ids["frank.fischer"], "role": "cust_admin"},
    ]
    reference, required = required_approvals(client, factory, changes)
    assert required == 2
    staff, staff2 = factory.headers(STAFF), factory.headers(STAFF2)

    first = client.post(f"/api/tickets/{reference}/approve", headers=staff)
    assert first.status_code == 200
    assert first.get_json()["status"] == "open"
    assert [a["by"] for a in first.get_json()["approvals"]] == [STAFF]

    again = client.post(f"/api/tickets/{reference}/approve", headers=staff)
    assert again.status_code == 409
    assert again.get_json()["code"] == "already_approved"

    second = client.post(f"/api/tickets/{reference}/approve", headers=staff2)
    assert second.status_code == 202
    assert [a["by"] for a in second.get_json()["approvals"]] == [STAFF, STAFF2]
    run_jobs(app)
    detail = client.get(f"/api/tickets/{reference}", headers=staff).get_json()
    assert detail["status"] == "implemented"


def test_deleting_an_administrator_needs_two(client, factory, ids):
    _, required = required_approvals(
        client, factory, [{"op": "delete_contact", "contact_id": ids["carla.conti"]}]
    )
    assert required == 2


def test_deleting_many_contacts_needs_two(client, factory, ids):
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    extra = [
        factory.contact(acme, f"temp{i}@acme.example", ["technical"])
        for i in range(MASS_DELETE - 3)
    ]
    # Nobody here holds a required role or may manage contacts: only the number is risky.
    victims = [ids["devon.tran"], ids["erin.okafor"], ids["hugo.hart"], *extra]
    changes = [{"op": "delete_contact", "contact_id": cid} for cid in victims]
    _, required = required_approvals(client, factory, changes)
    assert required == 2


def test_an_ordinary_batch_needs_one_approval(client, factory, ids):
    _, required = required_approvals(client, factory, [new_contact()])
    assert required == 1
