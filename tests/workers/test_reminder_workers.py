"""Reminders and the close of unanswered tickets with three real workers and time moved forward.

Three `flask --app service worker --burst` processes start at once with `CLOCK_OFFSET` set: each
asks for the current period's reminder run, RQ's scheduler and the job id let one of them run
it, and the `ticket_reminders` rows make any second run send nothing. The emails are read back
from a real SMTP server.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from service import clock
from service.notifications.models import Email, EmailStatus
from service.tickets.models import TicketEvent, TicketReminder
from tests.tickets.support import STAFF, raise_ticket
from tests.workers.support import make_org, ticket_id

pytestmark = pytest.mark.postgres_only


def three_bursts(workers, offset: timedelta) -> None:
    """Three burst workers at once, their clock moved by `offset`; all must end cleanly."""
    workers.settings["CLOCK_OFFSET"] = str(int(offset.total_seconds()))
    started = [workers.start(burst=True) for _ in range(3)]
    for process in started:
        workers.finish(process, timeout=120)


def test_three_workers_remind_once_close_once_and_leave_answered_and_finished_tickets(
    app, client, factory, smtp, workers
):
    workers.smtp_port = smtp.port
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    admins = {slug: make_org(factory, slug) for slug in ("silent", "answers", "done")}
    tickets = {slug: raise_ticket(client, admins[slug], org=slug) for slug in admins}
    for reference in tickets.values():
        asked = client.post(
            f"/api/tickets/{reference}/comments",
            json={"body": "Which team?", "query": True},
            headers=staff,
        )
        assert asked.status_code == 201, asked.get_json()
    cancelled = client.post(
        f"/api/tickets/{tickets['done']}/cancel",
        json={"reason": "Not needed"},
        headers=admins["done"],
    )
    assert cancelled.status_code == 200
    remind = timedelta(days=app.config["REMIND_AWAITING_AFTER_DAYS"], hours=1)
    close = remind + timedelta(days=app.config["CLOSE_UNANSWERED_AFTER_DAYS"])

    three_bursts(workers, remind)
    reminded = Counter(ticket for (ticket,) in factory.all(select(TicketReminder.ticket_id)))
    assert reminded == {ticket_id(tickets["silent"]): 1, ticket_id(tickets["answers"]): 1}

    with clock.moved(remind + timedelta(hours=1)):
        answer = client.post(
            f"/api/tickets/{tickets['answers']}/comments",
            json={"body": "Finance."},
            headers=factory.headers("admin@answers.example"),
        )
        assert answer.status_code == 201, answer.get_json()

    three_bursts(workers, close)
    closed = factory.all(
        select(TicketEvent.ticket_id).where(
            TicketEvent.action == "cancelled", TicketEvent.actor_id.is_(None)
        )
    )
    assert closed == [(ticket_id(tickets["silent"]),)]
    templates = Counter(
        (template, recipient)
        for template, recipient in factory.all(select(Email.template, Email.recipient))
    )
    assert templates[("awaiting_reply_reminder", "admin@silent.example")] == 1
    assert templates[("awaiting_reply_reminder", "admin@answers.example")] == 1
    assert templates[("awaiting_reply_reminder", "admin@done.example")] == 0
    assert templates[("ticket_closed_unanswered", "admin@silent.example")] == 1
    assert sum(n for (t, _), n in templates.items() if t == "ticket_closed_unanswered") == 1
    assert factory.all(select(Email.id).where(Email.status != EmailStatus.SENT)) == []
    delivered = Counter(
        (str(m["To"]), str(m["Subject"]))
        for m in smtp.messages()
        if "waits for your answer" in str(m["Subject"]) or "was closed" in str(m["Subject"])
    )
    assert sorted(delivered.values()) == [1, 1, 1]
    assert {to for to, _ in delivered} == {"admin@silent.example", "admin@answers.example"}
