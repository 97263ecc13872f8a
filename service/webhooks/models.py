"""Webhook endpoints, the outbox of events, and one delivery per (event, endpoint).

An event row is written in the transaction that causes it, with its deliveries to every
active endpoint subscribed to its type; the delivery jobs run after commit. Events hold ids
only: the payload is built from them at delivery, so no personal data ever waits here.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.extensions import db
from service.models_base import UTCDateTime, str_enum, utcnow


class EventType(enum.StrEnum):
    TICKET_SUBMITTED = "ticket.submitted"
    TICKET_APPROVED = "ticket.approved"
    TICKET_IMPLEMENTED = "ticket.implemented"
    TICKET_REJECTED = "ticket.rejected"
    TICKET_CANCELLED = "ticket.cancelled"
    TICKET_FAILED = "ticket.failed"
    CONTACT_ADDED = "contact.added"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_DELETED = "contact.deleted"
    CONTACT_PURGED = "contact.purged"
    DELEGATION_GRANTED = "delegation.granted"
    DELEGATION_REVOKED = "delegation.revoked"


class EndpointStatus(enum.StrEnum):
    ACTIVE = "active"
    # Staff turned it off, or it kept failing: nothing is delivered to it until re-enabled.
    DISABLED = "disabled"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Every attempt of a day failed (or staff gave it up); staff may replay it.
    FAILED = "failed"


class WebhookEndpoint(db.Model):  # type: ignore[name-defined]
    """A URL that receives the events it subscribes to: the vendor's (every organization) or
    one organization's. Deliveries are signed with `secret`; after a rotation the previous
    secret signs too until `previous_secret_expires_at`."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    # None: every organization's events (the vendor's endpoint).
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[EndpointStatus] = mapped_column(
        str_enum(EndpointStatus, "webhook_endpoint_status"), default=EndpointStatus.ACTIVE
    )
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current run of failed attempts began; None after a success.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookSubscription(db.Model):  # type: ignore[name-defined]
    """An endpoint wants events of this type."""

    __tablename__ = "webhook_subscriptions"

    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(40), primary_key=True)


class WebhookEvent(db.Model):  # type: ignore[name-defined]
    """The outbox: one thing that happened, by ids. `uid` is its `webhook-id`, the same for
    every endpoint and every attempt, so receivers can drop a repeat."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_type_id", "event_type", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    delegate_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(db.Model):  # type: ignore[name-defined]
    """One event to one endpoint: attempted by its own job (`webhook-<id>`) until delivered or
    given up, as `service/webhooks/delivery.py` describes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_once"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Not attempted before this time: while an attempt is in flight, then the backoff.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    # The error's type or the HTTP status; never the receiver's answer (it may quote anything).
    last_error: Mapped[str | None] = mapped_column(String(200))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replays: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
