"""Tickets: opening one, and every action staff and customers take on it.

Who may see a ticket and take each action is decided in `service.access`; status changes go
through `service.tickets.workflow.transition`; the emails each action calls for are decided in
`service.notifications.service`.
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import ColumnExpressionArgument, Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import access as permissions
from service.access import TicketAccess
from service.accounts.models import User, UserStatus
from service.accounts.service import Actor
from service.errors import Conflict, Unprocessable
from service.models_base import utcnow
from service.notifications import service as notify
from service.organizations.models import Organization
from service.requests.models import ChangeRequest
from service.requests.tasks import apply_ticket
from service.tickets import counts, sla
from service.tickets.models import (
    FINAL_STATUSES,
    UNFINISHED_STATUSES,
    Ticket,
    TicketApproval,
    TicketComment,
    TicketStatus,
)
from service.tickets.workflow import InvalidTransition, hold, record_event, transition
from service.webhooks import events as webhooks


def unfinished_query(
    *, org_id: int | ColumnExpressionArgument[int], kind: str
) -> Select[tuple[Ticket]]:
    """The organization's unfinished tickets of this kind (`org_id` may be a column)."""
    return select(Ticket).where(
        Ticket.organization_id == org_id,
        Ticket.kind == kind,
        Ticket.status.in_(UNFINISHED_STATUSES),
    )


def open_ticket(
    *, session: Session, request: ChangeRequest, actor: Actor, approvals_required: int = 1
) -> Ticket:
    """Open the ticket of a change request; the database refuses a second unfinished one."""
    now = utcnow()
    ticket = Ticket(
        kind="change_request",
        organization_id=request.organization_id,
        acting_organization_id=request.acting_organization_id,
        change_request_id=request.id,
        requester_id=actor.user.id,
        status=TicketStatus.OPEN,
        approvals_required=approvals_required,
        created_at=now,
        updated_at=now,
    )
    org = session.get(Organization, request.organization_id)
    assert org is not None  # the request's organization: its row is what the request names
    sla.start(ticket, org, now)
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
    counts.bump(
        session=session,
        organization_id=ticket.organization_id,
        kind=ticket.kind,
        status=TicketStatus.OPEN.value,
        by=1,
    )
    event = record_event(
        session=session,
        ticket=ticket,
        actor_id=actor.user.id,
        actor_organization_id=request.acting_organization_id or request.organization_id,
        action="opened",
        to_status=TicketStatus.OPEN,
        detail={"change_request_id": request.id},
    )
    notify.ticket_opened(session=session, ticket=ticket, event=event)
    webhooks.ticket_submitted(session=session, ticket=ticket)
    return ticket


class _Actor(TypedDict):
    actor_id: int
    actor_organization_id: int


def _by(access: TicketAccess) -> _Actor:
    """Who acts, as the event log records it: the account, and the organization it acts for."""
    return {
        "actor_id": access.actor.user.id,
        "actor_organization_id": access.scope.actor_organization_id,
    }


def comment(
    *, session: Session, access: TicketAccess, body: str, internal: bool, query: bool
) -> TicketComment:
    """Add a comment. A staff `query` asks the customer; a customer's answer reopens the ticket."""
    ticket, actor = access.ticket, access.actor
    permissions.require_comment(access, internal=internal, query=query)
    if internal and query:
        raise Unprocessable(
            "A question is shown to the customer; it cannot also be internal.",
            code="invalid_field",
        )
    if query and ticket.status not in (TicketStatus.OPEN, TicketStatus.AWAITING_CUSTOMER):
        raise InvalidTransition(
            f"The ticket is {ticket.status.value}; questions can be asked only while it is open."
        )
    note = TicketComment(
        ticket_id=ticket.id,
        author_id=actor.user.id,
        author_organization_id=access.scope.actor_organization_id,
        body=body,
        internal=internal,
        query=query,
        created_at=utcnow(),
    )
    session.add(note)
    session.flush()
    detail = {"comment_id": note.id}
    # A question moves an open ticket to the customer; the customer's answer moves it back.
    moves = None
    if query and ticket.status == TicketStatus.OPEN:
        moves = "query"
    elif not access.is_staff and ticket.status == TicketStatus.AWAITING_CUSTOMER:
        moves = "reply"
    if moves is not None:
        event = transition(
            session=session,
            ticket=ticket,
            action=moves,
            **_by(access),
            detail=detail,
        )
    else:
        event = record_event(
            session=session,
            ticket=ticket,
            **_by(access),
            action="internal_note" if internal else ("query" if query else "commented"),
            detail=detail,
        )
    if access.is_staff and not internal:
        sla.responded(session, ticket, note.created_at)
    if query:
        notify.staff_query(session=session, ticket=ticket, event=event, comment=note)
    elif access.is_staff and not internal:
        notify.staff_comment(session=session, ticket=ticket, event=event, comment=note)
    elif not access.is_staff:
        notify.customer_comment(session=session, ticket=ticket, event=event, comment=note)
    return note


def assign(*, session: Session, access: TicketAccess, assignee_email: str | None) -> Ticket:
    """Give the ticket to a staff member (or to nobody)."""
    permissions.require_staff(access.actor, what="assign tickets")
    ticket = access.ticket
    if ticket.status in FINAL_STATUSES:
        raise InvalidTransition(f"The ticket is {ticket.status.value}; it cannot be assigned now.")
    assignee_id = None
    if assignee_email is not None:
        assignee_id = session.scalar(
            select(User.id).where(
                func.lower(User.email) == assignee_email.strip().lower(),
                User.is_staff.is_(True),
                User.status == UserStatus.ACTIVE,
            )
        )
        if assignee_id is None:
            raise Unprocessable(
                "Tickets can be assigned only to an active staff member.",
                code="unknown_assignee",
            )
    ticket.assignee_id = assignee_id
    ticket.updated_at = utcnow()
    record_event(
        session=session,
        ticket=ticket,
        **_by(access),
        action="assigned",
        detail={"assignee_id": assignee_id},
    )
    return ticket


