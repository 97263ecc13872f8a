"""`/api/tickets/...`: every action for every kind of caller, and what each one is told."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.extensions import db
from service.notifications.models import Email
from service.tickets.models import TicketComment, TicketEvent
from tests.demo_ids import contact_ids
from tests.jobs import bodies, outbox, run_jobs
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

ACTIONS = [
    ("get", "", None),
    ("post", "/comments", {"body": "Hello"}),
    ("post", "/assign", {"assignee": STAFF}),
    ("post", "/approve", {}),
    ("post", "/reject", {"reason": "No."}),
    ("post", "/cancel", {}),
    ("post", "/retry", {}),
]
STAFF_ONLY = ["/assign", "/approve", "/reject", "/retry"]


@pytest.fixture
def people(factory):
    factory.demo()
    return {email: factory.headers(email) for email in (STAFF, STAFF2, REQUESTER, OTHER_ADMIN)}


@pytest.fixture
def ticket(client, people):
    return raise_ticket(client, people[REQUESTER])


def call(client, headers, reference, suffix, body):
    url = f"/api/tickets/{reference}{suffix}"
    if body is None:
        return client.get(url, headers=headers)
    return client.post(url, json=body, headers=headers)


def status_of(client, headers, reference):
    return client.get(f"/api/tickets/{reference}", headers=headers).get_json()["status"]


@pytest.mark.parametrize(("method", "suffix", "body"), ACTIONS)
def test_without_a_token_every_ticket_call_is_401(client, ticket, method, suffix, body):
    response = call(client, {}, ticket, suffix, body)
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "suffix", "body"), ACTIONS)
def test_another_organizations_admin_gets_404_as_for_a_missing_ticket(
    client, factory, ticket, method, suffix, body
):
    headers = factory.headers(OUTSIDER)
    response = call(client, headers, ticket, suffix, body)
    assert response.status_code == 404
    assert response.get_json()["code"] == "ticket_not_found"
    assert call(client, headers, "CR-999999", suffix, body).get_json() == response.get_json()


@pytest.mark.parametrize(("method", "suffix", "body"), ACTIONS)
def test_a_customer_without_ticket_permissions_gets_403(
    client, factory, ticket, method, suffix, body
):
    response = call(client, factory.headers(NO_MANAGE), ticket, suffix, body)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize("suffix", STAFF_ONLY)
def test_customers_may_not_take_staff_actions(client, people, ticket, suffix):
    body = next(b for _, s, b in ACTIONS if s == suffix)
    for email in (REQUESTER, OTHER_ADMIN):
        response = call(client, people[email], ticket, suffix, body)
        assert response.status_code == 403, (email, suffix)
    assert status_of(client, people[STAFF], ticket) == "open"


def test_staff_cannot_cancel_a_customers_request(client, people, ticket):
    assert call(client, people[STAFF], ticket, "/cancel", {}).status_code == 403


def test_customers_may_not_write_internal_notes_or_questions(client, people, ticket):
    for flag in ("internal", "query"):
        response = call(client, people[REQUESTER], ticket, "/comments", {"body": "x", flag: True})
        assert response.status_code == 403


def test_unknown_fields_and_bad_types_are_refused_with_422(client, people, ticket):
    response = call(client, people[STAFF], ticket, "/comments", {"body": "x", "pin": True})
    assert response.status_code == 422
    assert response.get_json()["errors"][0] == {
        "path": "pin",
        "code": "unknown_field",
        "message": "Unknown field.",
    }
    response = call(client, people[STAFF], ticket, "/comments", {"body": "x", "internal": "yes"})
    assert response.status_code == 422
    response = call(client, people[STAFF], ticket, "/comments", {"body": "   "})
    assert response.get_json()["errors"][0]["code"] == "missing_field"


def test_ticket_detail_shows_the_batch_warnings_and_timeline(client, people):
    changes = [new_contact(), {"op": "grant_role", "ref": "n1", "role": "agreement"}]
    reference = raise_ticket(client, people[REQUESTER], changes)
    detail = client.get(f"/api/tickets/{reference}", headers=people[REQUESTER]).get_json()
    assert detail["status"] == "open"
    assert detail["organization"] == "acme"
    assert detail["requester"] == REQUESTER
    assert detail["assignee"] is None
    assert [c["summary"] for c in detail["changes"]] == [
        "Add Nia New as Technical Contact",
        "Grant Agreement Contact to Nia New",
    ]
    assert [(e["action"], e["from"], e["to"]) for e in detail["events"]] == [
        ("opened", None, "open")
    ]
    assert detail["failure"] is None
    assert detail["approvals_required"] == 1


def test_a_staff_query_waits_for_the_customer_whose_answer_reopens_it(client, people, ticket):
    asked = call(client, people[STAFF], ticket, "/comments", {"body": "Why?", "query": True})
    assert asked.status_code == 201
    assert status_of(client, people[STAFF], ticket) == "awaiting_customer"
    answered = call(client, people[OTHER_ADMIN], ticket, "/comments", {"body": "Because."})
    assert answered.status_code == 201
    assert answered.get_json()["author"] == OTHER_ADMIN
    detail = client.get(f"/api/tickets/{ticket}", headers=people[REQUESTER]).get_json()
    assert detail["status"] == "open"
    assert [(e["action"], e["from"], e["to"]) for e in detail["events"][1:]] == [
        ("queried", "open", "awaiting_customer"),
        ("replied", "awaiting_customer", "open"),
    ]


def test_comments_are_stored_and_returned_exactly_as_written(client, people, ticket):
    text = 'Line one\n<b>not bold</b> & "quoted"\twith a tab — ünïcode'
    response = call(client, people[REQUESTER], ticket, "/comments", {"body": text})
    assert response.get_json()["body"] == text
    detail = client.get(f"/api/tickets/{ticket}", headers=people[STAFF]).get_json()
    assert detail["comments"][-1]["body"] == text


def test_internal_notes_never_reach_customers_in_the_api_or_any_email(app, client, people, ticket):
    secret = "internal-only-7f3a"
    note = call(client, people[STAFF], ticket, "/comments", {"body": secret, "internal": True})
    assert note.status_code == 201
    call(client, people[STAFF], ticket, "/comments", {"body": "Question?", "query": True})
    call(client, people[REQUESTER], ticket, "/comments", {"body": "Answer."})
    call(client, people[STAFF], ticket, "/approve", {})
    run_jobs(app)
    for email in (REQUESTER, OTHER_ADMIN):
        seen = client.get(f"/api/tickets/{ticket}", headers=people[email])
        assert secret not in seen.get_data(as_text=True)
        assert "internal_note" not in seen.get_data(as_text=True)
    staff_view = client.get(f"/api/tickets/{ticket}", headers=people[STAFF]).get_json()
    assert [c["body"] for c in staff_view["comments"] if c["internal"]] == [secret]
    messages = outbox(app)
    assert messages, "the query, the answer and the implementation each send email"
    assert all(secret not in bodies(m) for m in messages)


def test_a_query_emails_the_requester_and_the_answer_emails_the_assignee(
    app, client, people, ticket
):
    call(client, people[STAFF], ticket, "/assign", {"assignee": STAFF2})
    call(client, people[STAFF], ticket, "/comments", {"body": "Which team?", "query": True})
    call(client, people[REQUESTER], ticket, "/comments", {"body": "Platform team."})
    sent = {(m["To"], m["Subject"]) for m in outbox(app)}
    query = [m for m in outbox(app) if m["To"] == REQUESTER and "Which team?" in bodies(m)]
    assert query and ticket in bodies(query[0])
    reply = [m for m in outbox(app) if m["To"] == STAFF2]
    assert reply and "Platform team." in bodies(reply[0]), sent


def test_assigning_to_someone_who_is_not_staff_is_refused(client, people, ticket):
    response = call(client, people[STAFF], ticket, "/assign", {"assignee": REQUESTER})
    assert response.status_code == 422
    assert response.get_json()["code"] == "unknown_assignee"
    assigned = call(client, people[STAFF], ticket, "/assign", {"assignee": STAFF2})
    assert assigned.get_json()["assignee"] == STAFF2
    cleared = call(client, people[STAFF], ticket, "/assign", {"assignee": None})
    assert cleared.get_json()["assignee"] is None


def test_reject_needs_a_reason_tells_the_requester_and_frees_the_organization(
    app, client, people, ticket
):
    assert call(client, people[STAFF], ticket, "/reject", {}).status_code == 422
    response = call(client, people[STAFF], ticket, "/reject", {"reason": "Use the HR form."})
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert response.get_json()["resolution_reason"] == "Use the HR form."
    told = [m for m in outbox(app) if m["To"] == REQUESTER and "Use the HR form." in bodies(m)]
    assert told
    raise_ticket(client, people[REQUESTER], [new_contact(email="second@acme.example")])


def test_requester_or_another_admin_may_cancel_and_the_organization_is_freed(
    app, client, people, ticket
):
    call(client, people[STAFF], ticket, "/assign", {"assignee": STAFF2})
    response = call(client, people[OTHER_ADMIN], ticket, "/cancel", {"reason": "Wrong person."})
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    cancelled = [m for m in outbox(app) if "cancelled" in str(m["Subject"]).lower()]
    assert {m["To"] for m in cancelled} == {REQUESTER, STAFF2}
    again = raise_ticket(client, people[REQUESTER], [new_contact(email="second@acme.example")])
    assert call(client, people[REQUESTER], again, "/cancel", {}).status_code == 200


def test_approve_answers_202_and_the_worker_implements_the_batch(app, client, people, ticket):
    response = call(client, people[STAFF], ticket, "/approve", {})
    assert response.status_code == 202
    run_jobs(app)
    detail = client.get(f"/api/tickets/{ticket}", headers=people[REQUESTER]).get_json()
    assert detail["status"] == "implemented"
    assert [e["action"] for e in detail["events"]][-3:] == [
        "approved",
        "apply_started",
        "implemented",
    ]
    roster = client.get("/api/orgs/acme/contacts", headers=people[REQUESTER]).get_json()
    assert "nia.new@acme.example" in {c["email"] for c in roster["contacts"]}
    assert roster["version"] == 2


def test_final_and_wrong_status_actions_answer_409_naming_the_status(client, people, ticket):
    retried = call(client, people[STAFF], ticket, "/retry", {})
    assert retried.status_code == 409
    assert retried.get_json()["code"] == "invalid_transition"
    assert "open" in retried.get_json()["message"]
    call(client, people[REQUESTER], ticket, "/cancel", {})
    for suffix, body in (("/approve", {}), ("/reject", {"reason": "x"}), ("/cancel", {})):
        headers = people[REQUESTER] if suffix == "/cancel" else people[STAFF]
        response = call(client, headers, ticket, suffix, body)
        assert response.status_code == 409, suffix
        assert "cancelled" in response.get_json()["message"]


def test_approving_twice_gives_one_success(app, client, people, ticket):
    assert call(client, people[STAFF], ticket, "/approve", {}).status_code == 202
    second = call(client, people[STAFF2], ticket, "/approve", {})
    assert second.status_code == 409
    assert second.get_json()["code"] == "invalid_transition"


def test_a_failed_apply_can_be_retried_once_the_roster_allows_it(app, client, people, factory):
    devon = contact_ids(factory)["devon.tran"]
    reference = raise_ticket(
        client, people[REQUESTER], [{"op": "grant_role", "contact_id": devon, "role": "agreement"}]
    )
    # Someone gives Devon the role another way before staff approve: the batch no longer fits.
    factory.change_contact(devon, grant=("agreement",))
    call(client, people[STAFF], reference, "/approve", {})
    run_jobs(app)
    detail = client.get(f"/api/tickets/{reference}", headers=people[STAFF]).get_json()
    assert detail["status"] == "failed"
    assert detail["failure"]["code"] == "validation_failed"
    assert "role_already_held" in detail["failure"]["message"]
    assert any("failed" in str(m["Subject"]).lower() for m in outbox(app))
    factory.change_contact(devon, revoke=("agreement",))
    assert call(client, people[STAFF], reference, "/retry", {}).status_code == 202
    run_jobs(app)
    assert status_of(client, people[STAFF], reference) == "implemented"


def test_every_event_and_comment_holds_ids_not_personal_data(app, client, people, ticket):
    call(client, people[STAFF], ticket, "/comments", {"body": "Why?", "query": True})
    with app.app_context():
        for event in db.session.scalars(select(TicketEvent)):
            assert "@" not in str(event.detail)
        assert db.session.scalar(select(TicketComment.author_id)) is not None
        assert db.session.scalar(select(Email.context)) == {"ticket_id": 1}
