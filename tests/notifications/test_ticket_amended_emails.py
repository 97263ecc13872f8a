"""The `ticket_amended` email, read from the messages a real SMTP server received: an amendment
reaches the assignee (or the review queue when nobody is assigned) and every staff member whose
approval it withdrew, once each, and says the revision, who amended it and what it undid."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.smtp import parts
from tests.tickets.support import (
    OTHER_ADMIN,
    REQUESTER,
    STAFF,
    STAFF2,
    amend_ticket,
    delegate_acme_to_buyco,
    new_contact,
    raise_ticket,
)
from tests.web.forms import csrf_token, sign_in

REVIEW_QUEUE = "review-queue@vendor.example"
PARTNER_ADMIN = "admin@buyco.example"  # Priya Patel of BuyCo Procurement


def amended_to(inbox, address: str) -> list[EmailMessage]:
    return [
        m for m in inbox.messages() if address in str(m["To"]) and "amended" in str(m["Subject"])
    ]


def only_amended_to(inbox, address: str, subject: str | None = None, *says: str) -> list[str]:
    """The text and HTML of the one amendment email to `address`, with this `subject` (when
    given), each part saying everything in `says`."""
    found = amended_to(inbox, address)
    assert len(found) == 1, (address, [(str(m["To"]), str(m["Subject"])) for m in found])
    text, html = parts(found[0])
    assert "{{" not in text + html and html.lstrip().startswith("<!doctype html>")
    assert subject is None or str(found[0]["Subject"]) == subject
    for part in (text, html):
        assert all(phrase in part for phrase in says), (says, part)
    return [text, html]


def risky(factory) -> list[dict[str, Any]]:
    """Frank gives up Customer Administrator: two approvals needed."""
    frank = contact_ids(factory)["frank.fischer"]
    return [
        {"op": "grant_role", "contact_id": frank, "role": "technical"},
        {"op": "revoke_role", "contact_id": frank, "role": "cust_admin"},
    ]


def test_amending_an_assigned_ticket_emails_the_assignee_with_the_revision(
    app, client, factory, smtp
):
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    assign = {"assignee": STAFF2}
    answer = client.post(f"/api/tickets/{reference}/assign", json=assign, headers=staff)
    assert answer.status_code == 200, answer.get_json()
    amend_ticket(client, reference, admin)
    run_jobs(app)

    subject = f"Ada Ackland amended {reference} to revision 2 (Acme Widgets plc)"
    opening = "Ada Ackland (Acme Widgets plc) amended change request"
    link = f"/tickets/{reference}"
    for part in only_amended_to(smtp, STAFF2, subject, opening, reference, "revision 2", link):
        assert "approval" not in part  # none was given, so none was withdrawn
        assert "back in the review queue" not in part
    assert amended_to(smtp, REVIEW_QUEUE) == []


def test_amending_an_unassigned_ticket_emails_the_review_queue(app, client, factory, smtp):
    factory.demo()
    admin = factory.headers(REQUESTER)
    reference = raise_ticket(client, admin)
    amend_ticket(client, reference, admin)
    amend_ticket(
        client, reference, admin, [new_contact(), new_contact("n2", "nico.new@acme.example")]
    )
    run_jobs(app)

    found = amended_to(smtp, REVIEW_QUEUE)
    assert sorted(str(m["Subject"]).split(" to revision ")[1] for m in found) == [
        "2 (Acme Widgets plc)",
        "3 (Acme Widgets plc)",
    ]
    latest = next(m for m in found if "revision 3" in str(m["Subject"]))
    for part in parts(latest):
        assert "revision 3" in part and reference in part
    assert amended_to(smtp, REQUESTER) == []


def test_staff_whose_approval_the_amendment_withdrew_are_told_once_each(app, client, factory, smtp):
    factory.demo()
    admin = factory.headers(REQUESTER)
    staff, staff2 = factory.headers(STAFF), factory.headers(STAFF2)
    reference = raise_ticket(client, admin, risky(factory))
    # Staff approves once (of two needed) and is the assignee; staff2 approves nothing.
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 200
    client.post(f"/api/tickets/{reference}/assign", json={"assignee": STAFF}, headers=staff)
    amend_ticket(client, reference, admin)
    run_jobs(app)
    only_amended_to(smtp, STAFF, None, "1 approval given to revision 1 was withdrawn")
    assert amended_to(smtp, STAFF2) == [] and amended_to(smtp, REVIEW_QUEUE) == []

    # Unassigned again: staff2 approves revision 2; the next amendment tells the review queue
    # and staff2, whose approval it withdrew, and not staff, whose approval went with revision 2.
    client.post(f"/api/tickets/{reference}/assign", json={"assignee": None}, headers=staff)
    amend_ticket(client, reference, admin, risky(factory))
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff2).status_code == 200
    amend_ticket(client, reference, admin)
    run_jobs(app)
    only_amended_to(
        smtp, STAFF2, None, "revision 4", "1 approval given to revision 3 was withdrawn"
    )
    assert len(amended_to(smtp, STAFF)) == 1
    assert len(amended_to(smtp, REVIEW_QUEUE)) == 2  # revisions 3 and 4


def test_a_delegates_amendment_of_an_awaiting_ticket_names_it_and_says_the_ticket_is_back(
    app, client, factory, smtp
):
    factory.demo()
    staff = factory.headers(STAFF)
    delegate_acme_to_buyco(app, client, factory)
    partner = factory.headers(PARTNER_ADMIN)
    reference = raise_ticket(client, partner)
    question = {"body": "Which team is Nia in?", "query": True}
    client.post(f"/api/tickets/{reference}/comments", json=question, headers=staff)
    amend_ticket(client, reference, partner)
    run_jobs(app)

    only_amended_to(
        smtp,
        REVIEW_QUEUE,
        f"Priya Patel amended {reference} to revision 2 (Acme Widgets plc)",
        "Priya Patel (BuyCo Procurement, for Acme Widgets plc) amended",
        "It was waiting for the customer's answer and is back in the review queue.",
    )


def test_the_contacts_managers_amendment_emails_too(app, factory, smtp):
    factory.demo()
    browser = app.test_client()
    reference = raise_ticket(browser, factory.headers(REQUESTER))
    sign_in(browser, OTHER_ADMIN)
    token = csrf_token(browser, f"/orgs/acme/contacts?amend={reference}")
    version = browser.get("/api/orgs/acme/contacts", headers=factory.headers(OTHER_ADMIN))
    answer = browser.post(
        f"/web/tickets/{reference}/amend",
        json={"base_version": version.get_json()["version"], "changes": [new_contact()]},
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 201, answer.get_json()
    run_jobs(app)
    only_amended_to(
        smtp, REVIEW_QUEUE, None, "Frank Fischer (Acme Widgets plc) amended", "revision 2"
    )
