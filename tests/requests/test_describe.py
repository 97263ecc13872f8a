"""The readable lines of a batch: one wording for a dry run, a stored request and its pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, update

from service.extensions import db
from service.organizations.models import Organization
from service.requests.describe import Names, describe, describe_batch, describe_checked
from service.requests.models import ChangeRequestItem
from service.requests.service import build_context
from service.tickets.models import Ticket, parse_reference
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import STAFF, new_contact, raise_ticket
from tests.validators.context import ctx, new
from tests.web.forms import csrf_token, sign_in

URL = "/api/orgs/acme/change-requests"
ADMIN = "admin@acme.example"
PHONE = "+44 20 7946 0999"


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements the app's engine sends meanwhile."""
    sent: list[str] = []

    def record(conn, cursor, statement, *args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_every_operation_has_its_sentence_from_plain_data():
    changes = [
        new(ref="n1", roles=("technical", "agreement")),
        {"op": "grant_role", "ref": "n1", "role": "management"},
        {"op": "update_contact", "contact_id": 1, "fields": {"job_title": "CFO", "phone": None}},
        {"op": "grant_role", "contact_id": 2, "role": "technical"},
        {"op": "revoke_role", "contact_id": 2, "role": "management"},
        {"op": "deactivate_contact", "contact_id": 3},
        {"op": "reactivate_contact", "contact_id": 4},
        {"op": "delete_contact", "contact_id": 5},
        {"op": "grant_delegate", "organization": "buyco"},
        {"op": "revoke_delegate", "organization": "nowhere"},
    ]
    lines = describe_checked(ctx(changes))
    assert [line.summary for line in lines] == [
        "Add Nico New as Technical Contact, Agreement Contact",
        "Grant Management to Nico New",
        "Change job title, phone of Ada Tester",
        "Grant Technical Contact to Bo Tester",
        "Revoke Management from Bo Tester",
        "Deactivate Cy Tester",
        "Reactivate Dee Tester",
        "Delete Eve Tester and erase their personal data",
        "Let BuyCo Procurement manage this organization's contacts",
        "End nowhere's access to this organization's contacts",
    ]
    assert [line.position for line in lines] == list(range(len(changes)))
    update = lines[2]
    assert (update.contact_id, update.contact) == (1, "Ada Tester")
    assert update.before == {"job_title": None, "phone": None}
    assert update.after == {"job_title": "CFO", "phone": None}
    added = lines[0]
    assert (added.ref, added.before) == ("n1", None)
    assert added.after is not None and added.after["email"] == "new@acme.example"


def test_a_contact_the_batch_cannot_name_reads_as_a_former_or_new_contact():
    changes = [
        {"op": "delete_contact", "contact_id": 99},
        {"op": "grant_role", "ref": "n7", "role": "technical"},
        new(ref="n8", first_name=None, last_name=None, roles=()),
    ]
    assert [line.summary for line in describe_checked(ctx(changes))] == [
        "Delete former contact and erase their personal data",
        "Grant Technical Contact to new contact n7",
        "Add new contact n8",
    ]


def test_a_delegation_line_is_about_the_organization_not_a_former_contact():
    changes = [
        {"op": "grant_delegate", "organization": "buyco"},
        {"op": "revoke_delegate", "organization": "nowhere"},
    ]
    lines = describe_checked(ctx(changes))
    assert [line.contact for line in lines] == ["BuyCo Procurement", "nowhere"]


def test_an_update_whose_details_were_erased_still_reads_as_a_sentence():
    erased = [{"op": "update_contact", "contact_id": 99, "erased": True}]
    names = Names(contacts={99: "former contact"}, roles={}, organizations={})
    (line,) = describe_batch(changes=erased, names=names, before={})
    assert line.summary == "Change details of former contact"


@pytest.fixture
def acme(factory) -> dict[str, int]:
    factory.demo()
    return contact_ids(factory)


def mixed_batch(acme: dict[str, int]) -> list[dict[str, Any]]:
    return [
        new_contact(),
        {"op": "grant_role", "ref": "n1", "role": "agreement"},
        {
            "op": "update_contact",
            "contact_id": acme["boris.banks"],
            "fields": {"phone": "+44 20 7946 0999"},
        },
        {"op": "revoke_role", "contact_id": acme["erin.okafor"], "role": "technical"},
        {"op": "deactivate_contact", "contact_id": acme["grace.gill"]},
        {"op": "grant_delegate", "organization": "buyco"},
    ]


def test_the_dry_run_words_each_item_as_the_ticket_will_once_submitted(client, factory, acme):
    admin = factory.headers(ADMIN)
    body = {"base_version": 1, "changes": mixed_batch(acme)}
    dry = client.post(f"{URL}/validate", json=body, headers=admin).get_json()
    assert dry["valid"] is True, dry["errors"]
    submitted = client.post(URL, json=body, headers=admin).get_json()
    ticket = client.get(f"/api/tickets/{submitted['ticket']['reference']}", headers=admin)
    assert dry["changes"] == ticket.get_json()["changes"]
    assert [line["summary"] for line in dry["changes"]] == [
        "Add Nia New as Technical Contact",
        "Grant Agreement Contact to Nia New",
        "Change phone of Boris Banks",
        "Revoke Technical Contact from Erin Okafor",
        "Deactivate Grace Gill",
        "Let BuyCo Procurement manage this organization's contacts",
    ]
    assert dry["changes"][2]["before"] == {"phone": "+44 20 7946 0102"}


def test_the_pages_dry_run_answers_as_the_api_does(app, client, factory, acme):
    body = {"base_version": 1, "changes": mixed_batch(acme)}
    api = client.post(f"{URL}/validate", json=body, headers=factory.headers(ADMIN))
    page = app.test_client()
    sign_in(page, ADMIN)
    token = csrf_token(page, "/orgs/acme/contacts")
    web = page.post(
        "/web/orgs/acme/change-requests/validate", json=body, headers={"X-CSRFToken": token}
    )
    assert (web.status_code, web.get_json()) == (api.status_code, api.get_json())


def test_the_dry_run_answer_matches_its_openapi_schema(client, factory, acme):
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    body = {"base_version": 1, "changes": mixed_batch(acme)}
    answer = client.post(f"{URL}/validate", json=body, headers=factory.headers(ADMIN)).get_json()
    assert set(answer) == set(schemas["DryRunOut"]["properties"])
    line_schema = schemas["ChangeLineOut"]["properties"]
    assert all(set(line) == set(line_schema) for line in answer["changes"])
    assert schemas["DryRunOut"]["properties"]["changes"]["items"] == {
        "$ref": "#/components/schemas/ChangeLineOut"
    }


def change_request_id(app, reference: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Ticket.change_request_id).where(Ticket.id == parse_reference(reference))
        )


