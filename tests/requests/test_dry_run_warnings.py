"""The dry run warns before, not after: the submitter losing their own right to manage the
organization, and a batch needing two approvals, with the four-eyes rule that asks for them."""

from __future__ import annotations

from sqlalchemy import select

from service.contacts.models import Contact
from tests.jobs import run_jobs
from tests.tickets.support import OUTSIDER, REQUESTER, STAFF, new_contact, raise_ticket


def dry_run(client, headers, changes, org="acme"):
    version = client.get(f"/api/orgs/{org}/contacts", headers=headers).get_json()["version"]
    answer = client.post(
        f"/api/orgs/{org}/change-requests/validate",
        json={"base_version": version, "changes": changes},
        headers=headers,
    )
    assert answer.status_code == 200, answer.get_json()
    return {w["code"]: w["message"] for w in answer.get_json()["warnings"]}


def test_deactivating_yourself_warns_that_you_lose_the_right_and_that_it_needs_two_approvals(
    client, factory
):
    factory.demo()
    admin = factory.headers(REQUESTER)
    ada = factory.scalar(select(Contact.id).where(Contact.email == REQUESTER))
    warned = dry_run(client, admin, [{"op": "deactivate_contact", "contact_id": ada}])
    assert "lose the right to manage this organization" in warned["manage_right_lost"]
    assert warned["two_approvals_needed"] == (
        "This needs two approvals by different staff members (four eyes): "
        "it takes a required role away from someone."
    )
    # Revoking only one of two managing roles keeps the right; an ordinary batch warns of neither.
    kept = dry_run(client, admin, [{"op": "revoke_role", "contact_id": ada, "role": "management"}])
    assert "manage_right_lost" not in kept
    plain = dry_run(client, admin, [new_contact()])
    assert not {"manage_right_lost", "two_approvals_needed"} & set(plain)


def test_a_delegate_ending_its_own_delegation_is_warned(app, client, factory):
    factory.demo()
    staff = factory.headers(STAFF)
    reference = raise_ticket(
        client, factory.headers(REQUESTER), [{"op": "grant_delegate", "organization": "buyco"}]
    )
    client.post(f"/api/tickets/{reference}/approve", headers=staff)
    run_jobs(app)
    delegate = factory.headers(OUTSIDER)
    warned = dry_run(client, delegate, [{"op": "revoke_delegate", "organization": "buyco"}])
    assert "manage_right_lost" in warned
    # The warning is the submitter's own: the customer's admin ending it loses nothing.
    admin = factory.headers(REQUESTER)
    own = dry_run(client, admin, [{"op": "revoke_delegate", "organization": "buyco"}])
    assert "manage_right_lost" not in own


def test_granting_access_is_confirmed_by_name_kind_and_organization(client, factory):
    factory.demo()
    admin = factory.headers(REQUESTER)
    warned = dry_run(client, admin, [{"op": "grant_delegate", "organization": "buyco"}])
    assert warned["delegation_granted"] == (
        "You are giving BuyCo Procurement (purchaser) the right to manage Acme Widgets plc's "
        "contacts."
    )
    own = client.post(
        "/api/orgs/acme/change-requests/validate",
        json={"base_version": 1, "changes": [{"op": "grant_delegate", "organization": "acme"}]},
        headers=admin,
    ).get_json()
    assert [e["message"] for e in own["errors"]] == [
        "This is your own organization: give access to a purchaser organization."
    ]
    assert "delegation_granted" not in {w["code"] for w in own["warnings"]}
