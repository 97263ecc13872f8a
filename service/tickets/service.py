"""Tickets: opening one around a request, finding the unfinished one, recording events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.accounts.service import Actor
from service.errors import Conflict
from service.models_base import utcnow
from service.requests.models import ChangeRequest
from service.tickets.models import UNFINISHED_STATUSES, Ticket, TicketEvent, TicketStatus


def unfinished_query(*, org_id: int, kind: str) -> Select[tuple[Ticket]]:
    return select(Ticket).where(
        Ticket.organization_id == org_id,
        Ticket.kind == kind,
        Ticket.status.in_(UNFINISHED_STATUSES),
    )


def open_ticket(*, session: Session, request: ChangeRequest, actor: Actor) -> Ticket:
    """Open the ticket of a change request; the database refuses a second unfinished one."""
    now = utcnow()
    ticket = Ticket(
        kind="change_request",
        organization_id=request.organization_id,
        acting_organization_id=request.acting_organization_id,
        change_request_id=request.id,
        requester_id=actor.user.id,
        status=TicketStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    try:
        session.flush()
    except IntegrityError as exc:
        # Lost the race to another submission; the caller's transaction is rolled back whole.
        raise Conflict(
            "This organization already has an unfinished change request; "
            "wait for it to finish or cancel it first.",
            code="request_pending",
        ) from exc
    record_event(
        session=session,
        ticket=ticket,
        actor_id=actor.user.id,
        action="opened",
        from_status=None,
        to_status=TicketStatus.OPEN,
        detail={"change_request_id": request.id},
    )
    return ticket


def record_event(
    *,
    session: Session,
    ticket: Ticket,
    actor_id: int | None,
    action: str,
    from_status: TicketStatus | None,
    to_status: TicketStatus | None,
    detail: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append one event; `detail` holds ids only, never personal data."""
    event = TicketEvent(
        ticket_id=ticket.id,
        at=utcnow(),
        actor_id=actor_id,
        action=action,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        detail=detail or {},
    )
    session.add(event)
    return event
