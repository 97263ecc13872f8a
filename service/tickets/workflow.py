"""The ticket state machine: every status change goes through `transition`.

```
open ⇄ awaiting_customer        (staff query ⇄ customer reply)
open → approved → applying → implemented
                       ↘ failed → approved (retry) | rejected
open | awaiting_customer → cancelled | rejected
```

Each move also moves the ticket's service levels in the same update: into `awaiting_customer`
the clock stops, out of it the due times move later by the time waited (`sla.changes_for_move`).

A transition is one conditional `UPDATE … WHERE id = ? AND status IN (…)`; a row count of 0
means someone else moved the ticket first. That decides races without row locks, so it holds
on SQLite (which ignores FOR UPDATE) as on PostgreSQL.

A decision that reads more than the status first (the approvals counted by `approve`) takes
the ticket with `hold`, the same conditional update without a move: on PostgreSQL the row lock
it takes lasts until commit, so two such decisions on one ticket run one after the other and
the second reads what the first committed; SQLite's transactions take the write lock up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from service.errors import Conflict
from service.models_base import utcnow
from service.tickets import counts, sla
from service.tickets.models import Ticket, TicketEvent, TicketStatus
from service.webhooks import events as webhooks

S = TicketStatus


@dataclass(frozen=True)
class Transition:
    sources: frozenset[TicketStatus]
    target: TicketStatus
    verb: str  # for the 409 message: "it cannot be <verb> now"
    event: str  # the action recorded in the event log


TRANSITIONS: dict[str, Transition] = {
    "query": Transition(frozenset({S.OPEN}), S.AWAITING_CUSTOMER, "asked about", "queried"),
    "reply": Transition(frozenset({S.AWAITING_CUSTOMER}), S.OPEN, "answered", "replied"),
    "approve": Transition(frozenset({S.OPEN}), S.APPROVED, "approved", "approved"),
    "start_apply": Transition(frozenset({S.APPROVED}), S.APPLYING, "applied", "apply_started"),
    "implement": Transition(
        frozenset({S.APPLYING}), S.IMPLEMENTED, "marked implemented", "implemented"
    ),
    "fail": Transition(
        frozenset({S.APPROVED, S.APPLYING}), S.FAILED, "marked failed", "apply_failed"
    ),
    "retry": Transition(frozenset({S.FAILED}), S.APPROVED, "retried", "retried"),
    "reject": Transition(
        frozenset({S.OPEN, S.AWAITING_CUSTOMER, S.FAILED}), S.REJECTED, "rejected", "rejected"
    ),
    # An amended batch goes back to the queue; from `open` the status stays (see `hold`).
    "amend": Transition(frozenset({S.OPEN, S.AWAITING_CUSTOMER}), S.OPEN, "amended", "amended"),
    "cancel": Transition(
        frozenset({S.OPEN, S.AWAITING_CUSTOMER}), S.CANCELLED, "cancelled", "cancelled"
    ),
}


class InvalidTransition(Conflict):
    code = "invalid_transition"


def allowed(action: str, status: TicketStatus) -> bool:
    return status in TRANSITIONS[action].sources


def transition(
    *,
    session: Session,
    ticket: Ticket,
    action: str,
    actor_id: int | None,
    actor_organization_id: int | None = None,
    detail: dict[str, Any] | None = None,
    **changes: Any,
) -> TicketEvent:
    """Move the ticket by `action`, with any other column `changes`, and record the event.

    Raises 409 `invalid_transition`, naming the current status, when the ticket is not (or no
    longer) in a status the action starts from.
    """
    step = TRANSITIONS[action]
    now = utcnow()
    previous, changes = _move(session=session, ticket=ticket, step=step, now=now, changes=changes)
    set_committed_value(ticket, "status", step.target)
    set_committed_value(ticket, "updated_at", now)
    for name, value in changes.items():
        set_committed_value(ticket, name, value)
    counts.move(
        session=session,
        organization_id=ticket.organization_id,
        kind=ticket.kind,
        from_status=previous.value,
        to_status=step.target.value,
    )
    webhooks.ticket_moved(session=session, ticket=ticket, status=step.target)
    return record_event(
        session=session,
        ticket=ticket,
        action=step.event,
        actor_id=actor_id,
        actor_organization_id=actor_organization_id,
        from_status=previous,
        to_status=step.target,
        detail=detail,
    )


def hold(*, session: Session, ticket: Ticket, action: str) -> None:
    """Take the ticket's row for a decision about `action`, until the transaction ends.

    Raises 409 `invalid_transition`, naming the current status, when the ticket is not (or no
    longer, once the row is ours) in a status the action starts from.
    """
    step = TRANSITIONS[action]
    now = utcnow()
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_(step.sources))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = session.scalar(select(Ticket.status).where(Ticket.id == ticket.id))
        shown = current.value if current is not None else "gone"
        raise InvalidTransition(f"The ticket is {shown}; it cannot be {step.verb} now.")
    set_committed_value(ticket, "updated_at", now)


# What a move reads again of a ticket someone else moved first: its status, and the service
# levels the move changes with it.
_MOVED_STATE = ("status", "sla_paused_at", "first_response_due", "resolution_due")


def _move(
    *, session: Session, ticket: Ticket, step: Transition, now: Any, changes: dict[str, Any]
) -> tuple[TicketStatus, dict[str, Any]]:
    """The conditional update; returns the status the ticket really left and every column it
    changed besides the status (`changes`, and the service levels' moves).

    It names the one status the ticket is believed to be in, so the counters know what to
    decrement; if someone moved it meanwhile, it reads the status (and the service levels that
    move with it: a pause may have begun) again and tries once more.
    """
    current: TicketStatus | None = ticket.status
    for _ in range(2):
        if current is None or current not in step.sources:
            break
        # The service levels move with the status: a pause starts or ends (tickets/sla.py).
        values = {**sla.changes_for_move(ticket, step.target, now), **changes}
        result = session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.status == current)
            .values(status=step.target, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return current, values
        row = session.execute(
            select(*(getattr(Ticket, name) for name in _MOVED_STATE)).where(Ticket.id == ticket.id)
        ).first()
        if row is None:
            current = None
            break
        for name, value in zip(_MOVED_STATE, row, strict=True):
            set_committed_value(ticket, name, value)
        current = ticket.status
    shown = current.value if current is not None else "gone"
    raise InvalidTransition(f"The ticket is {shown}; it cannot be {step.verb} now.")


def record_event(
    *,
    session: Session,
    ticket: Ticket,
    action: str,
    actor_id: int | None,
    actor_organization_id: int | None = None,
    from_status: TicketStatus | None = None,
    to_status: TicketStatus | None = None,
    detail: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append one event; `detail` holds ids only, never personal data."""
    event = TicketEvent(
        ticket_id=ticket.id,
        at=utcnow(),
        actor_id=actor_id,
        actor_organization_id=actor_organization_id,
        action=action,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        detail=detail or {},
    )
    session.add(event)
    session.flush()
    return event
