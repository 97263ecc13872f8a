"""Every contact can get an account: `invite_contact` in a batch or directly from the
invitations, and `"invite": false` contacts claiming theirs through "Forgot password". Black-box
through the API, with emails read from a real SMTP server."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.contacts.models import Contact
from tests.accounts.test_memberships import applied, mails_to, person
from tests.jobs import run_jobs
from tests.tickets.support import NO_MANAGE, OUTSIDER, REQUESTER

PAT = "pat.partner@consult.example"
PASSPHRASE = "a long passphrase of pat"


@pytest.fixture(autouse=True)
def fast_reset(app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_RESET_ANSWER_SECONDS", 0)


def link_in(body: str) -> str:
    found = re.search(r"/activate/([A-Za-z0-9_-]{43,})", body)
    assert found, "the email carries an activation link"
    return found.group(1)


def acme_id(factory) -> int:
    org_id: int = factory.scalar(select(Contact.organization_id).where(Contact.email == REQUESTER))
    return org_id


def roster_entry(client, headers, email: str) -> dict:
    roster = client.get("/api/orgs/acme/contacts", headers=headers).get_json()["contacts"]
    (entry,) = [c for c in roster if c["email"] == email]
    return entry


def test_a_contact_added_without_invitation_claims_the_account_by_forgot_password(
    app, client, factory, smtp
):
    factory.demo()
    quiet = {**person(), "invite": False}
    admin = factory.headers(REQUESTER)
    body = {"base_version": 1, "changes": [quiet]}
    lines = client.post("/api/orgs/acme/change-requests/validate", json=body, headers=admin)
    assert lines.get_json()["changes"][0]["summary"].endswith(", without an invitation")
    applied(app, client, factory, "acme", REQUESTER, [quiet])
    assert mails_to(smtp, PAT) == [], "no invitation"
    assert roster_entry(client, admin, PAT)["account_status"] == "none"

    # The requester learns nothing: the same answer as for an address nobody has.
    claimed = client.post("/api/password-reset", json={"email": PAT})
    nobody = client.post("/api/password-reset", json={"email": "nobody@nowhere.example"})
    assert (claimed.status_code, claimed.get_json()) == (nobody.status_code, nobody.get_json())
    run_jobs(app)
    (claim,) = mails_to(smtp, PAT)
    assert "Claim your Rolegate account for Acme Widgets plc" in claim
    activated = client.post("/api/activate", json={"token": link_in(claim), "password": PASSPHRASE})
    assert activated.status_code == 200
    token = client.post("/api/auth/token", json={"email": PAT, "password": PASSPHRASE})
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert [m["organization"] for m in me.get_json()["memberships"]] == ["acme"]
    assert roster_entry(client, admin, PAT)["account_status"] == "active"


def test_an_invitation_sent_to_an_existing_contact_in_a_batch(app, client, factory, smtp):
    factory.demo()
    contact_id = factory.contact(acme_id(factory), PAT, ["technical"])  # no account
    admin = factory.headers(REQUESTER)
    invite = {"op": "invite_contact", "contact_id": contact_id}
    body = {"base_version": 1, "changes": [invite]}
    checked = client.post("/api/orgs/acme/change-requests/validate", json=body, headers=admin)
    assert checked.get_json()["valid"] is True
    assert checked.get_json()["changes"][0]["summary"] == (
        "Invite Test Person to set up an account"
    )
    applied(app, client, factory, "acme", REQUESTER, [invite])
    (welcome,) = mails_to(smtp, PAT)
    assert "An account was created for you" in welcome
    activated = client.post(
        "/api/activate", json={"token": link_in(welcome), "password": PASSPHRASE}
    )
    assert activated.status_code == 200

    # Once active, inviting again is refused, as is inviting a deactivated or unknown contact.
    deactivated = factory.contact(acme_id(factory), "gone@acme.example", ["technical"])
    factory.change_contact(deactivated, status="deactivated")
    version = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["version"]
    body = {
        "base_version": version,
        "changes": [
            invite,
            {"op": "invite_contact", "contact_id": deactivated},
            {"op": "invite_contact", "contact_id": 999999},
        ],
    }
    refused = client.post("/api/orgs/acme/change-requests/validate", json=body, headers=admin)
    assert [(e["path"], e["code"]) for e in refused.get_json()["errors"]] == [
        ("changes/0/contact_id", "account_exists"),
        ("changes/1/contact_id", "not_invitable"),
        ("changes/2/contact_id", "unknown_contact"),
    ]


def test_an_invitation_sent_directly_from_the_invitations(app, client, factory, smtp):
    factory.demo()
    contact_id = factory.contact(acme_id(factory), PAT, ["technical"])
    admin = factory.headers(REQUESTER)
    path = f"/api/orgs/acme/invitations/{contact_id}/invite"
    assert client.post(path).status_code == 401
    assert client.post(path, headers=factory.headers(OUTSIDER)).status_code == 404
    assert client.post(path, headers=factory.headers(NO_MANAGE)).status_code == 403
    sent = client.post(path, headers=admin)
    assert sent.status_code == 202, sent.get_json()
    run_jobs(app)
    (welcome,) = mails_to(smtp, PAT)
    assert "Acme Widgets plc" in welcome and "/activate/" in welcome
    listed = client.get("/api/orgs/acme/invitations", headers=admin).get_json()["items"]
    assert [i["status"] for i in listed if i["contact_id"] == contact_id] == ["pending"]
    again = client.post(path, headers=admin)
    assert (again.status_code, again.get_json()["code"]) == (409, "account_exists")
    missing = client.post("/api/orgs/acme/invitations/99999/invite", headers=admin)
    assert missing.status_code == 404


def test_a_revoked_invitation_is_not_claimed_through_forgot_password(app, client, factory, smtp):
    factory.demo()
    contact_id = factory.contact(acme_id(factory), PAT, ["technical"])
    admin = factory.headers(REQUESTER)
    client.post(f"/api/orgs/acme/invitations/{contact_id}/invite", headers=admin)
    run_jobs(app)
    revoked = client.post(f"/api/orgs/acme/invitations/{contact_id}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert client.post("/api/password-reset", json={"email": PAT}).status_code == 202
    run_jobs(app)
    assert len(mails_to(smtp, PAT)) == 1, "only the invitation, no claim link"
