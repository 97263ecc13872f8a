"""What the rules read about a batch: one `CheckContext`, gathered in a fixed number of statements.

Submitting, dry-running and applying a batch all check it against the same context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

from service.accounts.models import User, UserStatus
from service.contacts import service as contacts_service
from service.organizations.models import Delegation, Organization
from service.sql import column_in
from service.validators.types import CheckContext, OrgInfo


def build_context(
    *, session: Session, org: Organization, changes: Sequence[Mapping[str, Any]]
) -> CheckContext:
    """Gather what the rules read, in a fixed number of statements whatever the batch size."""
    slugs = {item["organization"] for item in changes if "organization" in item}
    organizations: dict[str, OrgInfo] = {}
    if slugs:
        for other in session.scalars(select(Organization).where(Organization.slug.in_(slugs))):
            organizations[other.slug] = org_info(other)
    delegate_ids = frozenset(
        session.scalars(
            select(Delegation.delegate_organization_id).where(
                Delegation.organization_id == org.id, Delegation.revoked_at.is_(None)
            )
        )
        if any(item["op"].endswith("_delegate") for item in changes)
        else ()
    )
    return CheckContext(
        organization=org_info(org),
        roster=contacts_service.roster_snapshot(session=session, org_id=org.id),
        changes=changes,
        catalog=contacts_service.catalog(session=session),
        organizations=organizations,
        delegate_ids=delegate_ids,
        emails_in_use=_emails_in_use(session=session, changes=changes),
        max_batch_size=current_app.config["MAX_BATCH_SIZE"],
    )


def org_info(org: Organization) -> OrgInfo:
    return OrgInfo(
        id=org.id, slug=org.slug, kind=org.kind.value, seat_limit=org.seat_limit, name=org.name
    )


def _emails_in_use(
    *, session: Session, changes: Sequence[Mapping[str, Any]]
) -> dict[str, int | None]:
    """Accounts that already use an email the batch sets, by lower-cased email."""
    emails = set()
    for item in changes:
        details = item.get("contact") or item.get("fields") or {}
        email = details.get("email")
        if isinstance(email, str) and email.strip():
            emails.add(email.strip().lower())
    if not emails:
        return {}
    rows = session.execute(
        select(func.lower(User.email), User.contact_id).where(
            column_in(session, func.lower(User.email, type_=String), emails),
            User.status != UserStatus.ARCHIVED,
        )
    )
    return {email: contact_id for email, contact_id in rows}
