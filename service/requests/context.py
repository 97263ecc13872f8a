"""What the rules read about a batch: one `CheckContext`, gathered in a fixed number of statements
whatever the size of the batch or of the roster.

The roster is not read whole: the context holds the contacts the batch names, the roster's
maintained counts (service/contacts/counts.py), and the active contacts that already have an
email the batch brings in (looked up through the unique index on active emails). Submitting,
dry-running and applying a batch all check it against the same context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

from service import access
from service.accounts.models import User, UserStatus
from service.contacts import counts
from service.contacts import service as contacts_service
from service.contacts.models import Contact, ContactStatus
from service.organizations import service as org_service
from service.organizations.models import Delegation, Organization, OrgKind
from service.sql import column_in
from service.validators.emails import emails_brought_in
from service.validators.references import DELEGATE_KINDS
from service.validators.types import CheckContext, OrgInfo
from service.vocabulary import ASSISTANT, Op


def build_context(
    *, session: Session, org: Organization, changes: Sequence[Mapping[str, Any]]
) -> CheckContext:
    """Gather what the rules read, in a fixed number of statements whatever the batch size."""
    slugs = {item["organization"] for item in changes if "organization" in item}
    organizations: dict[str, OrgInfo] = {}
    if slugs:
        # Only organizations a batch may name are read: any other slug reads as unknown, in
        # the findings and in the dry run's lines alike.
        for other in session.scalars(
            select(Organization).where(
                Organization.slug.in_(slugs),
                Organization.kind.in_([OrgKind(kind) for kind in DELEGATE_KINDS]),
            )
        ):
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
    named = {item["contact_id"] for item in changes if "contact_id" in item} | {
        details[ASSISTANT]
        for item in changes
        for details in (item.get("contact") or item.get("fields") or {},)
        if details.get(ASSISTANT) is not None
    }
    roster = contacts_service.roster_snapshot(session=session, org_id=org.id, ids=named)
    catalog = contacts_service.catalog(session=session)
    deletes = any(item["op"] == Op.DELETE_CONTACT for item in changes)
    return CheckContext(
        organization=org_info(org),
        roster=roster,
        counts=counts.read(session=session, org_id=org.id),
        email_holders=_email_holders(
            session=session, org_id=org.id, emails=emails_brought_in(changes, roster)
        ),
        changes=changes,
        catalog=catalog,
        organizations=organizations,
        delegate_ids=delegate_ids,
        account_statuses=_account_statuses(
            session=session,
            ids={item["contact_id"] for item in changes if item["op"] == Op.INVITE_CONTACT},
        ),
        manager_accounts=(
            frozenset(
                m.contact_id
                for m in access.managers(session=session, org_id=org.id, catalog=catalog)
            )
            if deletes
            else frozenset()
        ),
        max_batch_size=current_app.config["MAX_BATCH_SIZE"],
    )


def org_info(org: Organization) -> OrgInfo:
    return OrgInfo(
        id=org.id,
        slug=org.slug,
        kind=org.kind.value,
        seat_limit=org.seat_limit,
        name=org.name,
        required_fields=org_service.required_fields(org),
    )


def _account_statuses(*, session: Session, ids: set[int]) -> dict[int, str]:
    """The status of the account of each of these contacts that has one."""
    if not ids:
        return {}
    rows = session.execute(
        select(Contact.id, User.status)
        .join(User, User.id == Contact.user_id)
        .where(column_in(session, Contact.id, sorted(ids)))
    )
    return {contact_id: UserStatus(status).value for contact_id, status in rows}


def _email_holders(*, session: Session, org_id: int, emails: set[str]) -> dict[str, frozenset[int]]:
    """The organization's active contacts that have one of these (lower-cased) emails."""
    if not emails:
        return {}
    lowered = func.lower(Contact.email, type_=String)
    holders: dict[str, set[int]] = {}
    for email, contact_id in session.execute(
        select(lowered, Contact.id).where(
            Contact.organization_id == org_id,
            Contact.status == ContactStatus.ACTIVE,
            column_in(session, lowered, emails),
        )
    ):
        holders.setdefault(email, set()).add(contact_id)
    return {email: frozenset(ids) for email, ids in holders.items()}
