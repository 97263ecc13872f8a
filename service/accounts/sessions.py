"""Sign-in sessions, recorded server-side so that every one of them can be revoked.

A session is a row of `access_tokens`: a bearer token of the API or a web session of the pages
(`SessionKind`), stored only as the SHA-256 digest of its random secret, with an expiry. The
client holds the secret (the `Authorization` header, or the signed session cookie), so a copy
of either works exactly until the row is revoked:

- one session ends when its holder signs out (`POST /logout`, `DELETE /api/auth/token`);
- every session of an account ends at once when its holder signs out everywhere, sets a new
  password (activation, reset) or is deactivated; a reactivated account starts with none;
- a purge deletes the rows of the purged accounts (`service/personal_data.py`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select, update
from sqlalchemy.orm import Session

from service.accounts.models import AccessToken, SessionKind, User, UserStatus
from service.accounts.passwords import token_digest
from service.models_base import utcnow
from service.organizations.models import Organization

# The key of the pages' signed session cookie that holds a web session's secret.
WEB_SESSION_KEY = "sid"


def issue(
    *, session: Session, user_id: int, kind: SessionKind, ttl_seconds: int
) -> tuple[str, datetime]:
    """Record a new session of the account; its secret (returned once, never stored) and expiry."""
    secret = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    session.add(
        AccessToken(
            user_id=user_id, kind=kind, token_hash=token_digest(secret), expires_at=expires_at
        )
    )
    session.flush()
    return secret, expires_at


def account_of(
    *, session: Session, secret: str, kind: SessionKind
) -> tuple[User, Organization] | None:
    """The active account, and its organization, of a live session of this kind; else None."""
    row = session.execute(
        select(User, Organization)
        .join(AccessToken, AccessToken.user_id == User.id)
        .join(Organization, Organization.id == User.organization_id)
        .where(*LIVE),
        live(secret=secret, kind=kind),
    ).one_or_none()
    return None if row is None else (row[0], row[1])


# What makes a session live: its secret and kind, not revoked or expired, and its account
# active (in a query joining `access_tokens` to `users`; the values are `live(…)`).
LIVE = (
    AccessToken.token_hash == bindparam("token_hash"),
    AccessToken.kind == bindparam("session_kind"),
    AccessToken.revoked_at.is_(None),
    AccessToken.expires_at > bindparam("now"),
    User.status == UserStatus.ACTIVE,
)


def live(*, secret: str, kind: SessionKind) -> dict[str, Any]:
    """The values of `LIVE`'s parameters for this secret and kind, now."""
    return {"token_hash": token_digest(secret), "session_kind": kind, "now": utcnow()}


def revoke(*, session: Session, secret: str, kind: SessionKind) -> None:
    """End one session (signing out); nothing happens for an unknown or ended one."""
    _revoke_where(
        session,
        AccessToken.token_hash == token_digest(secret),
        AccessToken.kind == kind,
    )


def revoke_all(*, session: Session, user_ids: list[int] | Select[tuple[int]]) -> None:
    """End every session, of every kind, of these accounts (a list, or a query of their ids)."""
    _revoke_where(session, AccessToken.user_id.in_(user_ids))


def _revoke_where(session: Session, *conditions: ColumnElement[bool]) -> None:
    session.execute(
        update(AccessToken)
        .where(*conditions, AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
