"""Emails: rendered from templates/emails/, sent to a real local SMTP server or the outbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from harness.smtp import free_port, parse
from service.accounts import tokens
from service.accounts.models import TokenPurpose, User
from service.errors import Gone
from service.extensions import db
from service.notifications import render as render_module
from service.notifications.delivery import (
    MAX_EMAIL_ATTEMPTS,
    account_link,
    mark_failed,
)
from service.notifications.models import Email, EmailStatus
from service.notifications.render import Rendered, RenderError, render
from service.notifications.tasks import send_email
from service.organizations.models import Organization
from service.requests.models import ChangeRequest
from service.tickets.models import Ticket, TicketComment, TicketStatus
from tests.demo_ids import contact_ids
from tests.smtp import parts

BASE_URL = "http://rolegate.test"
ADMIN = "admin@acme.example"
STAFF_ADDRESS = "review-queue@vendor.example"
SCRIPT = '<script>alert(1)</script> & "quoted"'


# --- a real SMTP server on 127.0.0.1 -------------------------------------------------------


def _check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok, auth_data=auth_data)


@pytest.fixture
def no_smtp(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SMTP_HOST", None)


# --- data: the demo roster, one submitted ticket, emails recorded through the ORM ------------


@pytest.fixture
def ticket(client, factory) -> dict[str, Any]:
    """Ada (admin@acme.example) submits a two-item request; the ticket's ids and reference."""
    factory.demo()
    ids = contact_ids(factory)
    response = client.post(
        "/api/orgs/acme/change-requests",
        json={
            "base_version": 1,
            "changes": [
                {"op": "grant_role", "contact_id": ids["boris.banks"], "role": "technical"},
                {"op": "deactivate_contact", "contact_id": ids["grace.gill"]},
            ],
        },
        headers=factory.headers(ADMIN),
    )
    assert response.status_code == 201, response.get_json()
    reference = response.get_json()["ticket"]["reference"]
    row = factory.all(select(Ticket.id, Ticket.requester_id).where(Ticket.status == "open"))[0]
    return {
        "id": row.id,
        "requester_id": row.requester_id,
        "reference": reference,
        "url": f"{BASE_URL}/tickets/{reference}",
    }


def user_id(factory, address: str) -> int:
    found: int = factory.scalar(select(User.id).where(User.email == address))
    return found


def record(app, template: str, recipient: str | None, **fields: Any) -> int:
    with app.app_context():
        row = Email(template=template, recipient=recipient, **{"context": {}, **fields})
        db.session.add(row)
        db.session.commit()
        return int(row.id)


def record_for_ticket(app, template: str, ticket, recipient=ADMIN, **context: Any) -> int:
    user = None if recipient == STAFF_ADDRESS else ticket["requester_id"]
    with app.app_context():
        row = Email(
            template=template,
            recipient=recipient,
            recipient_user_id=user,
            ticket_id=ticket["id"],
            context={"ticket_id": ticket["id"], **context},
        )
        db.session.add(row)
        db.session.commit()
        return int(row.id)


def comment(app, ticket, body: str, *, internal: bool = False, author_id: int | None = None) -> int:
    with app.app_context():
        row = TicketComment(
            ticket_id=ticket["id"],
            author_id=author_id or ticket["requester_id"],
            body=body,
            internal=internal,
            query=not internal,
        )
        db.session.add(row)
        db.session.commit()
        return int(row.id)


def set_ticket(app, ticket, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(**values))
        db.session.commit()


def rendered(app, email_id: int) -> Rendered:
    with app.app_context():
        email = db.session.get(Email, email_id)
        # As the delivery does: an account email's link is issued first, then rendered.
        link = account_link(session=db.session, email=email)
        result = render(session=db.session, email=email, link=link)
        db.session.commit()
        return result


def send(app, email_id: int) -> bool:
    """Run the email job for one email, as a worker would; whether it sent it."""
    with app.app_context():
        return send_email(email_id) == "sent"


def make_due(app, email_id: int) -> None:
    """As if the email's backoff were over."""
    with app.app_context():
        db.session.execute(update(Email).where(Email.id == email_id).values(next_attempt_at=None))
        db.session.commit()


def stored(factory, email_id: int) -> Email:
    row: Email = factory.scalar(select(Email).where(Email.id == email_id))
    return row


# --- rendering --------------------------------------------------------------------------------