def test_a_stored_request_is_described_in_a_fixed_number_of_statements(app, client, factory, acme):
    admin = factory.headers(ADMIN)
    # Within the plan's seat limit: a few more contacts, each with a grant of its own.
    more = [new_contact(f"m{i}", f"more{i}@acme.example") for i in range(8)]
    more += [{"op": "grant_role", "ref": f"m{i}", "role": "agreement"} for i in range(8)]
    counts = []
    for changes in (mixed_batch(acme), mixed_batch(acme) + more):
        reference = raise_ticket(client, admin, changes)
        request_id = change_request_id(app, reference)
        with app.app_context(), statements() as sent:
            lines = describe(session=db.session, change_request_id=request_id)
        assert len(lines) == len(changes)
        counts.append(sum(1 for statement in sent if statement.lstrip().startswith("SELECT")))
        client.post(f"/api/tickets/{reference}/cancel", json={}, headers=admin)
    # The items, the contacts they name, the role names and the organizations they name.
    assert counts == [4, 4]


def test_the_dry_run_names_what_it_checked_without_another_statement(app, acme):
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "acme"))
        checked = build_context(session=db.session, org=org, changes=mixed_batch(acme))
        with statements() as sent:
            lines = describe_checked(checked)
    assert sent == []
    assert len(lines) == len(mixed_batch(acme))


def test_a_ticket_still_reads_after_the_contact_it_added_was_deleted(app, client, factory, acme):
    admin, staff = factory.headers(ADMIN), factory.headers(STAFF)
    added = raise_ticket(client, admin)
    assert client.post(f"/api/tickets/{added}/approve", headers=staff).status_code == 202
    run_jobs(app)
    nia = contact_ids(factory)["nia.new"]
    deleted = raise_ticket(client, admin, [{"op": "delete_contact", "contact_id": nia}])
    assert client.post(f"/api/tickets/{deleted}/approve", headers=staff).status_code == 202
    run_jobs(app)

    response = client.get(f"/api/tickets/{added}", headers=staff)
    assert response.status_code == 200
    (line,) = response.get_json()["changes"]
    assert (line["op"], line["summary"]) == ("add_contact", "Add former contact")
    assert line["after"] is None


def test_every_kind_of_item_still_reads_once_its_details_are_erased(app, client, factory, acme):
    admin, staff = factory.headers(ADMIN), factory.headers(STAFF)
    changes = [
        *mixed_batch(acme),
        {"op": "reactivate_contact", "contact_id": acme["hugo.hart"]},
        {"op": "delete_contact", "contact_id": acme["carla.conti"]},
    ]
    reference = raise_ticket(client, admin, changes)
    with app.app_context():
        # What the purge leaves of an item that named a deleted contact (personal_data.py),
        # here on every item, whatever it names.
        db.session.execute(update(ChangeRequestItem).values(payload={"erased": True}, before=None))
        db.session.commit()

    response = client.get(f"/api/tickets/{reference}", headers=staff)
    assert response.status_code == 200
    ops = [line["op"] for line in response.get_json()["changes"]]
    assert ops == [change["op"] for change in changes]
    page = app.test_client()
    sign_in(page, STAFF)
    assert page.get(f"/tickets/{reference}").status_code == 200
