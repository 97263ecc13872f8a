"""Retention: finished tickets past `RETENTION_DAYS` keep what the audit needs and lose the rest.

A finished ticket (implemented, cancelled, rejected) whose last change is older than the period
keeps its reference, status, event log, approvals, failure code and, for each batch item, the
operation, contact id, ref, role and organization (columns of their own). What people wrote or
submitted goes: each item's submitted details (`payload`, `before`) become the erased marker
`{"erased": true}` (as after a purge), the requester's note, the reason of a rejection or
cancellation and every comment's text become `ERASED_TEXT`, and the addresses its emails went to
are dropped. `reduced_at` records when; a ticket is reduced once.

`reduce` works set-wise, `BATCH` tickets at a time in six statements whatever their size; the
`retention` job (`service/tickets/tasks.py`) runs it until nothing is left, found by the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import Session

from service.notifications.models import Email, EmailStatus
from service.requests.models import ChangeRequest, ChangeRequestItem
from service.sql import column_in
from service.tickets.models import FINAL_STATUSES, Ticket, TicketComment

ERASED_TEXT = "[erased after the retention period]"
ERASED_PAYLOAD: dict[str, Any] = {"erased": True}
BATCH = 500


@dataclass(frozen=True)
class Figures:
    """What a reduction did (or a dry run would do)."""

    tickets: int = 0
    items: int = 0
    texts: int = 0  # notes, reasons and comments
    emails: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.tickets + other.tickets,
            self.items + other.items,
            self.texts + other.texts,
            self.emails + other.emails,
        )


def cutoff(now: datetime) -> datetime:
    return now - timedelta(days=current_app.config["RETENTION_DAYS"])


def _due(now: datetime) -> Select[tuple[int]]:
    return select(Ticket.id).where(
        Ticket.status.in_(FINAL_STATUSES),
        Ticket.reduced_at.is_(None),
        Ticket.updated_at < cutoff(now),
    )


def any_due(*, session: Session, now: datetime) -> bool:
    return session.scalar(_due(now).limit(1)) is not None


def survey(*, session: Session, now: datetime) -> Figures:
    """What `reduce` would change now, over every due ticket (the dry run): four statements."""
    due = _due(now).scalar_subquery()
    requests = select(Ticket.change_request_id).where(Ticket.id.in_(due)).scalar_subquery()
    tickets = session.scalar(select(func.count()).select_from(Ticket).where(Ticket.id.in_(due)))
    items = session.scalar(
        select(func.count())
        .select_from(ChangeRequestItem)
        .where(ChangeRequestItem.change_request_id.in_(requests))
    )
    comments = session.scalar(
        select(func.count()).select_from(TicketComment).where(TicketComment.ticket_id.in_(due))
    )
    notes = session.scalar(
        select(func.count(ChangeRequest.comment) + func.count(Ticket.resolution_reason))
        .select_from(Ticket)
        .join(ChangeRequest, ChangeRequest.id == Ticket.change_request_id)
        .where(Ticket.id.in_(due))
    )
    emails = session.scalar(
        select(func.count())
        .select_from(Email)
        .where(Email.ticket_id.in_(due), Email.recipient.is_not(None))
    )
    return Figures(tickets or 0, items or 0, (comments or 0) + (notes or 0), emails or 0)


def reduce(*, session: Session, now: datetime, limit: int = BATCH) -> Figures:
    """Reduce up to `limit` due tickets: six statements whatever their size. Run it until it
    answers no tickets. Two runs at once take different tickets on PostgreSQL (SKIP LOCKED)."""
    ids = list(
        session.scalars(
            _due(now).order_by(Ticket.id).limit(limit).with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return Figures()
    chosen = column_in(session, Ticket.id, ids)
    requests = select(Ticket.change_request_id).where(chosen).scalar_subquery()
    items = session.execute(
        update(ChangeRequestItem)
        .where(ChangeRequestItem.change_request_id.in_(requests))
        .values(payload=ERASED_PAYLOAD, before=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    notes = session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id.in_(requests), ChangeRequest.comment.is_not(None))
        .values(comment=ERASED_TEXT)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    comments = session.execute(
        update(TicketComment)
        .where(column_in(session, TicketComment.ticket_id, ids))
        .values(body=ERASED_TEXT)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    emails = session.execute(
        update(Email)
        .where(column_in(session, Email.ticket_id, ids), Email.recipient.is_not(None))
        .values(
            recipient=None,
            status=case(
                (Email.status == EmailStatus.PENDING, EmailStatus.ERASED), else_=Email.status
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    reasons = session.execute(
        update(Ticket)
        .where(chosen)
        .values(
            resolution_reason=case(
                (Ticket.resolution_reason.is_not(None), ERASED_TEXT), else_=None
            ),
            reduced_at=now,
        )
        .returning(Ticket.resolution_reason)
        .execution_options(synchronize_session=False)
    ).all()
    texts = notes + comments + sum(1 for (reason,) in reasons if reason is not None)
    return Figures(len(ids), items, texts, emails)