def _prepare(app, factory, ticket, template: str) -> tuple[int, list[str]]:
    """Record one email of `template` about the ticket; what its parts must say."""
    if template == "ticket_raised":
        return record_for_ticket(app, template, ticket), ["We received your change request"]
    if template == "ticket_query":
        staff = user_id(factory, "staff@vendor.example")
        question = comment(app, ticket, "Which cost centre pays for Boris?", author_id=staff)
        email_id = record_for_ticket(app, template, ticket, comment_id=question)
        return email_id, ["Which cost centre pays for Boris?"]
    if template == "customer_reply":
        reply = comment(app, ticket, "Cost centre 42, as agreed.")
        email_id = record_for_ticket(app, template, ticket, STAFF_ADDRESS, comment_id=reply)
        return email_id, [
            "Cost centre 42, as agreed.",
            "(Acme Widgets plc) wrote on change request",
            "The ticket is open, in the review queue.",
        ]
    if template == "staff_comment":
        staff = user_id(factory, "staff@vendor.example")
        note = comment(app, ticket, "The seat count is fine.", author_id=staff)
        email_id = record_for_ticket(app, template, ticket, comment_id=note)
        return email_id, ["The seat count is fine.", "staff@vendor.example of the vendor's team"]
    if template == "ticket_amended":
        acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
        email_id = record_for_ticket(
            app,
            template,
            ticket,
            STAFF_ADDRESS,
            revision=2,
            amended_by=ticket["requester_id"],
            amended_for=acme,
            approvals_withdrawn=1,
            requeued=True,
        )
        return email_id, [
            "Ada Ackland (Acme Widgets plc) amended change request",
            "revision 2",
            "1 approval given to revision 1 was withdrawn",
            "back in the review queue",
        ]
    if template == "ticket_cancelled":
        set_ticket(app, ticket, status=TicketStatus.CANCELLED, resolution_reason="Sent too early.")
        return record_for_ticket(app, template, ticket), ["was cancelled", "Sent too early."]
    if template == "ticket_rejected":
        set_ticket(app, ticket, status=TicketStatus.REJECTED, resolution_reason="Needs sign-off.")
        return record_for_ticket(app, template, ticket), ["rejected", "Needs sign-off."]
    if template == "ticket_implemented":
        set_ticket(app, ticket, status=TicketStatus.IMPLEMENTED)
        return record_for_ticket(app, template, ticket), [
            "Grant Technical Contact to Boris Banks",
            "Deactivate Grace Gill",
        ]
    if template == "sla_reminder":
        context = {"target": "first_response", "due_at": "2026-11-30T17:00:00+00:00"}
        email_id = record_for_ticket(app, template, ticket, STAFF_ADDRESS, **context)
        return email_id, ["first response", "2026-11-30 17:00 UTC", "Nobody is assigned"]
    if template == "awaiting_reply_reminder":
        email_id = record_for_ticket(app, template, ticket, days=3, close_in_days=7)
        return email_id, ["3 days ago", "within 7 more days", "closed as cancelled"]
    if template == "ticket_closed_unanswered":
        set_ticket(app, ticket, status=TicketStatus.CANCELLED)
        email_id = record_for_ticket(app, template, ticket, days=10)
        return email_id, ["closed as cancelled", "no answer for 10 days"]
    assert template == "apply_failed"
    set_ticket(
        app,
        ticket,
        status=TicketStatus.FAILED,
        failure_code="roster_changed",
        failure_message="The roster changed since the request was made.",
    )
    email_id = record_for_ticket(app, template, ticket, STAFF_ADDRESS)
    return email_id, ["roster_changed", "The roster changed since the request was made."]


# Delegation emails go to a partner's admins, who may not open the ticket: they link to the
# customer's contacts (tests/notifications/test_emails_tell_the_truth.py reads them).
@pytest.mark.parametrize(
    "template", sorted(render_module.TICKET_TEMPLATES - render_module.DELEGATION_TEMPLATES)
)
def test_every_ticket_email_renders_subject_text_and_html_with_reference_and_link(
    app, factory, ticket, template
):
    email_id, expected = _prepare(app, factory, ticket, template)
    result = rendered(app, email_id)
    assert ticket["reference"] in result.subject
    assert "\n" not in result.subject and result.subject == result.subject.strip()
    for part in (result.text, result.html):
        assert ticket["reference"] in part
        assert ticket["url"] in part
        for phrase in expected:
            assert phrase in part, (template, phrase)
        assert "{{" not in part and "{%" not in part
    assert f'href="{ticket["url"]}"' in result.html
    assert result.html.lstrip().startswith("<!doctype html>")
    assert '<html lang="en">' in result.html
    assert "<title>" + result.subject + "</title>" in result.html


