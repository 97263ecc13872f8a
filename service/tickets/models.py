"""Tickets: a generic workflow around one request, with an append-only event log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.extensions import db
from service.models_base import JSONType, UTCDateTime, parse_id, partial_index, str_enum, utcnow


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    AWAITING_CUSTOMER = "awaiting_customer"
    APPROVED = "approved"
    APPLYING = "applying"
    IMPLEMENTED = "implemented"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


FINAL_STATUSES = frozenset(
    {TicketStatus.IMPLEMENTED, TicketStatus.CANCELLED, TicketStatus.REJECTED}
)
UNFINISHED_STATUSES = frozenset(set(TicketStatus) - FINAL_STATUSES)

_UNFINISHED_SQL = "status IN ({})".format(
    ", ".join(f"'{s.value}'" for s in sorted(UNFINISHED_STATUSES))
)

_FIRST_RESPONSE_PENDING_SQL = f"first_responded_at IS NULL AND {_UNFINISHED_SQL}"
# The tickets that wait on the customer: what the reminders' statements say, in the words of
# their index, so that PostgreSQL sees the index applies whatever the statement's parameters.
AWAITING_CUSTOMER_SQL = "status = 'awaiting_customer'"

# Human references by ticket kind: CR-000123.
REFERENCE_PREFIX = {"change_request": "CR"}


class Ticket(db.Model):  # type: ignore[name-defined]
    __tablename__ = "tickets"
    __table_args__ = (
        # At most one unfinished ticket of a kind per organization, enforced by the database.
        partial_index(
            "uq_tickets_one_unfinished_per_org",
            "organization_id",
            "kind",
            unique=True,
            where=_UNFINISHED_SQL,
        ),
        Index("ix_tickets_status_created", "status", "created_at", "id"),
        # Finished tickets not reduced yet, by age: what the retention job looks for.
        partial_index(
            "ix_tickets_retention_due",
            "updated_at",
            where="reduced_at IS NULL",
        ),
        # Unfinished tickets by due time (service/tickets/sla.py): the queue's order and
        # filters, and the sweep that finds what falls due.
        partial_index(
            "ix_tickets_first_response_due",
            "first_response_due",
            where=_FIRST_RESPONSE_PENDING_SQL,
        ),
        partial_index("ix_tickets_resolution_due", "resolution_due", where=_UNFINISHED_SQL),
        # Tickets waiting on the customer since their last change: the reminder to the
        # requester and the close of unanswered tickets (service/tickets/reminders.py).
        partial_index("ix_tickets_awaiting_customer", "updated_at", where=AWAITING_CUSTOMER_SQL),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), default="change_request")
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    acting_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    change_request_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id"), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, "ticket_status", 30),
        default=TicketStatus.OPEN,
    )
    approvals_required: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # 1 on submit; each amendment stores a new change request and moves to the next revision.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    failure_code: Mapped[str | None] = mapped_column(String(50))
    failure_message: Mapped[str | None] = mapped_column(Text)
    # Why staff rejected it or the requester cancelled it, as they wrote it.
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    # When retention reduced it to what the audit needs (service/tickets/retention.py).
    reduced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Per contact deleted by the apply: which tables and fields were erased (never the values).
    erasure_receipt: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    # Service levels (service/tickets/sla.py): when the first response and the resolution are
    # due, when staff first responded, and since when the clock is stopped while the ticket
    # waits on the customer.
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def reference(self) -> str:
        return format_reference(self.kind, self.id)


def format_reference(kind: str, ticket_id: int) -> str:
    return f"{REFERENCE_PREFIX.get(kind, 'T')}-{ticket_id:06d}"


def parse_reference(reference: str) -> int | None:
    """The ticket id in `CR-000123`, or None when the text is not a reference."""
    prefix, _, number = reference.strip().upper().partition("-")
    if prefix not in REFERENCE_PREFIX.values():
        return None
    return parse_id(number)


class TicketEvent(db.Model):  # type: ignore[name-defined]
    """Append-only: who did what, when, from which status to which. Ids only, no personal data."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The organization the actor acted for: their own, or one that delegated to it.
    actor_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class TicketComment(db.Model):  # type: ignore[name-defined]
    """A comment as written. `internal` ones are for staff only; a `query` asks the customer."""

    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    query: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketApproval(db.Model):  # type: ignore[name-defined]
    """One staff member's approval; a ticket needing two (four eyes) needs two people."""

    __tablename__ = "ticket_approvals"
    __table_args__ = (UniqueConstraint("ticket_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketStatusCount(db.Model):  # type: ignore[name-defined]
    """How many tickets of a kind each organization has in each status.

    Kept up to date in the same transaction as every status change (`workflow.py`), so the
    queue's counts and totals cost one small read instead of a count over all ticket history.
    """

    __tablename__ = "ticket_status_counts"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReminderKind(enum.StrEnum):
    """What the reminder job tells, and to whom (`service/tickets/reminders.py`)."""

    # To the assignee, or the review queue, before a target is breached.
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"
    # To the requester, when the ticket has waited on them for `REMIND_AWAITING_AFTER_DAYS`.
    AWAITING_REPLY = "awaiting_reply"
    # The ticket closed as cancelled, `CLOSE_UNANSWERED_AFTER_DAYS` later still unanswered.
    CLOSED_UNANSWERED = "closed_unanswered"


class TicketReminder(db.Model):  # type: ignore[name-defined]
    """One reminder sent (or one ticket closed for want of an answer), recorded in the same
    transaction as its email: the unique key (ticket, kind, the instant it is about: a target's
    due time or when the wait began) lets it happen once, however many runs find it due."""

    __tablename__ = "ticket_reminders"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "due_at", name="uq_ticket_reminders_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, "reminder_kind", 30))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedView(db.Model):  # type: ignore[name-defined]
    """A staff member's named view of the queue: the queue's filters and order (`query`)."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
