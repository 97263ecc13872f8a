"""The apply job: approved change requests are applied by a worker, and found again if lost."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import DATABASE_UNAVAILABLE
from service.extensions import db
from service.jobs import APPLY_QUEUE, Work, finds_pending_work, gives_up, job
from service.requests.apply import ApplyFailed, apply, record_failure
from service.tickets.models import Ticket, TicketStatus

log = logging.getLogger(__name__)


@job(APPLY_QUEUE, name="apply", timeout=300)
def apply_ticket(ticket_id: int) -> str:
    """Apply an approved change request; a second run finds it done and returns.

    A batch that cannot be applied, or an unexpected error, leaves the ticket `failed` for staff.
    When the database itself is briefly away (a lost connection, a deadlock, a timeout) nothing
    about the batch is known: the ticket stays `approved`, the job fails, and the sweep sends it
    again.
    """
    try:
        applied = apply(session=db.session(), ticket_id=ticket_id)
        db.session.commit()
    except ApplyFailed as exc:
        db.session.rollback()
        record_failure(
            session=db.session(), ticket_id=ticket_id, code=exc.code, message=exc.message
        )
        db.session.commit()
        return "failed"
    except DATABASE_UNAVAILABLE:
        db.session.rollback()
        raise
    except Exception as exc:
        db.session.rollback()
        log.exception("apply of ticket %s failed", ticket_id)
        record_failure(
            session=db.session(),
            ticket_id=ticket_id,
            code="apply_error",
            message=f"Unexpected error while applying ({type(exc).__name__}); "
            "nothing was changed. The worker log has the details.",
        )
        db.session.commit()
        return "failed"
    return "done" if applied else "nothing to do"


@finds_pending_work
def approved_tickets(session: Session) -> list[Work]:
    """Every approved ticket still waits for its apply."""
    ids = session.scalars(
        select(Ticket.id).where(Ticket.status == TicketStatus.APPROVED).order_by(Ticket.id)
    )
    return [apply_ticket.work(ticket_id) for ticket_id in ids]


@gives_up(apply_ticket.name)
def give_up_apply(session: Session, ticket_id: int) -> None:
    """Staff discarded the apply job: the ticket fails, for staff to retry or reject it."""
    record_failure(
        session=session,
        ticket_id=ticket_id,
        code="discarded",
        message="Staff discarded the apply job from the Jobs page; nothing was changed. "
        "Retry the ticket to apply it.",
    )
