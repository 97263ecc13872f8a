"""Organizations (customer, vendor, purchaser) and the delegations customers grant."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, query_expression

from service.extensions import db
from service.models_base import JSONType, UTCDateTime, partial_index, str_enum, utcnow

# The stable code and message of everything a closed organization refuses.
ORGANIZATION_CLOSED = "organization_closed"
CLOSED_MESSAGE = "This organization is closed: it takes no new requests or changes."


class OrgKind(enum.StrEnum):
    CUSTOMER = "customer"
    VENDOR = "vendor"
    PURCHASER = "purchaser"


class Organization(db.Model):  # type: ignore[name-defined]
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, "org_kind"))
    # The plan's seat limit: the most active contacts the organization may have (None = no limit).
    seat_limit: Mapped[int | None] = mapped_column(Integer)
    # The details a new contact must carry, chosen by staff; None: the default
    # (service/vocabulary.py: MANDATORY_FIELDS).
    required_fields: Mapped[list[str] | None] = mapped_column(JSONType)
    # The service-level plan (one of SLA_PLANS) and staff's overrides of its targets, in
    # business hours; null: the plan's (service/tickets/sla.py).
    plan: Mapped[str] = mapped_column(String(40), default="standard", server_default="standard")
    sla_first_response_hours: Mapped[int | None] = mapped_column(Integer)
    sla_resolution_hours: Mapped[int | None] = mapped_column(Integer)
    # Bumped by every change to the roster; a change request names the version it was made on.
    roster_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when staff close the organization: it takes no new requests, and its contacts are
    # purged by a job (service/organizations/tasks.py); its tickets stay readable.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The id of its unfinished change-request ticket, read with the organization only where a
    # query asks for it (`service.requests.service.with_pending_ticket`); else None.
    pending_ticket_id: Mapped[int | None] = query_expression()
    # Its roster's maintained counts as one text, likewise read only where a query asks for them
    # (`service.contacts.counts.with_counts`, which also reads the text).
    roster_counts_text: Mapped[str | None] = query_expression()

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


class Delegation(db.Model):  # type: ignore[name-defined]
    """A customer lets a purchaser/partner organization's admins manage its contacts."""

    __tablename__ = "delegations"
    __table_args__ = (
        partial_index(
            "uq_delegations_active_pair",
            "organization_id",
            "delegate_organization_id",
            unique=True,
            where="revoked_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    delegate_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id"), index=True
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
