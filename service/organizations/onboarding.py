"""Onboarding: staff create a customer or purchaser organization with its first administrator,
rename it, and close it.

These functions are called once the caller was found to be staff (`service.access`, in a route or
a page) or by the operator at the command line, who holds the shell. They flush; the caller
commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, func, or_, select, update
from sqlalchemy.orm import Session

from service.accounts import invitations
from service.accounts.models import User, UserStatus
from service.contacts import service as contacts_service
from service.contacts.models import Contact
from service.errors import Conflict, ErrorDetail, Unprocessable
from service.models_base import utcnow
from service.organizations.models import (
    CLOSED_MESSAGE,
    ORGANIZATION_CLOSED,
    Delegation,
    Organization,
    OrgKind,
)
from service.organizations.tasks import purge_closed_organization
from service.requests.context import build_context
from service.tickets import service as tickets_service
from service.validators import check, project
from service.vocabulary import MANAGING_PERMISSION, Op

# The kinds of organization staff onboard; there is one vendor, made by the installation.
ONBOARDED_KINDS = (OrgKind.CUSTOMER, OrgKind.PURCHASER)
# The permission that makes a contact an administrator of its organization.
ADMIN_PERMISSION = MANAGING_PERMISSION


@dataclass(frozen=True)
class Onboarded:
    """A new organization and its first administrator (a contact, with their account: invited,
    or the one they already had)."""

    organization: Organization
    admin_contact_id: int
    admin_user_id: int
    account_status: str  # invited, or active for a person who had an account already


def admin_roles(*, session: Session, kind: OrgKind) -> list[str]:
    """The roles a first administrator gets unless staff name others: every required role of
    the kind (so the new roster breaks no rule) and the first role that manages contacts."""
    catalog = contacts_service.catalog(session=session)
    fitting = [role for role in catalog.values() if role.audience in ("any", kind.value)]
    roles = [role.code for role in fitting if role.required]
    if not any(ADMIN_PERMISSION in catalog[code].permissions for code in roles):
        managing = [role.code for role in fitting if ADMIN_PERMISSION in role.permissions]
        roles += managing[:1]
    return roles


def create(*, session: Session, data: Mapping[str, Any]) -> Onboarded:
    """Create a customer or purchaser organization with its first administrator, who is
    invited by email. The administrator passes every rule a contact added by a batch passes,
    and must hold a role that manages contacts; nothing is stored otherwise. Flushes."""
    kind = OrgKind(data["kind"])
    if session.scalar(select(Organization.id).where(Organization.slug == data["slug"])):
        raise Conflict("Another organization already has this short name.", code="slug_taken")
    admin = dict(data["first_admin"])
    email = admin.get("email")
    # A person with an account (a contact of another organization) becomes this one's admin
    # with it; a staff address cannot be a customer's contact.
    staff = email and session.scalar(
        select(User.id).where(
            func.lower(User.email, type_=String) == str(email).lower(),
            User.is_staff.is_(True),
            User.status != UserStatus.ARCHIVED,
        )
    )
    if staff:
        raise Conflict(
            "A staff account has this email; choose another address for the administrator.",
            code="email_has_account",
        )
    roles = list(admin.pop("roles", None) or admin_roles(session=session, kind=kind))
    org = Organization(
        slug=data["slug"], name=data["name"], kind=kind, seat_limit=data.get("seat_limit")
    )
    session.add(org)
    session.flush()
    change = {"op": Op.ADD_CONTACT.value, "ref": "first_admin", "contact": admin, "roles": roles}
    ctx = build_context(session=session, org=org, changes=[change])
    errors, _ = check(ctx)
    problems = [ErrorDetail(_admin_path(f.path), f.code, f.message) for f in errors]
    if not any(ADMIN_PERMISSION in ctx.catalog[c].permissions for c in roles if c in ctx.catalog):
        problems.append(
            ErrorDetail(
                "first_admin/roles",
                "admin_role_missing",
                "The first administrator needs a role that manages the organization's contacts.",
            )
        )
    if problems:
        raise Unprocessable(
            "The organization's first administrator has problems; nothing was stored.",
            errors=problems,
        )
    (contact,) = [c for key, c in project(ctx).contacts.items() if key.ref == "first_admin"]
    (contact_id,) = contacts_service.insert_contacts(
        session=session, org_id=org.id, contacts=[contact]
    )
    row = session.get(Contact, contact_id)
    assert row is not None
    user = invitations.link_account(session=session, contact=row, org_id=org.id)
    assert user is not None, "a staff address was refused above"
    return Onboarded(
        organization=org,
        admin_contact_id=contact_id,
        admin_user_id=user.id,
        account_status=user.status.value,
    )


def _admin_path(path: str) -> str:
    """A finding about the batch of one `add_contact` as a path of the first administrator."""
    parts = path.split("/")
    if parts[:2] == ["changes", "0"] and len(parts) > 2:
        rest = parts[3:] if parts[2] == "contact" else parts[2:]
        return "/".join(["first_admin", *rest])
    return "first_admin/roles" if path == "changes" else "first_admin"


def rename(*, session: Session, org: Organization, name: str) -> None:
    """Give the organization a new name (its short name stays: links and scripts use it)."""
    refuse_when_closed(org)
    org.name = name
    session.flush()


def close(*, session: Session, org: Organization) -> None:
    """Close the organization: it takes no new requests, delegations to and from it end, and
    its contacts are purged as deletions are, by a job after commit; its tickets stay.

    Refused for the vendor, for an organization already closed, and while a change request
    of it is unfinished (staff reject it or let it finish first)."""
    if org.kind not in ONBOARDED_KINDS:
        raise Conflict("The vendor's own organization cannot be closed.", code="cannot_close")
    refuse_when_closed(org)
    pending = session.scalar(tickets_service.unfinished_query(org_id=org.id, kind="change_request"))
    if pending is not None:
        raise Conflict(
            f"This organization has an unfinished change request ({pending.reference}); "
            "reject it or let it finish before closing the organization.",
            code="request_pending",
        )
    now = utcnow()
    org.closed_at = now
    session.execute(
        update(Delegation)
        .where(
            or_(
                Delegation.organization_id == org.id, Delegation.delegate_organization_id == org.id
            ),
            Delegation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Organization)
        .where(Organization.id == org.id)
        .values(roster_version=Organization.roster_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    purge_closed_organization.after_commit(session, org.id)


def refuse_when_closed(org: Organization) -> None:
    """409 `organization_closed` for an organization staff closed."""
    if org.closed:
        raise Conflict(CLOSED_MESSAGE, code=ORGANIZATION_CLOSED)
