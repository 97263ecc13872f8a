"""One contact's page of details: who their assistant is, and their recent activity (every ticket
whose batch named them or that they requested, with its events, newest first)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.contacts import service as contacts_service
from service.contacts.models import Contact, ContactStatus
from service.errors import NotFound
from service.organizations.models import Organization
from service.requests.models import ChangeRequestItem
from service.tickets.models import Ticket, TicketEvent, format_reference
from service.tickets.read_models import ticket_url

# The most events "Recent activity" lists.
ACTIVITY_LIMIT = 50


def details(*, session: Session, org: Organization, contact_id: int) -> dict[str, Any]:
    """The contact as the roster shows it, its assistant, and its recent activity; 404 for a
    contact that is not on this organization's roster."""
    contact = session.get(Contact, contact_id)
    if (
        contact is None
        or contact.organization_id != org.id
        or contact.status == ContactStatus.ARCHIVED
    ):
        raise NotFound("No such contact.", code="contact_not_found")
    (row,) = contacts_service.roster_rows(session=session, org_id=org.id, ids={contact_id})
    assistant = session.get(Contact, contact.assistant_id) if contact.assistant_id else None
    shown = (
        assistant
        if assistant is not None
        and assistant.organization_id == org.id
        and assistant.status != ContactStatus.ARCHIVED
        else None
    )
    return {
        **row,
        "assistant": (
            {"id": shown.id, "first_name": shown.first_name, "last_name": shown.last_name}
            if shown
            else None
        ),
        "assisting": [
            {"id": c.id, "first_name": c.first_name, "last_name": c.last_name}
            for c in session.scalars(
                select(Contact)
                .where(
                    Contact.assistant_id == contact_id,
                    Contact.organization_id == org.id,
                    Contact.status != ContactStatus.ARCHIVED,
                )
                .order_by(Contact.last_name, Contact.first_name, Contact.id)
            )
        ],
        "activity": recent_activity(session=session, contact_id=contact_id),
    }


def recent_activity(*, session: Session, contact_id: int) -> list[dict[str, Any]]:
    """Every event of every ticket that touched the contact (its batch named them, or they
    requested it), newest first: two statements."""
    named = (
        select(Ticket.id)
        .join(ChangeRequestItem, ChangeRequestItem.change_request_id == Ticket.change_request_id)
        .where(ChangeRequestItem.contact_id == contact_id)
    )
    # Requested by the contact's account for this contact's organization (an account may be a
    # contact of several).
    requested = (
        select(Ticket.id)
        .join(Contact, Contact.user_id == Ticket.requester_id)
        .where(Contact.id == contact_id, Ticket.organization_id == Contact.organization_id)
    )
    rows = session.execute(
        select(TicketEvent, Ticket.kind)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(or_(TicketEvent.ticket_id.in_(named), TicketEvent.ticket_id.in_(requested)))
        .order_by(TicketEvent.at.desc(), TicketEvent.id.desc())
        .limit(ACTIVITY_LIMIT)
    ).all()
    activity = []
    for event, kind in rows:
        reference = format_reference(kind, event.ticket_id)
        activity.append(
            {
                "at": event.at,
                "ticket": reference,
                "url": ticket_url(reference),
                "action": event.action,
                "from": event.from_status,
                "to": event.to_status,
            }
        )
    return activity
