"""Who may see and manage which organization."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.service import Actor
from service.contacts.models import Contact, ContactStatus
from service.errors import Forbidden, NotFound
from service.models_base import isoformat
from service.organizations.models import Delegation, Organization
from service.tickets.models import format_reference

MANAGE = "contacts:manage"
VIEW = "contacts:view"


def delegated_org_ids(*, session: Session, actor: Actor) -> set[int]:
    """Organizations that granted the actor's organization delegated access."""
    if actor.is_staff or not actor.can(MANAGE):
        return set()
    return set(
        session.scalars(
            select(Delegation.organization_id).where(
                Delegation.delegate_organization_id == actor.organization.id,
                Delegation.revoked_at.is_(None),
            )
        )
    )


def get_visible(*, session: Session, slug: str, actor: Actor) -> Organization:
    """The organization, when the actor belongs to it, acts for it or is staff; otherwise 404."""
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound("No such organization.", code="organization_not_found")
    if actor.is_staff or org.id == actor.organization.id:
        return org
    if org.id in delegated_org_ids(session=session, actor=actor):
        return org
    raise NotFound("No such organization.", code="organization_not_found")


def require_view(*, actor: Actor, org: Organization) -> None:
    """403 unless the actor may read this organization's roster."""
    if actor.is_staff or actor.can(VIEW) or actor.can(MANAGE):
        return
    raise Forbidden("Your roles do not let you see this organization's contacts.")


def get_managed(*, session: Session, slug: str, actor: Actor) -> Organization:
    """The organization, for those who may manage its contacts: 404 for anyone who may not see
    it, 403 for those who may only read it."""
    org = get_visible(session=session, slug=slug, actor=actor)
    require_manage(actor=actor, org=org)
    return org


def require_manage(*, actor: Actor, org: Organization) -> None:
    """403 unless the actor may request changes to this organization's contacts."""
    if not actor.is_staff and actor.can(MANAGE):
        return
    raise Forbidden(
        "Your roles do not let you request changes to this organization's contacts.",
        code="forbidden",
    )


def acting_organization_id(*, actor: Actor, org: Organization) -> int | None:
    """The delegate organization the actor acts from, when it is not the organization itself."""
    return None if actor.organization.id == org.id else actor.organization.id


def require_staff(*, actor: Actor, what: str) -> None:
    if not actor.is_staff:
        raise Forbidden(f"Only the vendor's staff may {what}.")


def summary(*, session: Session, org: Organization) -> dict[str, Any]:
    """The organization with its plan and how many seats are in use."""
    active = session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(Contact.organization_id == org.id, Contact.status == ContactStatus.ACTIVE)
    )
    return {
        "slug": org.slug,
        "name": org.name,
        "kind": org.kind.value,
        "seat_limit": org.seat_limit,
        "active_contacts": active or 0,
    }


def set_seat_limit(*, session: Session, actor: Actor, org: Organization, limit: int | None) -> None:
    """Change the plan's seat limit (staff). A lower limit than the seats in use only blocks
    batches that would add more; nobody is removed."""
    require_staff(actor=actor, what="change an organization's plan")
    org.seat_limit = limit
    session.flush()


def list_delegations(*, session: Session, org: Organization) -> list[dict[str, Any]]:
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
        {
            "organization": slug,
            "organization_name": name,
            "granted_at": isoformat(granted_at),
            "ticket": format_reference("change_request", ticket_id) if ticket_id else None,
        }
        for slug, name, granted_at, ticket_id in rows
    ]
