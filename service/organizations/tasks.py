"""The purge of a closed organization: its contacts are archived and their personal data erased
by a job after the commit that closed it, as deletions are; the sweep finds it again if lost.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.contacts.models import Contact, ContactStatus
from service.extensions import db
from service.jobs import MAINTENANCE_QUEUE, Work, finds_pending_work, job
from service.organizations.models import Organization
from service.personal_data import purge_contacts
from service.webhooks import events as webhooks
from service.webhooks.models import EventType

# Contacts purged per transaction: a very large organization is purged in several commits, and
# the job carries on where an interrupted run stopped.
PURGE_CHUNK = 5000


@job(MAINTENANCE_QUEUE, name="purge-organization", timeout=600)
def purge_closed_organization(organization_id: int) -> str:
    """Purge every contact of a closed organization; a second run finds none left."""
    org = db.session.get(Organization, organization_id)
    if org is None or not org.closed:
        return "nothing to do"
    purged = 0
    while True:
        ids = list(
            db.session.scalars(
                select(Contact.id)
                .where(
                    Contact.organization_id == organization_id,
                    Contact.status != ContactStatus.ARCHIVED,
                )
                .order_by(Contact.id)
                .limit(PURGE_CHUNK)
            )
        )
        if not ids:
            break
        purge_contacts(session=db.session(), contact_ids=ids)
        # The downstream half of the erasure: subscribers erase their copies too.
        webhooks.record(
            session=db.session(),
            events=[
                webhooks.NewEvent(EventType.CONTACT_PURGED, organization_id, contact_id=cid)
                for cid in ids
            ],
        )
        db.session.commit()
        purged += len(ids)
    return "done" if purged else "nothing to do"


@finds_pending_work
def closed_organizations_to_purge(session: Session) -> list[Work]:
    """Every closed organization that still has contacts not archived waits for its purge."""
    ids = session.scalars(
        select(Organization.id)
        .where(
            Organization.closed_at.is_not(None),
            select(Contact.id)
            .where(
                Contact.organization_id == Organization.id,
                Contact.status != ContactStatus.ARCHIVED,
            )
            .exists(),
        )
        .order_by(Organization.id)
    )
    return [purge_closed_organization.work(org_id) for org_id in ids]
