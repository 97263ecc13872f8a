"""Sign-in, bearer tokens and the actor that every authenticated call runs as."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import logs
from service.accounts import sessions
from service.accounts.models import SessionKind, User, UserStatus
from service.accounts.passwords import verify_password
from service.contacts.models import Contact, ContactRole, ContactStatus, Role
from service.errors import Unauthorized
from service.fields import normalize_email
from service.organizations.models import Organization

INVALID_CREDENTIALS = "The email or password is not correct."


@dataclass(frozen=True)
class Actor:
    """Who is calling: the account, its organization, and the permissions its roles grant there.

    What the actor may do with a given organization or ticket is decided in `service.access`.
    """

    user: User
    organization: Organization
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.user.is_staff


def check_credentials(*, session: Session, email: str, password: str) -> User:
    """The active account with this email and password; one answer for every kind of failure."""
    address = normalize_email(email).lower()
    user = session.scalar(select(User).where(func.lower(User.email) == address))
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or user.status != UserStatus.ACTIVE:
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    return user


def sign_in(
    *, session: Session, email: str, password: str, ttl_seconds: int
) -> tuple[str, datetime]:
    """Check the credentials and issue a bearer token; one answer for every kind of failure."""
    user = check_credentials(session=session, email=email, password=password)
    return sessions.issue(
        session=session, user_id=user.id, kind=SessionKind.BEARER, ttl_seconds=ttl_seconds
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(*, session: Session, authorization: str | None) -> Actor:
    """The actor behind an `Authorization: Bearer` header, or 401."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized()
    found = sessions.account_of(session=session, secret=token, kind=SessionKind.BEARER)
    if found is None:
        raise Unauthorized("The token is missing, expired or revoked.", code="invalid_token")
    return actor_of(session=session, user=found[0], organization=found[1])


def actor_of(*, session: Session, user: User, organization: Organization) -> Actor:
    """The actor of a signed-in account, whether it came with a bearer token or a web session."""
    logs.annotate(user_id=user.id)
    return Actor(user=user, organization=organization, permissions=permissions_of(session, user))


def permissions_of(session: Session, user: User) -> frozenset[str]:
    """Permissions granted by the roles the account's active contact holds (a role that grants
    everything but a few counts as the matrix's permissions without its exceptions)."""
    if user.contact_id is None:
        return frozenset()
    roles = session.scalars(
        select(Role)
        .join(ContactRole, ContactRole.role_code == Role.code)
        .join(Contact, Contact.id == ContactRole.contact_id)
        .where(Contact.id == user.contact_id, Contact.status == ContactStatus.ACTIVE)
    )
    return frozenset(p for role in roles for p in role.grants)
