"""Recording what happened, in the transaction that causes it: the outbox of webhooks.

`record` writes the events and a pending delivery to every active endpoint that subscribes to
each one's type and covers its organization: two statements, however many events and
endpoints, and none of them reads the endpoints first, so a request costs the same with ten
endpoints as with none. The delivery jobs (`webhook-<delivery id>`) run after commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import insert, literal, or_, select
from sqlalchemy.orm import Session

from service.models_base import UTCDateTime, utcnow
from service.sql import column_in, insert_rows
from service.tickets.models import Ticket, TicketStatus
from service.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSubscription,
)
from service.webhooks.tasks import deliver_webhook

# The ticket statuses whose arrival is an event (applying, awaiting the customer are not).
TICKET_EVENTS = {
    TicketStatus.APPROVED: EventType.TICKET_APPROVED,
    TicketStatus.IMPLEMENTED: EventType.TICKET_IMPLEMENTED,
    TicketStatus.REJECTED: EventType.TICKET_REJECTED,
    TicketStatus.CANCELLED: EventType.TICKET_CANCELLED,
    TicketStatus.FAILED: EventType.TICKET_FAILED,
}


@dataclass(frozen=True)
class NewEvent:
    """What happened, by ids only."""

    event_type: EventType
    organization_id: int
    ticket_id: int | None = None
    contact_id: int | None = None
    delegate_organization_id: int | None = None


@dataclass(frozen=True)
class Recorded:
    """An event as recorded: its `webhook-id` and the deliveries it called for."""

    uid: str
    event_type: EventType
    contact_id: int | None
    delivery_ids: list[int] = field(default_factory=list)


def new_uid() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def record(*, session: Session, events: list[NewEvent]) -> list[Recorded]:
    """Record the events and their pending deliveries (two statements); deliver after commit."""
    if not events:
        return []
    now = utcnow()
    uids = [new_uid() for _ in events]
    ids = insert_rows(
        session,
        WebhookEvent.__table__,
        [
            {
                "uid": uid,
                "event_type": event.event_type.value,
                "organization_id": event.organization_id,
                "ticket_id": event.ticket_id,
                "contact_id": event.contact_id,
                "delegate_organization_id": event.delegate_organization_id,
                "created_at": now,
            }
            for uid, event in zip(uids, events, strict=True)
        ],
        returning_ids=True,
    )
    ev, sub, ep = (
        WebhookEvent.__table__,
        WebhookSubscription.__table__,
        WebhookEndpoint.__table__,
    )
    deliveries = WebhookDelivery.__table__
    wanted = (
        select(
            ev.c.id,
            ep.c.id,
            literal(DeliveryStatus.PENDING.value, deliveries.c.status.type),
            literal(0),
            literal(0),
            literal(now, UTCDateTime()),
        )
        .select_from(
            ev.join(sub, sub.c.event_type == ev.c.event_type).join(ep, ep.c.id == sub.c.endpoint_id)
        )
        .where(
            column_in(session, ev.c.id, ids),
            ep.c.status == EndpointStatus.ACTIVE.value,
            or_(ep.c.organization_id.is_(None), ep.c.organization_id == ev.c.organization_id),
        )
    )
    created = session.execute(
        insert(deliveries)
        .from_select(
            ["event_id", "endpoint_id", "status", "attempts", "replays", "created_at"], wanted
        )
        .returning(deliveries.c.id, deliveries.c.event_id)
    ).all()
    by_event: dict[int, list[int]] = {}
    for delivery_id, event_id in created:
        by_event.setdefault(event_id, []).append(delivery_id)
        deliver_webhook.after_commit(session, delivery_id)
    return [
        Recorded(uid, event.event_type, event.contact_id, sorted(by_event.get(event_id, [])))
        for uid, event, event_id in zip(uids, events, ids, strict=True)
    ]


def ticket_submitted(*, session: Session, ticket: Ticket) -> None:
    record(
        session=session,
        events=[NewEvent(EventType.TICKET_SUBMITTED, ticket.organization_id, ticket.id)],
    )


def ticket_moved(*, session: Session, ticket: Ticket, status: TicketStatus) -> None:
    """The ticket reached `status`: an event when subscribers care about that status."""
    event_type = TICKET_EVENTS.get(status)
    if event_type is not None:
        record(session=session, events=[NewEvent(event_type, ticket.organization_id, ticket.id)])
