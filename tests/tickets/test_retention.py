"""Retention: finished tickets past the period keep what the audit needs, the rest is erased;
newer and unfinished ones are left alone; set-wise, by a job the sweep finds, and a dry run."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select, update

from service.extensions import db
from service.jobs import resend_pending
from service.metrics import RETENTION_REDUCED
from service.models_base import utcnow
from service.notifications.models import Email
from service.requests.models import ChangeRequest, ChangeRequestItem
from service.tickets import retention
from service.tickets.models import Ticket, TicketComment, TicketEvent
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, new_contact, raise_ticket

NOTE = "Please add Nia for the audit"


def finished_ticket(client, factory, email: str, reason: str = "Not needed after all") -> str:
    headers = factory.headers(REQUESTER)
    reference = raise_ticket(client, headers, [new_contact(email=email)], comment=NOTE)
    client.post(
        f"/api/tickets/{reference}/comments", json={"body": f"Call {email}"}, headers=headers
    )
    cancelled = client.post(
        f"/api/tickets/{reference}/cancel", json={"reason": reason}, headers=headers
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    return reference


def age(app, reference: str, days: int) -> None:
    """Move time forward for one ticket: its last change was `days` ago."""
    ticket_id = int(reference.split("-")[1])
    with app.app_context():
        db.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(updated_at=utcnow() - timedelta(days=days))
        )
        db.session.commit()


def test_old_finished_tickets_keep_the_audit_and_lose_what_people_wrote(app, client, factory):
    factory.demo()
    old = finished_ticket(client, factory, "old.one@acme.example")
    new = finished_ticket(client, factory, "new.one@acme.example")
    age(app, old, app.config["RETENTION_DAYS"] + 1)
    unfinished = raise_ticket(
        client,
        factory.headers(REQUESTER),
        [new_contact(email="open.one@acme.example")],
        comment=NOTE,
    )
    age(app, unfinished, app.config["RETENTION_DAYS"] + 1)
    run_jobs(app)
    before = RETENTION_REDUCED.labels("tickets")._value.get()
    with app.app_context():
        assert resend_pending() >= 1  # the sweep finds the retention job's work
    run_jobs(app)
    assert RETENTION_REDUCED.labels("tickets")._value.get() == before + 1
    staff = factory.headers(STAFF)
    detail = client.get(f"/api/tickets/{old}", headers=staff).get_json()
    assert detail["status"] == "cancelled"
    assert [e["action"] for e in detail["events"]][:1] == ["opened"]
    assert detail["changes"], "the batch still reads, by operation"
    text = str(detail).lower()
    assert "old.one" not in text and NOTE.lower() not in text
    with app.app_context():
        old_id, new_id = int(old.split("-")[1]), int(new.split("-")[1])
        reduced = db.session.get(Ticket, old_id)
        assert reduced.reduced_at is not None
        assert reduced.resolution_reason == retention.ERASED_TEXT
        request = db.session.get(ChangeRequest, reduced.change_request_id)
        assert request.comment == retention.ERASED_TEXT
        payloads = db.session.scalars(
            select(ChangeRequestItem.payload).where(
                ChangeRequestItem.change_request_id == reduced.change_request_id
            )
        ).all()
        assert payloads == [retention.ERASED_PAYLOAD]
        ops = db.session.scalars(
            select(ChangeRequestItem.op).where(
                ChangeRequestItem.change_request_id == reduced.change_request_id
            )
        ).all()
        assert ops == ["add_contact"]
        bodies = db.session.scalars(
            select(TicketComment.body).where(TicketComment.ticket_id == old_id)
        ).all()
        assert bodies == [retention.ERASED_TEXT]
        assert db.session.scalars(
            select(Email.recipient).where(Email.ticket_id == old_id)
        ).all() == [None] * len(
            db.session.scalars(select(Email.id).where(Email.ticket_id == old_id)).all()
        )
        assert db.session.scalar(select(TicketEvent.id).where(TicketEvent.ticket_id == old_id))
        kept = db.session.get(Ticket, new_id)
        assert kept.reduced_at is None and kept.resolution_reason == "Not needed after all"
        open_one = db.session.get(Ticket, int(unfinished.split("-")[1]))
        assert open_one.reduced_at is None
        assert (
            db.session.scalar(
                select(ChangeRequest.comment).where(ChangeRequest.id == open_one.change_request_id)
            )
            == NOTE
        )
        # Nothing left: a second run and the sweep find nothing.
        assert retention.reduce(session=db.session(), now=utcnow()).tickets == 0
        assert not retention.any_due(session=db.session(), now=utcnow())


def test_the_dry_run_reports_and_changes_nothing_then_the_command_reduces(app, client, factory):
    factory.demo()
    old = finished_ticket(client, factory, "old.one@acme.example")
    age(app, old, 400)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would reduce 1 finished ticket(s) older than" in dry.output
    assert "1 item(s), 3 text(s)" in dry.output
    with app.app_context():
        assert db.session.scalar(select(Ticket.reduced_at)) is None
    done = runner.invoke(args=["retention"])
    assert "Reduced 1 finished ticket(s)" in done.output
    again = runner.invoke(args=["retention", "--dry-run"])
    assert "Would reduce 0 finished ticket(s)" in again.output


def test_a_reduction_takes_the_same_statements_for_one_ticket_as_for_many(app, client, factory):
    factory.demo()
    references = [finished_ticket(client, factory, f"p{n}@acme.example") for n in range(5)]
    for reference in references:
        age(app, reference, 400)
    counts = []
    with app.app_context():
        engine = db.engine
        for limit in (1, 4):
            sent: list[str] = []

            def record(conn, cursor, statement, *args, sent=sent):
                sent.append(statement)

            event.listen(engine, "before_cursor_execute", record)
            try:
                figures = retention.reduce(session=db.session(), now=utcnow(), limit=limit)
                db.session.commit()
            finally:
                event.remove(engine, "before_cursor_execute", record)
            assert figures.tickets == limit
            counts.append(len([s for s in sent if not s.startswith(("BEGIN", "COMMIT"))]))
    assert counts[0] == counts[1]
