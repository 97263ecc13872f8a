"""`/api/orgs/<slug>`: the plan's seat limit, and invitations of new contacts."""

from __future__ import annotations

import re

import pytest

from tests.jobs import bodies, outbox, run_jobs
from tests.tickets.support import (
    NO_MANAGE,
    OUTSIDER,
    REQUESTER,
    STAFF,
    new_contact,
    raise_ticket,
)

NEW = "nia.new@acme.example"


def test_staff_change_the_seat_limit_and_the_validator_applies_it(client, factory):
    factory.demo()
    staff, admin = factory.headers(STAFF), factory.headers(REQUESTER)
    plan = client.get("/api/orgs/acme", headers=admin).get_json()
    in_use = plan["active_contacts"]
    assert (
        client.patch("/api/orgs/acme", json={"seat_limit": in_use}, headers=admin).status_code
        == 403
    )
    assert client.patch("/api/orgs/acme", json={"seat_limit": 0}, headers=staff).status_code == 422
    changed = client.patch("/api/orgs/acme", json={"seat_limit": in_use}, headers=staff)
    assert changed.status_code == 200
    assert changed.get_json()["seat_limit"] == in_use
    body = {"base_version": 1, "changes": [new_contact()]}
    refused = client.post("/api/orgs/acme/change-requests", json=body, headers=admin)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["code"] == "seat_limit_exceeded"
    assert (
        client.patch("/api/orgs/acme", json={"seat_limit": None}, headers=staff).status_code == 200
    )
    assert (
        client.patch(
            "/api/orgs/acme", json={"seat_limit": 3}, headers=factory.headers(OUTSIDER)
        ).status_code
        == 404
    )


def link_tokens(app, address):
    found = []
    for message in outbox(app):
        if message["To"] == address:
            found += re.findall(r"/activate/([A-Za-z0-9_-]{43,})", bodies(message))
    return list(dict.fromkeys(found))


@pytest.fixture
def invited(app, client, factory):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    run_jobs(app)
    roster = client.get("/api/orgs/acme/contacts", headers=factory.headers(REQUESTER)).get_json()
    new = next(c for c in roster["contacts"] if c["email"] == NEW)
    assert new["account_status"] == "invited"
    return new["id"]


def test_invitations_list_pending_links(client, factory, invited):
    items = client.get("/api/orgs/acme/invitations", headers=factory.headers(REQUESTER))
    mine = [i for i in items.get_json()["items"] if i["contact_id"] == invited]
    assert mine and mine[0]["status"] == "pending" and mine[0]["email"] == NEW


def test_resend_voids_every_older_link(app, client, factory, invited):
    admin = factory.headers(REQUESTER)
    (first,) = link_tokens(app, NEW)
    url = f"/api/orgs/acme/invitations/{invited}/resend"
    assert client.post(url, headers=admin).status_code == 202
    tokens = link_tokens(app, NEW)
    assert len(tokens) == 2
    old = client.post("/api/activate", json={"token": first, "password": "a fine long passphrase"})
    assert old.status_code == 410
    new = client.post(
        "/api/activate", json={"token": tokens[-1], "password": "a fine long passphrase"}
    )
    assert new.status_code == 200
    assert client.post(url, headers=admin).get_json()["code"] == "not_invited"


def test_revoke_voids_the_links_and_the_invitation_says_revoked(app, client, factory, invited):
    admin = factory.headers(REQUESTER)
    (first,) = link_tokens(app, NEW)
    response = client.post(f"/api/orgs/acme/invitations/{invited}/revoke", headers=admin)
    assert response.status_code == 200
    used = client.post("/api/activate", json={"token": first, "password": "a fine long passphrase"})
    assert used.status_code == 410
    items = client.get("/api/orgs/acme/invitations", headers=admin).get_json()["items"]
    assert [i["status"] for i in items if i["contact_id"] == invited] == ["revoked"]


def test_invitations_are_for_admins_of_the_organization(client, factory, invited):
    url = f"/api/orgs/acme/invitations/{invited}/resend"
    assert client.get("/api/orgs/acme/invitations").status_code == 401
    assert (
        client.get("/api/orgs/acme/invitations", headers=factory.headers(NO_MANAGE)).status_code
        == 403
    )
    assert client.post(url, headers=factory.headers(OUTSIDER)).status_code == 404
    assert (
        client.post(
            "/api/orgs/acme/invitations/99999/resend", headers=factory.headers(REQUESTER)
        ).status_code
        == 404
    )


def test_resends_are_limited_per_contact_with_a_429_and_retry_after(client, factory, invited):
    admin = factory.headers(REQUESTER)
    url = f"/api/orgs/acme/invitations/{invited}/resend"
    statuses = [client.post(url, headers=admin).status_code for _ in range(6)]
    assert statuses == [202] * 5 + [429]
    refused = client.post(url, headers=admin)
    assert refused.get_json()["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # Revoking is still possible: it sends nothing.
    assert (
        client.post(f"/api/orgs/acme/invitations/{invited}/revoke", headers=admin).status_code
        == 200
    )
