"""Staff accounts: the vendor's people who review tickets and onboard organizations.

Staff holding `staff:manage` add staff accounts (invited by email, like a new contact) and
deactivate them; `service.access` decides who may. The command line (`flask --app service
staff …`) calls the same functions for scripted setups.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

from service.accounts import sessions, tokens
from service.accounts.models import TokenPurpose, User, UserStatus
from service.errors import Conflict, NotFound
from service.notifications import service as notify
from service.organizations.models import Organization, OrgKind

STAFF_NOT_FOUND = "No such staff account."


def describe(user: User) -> dict[str, Any]:
    """A staff account as the API and the pages show it."""
    return {
        "id": user.id,
        "email": user.email,
        "status": user.status.value,
        "permissions": sorted(user.staff_permissions or ()),
        "created_at": user.created_at,
    }


def list_staff(*, session: Session) -> list[User]:
    """Every staff account, active ones first, then by email."""
    users = session.scalars(select(User).where(User.is_staff.is_(True)).order_by(User.id))
    return sorted(users, key=lambda u: (u.status != UserStatus.ACTIVE, (u.email or "").lower()))


def get(*, session: Session, user_id: int) -> User:
    """The staff account with this id; 404 for any other account."""
    user = session.get(User, user_id)
    if user is None or not user.is_staff:
        raise NotFound(STAFF_NOT_FOUND, code="staff_not_found")
    return user


def find(*, session: Session, email: str) -> User:
    """The staff account with this email (any case); 404 otherwise."""
    user = session.scalar(
        select(User).where(
            func.lower(User.email, type_=String) == email.strip().lower(), User.is_staff.is_(True)
        )
    )
    if user is None:
        raise NotFound(STAFF_NOT_FOUND, code="staff_not_found")
    return user


def add(*, session: Session, email: str, permissions: Iterable[str] = ()) -> User:
    """Create an invited staff account and send it an activation link. Flushes."""
    taken = session.scalar(
        select(User.id).where(func.lower(User.email, type_=String) == email.lower())
    )
    if taken is not None:
        raise Conflict("An account already has this email.", code="email_has_account")
    vendor = session.scalar(
        select(Organization).where(Organization.kind == OrgKind.VENDOR).order_by(Organization.id)
    )
    if vendor is None:
        raise Conflict("There is no vendor organization for staff to belong to.", code="no_vendor")
    user = User(
        email=email,
        status=UserStatus.INVITED,
        is_staff=True,
        organization_id=vendor.id,
        staff_permissions=sorted(set(permissions)),
    )
    session.add(user)
    session.flush()
    notify.account_email(session=session, user=user, template="welcome")
    return user


def deactivate(*, session: Session, user: User, by: User | None) -> None:
    """End a staff account: it can no longer sign in, its sessions and links stop working.
    Nobody deactivates their own account (so staff never lock themselves out); a second
    call changes nothing. Flushes."""
    if by is not None and by.id == user.id:
        raise Conflict("You cannot deactivate your own account.", code="cannot_deactivate_self")
    if user.status == UserStatus.DEACTIVATED:
        return
    user.status = UserStatus.DEACTIVATED
    sessions.revoke_all(session=session, user_ids=[user.id])
    for purpose in TokenPurpose:
        tokens.void_all(session=session, user_id=user.id, purpose=purpose)
    session.flush()
