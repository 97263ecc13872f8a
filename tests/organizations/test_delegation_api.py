"""Delegated access: buyco's admin manages acme's contacts only while acme's grant stands."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.organizations.models import Organization
from tests.tickets.support import (
    OUTSIDER,
    REQUESTER,
    implement,
    new_contact,
    raise_ticket,
)

DELEGATE = OUTSIDER  # admin@buyco.example


@pytest.fixture
def delegated(app, client, factory):
    factory.demo()
    delegate = factory.headers(DELEGATE)
    assert client.get("/api/orgs/acme/contacts", headers=delegate).status_code == 404
    grant = implement(app, client, factory, [{"op": "grant_delegate", "organization": "buyco"}])
    return {"delegate": delegate, "grant": grant}


def test_the_delegate_reads_and_lists_the_roster_once_the_grant_is_implemented(
    client, factory, delegated
):
    delegate = delegated["delegate"]
    assert client.get("/api/orgs/acme/contacts", headers=delegate).status_code == 200
    assert client.get("/api/me", headers=delegate).get_json()["manages"] == ["acme", "buyco"]
    grants = client.get("/api/orgs/acme/delegations", headers=factory.headers(REQUESTER))
    assert grants.get_json()["items"][0]["organization"] == "buyco"
    assert grants.get_json()["items"][0]["ticket"] == delegated["grant"]


def test_the_delegate_submits_comments_and_cancels_for_the_customer(client, factory, delegated):
    delegate = delegated["delegate"]
    reference = raise_ticket(client, delegate, [new_contact()])
    detail = client.get(f"/api/tickets/{reference}", headers=factory.headers(REQUESTER)).get_json()
    assert detail["organization"] == "acme"
    assert detail["acting_organization"] == "buyco"
    assert detail["requester"] == DELEGATE
    comment = client.post(
        f"/api/tickets/{reference}/comments", json={"body": "For acme."}, headers=delegate
    )
    assert comment.status_code == 201
    assert comment.get_json()["author_organization"] == "buyco"
    queue = client.get("/api/tickets", headers=delegate).get_json()
    assert reference in {item["reference"] for item in queue["items"]}
    for staff_only in ("approve", "retry"):
        response = client.post(f"/api/tickets/{reference}/{staff_only}", headers=delegate)
        assert response.status_code == 403
    cancel = client.post(f"/api/tickets/{reference}/cancel", json={}, headers=delegate)
    assert cancel.status_code == 200


def test_revoking_ends_the_delegates_access_at_once_even_for_issued_tokens(
    app, client, factory, delegated
):
    delegate = delegated["delegate"]
    mine = raise_ticket(client, delegate, [new_contact()])
    client.post(f"/api/tickets/{mine}/cancel", json={}, headers=delegate)
    implement(app, client, factory, [{"op": "revoke_delegate", "organization": "buyco"}])
    assert client.get("/api/orgs/acme/contacts", headers=delegate).status_code == 404
    assert client.get(f"/api/tickets/{mine}", headers=delegate).status_code == 404
    assert client.get("/api/me", headers=delegate).get_json()["manages"] == ["buyco"]
    queue = client.get("/api/tickets", headers=delegate).get_json()
    assert queue["total"] == 0
    body = {"base_version": 3, "changes": [new_contact()]}
    response = client.post("/api/orgs/acme/change-requests", json=body, headers=delegate)
    assert response.status_code == 404


def test_a_delegate_organizations_other_members_get_nothing(client, factory, delegated):
    buyco = factory.scalar(select(Organization.id).where(Organization.slug == "buyco"))
    factory.contact(buyco, "viewer@buyco.example", [], account="active")
    viewer = factory.headers("viewer@buyco.example")
    assert client.get("/api/orgs/acme/contacts", headers=viewer).status_code == 404


@pytest.mark.parametrize("endpoint", ["change-requests", "change-requests/validate"])
@pytest.mark.parametrize("op", ["grant_delegate", "revoke_delegate"])
def test_a_slug_that_names_nothing_and_one_the_customer_may_not_name_get_one_answer(
    client, factory, endpoint, op
):
    """No oracle: an organization that exists but may not be named (another customer, the
    vendor) answers as a slug that names nothing, to the byte. The customer itself, which is
    no secret to its admin, is told that it is its own organization."""
    factory.demo()
    factory.org("globex", name="Globex Secret Name")
    admin = factory.headers(REQUESTER)
    version = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["version"]
    answers = {}
    for slug in ("no-such-org", "acme", "globex", "vendor"):
        body = {"base_version": version, "changes": [{"op": op, "organization": slug}]}
        response = client.post(f"/api/orgs/acme/{endpoint}", json=body, headers=admin)
        text = response.get_data(as_text=True)
        assert "Globex Secret Name" not in text and "Vendor" not in text
        # The slug itself is echoed in the dry run's lines ("Let <slug> manage ..."), not in
        # addresses such as admin@acme.example.
        answers[slug] = (response.status_code, re.sub(rf"\b{slug}\b(?!\.)", "<slug>", text))
    own = answers.pop("acme")
    if op == "grant_delegate":
        assert "This is your own organization" in own[1]
    else:
        answers["acme"] = own
    assert len(set(answers.values())) == 1, answers
    status, text = answers["no-such-org"]
    assert status in (200, 422)
    assert ("unknown_organization" if op == "grant_delegate" else "delegation_missing") in text
