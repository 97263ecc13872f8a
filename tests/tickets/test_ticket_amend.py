"""`POST /api/tickets/<reference>/amend`: a pending batch replaced by a new revision, validated
again in full, its approvals reset; who may, and in which statuses."""

from __future__ import annotations

import pytest

from tests.demo_ids import contact_ids
from tests.tickets.support import (
    NO_MANAGE,
    OTHER_ADMIN,
    OUTSIDER,
    REQUESTER,
    STAFF,
    STAFF2,
    new_contact,
    raise_ticket,
)


@pytest.fixture
def ids(factory):
    factory.demo()
    return contact_ids(factory)


def risky(ids):
    """Frank gives up Customer Administrator: two approvals needed."""
    return [
        {"op": "grant_role", "contact_id": ids["frank.fischer"], "role": "technical"},
        {"op": "revoke_role", "contact_id": ids["frank.fischer"], "role": "cust_admin"},
    ]


def body(client, headers, changes, **extra):
    version = client.get("/api/orgs/acme/contacts", headers=headers).get_json()["version"]
    return {"base_version": version, "changes": changes, **extra}


def test_the_requester_amends_and_the_approvals_start_again(client, factory, ids):
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin, risky(ids))
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 200

    amended = client.post(
        f"/api/tickets/{reference}/amend",
        json=body(client, admin, [new_contact()], comment="Only the new colleague after all."),
        headers=admin,
    )
    assert amended.status_code == 200, amended.get_json()
    ticket = amended.get_json()
    assert (ticket["reference"], ticket["status"], ticket["revision"]) == (reference, "open", 2)
    assert ticket["approvals"] == [] and ticket["approvals_required"] == 1
    assert [line["op"] for line in ticket["changes"]] == ["add_contact"]
    assert ticket["revision_changes"] is None  # the customer's view
    assert ticket["events"][-1]["action"] == "amended"
    assert ticket["events"][-1]["revision"] == 2

    seen = client.get(f"/api/tickets/{reference}", headers=staff).get_json()
    diff = seen["revision_changes"]
    assert (diff["from_revision"], diff["to_revision"]) == (1, 2)
    assert any("Nia New" in line for line in diff["added"])
    assert len(diff["removed"]) == 2
    # One approval now applies it: the approval before the amendment counts for nothing.
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202


def test_another_admin_amends_an_awaiting_ticket_and_it_returns_to_the_queue(client, factory):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    client.post(
        f"/api/tickets/{reference}/comments",
        json={"body": "Which team is Nia in?", "query": True},
        headers=factory.headers(STAFF2),
    )
    other = factory.headers(OTHER_ADMIN)
    changes = [new_contact(), new_contact("n2", "nico.new@acme.example")]
    amended = client.post(
        f"/api/tickets/{reference}/amend", json=body(client, other, changes), headers=other
    )
    assert amended.status_code == 200, amended.get_json()
    assert (amended.get_json()["status"], amended.get_json()["revision"]) == ("open", 2)
    queue = client.get("/api/tickets?status=open", headers=factory.headers(STAFF)).get_json()
    assert queue["items"][0]["batch"]["adds"] == 2
    assert queue["counts"]["awaiting_customer"] == 0


def test_an_amendment_is_validated_like_a_submission_and_stores_nothing_when_refused(
    client, factory
):
    factory.demo()
    admin = factory.headers(REQUESTER)
    reference = raise_ticket(client, admin)
    bad = [new_contact(), {"op": "grant_role", "contact_id": 999_999, "role": "technical"}]
    refused = client.post(
        f"/api/tickets/{reference}/amend", json=body(client, admin, bad), headers=admin
    )
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "validation_failed"
    assert refused.get_json()["errors"][0]["path"] == "changes/1/contact_id"
    stale = client.post(
        f"/api/tickets/{reference}/amend",
        json={"base_version": 0, "changes": [new_contact()]},
        headers=admin,
    )
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale_roster"
    shape = client.post(f"/api/tickets/{reference}/amend", json={"changes": []}, headers=admin)
    assert shape.status_code == 422
    ticket = client.get(f"/api/tickets/{reference}", headers=admin).get_json()
    assert ticket["revision"] == 1 and [e["action"] for e in ticket["events"]] == ["opened"]


def test_only_open_or_awaiting_tickets_are_amended(app, client, factory):
    factory.demo()
    admin = factory.headers(REQUESTER)
    reference = raise_ticket(client, admin)
    client.post(f"/api/tickets/{reference}/cancel", json={}, headers=admin)
    late = client.post(
        f"/api/tickets/{reference}/amend", json=body(client, admin, [new_contact()]), headers=admin
    )
    assert late.status_code == 409
    assert late.get_json()["code"] == "invalid_transition"
    assert "cancelled" in late.get_json()["message"]


def test_who_may_amend(client, factory):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    path = f"/api/tickets/{reference}/amend"
    payload = body(client, factory.headers(REQUESTER), [new_contact()])
    for email, status in [(STAFF, 403), (NO_MANAGE, 403), (OUTSIDER, 404)]:
        answer = client.post(path, json=payload, headers=factory.headers(email))
        assert answer.status_code == status, (email, answer.get_json())
    assert client.post(path, json=payload).status_code == 401
    missing = client.post(
        "/api/tickets/CR-999999/amend", json=payload, headers=factory.headers(REQUESTER)
    )
    assert missing.status_code == 404


def test_an_approval_names_the_revision_it_was_given_for(client, factory, ids):
    """Staff who read revision 1 and approve after the requester amended to revision 2 are
    refused (409 `revision_changed`): their approval would apply a batch they have not seen.
    Naming the current revision, or none (the contract's call), approves."""
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin, risky(ids))
    approve = f"/api/tickets/{reference}/approve"
    assert client.post(approve, json={"revision": 2}, headers=staff).status_code == 409
    first = client.post(approve, json={"revision": 1}, headers=staff)
    assert first.status_code == 200, first.get_json()

    amended = client.post(
        f"/api/tickets/{reference}/amend", json=body(client, admin, risky(ids)), headers=admin
    )
    assert amended.get_json()["revision"] == 2
    stale = client.post(approve, json={"revision": 1}, headers=factory.headers(STAFF2))
    assert stale.status_code == 409
    error = stale.get_json()
    assert error["code"] == "revision_changed"
    assert "revision 2" in error["message"] and "revision 1" in error["message"]
    ticket = client.get(f"/api/tickets/{reference}", headers=staff).get_json()
    assert (ticket["status"], ticket["approvals"]) == ("open", [])

    assert client.post(approve, json={"revision": 2}, headers=staff).status_code == 200
    assert client.post(approve, headers=factory.headers(STAFF2)).status_code == 202


@pytest.mark.parametrize("revision", [0, -1, "2", 2.0, True, None, 2**31])
def test_a_revision_that_is_not_one_is_refused_with_a_clear_error(client, factory, revision):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    answer = client.post(
        f"/api/tickets/{reference}/approve",
        json={"revision": revision},
        headers=factory.headers(STAFF),
    )
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["errors"][0]["path"] == "revision"
