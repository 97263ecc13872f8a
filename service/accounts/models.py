"""User accounts (customer contacts and vendor staff), their sessions and their emailed tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.extensions import db
from service.models_base import JSONType, UTCDateTime, partial_index, str_enum, utcnow


class UserStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    ARCHIVED = "archived"


class User(db.Model):  # type: ignore[name-defined]
    """One person's login: one email, one password, any number of memberships (contacts)."""

    __tablename__ = "users"
    __table_args__ = (
        # One account per email address (case-insensitive); purged accounts keep no email.
        partial_index(
            "uq_users_email",
            func.lower(text("email")),
            unique=True,
            where="email IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[UserStatus] = mapped_column(
        str_enum(UserStatus, "user_status"),
        default=UserStatus.INVITED,
    )
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # What a staff account may do beyond every staff member's review work (`service.access`:
    # `STAFF_ONLY_PERMISSIONS`); always empty for customers' accounts.
    staff_permissions: Mapped[list[str]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    # The organization the account was made in: the vendor for staff. What a customer's account
    # may do comes from its memberships (the contacts linked to it, `Contact.user_id`), in any
    # number of organizations; this column grants nothing.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionKind(enum.StrEnum):
    BEARER = "bearer"  # a token of the JSON API (`Authorization: Bearer`)
    WEB = "web"  # a signed-in browser of the pages (named in the session cookie)


class AccessToken(db.Model):  # type: ignore[name-defined]
    """A sign-in session, recorded so that it can be revoked; stored only as its SHA-256 digest.

    A bearer token authenticates only the API and a web session only the pages: a cookie's
    secret is never a bearer token, nor the other way round.
    """

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SessionKind] = mapped_column(
        str_enum(SessionKind, "session_kind"),
        default=SessionKind.BEARER,
        server_default=SessionKind.BEARER.value,
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TokenPurpose(enum.StrEnum):
    ACTIVATION = "activation"
    PASSWORD_RESET = "password_reset"


class AccountToken(db.Model):  # type: ignore[name-defined]
    """A single-use activation or reset link, stored only as its SHA-256 digest.

    A newer token of the same purpose voids the older ones (`voided_at`).
    """

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(str_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the organizations' admins were told that this activation link expired unused
    # (`invitation_expired`): set once, in the transaction that records their emails.
    expiry_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CounterErasure(db.Model):  # type: ignore[name-defined]
    """Rate-limit counters in Redis that a purge asked to drop, waiting for the job that does it.

    The purge records this in its own transaction and the job clears the counters after commit,
    so that Redis being away never fails a ticket; the row goes once the counters are gone.
    `account_keys` are the counters' names for the accounts (keyed digests, not addresses).
    """

    __tablename__ = "counter_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_keys: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
