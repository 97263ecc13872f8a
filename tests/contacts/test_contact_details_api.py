"""A contact's own details: an alternate email, an assistant (another contact of the same
organization), and "Recent activity" (every ticket and event that touched them, newest first)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.contacts.models import Contact
from service.organizations.models import Organization
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import OUTSIDER, REQUESTER, STAFF, raise_ticket

ALT = "ada.private@mailbox.example"


@pytest.fixture
def ids(factory):
    factory.demo()
    found = contact_ids(factory)
    found["admin"] = factory.scalar(select(Contact.id).where(Contact.email == REQUESTER))
    return found


def _apply(app, client, factory, changes) -> str:
    reference = raise_ticket(client, factory.headers(REQUESTER), changes)
    staff = factory.headers(STAFF)
    answer = client.post(f"/api/tickets/{reference}/approve", headers=staff)
    if answer.status_code == 200:  # two approvals: the second staff member
        client.post(
            f"/api/tickets/{reference}/approve", headers=factory.headers("staff2@vendor.example")
        )
    run_jobs(app)
    assert (
        client.get(f"/api/tickets/{reference}", headers=staff).get_json()["status"] == "implemented"
    )
    return reference


def test_a_batch_sets_the_alternate_email_and_assistant_and_the_details_show_them(
    app, client, factory, ids
):
    admin = factory.headers(REQUESTER)
    ada, boris = ids["admin"], ids["boris.banks"]
    first = _apply(
        app,
        client,
        factory,
        [
            {
                "op": "update_contact",
                "contact_id": ada,
                "fields": {"alternate_email": ALT, "assistant_id": boris},
            }
        ],
    )
    roster = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["contacts"]
    (row,) = [c for c in roster if c["id"] == ada]
    assert (row["alternate_email"], row["assistant_id"]) == (ALT, boris)
    paged = client.get("/api/orgs/acme/contacts?limit=50", headers=admin).get_json()["contacts"]
    assert [c["assistant_id"] for c in paged if c["id"] == ada] == [boris]

    second = _apply(
        app,
        client,
        factory,
        [
            {"op": "add_contact", "ref": "n1", "roles": ["technical"], "contact": {
                "salutation": "Ms", "first_name": "Nia", "last_name": "New",
                "email": "nia.new@acme.example", "alternate_email": "nia@home.example",
                "assistant_id": ada}},
        ],
    )  # fmt: skip
    details = client.get(f"/api/orgs/acme/contacts/{ada}", headers=admin)
    assert details.status_code == 200
    body = details.get_json()
    assert body["alternate_email"] == ALT
    assert body["assistant"] == {"id": boris, "first_name": "Boris", "last_name": "Banks"}
    assert [a["first_name"] for a in body["assisting"]] == ["Nia"]
    # Every event of the tickets that touched Ada (she was named, and she requested both),
    # newest first, each with its ticket's link.
    activity = body["activity"]
    assert {a["ticket"] for a in activity} == {first, second}
    assert [a["at"] for a in activity] == sorted((a["at"] for a in activity), reverse=True)
    assert activity[0]["ticket"] == second and activity[0]["to"] == "implemented"
    assert activity[0]["url"].endswith(f"/tickets/{second}")
    assert {"submit", "approve"} <= {a["action"] for a in activity} or len(activity) >= 4
    boris_activity = client.get(f"/api/orgs/acme/contacts/{boris}", headers=admin).get_json()
    assert boris_activity["activity"] == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"alternate_email": "not an address"}, "invalid_field"),
        ({"assistant_id": "self"}, "invalid_field"),
        ({"assistant_id": "buyco"}, "unknown_contact"),
        ({"assistant_id": 999_999}, "unknown_contact"),
        ({"assistant_id": "hugo"}, "unknown_contact"),
    ],
)
def test_bad_details_are_refused_with_their_path(client, factory, ids, fields, code):
    admin = factory.headers(REQUESTER)
    ada = ids["admin"]
    value = fields.get("assistant_id")
    if value == "self":
        fields = {"assistant_id": ada}
    elif value == "buyco":
        buyco = factory.scalar(select(Organization.id).where(Organization.slug == "buyco"))
        fields = {"assistant_id": factory.contact(buyco, "pat@buyco.example", ["partner_admin"])}
    elif value == "hugo":
        fields = {"assistant_id": ids["hugo.hart"]}  # deactivated
    version = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["version"]
    body = {
        "base_version": version,
        "changes": [{"op": "update_contact", "contact_id": ada, "fields": fields}],
    }
    answer = client.post("/api/orgs/acme/change-requests", json=body, headers=admin)
    assert answer.status_code == 422, answer.get_json()
    (error,) = answer.get_json()["errors"]
    assert error["code"] == code and error["path"] == f"changes/0/fields/{next(iter(fields))}"


def test_contact_details_answer_401_403_and_404(client, factory, ids):
    ada = ids["admin"]
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    factory.contact(acme, "ann.agree@acme.example", ["agreement"], account="active")
    url = f"/api/orgs/acme/contacts/{ada}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=factory.headers("ann.agree@acme.example")).status_code == 403
    assert client.get(url, headers=factory.headers(OUTSIDER)).status_code == 404
    buyco_admin = ids["admin"]  # acme's contact asked through buyco's roster
    staff = factory.headers(STAFF)
    assert client.get(f"/api/orgs/buyco/contacts/{buyco_admin}", headers=staff).status_code == 404
    assert client.get("/api/orgs/acme/contacts/999999", headers=staff).status_code == 404
    assert client.get(url, headers=staff).status_code == 200


def test_deleting_an_assistant_clears_the_link_and_erases_the_alternate_email(
    app, client, factory, ids
):
    admin = factory.headers(REQUESTER)
    ada, devon = ids["admin"], ids["devon.tran"]
    _apply(
        app,
        client,
        factory,
        [
            {"op": "update_contact", "contact_id": ada, "fields": {"assistant_id": devon}},
            {"op": "update_contact", "contact_id": devon,
             "fields": {"alternate_email": "dt@home.example"}},
        ],
    )  # fmt: skip
    _apply(app, client, factory, [{"op": "delete_contact", "contact_id": devon}])
    assert (
        client.get(f"/api/orgs/acme/contacts/{ada}", headers=admin).get_json()["assistant"] is None
    )
    assert factory.scalar(select(Contact.assistant_id).where(Contact.id == ada)) is None
    assert factory.scalar(select(Contact.alternate_email).where(Contact.id == devon)) is None
    assert client.get(f"/api/orgs/acme/contacts/{devon}", headers=admin).status_code == 404
