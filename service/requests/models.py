"""Change requests: an ordered batch of items made against one roster version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.extensions import db
from service.models_base import JSONType, UTCDateTime, utcnow


class ChangeRequest(db.Model):  # type: ignore[name-defined]
    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Set when a delegate organization's admin made the request on the customer's behalf.
    acting_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    base_version: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What kinds of change the batch holds, counted once at submit so that the queue shows them
    # for a page of tickets without reading their items (`BatchSummary`).
    item_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    adds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deletions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    required_role_removals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    delegations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Which revision of its ticket this batch is (1 on submit), and the batch it replaced.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id"))

    items: Mapped[list[ChangeRequestItem]] = relationship(
        order_by="ChangeRequestItem.position", lazy="raise_on_sql"
    )


class ChangeRequestItem(db.Model):  # type: ignore[name-defined]
    """One operation of a batch. `payload` holds the op's data as submitted (after shape checks)."""

    __tablename__ = "change_request_items"
    __table_args__ = (UniqueConstraint("change_request_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_request_id: Mapped[int] = mapped_column(
        ForeignKey("change_requests.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(30))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    ref: Mapped[str | None] = mapped_column(String(50))
    role_code: Mapped[str | None] = mapped_column(String(50))
    target_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The values an update_contact item replaces, as they were when the batch was submitted.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
