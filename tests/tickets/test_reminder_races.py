"""Reminder runs at the same instant, on PostgreSQL with real threads, over many rounds: each
reminder is recorded and emailed once, each unanswered ticket closed once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from service.extensions import db
from service.models_base import utcnow
from service.notifications.models import Email
from service.tickets import reminders
from service.tickets.models import TicketEvent, TicketReminder, TicketStatusCount
from tests.tickets.support import STAFF, raise_ticket
from tests.workers.support import make_org

pytestmark = pytest.mark.postgres_only

RUNS = 3
ROUNDS = 8
TICKETS = 5


def at_once(app, now) -> list[reminders.Figures]:
    """`RUNS` reminder runs started together, each in its own thread, session and transaction."""
    start = threading.Barrier(RUNS)
    results: list[reminders.Figures] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                figures = reminders.send_due(session=db.session(), now=now)
                db.session.commit()
                results.append(figures)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_simultaneous_runs_remind_once_and_close_once(app, client, factory):
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    for n in range(TICKETS):
        slug = f"race{n}"
        reference = raise_ticket(client, make_org(factory, slug), org=slug)
        asked = client.post(
            f"/api/tickets/{reference}/comments",
            json={"body": "Which team?", "query": True},
            headers=staff,
        )
        assert asked.status_code == 201
    remind_at = utcnow() + timedelta(days=app.config["REMIND_AWAITING_AFTER_DAYS"], hours=1)

    for _ in range(ROUNDS):
        runs = at_once(app, remind_at)
        sent = Counter(f.sent[reminders.ReminderKind.AWAITING_REPLY] for f in runs)
        assert sum(n * times for n, times in sent.items()) == TICKETS, sent
        emails = factory.all(
            select(Email.ticket_id).where(Email.template == "awaiting_reply_reminder")
        )
        assert sorted(Counter(emails).values()) == [1] * TICKETS
        # Forget the round: the same reminders are due again.
        with app.app_context():
            db.session.execute(delete(Email).where(Email.template == "awaiting_reply_reminder"))
            db.session.execute(delete(TicketReminder))
            db.session.commit()

    close_at = remind_at + timedelta(days=app.config["CLOSE_UNANSWERED_AFTER_DAYS"])
    runs = at_once(app, close_at)
    assert sum(f.sent[reminders.ReminderKind.CLOSED_UNANSWERED] for f in runs) == TICKETS
    closed = factory.all(select(TicketEvent.ticket_id).where(TicketEvent.action == "cancelled"))
    assert sorted(Counter(closed).values()) == [1] * TICKETS
    emails = factory.all(
        select(Email.ticket_id).where(Email.template == "ticket_closed_unanswered")
    )
    assert sorted(Counter(emails).values()) == [1] * TICKETS
    assert (
        factory.scalar(
            select(func.sum(TicketStatusCount.n)).where(TicketStatusCount.status == "cancelled")
        )
        == TICKETS
    )
