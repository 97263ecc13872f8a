"""Sign-in, bearer tokens and the actor that every authenticated call runs as."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.models import AccessToken, User, UserStatus
from service.accounts.passwords import verify_password
from service.contacts.models import Contact, ContactRole, ContactStatus, Role
from service.errors import Unauthorized
from service.models_base import utcnow
from service.organizations.models import Organization

INVALID_CREDENTIALS = "The email or password is not correct."


@dataclass(frozen=True)
class Actor:
    """Who is calling: the account, its organization, and what its roles let it do."""

    user: User
    organization: Organization
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.user.is_staff

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(
    *, session: Session, email: str, password: str, ttl_seconds: int
) -> tuple[str, datetime]:
    """Check the credentials and issue a bearer token; one answer for every kind of failure."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or user.status != UserStatus.ACTIVE:
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    session.add(AccessToken(user_id=user.id, token_hash=token_digest(token), expires_at=expires_at))
    session.flush()
    return token, expires_at


def authenticate(*, session: Session, authorization: str | None) -> Actor:
    """The actor behind an `Authorization: Bearer` header, or 401."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    row = session.execute(
        select(User, Organization)
        .join(AccessToken, AccessToken.user_id == User.id)
        .join(Organization, Organization.id == User.organization_id)
        .where(
            AccessToken.token_hash == token_digest(token.strip()),
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > utcnow(),
            User.status == UserStatus.ACTIVE,
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("The token is missing, expired or revoked.", code="invalid_token")
    user, organization = row
    return Actor(user=user, organization=organization, permissions=_permissions(session, user))


def _permissions(session: Session, user: User) -> frozenset[str]:
    """Permissions granted by the roles the account's active contact holds."""
    if user.contact_id is None:
        return frozenset()
    lists = session.scalars(
        select(Role.permissions)
        .join(ContactRole, ContactRole.role_code == Role.code)
        .join(Contact, Contact.id == ContactRole.contact_id)
        .where(Contact.id == user.contact_id, Contact.status == ContactStatus.ACTIVE)
    )
    return frozenset(p for permissions in lists for p in permissions)
