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
class Membership:
    """One organization the account is an active contact of: the contact, its roles, and the
    permissions those roles grant there."""

    organization: Organization
    contact_id: int
    roles: tuple[str, ...] = ()
    permissions: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Actor:
    """Who is calling: the account, its memberships, and its home organization.

    A person has one account and may be a contact of any number of organizations (its
    `memberships`); each grants what the contact's roles grant there, and nothing elsewhere.
    `organization` is the home one: the vendor for staff, else the organization the account was
    made in while it is still a member there, else its first membership's. What the actor may do
    with a given organization or ticket is decided in `service.access`.
    """

    user: User
    organization: Organization
    memberships: tuple[Membership, ...] = ()

    @property
    def is_staff(self) -> bool:
        return self.user.is_staff

    def membership(self, org_id: int) -> Membership | None:
        """The actor's membership of this organization, if it is an active contact there."""
        return next((m for m in self.memberships if m.organization.id == org_id), None)


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
    """The actor of a signed-in account, whether it came with a bearer token or a web session;
    `organization` is the account's own (`User.organization_id`)."""
    logs.annotate(user_id=user.id)
    memberships = memberships_of(session, user)
    home = next((m for m in memberships if m.organization.id == organization.id), None)
    if home is None and memberships:
        home = memberships[0]
    if home is not None:
        memberships = (home, *(m for m in memberships if m is not home))
        organization = home.organization
    return Actor(user=user, organization=organization, memberships=memberships)


def memberships_of(session: Session, user: User) -> tuple[Membership, ...]:
    """The account's active contacts with their organizations and roles, by organization name;
    two statements however many there are."""
    if user.is_staff:
        return ()
    contacts = session.execute(
        select(Contact.id, Organization)
        .join(Organization, Organization.id == Contact.organization_id)
        .where(Contact.user_id == user.id, Contact.status == ContactStatus.ACTIVE)
        .order_by(Organization.name, Contact.id)
    ).all()
    if not contacts:
        return ()
    # A role that grants everything but a few counts as the matrix's permissions without its
    # exceptions (`Role.grants`).
    held: dict[int, list[Role]] = {}
    for contact_id, role in session.execute(
        select(ContactRole.contact_id, Role)
        .join(Role, Role.code == ContactRole.role_code)
        .where(ContactRole.contact_id.in_([row[0] for row in contacts]))
        .order_by(Role.code)
    ).tuples():
        held.setdefault(contact_id, []).append(role)
    return tuple(
        Membership(
            organization=org,
            contact_id=contact_id,
            roles=tuple(role.code for role in held.get(contact_id, [])),
            permissions=frozenset(p for role in held.get(contact_id, []) for p in role.grants),
        )
        for contact_id, org in contacts
    )
