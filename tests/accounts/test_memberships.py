"""One person, one login, any number of organizations: an account's memberships, black-box
through the API, with emails read from a real SMTP server."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import func, select

from harness.smtp import Inbox
from service.accounts.models import User
from service.contacts.models import Contact
from tests.factories import PASSWORD
from tests.jobs import bodies, run_jobs
from tests.tickets.support import REQUESTER, STAFF, raise_ticket
from tests.web.forms import sign_in

PERSON = "pat.partner@consult.example"
GLOBEX_ADMIN = "admin@globex.example"


def person(email: str = PERSON, roles: tuple[str, ...] = ("technical",)) -> dict[str, Any]:
    return {
        "op": "add_contact",
        "ref": "pat",
        "contact": {
            "salutation": "Mx",
            "first_name": "Pat",
            "last_name": "Partner",
            "email": email,
        },
        "roles": list(roles),
    }


def globex_org(factory) -> int:
    """A second customer with an administrator of its own, holding every required role."""
    org_id = factory.org("globex", name="Globex Corporation")
    factory.contact(org_id, GLOBEX_ADMIN, ["cust_admin", "financial"], account="active")
    return org_id


def person_in_acme_and_globex(factory, *, acme: list[str], globex: list[str]) -> None:
    """PERSON, with an active account, a contact of Acme and of Globex with these roles."""
    org_id = globex_org(factory)
    acme_id = factory.scalar(select(Contact.organization_id).where(Contact.email == REQUESTER))
    factory.contact(acme_id, PERSON, acme, account="active")
    factory.contact(org_id, PERSON, globex, account="active")


def applied(app, client, factory, org: str, admin: str, changes: list[dict[str, Any]]) -> None:
    """Submit the batch as the organization's admin, approve it as staff, run the jobs."""
    reference = raise_ticket(client, factory.headers(admin), changes, org=org)
    approved = client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    assert approved.status_code == 202, approved.get_json()
    run_jobs(app)
    status = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    assert status["status"] == "implemented", status["failure"]


def contact_id_of(client, headers, org: str, email: str) -> int | None:
    roster = client.get(f"/api/orgs/{org}/contacts", headers=headers).get_json()["contacts"]
    return next((c["id"] for c in roster if (c["email"] or "").lower() == email), None)


def mails_to(inbox: Inbox, address: str) -> list[str]:
    return [bodies(m) for m in inbox.messages() if str(m["To"]).lower() == address]


def test_one_email_made_a_contact_of_two_customers_deleted_from_one_still_signs_in_to_the_other(
    app, client, factory, smtp
):
    factory.demo()
    globex_org(factory)
    applied(app, client, factory, "acme", REQUESTER, [person()])
    (welcome,) = mails_to(smtp, PERSON)
    token = re.search(r"/activate/([A-Za-z0-9_-]{43,})", welcome)
    assert token
    activated = client.post(
        "/api/activate", json={"token": token.group(1), "password": "a long passphrase of pat"}
    )
    assert activated.status_code == 200

    # Globex adds the same address: it joins the account; the person is told, not re-invited.
    applied(app, client, factory, "globex", GLOBEX_ADMIN, [person(PERSON.upper())])
    added = mails_to(smtp, PERSON)[1:]
    assert len(added) == 1
    assert "Globex Corporation added you" in added[0]
    assert "/activate/" not in added[0]
    assert factory.scalar(select(func.count()).where(func.lower(User.email) == PERSON)) == 1
    pat = factory.headers(PERSON, "a long passphrase of pat")
    me = client.get("/api/me", headers=pat).get_json()
    acme_id = contact_id_of(client, factory.headers(REQUESTER), "acme", PERSON)
    globex_id = contact_id_of(client, factory.headers(GLOBEX_ADMIN), "globex", PERSON)
    assert sorted(me["memberships"], key=lambda m: m["organization"]) == [
        {"organization": "acme", "contact_id": acme_id, "roles": ["technical"]},
        {"organization": "globex", "contact_id": globex_id, "roles": ["technical"]},
    ]
    assert client.get("/api/orgs/globex/contacts", headers=pat).status_code == 200

    # Deleted from Acme: that membership and its data there go; the account and Globex stay.
    applied(
        app, client, factory, "acme", REQUESTER, [{"op": "delete_contact", "contact_id": acme_id}]
    )
    archived = factory.all(select(Contact.email, Contact.user_id).where(Contact.id == acme_id))
    assert archived == [(None, None)]
    assert client.get("/api/me", headers=pat).status_code == 200, "sessions survive"
    again = factory.headers(PERSON, "a long passphrase of pat")
    assert client.get("/api/me", headers=again).get_json()["memberships"] == [
        {"organization": "globex", "contact_id": globex_id, "roles": ["technical"]}
    ]
    assert client.get("/api/orgs/acme/contacts", headers=again).status_code == 404
    roster = client.get("/api/orgs/globex/contacts", headers=factory.headers(GLOBEX_ADMIN))
    (listed,) = [c for c in roster.get_json()["contacts"] if c["id"] == globex_id]
    assert listed["account_status"] == "active"

    # The last membership goes: today's purge, the account included.
    applied(
        app,
        client,
        factory,
        "globex",
        GLOBEX_ADMIN,
        [{"op": "delete_contact", "contact_id": globex_id}],
    )
    signed_in = client.post(
        "/api/auth/token", json={"email": PERSON, "password": "a long passphrase of pat"}
    )
    assert signed_in.status_code == 401
    assert factory.scalar(select(func.count()).where(func.lower(User.email) == PERSON)) == 0


