"""Email attempts: counted before SMTP, one in flight, bounded in number, one connection a burst.

The email jobs run here in-process (as a worker runs them) against a real aiosmtpd server; the
race test runs several of them at once in threads, each with its own session.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from service.extensions import db
from service.models_base import utcnow
from service.notifications import delivery
from service.notifications.delivery import CLAIM_SECONDS, MAX_EMAIL_ATTEMPTS, Selection
from service.notifications.models import Email, EmailStatus
from service.notifications.render import Renderer
from service.notifications.tasks import pending_emails, send_event_emails
from service.tickets.models import Ticket, TicketEvent
from tests.jobs import email_row_id
from tests.tickets.support import REQUESTER, raise_ticket


@pytest.fixture
def event(client, factory) -> dict[str, int]:
    """The event of a raised ticket, its emails delivered already; more can be recorded on it."""
    factory.demo()
    raise_ticket(client, factory.headers(REQUESTER))
    ticket_id, event_id = factory.all(select(TicketEvent.ticket_id, TicketEvent.id))[0]
    with factory.app.app_context():
        db.session.execute(update(Email).values(status=EmailStatus.SENT))
        db.session.commit()
    return {"ticket_id": ticket_id, "event_id": event_id}


def record_many(app, event: dict[str, int], count: int, prefix: str = "reader") -> list[int]:
    """`count` pending "ticket raised" emails of the event, to distinct addresses."""
    with app.app_context():
        rows = [
            Email(
                ticket_id=event["ticket_id"],
                event_id=event["event_id"],
                template="ticket_raised",
                recipient=f"{prefix}{n:03d}@acme.example",
                context={"ticket_id": event["ticket_id"]},
            )
            for n in range(count)
        ]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def run(app, event: dict[str, int]) -> str:
    with app.app_context():
        return send_event_emails(event["event_id"])


def rows(factory, ids: list[int]) -> list[Email]:
    found: list[Email] = factory.all(select(Email).where(Email.id.in_(ids)).order_by(Email.id))
    return [row[0] for row in found]


def make_due(app, ids: list[int]) -> None:
    with app.app_context():
        db.session.execute(update(Email).where(Email.id.in_(ids)).values(next_attempt_at=None))
        db.session.commit()


def test_any_error_while_preparing_an_email_counts_as_an_attempt_until_it_is_given_up(
    app, factory, event, smtp, monkeypatch
):
    broken, fine = record_many(app, event, 2)
    original = Renderer.render

    def render_or_fail(self, email, *, link=None):
        if email.id == broken:
            raise ValueError("a bug, not a render error")
        return original(self, email, link=link)

    monkeypatch.setattr(Renderer, "render", render_or_fail)
    for attempt in range(1, MAX_EMAIL_ATTEMPTS + 1):
        make_due(app, [broken])
        run(app, event)
        (row,) = rows(factory, [broken])
        assert row.attempts == attempt
        if attempt < MAX_EMAIL_ATTEMPTS:
            assert (row.status, row.last_error) == (EmailStatus.PENDING, "ValueError")
    assert row.status == EmailStatus.FAILED
    assert row.last_error == f"gave up after {MAX_EMAIL_ATTEMPTS} attempts: ValueError"
    # The other email of the burst went out at the first attempt, once.
    (other,) = rows(factory, [fine])
    assert (other.status, other.attempts) == (EmailStatus.SENT, 1)
    assert [email_row_id(m) for m in smtp.messages()] == [fine]
    # Given up for good: not found by the sweep, not sent by a later run.
    make_due(app, [broken])
    with app.app_context():
        assert pending_emails(db.session) == []
    run(app, event)
    assert rows(factory, [broken])[0].attempts == MAX_EMAIL_ATTEMPTS


def test_an_attempt_is_counted_before_smtp_and_a_dead_workers_claim_runs_out(
    app, factory, event, smtp
):
    (email_id,) = record_many(app, event, 1)
    # A worker claims the email and dies before it talks to the SMTP server.
    with app.app_context():
        assert delivery.claim(session=db.session, selection=Selection(email_id=email_id)) == [
            email_id
        ]
        db.session.commit()
    (row,) = rows(factory, [email_id])
    assert row.attempts == 1 and row.status == EmailStatus.PENDING
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - utcnow() > timedelta(seconds=CLAIM_SECONDS - 10)
    # While the claim holds, nobody attempts it: not the sweep, not another job.
    with app.app_context():
        assert pending_emails(db.session) == []
    run(app, event)
    assert smtp.envelopes == []

    # The claim runs out: the email is due again, and its next attempt is the second.
    factory.execute(
        update(Email)
        .where(Email.id == email_id)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    with app.app_context():
        assert [work.job_id for work in pending_emails(db.session)] == [
            f"emails-{event['event_id']}"
        ]
    run(app, event)
    (row,) = rows(factory, [email_id])
    assert (row.status, row.attempts) == (EmailStatus.SENT, 2)
    assert len(smtp.envelopes) == 1


def test_every_copy_of_an_email_carries_the_same_message_id(app, factory, event, smtp):
    (email_id,) = record_many(app, event, 1)
    run(app, event)
    # The server accepted it, and the commit that recorded it was lost: it goes again.
    factory.execute(update(Email).where(Email.id == email_id).values(status=EmailStatus.PENDING))
    run(app, event)
    first, second = smtp.messages()
    assert first["Message-ID"] == second["Message-ID"]
    assert email_row_id(first) == email_id


def test_one_smtp_connection_serves_a_burst_of_emails(app, factory, event, smtp):
    ids = record_many(app, event, 30)
    assert run(app, event) == "sent"
    assert sorted(email_row_id(m) for m in smtp.messages()) == ids
    assert len(set(smtp.peers)) == 1


def test_workers_given_the_same_emails_at_once_send_each_one_once(app, factory, event, smtp):
    for round_number in range(3):
        ids = record_many(app, event, 40, prefix=f"round{round_number}-")
        errors: list[BaseException] = []

        def worker(errors: list[BaseException] = errors) -> None:
            try:
                run(app, event)
            except BaseException as exc:  # reported below, with the round
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, (round_number, errors)
        sent = Counter(email_row_id(m) for m in smtp.messages())
        assert {email_id: sent[email_id] for email_id in ids} == dict.fromkeys(ids, 1)
        attempts = factory.scalar(select(func.sum(Email.attempts)).where(Email.id.in_(ids)))
        assert attempts == len(ids), round_number
    assert factory.scalar(select(func.count()).select_from(Ticket)) == 1
