"""The role catalog, contacts and the roles they hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.extensions import db
from service.models_base import JSONType, UTCDateTime, partial_index, str_enum, utcnow
from service.vocabulary import ALL_PERMISSIONS, MODULES, ContactStatus


class Role(db.Model):  # type: ignore[name-defined]
    """One entry of the role catalog, loaded from service/contacts/roles.json, editable by staff."""

    __tablename__ = "roles"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Which kind of organization the role is for: "customer", "purchaser" or "any".
    audience: Mapped[str] = mapped_column(String(20), default="customer")
    # The permissions the role grants; unused when it grants everything (`grants_all`).
    permissions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # "Everything except": the role grants every permission of the matrix but its `exceptions`,
    # including those of modules added later.
    grants_all: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    exceptions: Mapped[list[str]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Roles one person should not hold together (separation of duties, a warning only).
    incompatible_with: Mapped[list[str]] = mapped_column(JSONType, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def grants(self) -> frozenset[str]:
        """The permissions its holders have: those listed, or everything but the exceptions."""
        if self.grants_all:
            return ALL_PERMISSIONS - set(self.exceptions or ())
        return frozenset(self.permissions or ())

    @property
    def granted(self) -> list[str]:
        """`grants` in a stable order (the API's `permissions`)."""
        return sorted(self.grants)

    @property
    def matrix(self) -> list[dict[str, Any]]:
        """The grants as the module x view/edit matrix; None where a module has no such right."""
        grants = self.grants
        return [
            {
                "module": module.code,
                "name": module.name,
                "view": None if module.view is None else module.view in grants,
                "edit": None if module.edit is None else module.edit in grants,
            }
            for module in MODULES
        ]


class Contact(db.Model):  # type: ignore[name-defined]
    __tablename__ = "contacts"
    __table_args__ = (
        # Email is unique among an organization's active contacts, whatever its case.
        partial_index(
            "uq_contacts_active_email",
            "organization_id",
            func.lower(text("email")),
            unique=True,
            where="status = 'active'",
        ),
        # The roster's order (service/contacts/paging.py: sort_key), so that a page of a large
        # roster is read from the index in order and stops at its last row.
        partial_index(
            "ix_contacts_roster_order",
            "organization_id",
            text("lower(coalesce(last_name, ''))"),
            text("lower(coalesce(first_name, ''))"),
            "id",
            where="status != 'archived'",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    salutation: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    alternate_email: Mapped[str | None] = mapped_column(String(254))
    job_title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    mobile: Mapped[str | None] = mapped_column(String(40))
    # Their assistant or additional contact: another contact of the same organization. Indexed:
    # deleting a contact looks up who names it as assistant (SQLite checks the foreign key row by
    # row, so without the index clearing a 50,000-contact roster scanned it 50,000 times).
    assistant_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    status: Mapped[ContactStatus] = mapped_column(
        str_enum(ContactStatus, "contact_status"),
        default=ContactStatus.ACTIVE,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The person's account: a contact is one membership of an account, which may be a contact
    # of other organizations too (one login, any number of organizations). None: no account.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    roles: Mapped[list[ContactRole]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__: dict[str, Any] = {"version_id_col": version}

    @property
    def role_codes(self) -> list[str]:
        return sorted(r.role_code for r in self.roles)


class ContactRole(db.Model):  # type: ignore[name-defined]
    __tablename__ = "contact_roles"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    role_code: Mapped[str] = mapped_column(
        ForeignKey("roles.code", onupdate="CASCADE"), primary_key=True, index=True
    )

    contact: Mapped[Contact] = relationship(back_populates="roles")


class RosterCount(db.Model):  # type: ignore[name-defined]
    """One maintained count of an organization's roster: its contacts of one status, or (with a
    `role_code`) those of them who hold that role. Written only by service/contacts/counts.py,
    in the same transaction as the change it counts."""

    __tablename__ = "roster_counts"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    status: Mapped[ContactStatus] = mapped_column(
        str_enum(ContactStatus, "roster_count_status"), primary_key=True
    )
    # "" counts the contacts themselves; a role code counts those of them holding the role.
    role_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class RoleCatalogVersion(db.Model):  # type: ignore[name-defined]
    """One row naming the role catalog's current state: every write to `roles` sets a new random
    `version` in the writer's transaction (service/contacts/catalog.py), so that a process may
    keep the catalog it read for as long as the version it read it with is current."""

    __tablename__ = "role_catalog_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