def test_a_validation_answer_is_the_same_whether_or_not_the_email_has_an_account(client, factory):
    factory.demo()
    org_id = globex_org(factory)
    factory.contact(org_id, "known@elsewhere.example", ["technical"], account="active")
    admin = factory.headers(REQUESTER)
    version = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["version"]
    answers = []
    for email in ("known@elsewhere.example", "unknown@nowhere.example"):
        for batch in (
            [person(email)],
            [person(email, roles=())],  # with a finding of its own
            [{"op": "update_contact", "contact_id": 1, "fields": {"email": email}}],
        ):
            body = {"base_version": version, "changes": batch}
            response = client.post(
                "/api/orgs/acme/change-requests/validate", json=body, headers=admin
            )
            answers.append(
                (response.status_code, json.dumps(response.get_json()).replace(email, "X"))
            )
    known, unknown = answers[:3], answers[3:]
    assert known == unknown
    assert [status for status, _ in known] == [200, 200, 200]


def test_each_membership_grants_only_in_its_own_organization(client, factory):
    """A technical contact of Acme who administers Globex manages Globex only."""
    factory.demo()
    person_in_acme_and_globex(factory, acme=["technical"], globex=["cust_admin"])
    pat = factory.headers(PERSON)
    me = client.get("/api/me", headers=pat).get_json()
    assert me["manages"] == ["globex"]
    assert {m["organization"]: m["roles"] for m in me["memberships"]} == {
        "acme": ["technical"],
        "globex": ["cust_admin"],
    }
    assert client.get("/api/orgs/acme/contacts", headers=pat).status_code == 200
    body = {"base_version": 1, "changes": [person("x@globex.example")]}
    refused = client.post("/api/orgs/acme/change-requests/validate", json=body, headers=pat)
    assert refused.status_code == 403
    allowed = client.post("/api/orgs/globex/change-requests/validate", json=body, headers=pat)
    assert allowed.status_code == 200
    assert client.get("/api/orgs/buyco/contacts", headers=pat).status_code == 404


def test_the_pages_switch_between_the_persons_organizations(client, factory):
    factory.demo()
    person_in_acme_and_globex(factory, acme=["cust_admin"], globex=["technical"])
    sign_in(client, PERSON, PASSWORD)
    page = client.get("/orgs/globex/contacts").get_data(as_text=True)
    switcher = page[page.index('class="orgswitch"') : page.index("</details>")]
    assert "/orgs/acme/contacts" in switcher and "/orgs/globex/contacts" in switcher
    assert '<summary><span class="visually-hidden">Organization: </span>Globex Corporation' in (
        switcher
    )
    assert page.count(">Contacts</a>") == 1, "one navigation link, to the chosen organization"
