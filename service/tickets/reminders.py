"""Reminders, and the close of tickets the customer never answered: found set-wise, done once.

What falls due, each found by one statement over an indexed due column:

- **a target about to be breached** (`first_response`, `resolution`): `SLA_REMINDER_HOURS` of
  business time before a ticket's `first_response_due` or `resolution_due`
  (`service/tickets/sla.py`), its assignee is told, or the review queue when nobody is
  assigned. A paused ticket (waiting on the customer) is not reminded: its due times move when
  the wait ends, and a moved due time is a new reminder.
- **a ticket that waits on its requester** (`awaiting_reply`): `awaiting_customer` since its last
  change (`updated_at`) for `REMIND_AWAITING_AFTER_DAYS` days, the requester is reminded.
- **still unanswered** (`closed_unanswered`): `CLOSE_UNANSWERED_AFTER_DAYS` days after that, the
  ticket is cancelled through the workflow (`workflow.transition`: the event, the status
  counters, the `ticket.cancelled` webhook) and the requester is told why.

**Once.** A reminder is recorded as a `ticket_reminders` row, unique per ticket, kind and the
instant it is about (the due time, or when the wait began), by the statement that finds it:
`INSERT … SELECT … FROM tickets WHERE <due> AND NOT EXISTS <recorded> ON CONFLICT DO NOTHING
RETURNING`. Its email is recorded in the same transaction. However many runs find a reminder
due at once, one row goes in and one email goes out; a run that loses the race inserts nothing
and sends nothing. A close is decided by the workflow's conditional update (a ticket answered
meanwhile is not closed), and recorded the same way.

A run reads and writes a fixed number of statements per batch of `BATCH` reminders, however
many tickets are open (`bench/reminders.py`); only each close costs its own few (the workflow's
move). Times are the service's clock (`models_base.utcnow`, moved by `CLOCK_OFFSET`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service import business_hours
from service.notifications import service as notify
from service.notifications.service import TicketNotice
from service.sql import column_in, insert_rows
from service.tickets import sla
from service.tickets.models import (
    AWAITING_CUSTOMER_SQL,
    UNFINISHED_STATUSES,
    ReminderKind,
    Ticket,
    TicketReminder,
)
from service.tickets.workflow import InvalidTransition, transition

# Reminders of one kind recorded per statement; a run takes batches until none is left.
BATCH = 500
# The email each kind sends.
TEMPLATES = {
    ReminderKind.FIRST_RESPONSE: "sla_reminder",
    ReminderKind.RESOLUTION: "sla_reminder",
    ReminderKind.AWAITING_REPLY: "awaiting_reply_reminder",
    ReminderKind.CLOSED_UNANSWERED: "ticket_closed_unanswered",
}
# The reminders that go to the requester; the others go to the assignee or the review queue.
FOR_REQUESTER = frozenset({ReminderKind.AWAITING_REPLY, ReminderKind.CLOSED_UNANSWERED})
# What a closed ticket keeps as its reason, for the ticket page and the audit.
CLOSED_REASON = "Closed automatically: the customer did not answer the question for {days} days."

reminders_t = TicketReminder.__table__


@dataclass(frozen=True)
class Settings:
    """When reminders fall due, read from the app's configuration."""

    before_target: timedelta
    remind_after: timedelta
    close_after: timedelta

    @classmethod
    def from_config(cls) -> Settings:
        config = current_app.config
        remind = timedelta(days=config["REMIND_AWAITING_AFTER_DAYS"])
        return cls(
            before_target=timedelta(hours=config["SLA_REMINDER_HOURS"]),
            remind_after=remind,
            close_after=remind + timedelta(days=config["CLOSE_UNANSWERED_AFTER_DAYS"]),
        )


@dataclass
class Figures:
    """What a run did: reminders sent by kind (a close counts as `closed_unanswered`)."""

    sent: Counter[ReminderKind] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def __iadd__(self, other: Figures) -> Figures:
        self.sent.update(other.sent)
        return self


@dataclass(frozen=True)
class Claimed:
    ticket_id: int
    due_at: datetime


def send_due(*, session: Session, now: datetime, settings: Settings | None = None) -> Figures:
    """Record and send one batch of each kind of due reminder, and close one batch of unanswered
    tickets. It flushes; the caller commits (and then the emails go out)."""
    settings = settings or Settings.from_config()
    figures = Figures()
    figures.sent[ReminderKind.CLOSED_UNANSWERED] = close_unanswered(
        session=session, now=now, settings=settings
    )
    threshold = business_hours.add(sla.policy().calendar, now, settings.before_target)
    claims: dict[ReminderKind, list[Claimed]] = {}
    for kind, due in (
        (ReminderKind.FIRST_RESPONSE, Ticket.first_response_due),
        (ReminderKind.RESOLUTION, Ticket.resolution_due),
    ):
        claims[kind] = _claim(session, kind, due, _target_due(kind, due, threshold), now)
    claims[ReminderKind.AWAITING_REPLY] = _claim(
        session,
        ReminderKind.AWAITING_REPLY,
        Ticket.updated_at,
        and_(
            text(AWAITING_CUSTOMER_SQL),
            Ticket.updated_at <= now - settings.remind_after,
            # Past the close, the close tells them instead.
            Ticket.updated_at > now - settings.close_after,
        ),
        now,
    )
    waiting = {"days": settings.remind_after.days, "close_in_days": _close_in_days(settings)}
    people = _people(session, [c.ticket_id for claimed in claims.values() for c in claimed])
    notices = []
    for kind, claimed in claims.items():
        figures.sent[kind] = len(claimed)
        notices += [
            _notice(kind, c, people[c.ticket_id], waiting if kind in FOR_REQUESTER else None)
            for c in claimed
        ]
    notify.ticket_notices(session=session, notices=notices)
    return figures