def approve(*, session: Session, access: TicketAccess, revision: int | None = None) -> bool:
    """Record the staff member's approval; True when it was the last one needed and applies.
    `revision`: the one its giver reviewed; 409 `revision_changed` when the ticket has been
    amended since (None: whichever is current)."""
    permissions.require_staff(access.actor, what="approve tickets")
    ticket, actor = access.ticket, access.actor
    if ticket.status != TicketStatus.OPEN:
        raise InvalidTransition(f"The ticket is {ticket.status.value}; it cannot be approved now.")
    # Approvals of one ticket are recorded one after the other: each counts those before it,
    # so of two at the same instant, exactly one is the last needed (four eyes never stall).
    # An amendment takes the same row, so the revision read under it is the one approved.
    hold(session=session, ticket=ticket, action="approve")
    current = (
        session.scalar(select(Ticket.revision).where(Ticket.id == ticket.id))
        if revision is not None
        else None
    )
    if revision is not None and revision != current:
        raise Conflict(
            f"The ticket was amended: it is at revision {current}, and you reviewed revision "
            f"{revision}. Review the amended batch before approving it.",
            code="revision_changed",
        )
    already = session.scalar(
        select(TicketApproval.id).where(
            TicketApproval.ticket_id == ticket.id, TicketApproval.staff_id == actor.user.id
        )
    )
    if already is not None:
        raise Conflict(
            "You have already approved this ticket; another staff member must approve it too.",
            code="already_approved",
        )
    approved_at = utcnow()
    session.add(TicketApproval(ticket_id=ticket.id, staff_id=actor.user.id, at=approved_at))
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("You have already approved this ticket.", code="already_approved") from exc
    sla.responded(session, ticket, approved_at)
    count = session.scalar(
        select(func.count())
        .select_from(TicketApproval)
        .where(TicketApproval.ticket_id == ticket.id)
    )
    if (count or 0) < ticket.approvals_required:
        record_event(
            session=session,
            ticket=ticket,
            **_by(access),
            action="approval_recorded",
            detail={"approvals": count, "required": ticket.approvals_required},
        )
        return False
    transition(
        session=session,
        ticket=ticket,
        action="approve",
        **_by(access),
    )
    apply_ticket.after_commit(session, ticket.id)
    return True


def amend(
    *, session: Session, access: TicketAccess, request: ChangeRequest, approvals_required: int
) -> Ticket:
    """Make `request` the ticket's next revision: approvals given are reset, and a ticket that
    waited for the customer goes back to the queue. Allowed while open or awaiting_customer."""
    permissions.require_amend(access)
    ticket = access.ticket
    revision = ticket.revision + 1
    detail = {"revision": revision, "change_request_id": request.id}
    changes = {
        "change_request_id": request.id,
        "revision": revision,
        "approvals_required": approvals_required,
    }
    if ticket.status == TicketStatus.AWAITING_CUSTOMER:
        event = transition(
            session=session,
            ticket=ticket,
            action="amend",
            **_by(access),
            detail=detail,
            **changes,
        )
    else:
        # Taken like an approval takes it, so an amendment and an approval run one after the
        # other: an approval never counts for a batch its giver has not seen.
        hold(session=session, ticket=ticket, action="amend")
        for name, value in changes.items():
            setattr(ticket, name, value)
        event = record_event(
            session=session,
            ticket=ticket,
            **_by(access),
            action="amended",
            detail=detail,
        )
    # The approvals withdrawn, and who gave them, in one statement once the ticket is held (so
    # no approval lands in between).
    withdrawn_from = sorted(
        session.scalars(
            delete(TicketApproval)
            .where(TicketApproval.ticket_id == ticket.id)
            .returning(TicketApproval.staff_id)
        )
    )
    session.flush()
    notify.ticket_amended(
        session=session,
        ticket=ticket,
        event=event,
        withdrawn_from=withdrawn_from,
    )
    return ticket


def reject(*, session: Session, access: TicketAccess, reason: str) -> Ticket:
    """Refuse the request, with the reason the requester will read."""
    permissions.require_staff(access.actor, what="reject tickets")
    return _close(session=session, access=access, action="reject", reason=reason)


def cancel(*, session: Session, access: TicketAccess, reason: str | None) -> Ticket:
    """Withdraw the request: its requester, or an admin of the organization, may."""
    permissions.require_cancel(access)
    return _close(session=session, access=access, action="cancel", reason=reason)


def _close(*, session: Session, access: TicketAccess, action: str, reason: str | None) -> Ticket:
    """End the ticket by `reject` or `cancel`, keeping the reason, and tell who should know."""
    ticket = access.ticket
    if access.is_staff:
        sla.responded(session, ticket, utcnow())
    event = transition(
        session=session,
        ticket=ticket,
        action=action,
        **_by(access),
        resolution_reason=reason,
    )
    told = notify.rejected if action == "reject" else notify.cancelled
    told(session=session, ticket=ticket, event=event)
    return ticket


def retry(*, session: Session, access: TicketAccess) -> Ticket:
    """Apply a failed ticket again."""
    permissions.require_staff(access.actor, what="retry tickets")
    ticket = access.ticket
    transition(
        session=session,
        ticket=ticket,
        action="retry",
        **_by(access),
        failure_code=None,
        failure_message=None,
    )
    apply_ticket.after_commit(session, ticket.id)
    return ticket
