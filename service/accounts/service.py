"""Sign-in, bearer tokens and the actor that every authenticated call runs as."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from service import logs
from service.accounts import sessions
from service.accounts.models import AccessToken, SessionKind, User, UserStatus
from service.accounts.passwords import verify_password
from service.contacts import catalog
from service.contacts.catalog import version_column
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.errors import Unauthorized
from service.fields import normalize_email
from service.organizations.models import Organization
from service.validators.types import RoleInfo

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
    actor = signed_in(session=session, secret=token, kind=SessionKind.BEARER)
    if actor is None:
        raise Unauthorized("The token is missing, expired or revoked.", code="invalid_token")
    return actor


def signed_in(*, session: Session, secret: str, kind: SessionKind) -> Actor | None:
    """The actor of a live session of this kind (a bearer token or the pages'), or None: the
    account, its organization, its memberships with their roles and the role catalog's version
    come in one statement; the catalog itself from the process's copy while that is current."""
    rows = session.execute(_signed_in(), sessions.live(secret=secret, kind=kind)).all()
    if not rows:
        return None
    user, organization, version = rows[0][0], rows[0][1], rows[0][5]
    roles = catalog.as_dict(catalog.current(session=session, version=version))
    held = [(contact_id, org, code) for _, _, contact_id, org, code, _ in rows]
    return _actor(user, organization, _memberships(held, roles))


@functools.cache
def _signed_in() -> Select[Any]:
    """`signed_in`'s statement, built once (its values are `sessions.live(…)`)."""
    member_org = aliased(Organization)
    return (
        select(User, Organization, Contact.id, member_org, ContactRole.role_code, version_column())
        .join(AccessToken, AccessToken.user_id == User.id)
        .join(Organization, Organization.id == User.organization_id)
        .outerjoin(Contact, _active_contact_of(User))
        .outerjoin(member_org, member_org.id == Contact.organization_id)
        .outerjoin(ContactRole, ContactRole.contact_id == Contact.id)
        .where(*sessions.LIVE)
        .order_by(member_org.name, Contact.id, ContactRole.role_code)
    )


def actor_of(*, session: Session, user: User, organization: Organization) -> Actor:
    """The actor of an account; `organization` is the account's own (`User.organization_id`)."""
    rows = session.execute(
        select(Contact.id, Organization, ContactRole.role_code)
        .select_from(User)
        .join(Contact, _active_contact_of(User))
        .join(Organization, Organization.id == Contact.organization_id)
        .outerjoin(ContactRole, ContactRole.contact_id == Contact.id)
        .where(User.id == user.id)
        .order_by(Organization.name, Contact.id, ContactRole.role_code)
    ).tuples()
    roles = catalog.as_dict(catalog.current(session=session))
    return _actor(user, organization, _memberships(list(rows), roles))


def _active_contact_of(user: type[User]) -> ColumnElement[bool]:
    """The account's active contacts; staff have none that count."""
    return and_(
        Contact.user_id == user.id,
        Contact.status == ContactStatus.ACTIVE,
        user.is_staff.is_(False),
    )


def _actor(user: User, organization: Organization, memberships: tuple[Membership, ...]) -> Actor:
    """The actor, its home membership first: the account's own organization while it is a
    member there, else its first membership's."""
    logs.annotate(user_id=user.id)
    home = next((m for m in memberships if m.organization.id == organization.id), None)
    if home is None and memberships:
        home = memberships[0]
    if home is not None:
        memberships = (home, *(m for m in memberships if m is not home))
        organization = home.organization
    return Actor(user=user, organization=organization, memberships=memberships)


def _memberships(
    held: Sequence[tuple[int | None, Organization | None, str | None]],
    roles: Mapping[str, RoleInfo],
) -> tuple[Membership, ...]:
    """Memberships from (contact, organization, role code) rows in their order, a contact with
    no role once with None. A role that grants everything but a few counts as the matrix's
    permissions without its exceptions (`Role.grants`)."""
    contacts: dict[int, tuple[Organization, list[str]]] = {}
    for contact_id, org, code in held:
        if contact_id is None or org is None:
            continue
        codes = contacts.setdefault(contact_id, (org, []))[1]
        if code is not None and code in roles:
            codes.append(code)
    return tuple(
        Membership(
            organization=org,
            contact_id=contact_id,
            roles=tuple(codes),
            permissions=frozenset(p for code in codes for p in roles[code].permissions),
        )
        for contact_id, (org, codes) in contacts.items()
    )
