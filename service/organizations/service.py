"""Who may see and manage which organization."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.service import Actor
from service.errors import Forbidden, NotFound
from service.organizations.models import Delegation, Organization

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