@pytest.mark.parametrize(
    "template",
    sorted(render_module.TICKET_TEMPLATES - render_module.DELEGATION_TEMPLATES)
    + sorted(render_module.ACCOUNT_TEMPLATES),
)
def test_every_email_reaches_a_real_smtp_server_with_its_text_and_html_parts(
    app, factory, ticket, smtp, template
):
    if template in render_module.ACCOUNT_TEMPLATES:
        carla = user_id(factory, "carla.conti@acme.example")
        email_id = record(
            app,
            template,
            "carla.conti@acme.example",
            recipient_user_id=carla,
            context={"user_id": carla},
        )
        expected = ["Acme Widgets plc", "Hello Carla,"]
    else:
        email_id, expected = _prepare(app, factory, ticket, template)
    assert send(app, email_id) is True
    text, html = parts(smtp.messages()[-1])
    for phrase in expected:
        assert phrase in text, (template, phrase)
        assert phrase.replace("'", "&#39;") in html or phrase in html, (template, phrase)
    assert "{{" not in text + html and html.lstrip().startswith("<!doctype html>")


def test_the_requester_is_greeted_by_first_name_and_the_staff_address_with_hello(
    app, factory, ticket
):
    to_requester = rendered(app, record_for_ticket(app, "ticket_raised", ticket))
    to_staff = rendered(app, record_for_ticket(app, "ticket_raised", ticket, STAFF_ADDRESS))
    assert to_requester.text.startswith("Hello Ada,\n")
    assert "We received your change request" in to_requester.text
    assert "2 changes" in to_requester.text
    assert to_staff.text.startswith("Hello,\n")
    assert (
        to_staff.subject
        == f"New change request {ticket['reference']} from Acme Widgets plc to review"
    )
    assert "waiting in the review queue" in to_staff.html


def test_html_escapes_what_people_wrote_while_the_text_part_keeps_it_as_written(
    app, factory, ticket
):
    factory.execute(
        update(Organization).where(Organization.slug == "acme").values(name="Acme & <Co>")
    )
    reply = comment(app, ticket, SCRIPT)
    result = rendered(
        app, record_for_ticket(app, "customer_reply", ticket, STAFF_ADDRESS, comment_id=reply)
    )
    assert SCRIPT in result.text
    assert "Acme & <Co>" in result.subject and "Acme & <Co>" in result.text
    assert "<script>" not in result.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quoted&#34;" in result.html
    assert "Acme &amp; &lt;Co&gt;" in result.html


def test_an_internal_comment_is_never_rendered_or_sent(app, factory, ticket, smtp):
    note = comment(app, ticket, "Staff only: the customer is difficult.", internal=True)
    email_id = record_for_ticket(app, "ticket_query", ticket, comment_id=note)
    with pytest.raises(RenderError) as refused:
        rendered(app, email_id)
    assert refused.value.code == "internal_comment"
    assert send(app, email_id) is False
    assert smtp.envelopes == []
    row = stored(factory, email_id)
    assert row.status == EmailStatus.FAILED and row.last_error == "RenderError internal_comment"
    assert row.attempts == 1


def test_a_comment_of_another_ticket_is_refused(app, factory, ticket):
    reply = comment(app, ticket, "A reply meant for the first ticket.")
    with app.app_context():
        buyco = db.session.scalar(select(Organization.id).where(Organization.slug == "buyco"))
        request = ChangeRequest(
            organization_id=buyco, requester_id=ticket["requester_id"], base_version=1
        )
        db.session.add(request)
        db.session.flush()
        other = Ticket(
            organization_id=buyco, change_request_id=request.id, requester_id=request.requester_id
        )
        db.session.add(other)
        db.session.commit()
        other_ticket = {**ticket, "id": other.id}
    email_id = record_for_ticket(
        app, "customer_reply", other_ticket, STAFF_ADDRESS, comment_id=reply
    )
    with pytest.raises(RenderError) as refused:
        rendered(app, email_id)
    assert refused.value.code == "comment_missing"


def test_an_email_without_its_ticket_is_refused(app, ticket):
    email_id = record(app, "ticket_raised", ADMIN)
    with pytest.raises(RenderError) as refused:
        rendered(app, email_id)
    assert refused.value.code == "ticket_missing"


