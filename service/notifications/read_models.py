"""What staff see of the emails: those given up on (or any status), newest first, a page at a time.

An email is failed after `MAX_EMAIL_ATTEMPTS` attempts, or at once when it cannot be rendered or
the server refuses it for good; it is never tried again, so staff are the ones to act on it
(fix an address, tell the person). The list names the ticket, the template, the recipient, the
attempts and the last error (class and reply code, no personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import access as permissions
from service.accounts.service import Actor
from service.models_base import Page, read_model
from service.notifications.models import Email, EmailStatus
from service.tickets.models import Ticket, format_reference


@dataclass(frozen=True)
class EmailLine:
    id: int
    ticket: str | None
    template: str
    recipient: str | None
    status: EmailStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def list_emails(
    *, session: Session, actor: Actor, status: EmailStatus, page: int, per_page: int
) -> Page[EmailLine]:
    """One page of the emails in `status` (staff only): two statements."""
    permissions.require_staff(actor, what="see the emails the service sends")
    total = session.scalar(select(func.count()).select_from(Email).where(Email.status == status))
    rows = session.execute(
        select(Email, Ticket.kind, Ticket.id)
        .outerjoin(Ticket, Ticket.id == Email.ticket_id)
        .where(Email.status == status)
        .order_by(Email.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [
        read_model(
            EmailLine,
            email,
            ticket=None if ticket_id is None else format_reference(kind, ticket_id),
        )
        for email, kind, ticket_id in rows
    ]
    return Page[EmailLine](items=items, page=page, per_page=per_page, total=int(total or 0))


def failed_count(*, session: Session) -> int:
    """How many emails were given up on."""
    return int(
        session.scalar(
            select(func.count()).select_from(Email).where(Email.status == EmailStatus.FAILED)
        )
        or 0
    )