def _target_due(kind: ReminderKind, due: Any, threshold: datetime) -> ColumnElement[bool]:
    """Unfinished, not paused, the target within reach; the first response not given yet."""
    # The statuses written into the statement, as the due columns' partial indexes say them.
    unfinished: BindParameter[list[str]] = bindparam(
        "unfinished", [s.value for s in sorted(UNFINISHED_STATUSES)], literal_execute=True
    )
    condition = and_(
        Ticket.status.in_(unfinished),
        Ticket.sla_paused_at.is_(None),
        due <= threshold,
    )
    if kind == ReminderKind.FIRST_RESPONSE:
        condition = and_(Ticket.first_responded_at.is_(None), condition)
    return condition


def _due(
    kind: ReminderKind, due: Any, condition: ColumnElement[bool], now: datetime
) -> Select[Any]:
    """The reminders of `kind` due now as `ticket_reminders` rows (the ticket, the kind, the
    instant it is about, now), oldest first; those recorded already are left out, through the
    reminders' unique index."""
    recorded = exists().where(
        TicketReminder.ticket_id == Ticket.id,
        TicketReminder.kind == kind,
        TicketReminder.due_at == due,
    )
    return (
        select(
            Ticket.id,
            literal(kind.value).label("kind"),
            due.label("due_at"),
            literal(now, TicketReminder.sent_at.type).label("sent_at"),
        )
        .where(condition, ~recorded)
        .order_by(due, Ticket.id)
    )


def _claim(
    session: Session, kind: ReminderKind, due: Any, condition: ColumnElement[bool], now: datetime
) -> list[Claimed]:
    """Find and record one batch of due reminders of `kind` in one statement; the ones this
    statement recorded (a concurrent run's are not among them)."""
    found = _due(kind, due, condition, now).limit(BATCH)
    names = ["ticket_id", "kind", "due_at", "sent_at"]
    builder = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        builder(reminders_t)
        .from_select(names, found)
        .on_conflict_do_nothing(index_elements=["ticket_id", "kind", "due_at"])
        .returning(reminders_t.c.ticket_id, reminders_t.c.due_at)
    )
    return [Claimed(ticket_id, due_at) for ticket_id, due_at in session.execute(statement)]


def _people(session: Session, ticket_ids: list[int]) -> dict[int, tuple[int, int | None]]:
    """Each ticket's requester and assignee, in one read."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(Ticket.id, Ticket.requester_id, Ticket.assignee_id).where(
            column_in(session, Ticket.id, ticket_ids)
        )
    )
    return {ticket_id: (requester, assignee) for ticket_id, requester, assignee in rows}


def _notice(
    kind: ReminderKind,
    claimed: Claimed,
    people: tuple[int, int | None],
    context: dict[str, Any] | None,
) -> TicketNotice:
    """One reminder's email: to the requester, or to the assignee (the review queue, user None,
    when nobody is assigned). A target's reminder names the target and its due time."""
    requester, assignee = people
    return TicketNotice(
        ticket_id=claimed.ticket_id,
        template=TEMPLATES[kind],
        user_id=requester if kind in FOR_REQUESTER else assignee,
        context=context or {"target": kind.value, "due_at": claimed.due_at.isoformat()},
    )


def _close_in_days(settings: Settings) -> int:
    return (settings.close_after - settings.remind_after).days


def close_unanswered(*, session: Session, now: datetime, settings: Settings) -> int:
    """Cancel one batch of tickets that waited on the customer past the close; how many.

    Each goes through the workflow's transition, whose conditional update skips a ticket that
    moved meanwhile (answered, or closed by a concurrent run); the closed ones are recorded and
    their requesters told, with the events the transitions recorded.
    """
    due = session.scalars(
        select(Ticket)
        .where(text(AWAITING_CUSTOMER_SQL), Ticket.updated_at <= now - settings.close_after)
        .order_by(Ticket.updated_at, Ticket.id)
        .limit(BATCH)
    ).all()
    days = settings.close_after.days
    closed: list[tuple[Ticket, datetime, int]] = []
    for ticket in due:
        waiting_since = ticket.updated_at
        try:
            event = transition(
                session=session,
                ticket=ticket,
                action="cancel",
                actor_id=None,
                detail={"reason": "unanswered", "days": days},
                resolution_reason=CLOSED_REASON.format(days=days),
            )
        except InvalidTransition:
            continue
        closed.append((ticket, waiting_since, event.id))
    if not closed:
        return 0
    insert_rows(
        session,
        reminders_t,
        [
            {
                "ticket_id": ticket.id,
                "kind": ReminderKind.CLOSED_UNANSWERED,
                "due_at": since,
                "sent_at": now,
            }
            for ticket, since, _ in closed
        ],
    )
    notify.ticket_notices(
        session=session,
        notices=[
            TicketNotice(
                ticket_id=ticket.id,
                template=TEMPLATES[ReminderKind.CLOSED_UNANSWERED],
                user_id=ticket.requester_id,
                context={"days": days},
                event_id=event_id,
            )
            for ticket, _, event_id in closed
        ],
    )
    return len(closed)
