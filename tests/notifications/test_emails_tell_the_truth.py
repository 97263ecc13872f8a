"""Emails that say what is true, each read from the message a real SMTP server received, with
its plain-text and its HTML part: staff comments reach the requester; a reply names who wrote
it and the ticket's real status; a partner's admins hear when delegated access starts and ends.
"""

from __future__ import annotations

from tests.jobs import run_jobs
from tests.smtp import parts
from tests.tickets.support import (
    REQUESTER,
    STAFF,
    delegate_acme_to_buyco,
    new_contact,
    raise_ticket,
)

PARTNER_ADMIN = "admin@buyco.example"  # Priya Patel of BuyCo Procurement


def received(inbox, address: str, subject_part: str) -> tuple[str, str, str]:
    """The newest message to `address` whose subject holds `subject_part`: subject, text, html."""
    found = [
        m for m in inbox.messages() if address in str(m["To"]) and subject_part in str(m["Subject"])
    ]
    assert found, (address, subject_part, [str(m["Subject"]) for m in inbox.messages()])
    text, html = parts(found[-1])
    return str(found[-1]["Subject"]), text, html


def every_message_has_both_parts(inbox) -> None:
    for message in inbox.messages():
        text, html = parts(message)
        assert text.strip() and "<html" in html.lower(), message["Subject"]
        assert "{{" not in text + html


def test_a_staff_comment_reaches_the_requester_and_an_internal_note_does_not(
    app, client, factory, smtp
):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    staff = factory.headers(STAFF)
    for body in (
        {"body": "Looks fine; checking the seat count."},
        {"body": "Only us.", "internal": True},
    ):
        answer = client.post(f"/api/tickets/{reference}/comments", json=body, headers=staff)
        assert answer.status_code == 201
    run_jobs(app)

    subject, text, html = received(smtp, REQUESTER, "New comment")
    assert reference in subject
    for part in (text, html):
        assert "Looks fine; checking the seat count." in part
        assert STAFF in part
        assert "The ticket is open, in the review queue." in part
    to_requester = [m for m in smtp.messages() if REQUESTER in str(m["To"])]
    assert not any("Only us." in parts(m)[0] for m in to_requester)
    every_message_has_both_parts(smtp)


def test_a_delegates_reply_names_its_writer_and_partners_hear_of_their_access(
    app, client, factory, smtp
):
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    grant = delegate_acme_to_buyco(app, client, factory)
    subject, text, html = received(smtp, PARTNER_ADMIN, "gave BuyCo Procurement access")
    assert subject.startswith("Acme Widgets plc")
    for part in (text, html):
        assert "right to manage its contacts" in part and grant in part
    assert "/orgs/acme/contacts" in html

    # The partner's admin asks for a change on Acme's behalf; staff ask; the partner answers.
    partner = factory.headers(PARTNER_ADMIN)
    reference = raise_ticket(client, partner, [new_contact()])
    question = {"body": "Which team is Nia in?", "query": True}
    client.post(f"/api/tickets/{reference}/comments", json=question, headers=staff)
    answer = {"body": "Procurement, from Monday."}
    assert (
        client.post(f"/api/tickets/{reference}/comments", json=answer, headers=partner).status_code
        == 201
    )
    run_jobs(app)
    subject, text, html = received(smtp, "review-queue@vendor.example", "replied on")
    assert subject == f"Priya Patel replied on {reference} (Acme Widgets plc)"
    for part in (text, html):
        assert "Priya Patel (BuyCo Procurement, for Acme Widgets plc)" in part
        assert "Procurement, from Monday." in part
        assert "The ticket is open, in the review queue." in part
        assert "back in the review queue" not in part

    # A reply on a ticket that was already open says so too, and names the customer's admin.
    client.post(f"/api/tickets/{reference}/comments", json={"body": "Also: urgent."}, headers=admin)
    run_jobs(app)
    subject, text, _ = received(smtp, "review-queue@vendor.example", "replied")
    assert "Also: urgent." in text and "(Acme Widgets plc)" in text
    assert "for Acme Widgets plc" not in text

    client.post(f"/api/tickets/{reference}/cancel", json={}, headers=admin)
    end = raise_ticket(client, admin, [{"op": "revoke_delegate", "organization": "buyco"}])
    assert client.post(f"/api/tickets/{end}/approve", headers=staff).status_code == 202
    run_jobs(app)
    subject, text, html = received(smtp, PARTNER_ADMIN, "ended the access of BuyCo")
    for part in (text, html):
        assert "can no longer read the roster" in part and end in part
    every_message_has_both_parts(smtp)
