"""Service levels: when a ticket's first response and its resolution are due.

Each organization is on a plan (`organizations.plan`, one of `SLA_PLANS`, `SLA_DEFAULT_PLAN`
when it names none that is configured); the plan sets a **first-response** and a
**resolution** target in business hours, and staff may override either for one organization
(`organizations.sla_first_response_hours`, `organizations.sla_resolution_hours`; null: the
plan's). Business hours count on the configured calendar (`BUSINESS_*`,
`service/business_hours.py`).

The ticket keeps its due times as columns, written in the same transaction as the changes
that move them, so the queue sorts and filters on them in SQL and a sweep finds what is due by
index (`ix_tickets_first_response_due`, `ix_tickets_resolution_due`):

- `first_response_due`, `resolution_due`: set when the ticket opens (`start`), from its
  organization's targets at that moment;
- `first_responded_at`: the first response of staff the customer sees (a question, a public
  comment, an approval, a rejection): `responded`;
- `sla_paused_at`: while the ticket is `awaiting_customer` and `SLA_PAUSE_WHILE_AWAITING_CUSTOMER`
  is on (the default), the clock stops; when the ticket leaves that status, both due times move
  later by the business time it waited and `sla_paused_at` is cleared (`changes_for_move`,
  called by `workflow.transition`).

A finished ticket keeps its due times as they last were (what was promised), and has no `sla`
in the read models. `breached` and `status_of` tell, at an instant, which targets are missed:
the first response when it came after its due time or has not come by then; the resolution
when the ticket is unfinished past it. A paused ticket is judged at the instant it paused.

Names the reminders rely on: `policy`, `Policy`, `targets_for`, `start`, `responded`,
`changes_for_move`, `breached`, `status_of`, `due_soon_until`, the columns above.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from service import business_hours
from service.business_hours import Calendar
from service.config import Targets
from service.organizations.models import Organization
from service.tickets.models import FINAL_STATUSES, Ticket, TicketStatus

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


@dataclass(frozen=True)
class Policy:
    """The service-level settings of the running app."""

    calendar: Calendar
    plans: dict[str, Targets]
    default_plan: str
    pause_while_awaiting_customer: bool
    due_soon_hours: int


def policy() -> Policy:
    config = current_app.config
    return Policy(
        calendar=config["BUSINESS_CALENDAR"],
        plans=config["SLA_PLANS"],
        default_plan=config["SLA_DEFAULT_PLAN"],
        pause_while_awaiting_customer=config["SLA_PAUSE_WHILE_AWAITING_CUSTOMER"],
        due_soon_hours=config["SLA_DUE_SOON_HOURS"],
    )


def plan_of(org: Organization, rules: Policy) -> str:
    """The organization's plan, or the default one when it names a plan no longer configured."""
    return org.plan if org.plan in rules.plans else rules.default_plan


def targets_for(org: Organization, rules: Policy | None = None) -> Targets:
    """The organization's targets: its plan's, each overridden where staff set one."""
    rules = rules or policy()
    plan = rules.plans[plan_of(org, rules)]
    return Targets(
        first_response_hours=org.sla_first_response_hours or plan.first_response_hours,
        resolution_hours=org.sla_resolution_hours or plan.resolution_hours,
    )


def start(ticket: Ticket, org: Organization, at: datetime) -> None:
    """Set a new ticket's due times from `at` (before it is flushed)."""
    rules = policy()
    targets = targets_for(org, rules)
    ticket.first_response_due = business_hours.add_hours(
        rules.calendar, at, targets.first_response_hours
    )
    ticket.resolution_due = business_hours.add_hours(rules.calendar, at, targets.resolution_hours)


def responded(session: Session, ticket: Ticket, at: datetime) -> None:
    """Record staff's first response the customer sees; later ones change nothing.

    One conditional update, and none once the ticket is known to have had its response.
    """
    if ticket.first_responded_at is not None or ticket.status in FINAL_STATUSES:
        return
    session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.first_responded_at.is_(None))
        .values(first_responded_at=at)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(ticket, "first_responded_at", at)


def changes_for_move(ticket: Ticket, target: TicketStatus, at: datetime) -> dict[str, Any]:
    """The service-level columns a move of `ticket` to `target` at `at` changes.

    Into `awaiting_customer` (with the pause on): the clock stops. Out of a pause (to any
    status): both due times move later by the business time the ticket waited.
    """
    paused_at = ticket.sla_paused_at
    if target == TicketStatus.AWAITING_CUSTOMER:
        if paused_at is None and policy().pause_while_awaiting_customer:
            return {"sla_paused_at": at}
        return {}
    if paused_at is None:
        return {}
    calendar = policy().calendar
    waited = business_hours.between(calendar, paused_at, at)
    changes: dict[str, Any] = {"sla_paused_at": None}
    for name in ("first_response_due", "resolution_due"):
        due = getattr(ticket, name)
        if due is not None:
            changes[name] = business_hours.add(calendar, due, waited)
    return changes


def breached(
    *,
    at: datetime,
    first_response_due: datetime | None,
    resolution_due: datetime | None,
    first_responded_at: datetime | None,
    paused_at: datetime | None,
) -> list[str]:
    """The targets an unfinished ticket has missed, as of `at` (or of its pause)."""
    moment = paused_at or at
    missed = []
    if first_response_due is not None:
        answered = first_responded_at if first_responded_at is not None else moment
        if answered > first_response_due:
            missed.append(FIRST_RESPONSE)
    if resolution_due is not None and moment > resolution_due:
        missed.append(RESOLUTION)
    return missed


@dataclass(frozen=True)
class ServiceLevel:
    """What the read models show of an unfinished ticket's service levels."""

    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    breached: list[str]
    paused: bool


def status_of(
    *,
    status: TicketStatus,
    at: datetime,
    first_response_due: datetime | None,
    resolution_due: datetime | None,
    first_responded_at: datetime | None,
    paused_at: datetime | None,
) -> ServiceLevel | None:
    """The ticket's service level as of `at`; None for a finished ticket."""
    if status in FINAL_STATUSES:
        return None
    return ServiceLevel(
        first_response_due=first_response_due,
        resolution_due=resolution_due,
        first_responded_at=first_responded_at,
        breached=breached(
            at=at,
            first_response_due=first_response_due,
            resolution_due=resolution_due,
            first_responded_at=first_responded_at,
            paused_at=paused_at,
        ),
        paused=paused_at is not None,
    )


def due_soon_until(at: datetime, rules: Policy | None = None) -> datetime:
    """The instant before which a due time counts as "due soon": `SLA_DUE_SOON_HOURS` of
    business time after `at`."""
    rules = rules or policy()
    return business_hours.add(rules.calendar, at, timedelta(hours=rules.due_soon_hours))
