"""Emails recorded with the event that calls for them, and delivered after commit."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.extensions import db
from service.models_base import JSONType, UTCDateTime, str_enum, utcnow


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # The recipient was purged; the row stays so the ticket's history keeps its shape.
    ERASED = "erased"


class Email(db.Model):  # type: ignore[name-defined]
    """One email to one recipient. Rendered at delivery from `template` and `context` (ids).

    Delivered by `service/notifications/delivery.py`: claimed (an attempt counted and the
    email held for the attempt's duration), sent, then marked sent, or failed after
    `MAX_EMAIL_ATTEMPTS` attempts.

    The unique constraint makes recording idempotent: at most one email per recipient,
    template and ticket event, however often the code that records it runs.
    """

    __tablename__ = "emails"
    __table_args__ = (
        UniqueConstraint("event_id", "template", "recipient", name="uq_emails_once_per_event"),
        # The purge finds the emails sent to an address whatever its case; without this it
        # would read every email ever sent.
        Index("ix_emails_recipient_lower", func.lower(text("recipient"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    template: Mapped[str] = mapped_column(String(60))
    recipient: Mapped[str | None] = mapped_column(String(254))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[EmailStatus] = mapped_column(
        str_enum(EmailStatus, "email_status"),
        default=EmailStatus.PENDING,
        index=True,
    )
    # Delivery attempts so far; one is counted when an attempt starts, before any SMTP.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Not to be attempted before this time: while an attempt is in flight (its claim), then
    # after a failed one (the backoff). None: due now.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
