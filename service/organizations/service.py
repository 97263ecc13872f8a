"""Organizations: their plan and seats in use, and the delegations they granted.

Who may see or manage an organization is decided in `service.access`; onboarding (create,
rename, close) is in `onboarding.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from service import access
from service.accounts.service import Actor
from service.contacts.models import Contact, ContactStatus
from service.errors import ErrorDetail, Unprocessable
from service.organizations.models import Delegation, Organization, OrgKind
from service.tickets import sla
from service.tickets.models import format_reference
from service.vocabulary import CONTACT_FIELDS, MANDATORY_FIELDS


def summary(*, session: Session, org: Organization) -> dict[str, Any]:
    """The organization with its plan and how many seats are in use."""
    active = session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(Contact.organization_id == org.id, Contact.status == ContactStatus.ACTIVE)
    )
    return _summary(org, active or 0, sla.policy())


def _summary(org: Organization, active: int, rules: sla.Policy) -> dict[str, Any]:
    """What `OrganizationOut` shows of one organization, its seats in use counted by the caller."""
    return {
        "slug": org.slug,
        "name": org.name,
        "kind": org.kind.value,
        "seat_limit": org.seat_limit,
        "active_contacts": active,
        "required_fields": list(required_fields(org)),
        "status": "closed" if org.closed else "open",
        "closed_at": org.closed_at,
        **service_level(org, rules),
    }


def list_for_staff(*, session: Session) -> list[dict[str, Any]]:
    """Every customer and purchaser organization with its plan and seats in use, by name: two
    statements."""
    return list_all(session=session, vendor=False)


def required_fields(org: Organization) -> tuple[str, ...]:
    """The details a new contact of this organization must carry, in form order."""
    chosen = org.required_fields
    if chosen is None:
        return MANDATORY_FIELDS
    return tuple(name for name in CONTACT_FIELDS if name in chosen)


def set_required_fields(
    *, session: Session, actor: Actor, org: Organization, names: list[str]
) -> None:
    """Choose the details a new contact must carry (staff). Contacts already on the roster keep
    theirs; an update may not blank a required one."""
    access.require_staff(actor, what="change an organization's settings")
    org.required_fields = [name for name in CONTACT_FIELDS if name in names]
    session.flush()


def list_all(*, session: Session, vendor: bool = True) -> list[dict[str, Any]]:
    """Every organization (`vendor=False`: but the vendor) with its plan, seats in use and
    status, by name: two statements."""
    rules = sla.policy()
    active = dict(
        session.execute(
            select(Contact.organization_id, func.count())
            .where(Contact.status == ContactStatus.ACTIVE)
            .group_by(Contact.organization_id)
        )
        .tuples()
        .all()
    )
    return [
        _summary(org, active.get(org.id, 0), rules)
        for org in session.scalars(
            select(Organization)
            .where(true() if vendor else Organization.kind != OrgKind.VENDOR)
            .order_by(Organization.name, Organization.slug)
        )
    ]


# What staff set of an organization's service levels (`set_service_level`).
SERVICE_LEVEL_FIELDS = ("plan", "sla_first_response_hours", "sla_resolution_hours")


def service_level(org: Organization, rules: sla.Policy | None = None) -> dict[str, Any]:
    """The organization's plan, staff's overrides of its targets, and the targets that apply."""
    rules = rules or sla.policy()
    targets = sla.targets_for(org, rules)
    return {
        "plan": sla.plan_of(org, rules),
        "sla_first_response_hours": org.sla_first_response_hours,
        "sla_resolution_hours": org.sla_resolution_hours,
        "service_levels": {
            "first_response_hours": targets.first_response_hours,
            "resolution_hours": targets.resolution_hours,
        },
    }


def set_service_level(
    *, session: Session, actor: Actor, org: Organization, changes: dict[str, Any]
) -> None:
    """Change the plan and the overrides of its targets (staff): `plan`,
    `sla_first_response_hours`, `sla_resolution_hours` (null: the plan's), any of them.

    Tickets already open keep the due times they were given; new ones use the new targets.
    Refused with 422 `unknown_plan` when the plan is not one of `SLA_PLANS`.
    """
    access.require_staff(actor, what="change an organization's plan")
    plan = changes.get("plan")
    if plan is not None:
        plans = sla.policy().plans
        if plan not in plans:
            raise Unprocessable(
                f"There is no plan {plan!r}; the plans are {', '.join(plans)}.",
                code="unknown_plan",
                errors=[ErrorDetail("plan", "unknown_plan", f"Choose one of {', '.join(plans)}.")],
            )
        org.plan = plan
    for name in ("sla_first_response_hours", "sla_resolution_hours"):
        if name in changes:
            setattr(org, name, changes[name])
    session.flush()


def set_seat_limit(*, session: Session, actor: Actor, org: Organization, limit: int | None) -> None:
    """Change the plan's seat limit (staff). A lower limit than the seats in use only blocks
    batches that would add more; nobody is removed."""
    access.require_staff(actor, what="change an organization's plan")
    org.seat_limit = limit
    session.flush()


def delegate_candidates(*, session: Session, org: Organization) -> list[dict[str, str]]:
    """The organizations this one may give access to (open purchaser organizations, by name),
    for the delegation picker: full name, short name and kind."""
    rows = session.execute(
        select(Organization.slug, Organization.name, Organization.kind)
        .where(
            Organization.kind == OrgKind.PURCHASER,
            Organization.id != org.id,
            Organization.closed_at.is_(None),
        )
        .order_by(Organization.name, Organization.slug)
    ).all()
    return [{"slug": slug, "name": name, "kind": kind.value} for slug, name, kind in rows]


@dataclass(frozen=True)
class Delegated:
    """An organization whose admins manage this one's contacts, since when, granted by which
    ticket."""

    organization: str
    organization_name: str
    granted_at: datetime
    ticket: str | None


def list_delegations(*, session: Session, org: Organization) -> list[Delegated]:
    """Organizations that currently manage this one's contacts, with the ticket that granted it."""
    rows = session.execute(
        select(
            Organization.slug,
            Organization.name,
            Delegation.granted_at,
            Delegation.granted_by_ticket_id,
        )
        .join(Organization, Organization.id == Delegation.delegate_organization_id)
        .where(Delegation.organization_id == org.id, Delegation.revoked_at.is_(None))
        .order_by(Delegation.granted_at)
    ).all()
    return [
        Delegated(
            organization=slug,
            organization_name=name,
            granted_at=granted_at,
            ticket=format_reference("change_request", ticket_id) if ticket_id else None,
        )
        for slug, name, granted_at, ticket_id in rows
    ]