def test_a_long_batch_is_summarised_in_the_implemented_email(app, factory, ticket, monkeypatch):
    monkeypatch.setattr(render_module, "MAX_SUMMARY_LINES", 1)
    set_ticket(app, ticket, status=TicketStatus.IMPLEMENTED)
    result = rendered(app, record_for_ticket(app, "ticket_implemented", ticket))
    assert "- Grant Technical Contact to Boris Banks\n- and 1 more" in result.text
    assert "Deactivate Grace Gill" not in result.text


# --- delivery --------------------------------------------------------------------------------


def test_delivery_over_smtp_reaches_the_server_with_text_and_html_parts(app, factory, ticket, smtp):
    email_id = record_for_ticket(app, "ticket_raised", ticket)
    assert send(app, email_id) is True
    (envelope,) = smtp.envelopes
    assert envelope.mail_from == app.config["MAIL_FROM"]
    assert envelope.rcpt_tos == [ADMIN]
    message = parse(envelope.content)
    assert message["To"] == ADMIN
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Subject"] == f"We received your change request {ticket['reference']}"
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith(">")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert ticket["url"] in text and f'href="{ticket["url"]}"' in html
    row = stored(factory, email_id)
    assert (row.status, row.attempts, row.last_error) == (EmailStatus.SENT, 1, None)
    assert row.sent_at is not None


def test_smtp_login_is_used_when_a_username_is_set(app, factory, ticket, start_smtp, monkeypatch):
    inbox = start_smtp(authenticator=_check_login, auth_require_tls=False)
    monkeypatch.setitem(app.config, "SMTP_USERNAME", "mailer")
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", "s3cret")
    assert send(app, record_for_ticket(app, "ticket_raised", ticket)) is True
    assert inbox.logins == [b"mailer"]


def test_a_second_delivery_of_the_same_email_sends_nothing(app, factory, ticket, smtp):
    email_id = record_for_ticket(app, "ticket_raised", ticket)
    assert send(app, email_id) is True
    assert send(app, email_id) is False
    assert len(smtp.envelopes) == 1
    assert stored(factory, email_id).attempts == 1


@pytest.mark.parametrize("status", [EmailStatus.ERASED, EmailStatus.FAILED, None])
def test_erased_failed_or_addressless_emails_are_not_sent(app, factory, ticket, smtp, status):
    email_id = record_for_ticket(app, "ticket_raised", ticket)
    values = {"status": status} if status else {"recipient": None}
    factory.execute(update(Email).where(Email.id == email_id).values(**values))
    assert send(app, email_id) is False
    assert smtp.envelopes == []
    assert stored(factory, email_id).attempts == 0


def test_without_an_smtp_host_the_email_is_written_to_the_instance_outbox(
    app, factory, ticket, no_smtp, instance_path: Path
):
    outbox = instance_path / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    email_id = record_for_ticket(app, "ticket_raised", ticket)
    assert send(app, email_id) is True
    (written,) = set(outbox.glob("*.eml")) - before
    assert re.fullmatch(rf"\d{{8}}T\d{{12}}Z-{email_id}-ticket_raised\.eml", written.name)
    message = parse(written.read_bytes())
    assert message["To"] == ADMIN
    text, html = parts(message)
    assert ticket["url"] in text and ticket["url"] in html
    assert stored(factory, email_id).status == EmailStatus.SENT


def test_a_refused_recipient_is_a_permanent_failure_recorded_without_the_address(
    app, factory, ticket, smtp
):
    smtp.refuse[ADMIN] = f"550 5.1.1 <{ADMIN}>: Recipient address rejected"
    email_id = record_for_ticket(app, "ticket_raised", ticket)
    assert send(app, email_id) is False
    row = stored(factory, email_id)
    assert row.last_error == "refused: SMTPRecipientsRefused 550"
    assert row.attempts == 1 and row.status == EmailStatus.FAILED
    assert smtp.envelopes == []


def test_a_temporary_refusal_and_a_refused_connection_are_tried_again_after_a_backoff(
    app, factory, ticket, smtp, monkeypatch
):
    smtp.refuse[ADMIN] = f"451 4.7.1 <{ADMIN}>: greylisted, try again later"
    email_id = record_for_ticket(app, "ticket_raised", ticket)
    assert send(app, email_id) is False
    row = stored(factory, email_id)
    assert (row.status, row.last_error) == (EmailStatus.PENDING, "SMTPRecipientsRefused 451")
    assert row.next_attempt_at is not None
    # Not due yet: a job run now (the event's, or a sweep's) leaves it alone.
    assert send(app, email_id) is False
    assert stored(factory, email_id).attempts == 1

    make_due(app, email_id)
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())
    assert send(app, email_id) is False
    row = stored(factory, email_id)
    assert (row.attempts, row.last_error) == (2, "ConnectionRefusedError")

    make_due(app, email_id)
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
    del smtp.refuse[ADMIN]
    assert send(app, email_id) is True
    assert stored(factory, email_id).attempts == 3


