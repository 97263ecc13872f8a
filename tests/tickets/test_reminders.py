"""Reminders and the close of unanswered tickets, run in this process with the clock moved
(`service.clock.moved`): each happens once however often the run repeats, a reply in time
keeps the ticket, finished tickets get nothing, and the emails reach a real SMTP server."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from service import clock
from service.metrics import REMINDERS_SENT, TICKETS_AUTO_CLOSED
from service.models_base import utcnow
from service.notifications.models import Email
from service.tickets.models import Ticket, TicketEvent, TicketReminder, TicketStatusCount
from service.tickets.tasks import run_reminders
from service.webhooks.models import WebhookEvent
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, raise_ticket
from tests.workers.support import make_org, ticket_id

REVIEW_QUEUE = "review-queue@vendor.example"


def sweep(app) -> dict[str, int]:
    """One reminder run, as the job does it, then the email jobs; what it sent, by kind."""
    with app.app_context():
        figures = run_reminders()
    run_jobs(app)
    return {kind.value: n for kind, n in figures.sent.items() if n}


def ask(client, staff, reference: str) -> None:
    response = client.post(
        f"/api/tickets/{reference}/comments",
        json={"body": "Which team is she in?", "query": True},
        headers=staff,
    )
    assert response.status_code == 201, response.get_json()


def templates(factory) -> Counter[tuple[str, str]]:
    return Counter(factory.all(select(Email.template, Email.recipient)))


def waiting_on_the_requester(app, client, factory) -> tuple[str, timedelta, timedelta]:
    """A ticket staff asked about; how long until its reminder and until its close."""
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    ask(client, factory.headers(STAFF), reference)
    remind = timedelta(days=app.config["REMIND_AWAITING_AFTER_DAYS"])
    return reference, remind, remind + timedelta(days=app.config["CLOSE_UNANSWERED_AFTER_DAYS"])


def test_a_ticket_left_unanswered_is_reminded_once_then_closed_once_with_the_reason(
    app, client, factory, smtp
):
    reference, remind, close = waiting_on_the_requester(app, client, factory)
    admin = factory.headers(REQUESTER)
    before = TICKETS_AUTO_CLOSED._value.get()
    reminded = REMINDERS_SENT.labels("awaiting_reply")._value.get()

    assert sweep(app) == {}
    with clock.moved(remind + timedelta(hours=1)):
        assert sweep(app) == {"awaiting_reply": 1}
        assert sweep(app) == {}
    assert templates(factory)[("awaiting_reply_reminder", REQUESTER)] == 1
    assert REMINDERS_SENT.labels("awaiting_reply")._value.get() == reminded + 1

    with clock.moved(close + timedelta(hours=1)):
        assert sweep(app) == {"closed_unanswered": 1}
        assert sweep(app) == {}
    assert TICKETS_AUTO_CLOSED._value.get() == before + 1
    body = client.get(f"/api/tickets/{reference}", headers=admin).get_json()
    assert body["status"] == "cancelled"
    events = [e for e in body["events"] if e["action"] == "cancelled"]
    assert len(events) == 1 and events[0]["to"] == "cancelled"
    assert templates(factory)[("ticket_closed_unanswered", REQUESTER)] == 1
    # Subscribers hear of it as of any cancellation.
    told = factory.all(
        select(WebhookEvent.event_type)
        .where(WebhookEvent.ticket_id == ticket_id(reference))
        .order_by(WebhookEvent.id)
    )
    assert [event for (event,) in told] == ["ticket.submitted", "ticket.cancelled"]
    assert (
        factory.scalar(select(TicketStatusCount.n).where(TicketStatusCount.status == "cancelled"))
        == 1
    )
    assert (
        factory.scalar(
            select(TicketStatusCount.n).where(TicketStatusCount.status == "awaiting_customer")
        )
        == 0
    )
    sent = {str(m["Subject"]): m for m in smtp.messages()}
    closed = next(m for s, m in sent.items() if s.startswith(f"Change request {reference} was"))
    text = closed.get_body(("plain",)).get_content()
    html = closed.get_body(("html",)).get_content()
    assert "had no answer for" in text and "had no answer for" in html
    assert any(s.endswith("waits for your answer") for s in sent)


def test_a_reply_before_the_close_keeps_the_ticket(app, client, factory, smtp):
    reference, remind, close = waiting_on_the_requester(app, client, factory)
    admin = factory.headers(REQUESTER)
    with clock.moved(remind + timedelta(hours=1)):
        assert sweep(app) == {"awaiting_reply": 1}
        # A token lasts hours: the requester signs in again days later.
        answer = client.post(
            f"/api/tickets/{reference}/comments",
            json={"body": "Finance."},
            headers=factory.headers(REQUESTER),
        )
        assert answer.status_code == 201, answer.get_json()
    with clock.moved(close + timedelta(days=1)):
        assert "closed_unanswered" not in sweep(app)
    assert client.get(f"/api/tickets/{reference}", headers=admin).get_json()["status"] == "open"
    assert templates(factory)[("ticket_closed_unanswered", REQUESTER)] == 0


def test_finished_tickets_get_no_reminder_and_are_not_closed(app, client, factory, smtp):
    factory.demo()
    staff, admin = factory.headers(STAFF), factory.headers(REQUESTER)
    reference = raise_ticket(client, admin)
    ask(client, staff, reference)
    cancelled = client.post(
        f"/api/tickets/{reference}/cancel", json={"reason": "Not needed"}, headers=admin
    )
    assert cancelled.status_code == 200
    with clock.moved(timedelta(days=400)):
        assert sweep(app) == {}
    assert factory.all(select(TicketReminder.id)) == []


def test_staff_are_reminded_before_each_target_once_the_assignee_or_else_the_review_queue(
    app, client, factory, smtp
):
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    assigned = raise_ticket(client, make_org(factory, "alpha"), org="alpha")
    raise_ticket(client, make_org(factory, "beta"), org="beta")  # nobody is assigned
    response = client.post(
        f"/api/tickets/{assigned}/assign", json={"assignee": STAFF}, headers=staff
    )
    assert response.status_code == 200, response.get_json()
    assert sweep(app) == {}
    first_due = factory.scalar(
        select(Ticket.first_response_due).where(Ticket.id == ticket_id(assigned))
    )

    with clock.moved(first_due - timedelta(minutes=30) - utcnow()):
        assert sweep(app) == {"first_response": 2}
        assert sweep(app) == {}
    emails = templates(factory)
    assert emails[("sla_reminder", STAFF)] == 1
    assert emails[("sla_reminder", REVIEW_QUEUE)] == 1
    reminder = next(m for m in smtp.messages() if str(m["To"]) == STAFF)
    assert "first response is due" in str(reminder["Subject"])
    assert "It is assigned to you." in reminder.get_body(("plain",)).get_content()

    # Staff answer the first: from then on only its resolution is reminded.
    comment = client.post(
        f"/api/tickets/{assigned}/comments", json={"body": "On it."}, headers=staff
    )
    assert comment.status_code == 201
    resolution_due = factory.scalar(
        select(Ticket.resolution_due).where(Ticket.id == ticket_id(assigned))
    )
    with clock.moved(resolution_due - timedelta(minutes=30) - utcnow()):
        assert sweep(app) == {"resolution": 2}
        assert sweep(app) == {}
    kinds = Counter(kind for (kind,) in factory.all(select(TicketReminder.kind)))
    assert kinds == {"first_response": 2, "resolution": 2}
    assert factory.all(select(TicketEvent.id).where(TicketEvent.action == "cancelled")) == []