def test_an_email_that_keeps_failing_is_given_up_after_the_last_attempt_allowed(
    app, factory, ticket, smtp, monkeypatch
):
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())
    email_id = record_for_ticket(app, "ticket_raised", ticket)
    for attempt in range(1, MAX_EMAIL_ATTEMPTS + 1):
        make_due(app, email_id)
        assert send(app, email_id) is False
        last = attempt == MAX_EMAIL_ATTEMPTS
        row = stored(factory, email_id)
        assert row.attempts == attempt
        assert row.status == (EmailStatus.FAILED if last else EmailStatus.PENDING)
    assert stored(factory, email_id).last_error == (
        f"gave up after {MAX_EMAIL_ATTEMPTS} attempts: ConnectionRefusedError"
    )
    make_due(app, email_id)
    assert send(app, email_id) is False  # a failed email is never tried again
    assert stored(factory, email_id).attempts == MAX_EMAIL_ATTEMPTS


def test_mark_failed_gives_up_on_a_pending_email_and_keeps_the_cause(app, factory, ticket):
    email_id = record_for_ticket(app, "ticket_raised", ticket)
    with app.app_context():
        db.session.execute(
            update(Email).where(Email.id == email_id).values(last_error="SMTPDataError 451")
        )
        assert mark_failed(session=db.session, email_id=email_id, reason_code="retries_exhausted")
        assert not mark_failed(session=db.session, email_id=email_id, reason_code="again")
        db.session.commit()
    row = stored(factory, email_id)
    assert row.status == EmailStatus.FAILED
    assert row.last_error == "retries_exhausted after SMTPDataError 451"


# --- account emails ---------------------------------------------------------------------------


def link_token(text: str, path: str) -> str:
    found = re.search(rf"{re.escape(BASE_URL)}/{path}/([A-Za-z0-9_-]{{43,}})", text)
    assert found, text
    return found.group(1)


def consume(app, token: str, purpose: TokenPurpose) -> int:
    with app.app_context():
        user = tokens.consume(session=db.session, token=token, purpose=purpose)
        db.session.commit()
        return int(user.id)


def test_the_welcome_link_works_once_and_a_newer_link_voids_it(app, factory, smtp):
    factory.demo()
    carla = "carla.conti@acme.example"
    carla_id = user_id(factory, carla)
    fields = {"recipient_user_id": carla_id, "context": {"user_id": carla_id}}
    first_id = record(app, "welcome", carla, **fields)
    assert send(app, first_id) is True
    text, html = parts(smtp.messages()[0])
    first = link_token(text, "activate")
    assert f'href="{BASE_URL}/activate/{first}"' in html
    assert "Acme Widgets plc" in text and "72 hours" in text and "Hello Carla," in text

    second_id = record(app, "welcome", carla, **fields)
    assert send(app, second_id) is True
    second = link_token(parts(smtp.messages()[1])[0], "activate")
    assert second != first
    with pytest.raises(Gone):
        consume(app, first, TokenPurpose.ACTIVATION)
    assert consume(app, second, TokenPurpose.ACTIVATION) == carla_id
    with pytest.raises(Gone):
        consume(app, second, TokenPurpose.ACTIVATION)


def test_the_password_reset_link_resets_once(app, factory):
    factory.demo()
    admin_id = user_id(factory, ADMIN)
    email_id = record(
        app, "password_reset", ADMIN, recipient_user_id=admin_id, context={"user_id": admin_id}
    )
    result = rendered(app, email_id)
    token = link_token(result.text, "reset")
    assert result.subject == "Reset your Rolegate password"
    assert f"{BASE_URL}/reset/{token}" in result.html
    with pytest.raises(Gone):
        consume(app, token, TokenPurpose.ACTIVATION)
    assert consume(app, token, TokenPurpose.PASSWORD_RESET) == admin_id


def test_an_account_link_is_only_sent_to_the_accounts_own_address(app, factory):
    factory.demo()
    carla_id = user_id(factory, "carla.conti@acme.example")
    email_id = record(app, "welcome", "someone.else@example.com", context={"user_id": carla_id})
    with pytest.raises(RenderError) as refused:
        rendered(app, email_id)
    assert refused.value.code == "recipient_not_account_owner"
