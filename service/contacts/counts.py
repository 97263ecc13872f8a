"""The roster's maintained counts: per organization, its contacts of each status and how many of
them hold each role. The rules read them instead of the whole roster (a required role still
held, the seat limit), and the roster's pages show them.

This module is the only writer of `roster_counts`. Every change to contacts or their roles moves
the counts in the same transaction, by the count changes of the contacts it writes
(`service.validators.types.count_changes`):
- new contacts: `service.contacts.service.insert_contacts` (the apply, the demo, tests);
- the apply's updates, grants, revokes and status changes: `add`;
- the purge of deleted contacts: `forget_contacts`, before it archives them.

Rows are upserted in one order (organization, status, role) in one statement per change, as
the ticket-status counters are, so two transactions cannot lock them in opposite orders.
`flask --app service counters check` compares them with a recount in one statement (one
snapshot, so a change committing meanwhile is never reported as drift); `repair` rewrites
the rows that differ, under a lock that makes writers wait until it is done.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Select,
    String,
    cast,
    delete,
    func,
    literal,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, with_expression
from sqlalchemy.orm.interfaces import ORMOption

from service.contacts.models import Contact, ContactRole, RosterCount
from service.organizations.models import Organization
from service.sql import column_in, joined_text
from service.validators.types import CountKey, RosterContact, RosterCounts, count_changes
from service.vocabulary import ContactStatus

# The organization a count belongs to, and which count it is.
OrgCountKey = tuple[int, CountKey]


@dataclass(frozen=True)
class Drift:
    """A stored count that differs from the recount of the contacts."""

    organization: str  # slug
    key: CountKey
    stored: int
    counted: int

    def __str__(self) -> str:
        what = f"holders of {self.key.role}" if self.key.role else "contacts"
        return (
            f"{self.organization}: {self.key.status} {what}: "
            f"stored {self.stored}, counted {self.counted}"
        )


def read(*, session: Session, org_id: int) -> RosterCounts:
    """The organization's counts: one statement, whatever the size of its roster."""
    rows = session.execute(
        select(RosterCount.status, RosterCount.role_code, RosterCount.n).where(
            RosterCount.organization_id == org_id, RosterCount.n != 0
        )
    ).all()
    return RosterCounts({CountKey(str(status), role): n for status, role, n in rows})


def with_counts(*, session: Session) -> ORMOption:
    """Read the organization's counts with it (an option of its query): `of(org)` then gives
    them without a statement of their own."""
    return _with_counts(session.get_bind().dialect.name)


@functools.cache
def _with_counts(dialect: str) -> ORMOption:
    status, n = cast(RosterCount.status, String), cast(RosterCount.n, String)
    entry = status + ":" + RosterCount.role_code + ":" + n
    return with_expression(
        Organization.roster_counts_text,
        select(joined_text(dialect, entry))
        .where(RosterCount.organization_id == Organization.id, RosterCount.n != 0)
        .scalar_subquery(),
    )


def of(org: Organization) -> RosterCounts:
    """The counts read with the organization by `with_counts`."""
    found: dict[CountKey, int] = {}
    for entry in (org.roster_counts_text or "").split(","):
        if entry:
            status, role, n = entry.split(":")
            found[CountKey(status, role)] = int(n)
    return RosterCounts(found)


def add(*, session: Session, org_id: int, changes: Mapping[CountKey, int]) -> None:
    """Move the organization's counts by `changes` (from `count_changes`): one upsert."""
    _upsert(session, {(org_id, key): n for key, n in changes.items()})


def add_contacts(*, session: Session, org_id: int, contacts: Iterable[RosterContact]) -> None:
    """Count contacts that were just inserted, as they are."""
    add(session=session, org_id=org_id, changes=count_changes((None, c) for c in contacts))


def forget_contacts(*, session: Session, contact_ids: Sequence[int]) -> None:
    """Uncount contacts about to be archived (the purge), from their rows as they are now:
    one read and one upsert, whichever organizations they belong to."""
    if not contact_ids:
        return
    rows = session.execute(
        select(Contact.id, Contact.organization_id, Contact.status, ContactRole.role_code)
        .outerjoin(ContactRole, ContactRole.contact_id == Contact.id)
        .where(column_in(session, Contact.id, contact_ids))
    ).all()
    contacts: dict[int, tuple[int, RosterContact]] = {}
    for contact_id, org_id, status, role in rows:
        found = contacts.setdefault(
            contact_id,
            (org_id, RosterContact(id=contact_id, status=status, fields={}, roles=set())),
        )
        if role is not None:
            found[1].roles.add(role)
    changes: Counter[OrgCountKey] = Counter()
    for org_id, contact in contacts.values():
        for key, n in count_changes([(contact, None)]).items():
            changes[(org_id, key)] += n
    _upsert(session, changes)


def check(*, session: Session) -> list[Drift]:
    """Every stored count that differs from a recount, in one statement."""
    return _compare(session)


def repair(*, session: Session) -> list[Drift]:
    """Rewrite the counts that differ from a recount; the drift that was found.

    On PostgreSQL the table is locked first (writers of contacts wait for the repair's commit,
    readers do not), so that no change lands between the recount and the rewrite.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE roster_counts IN EXCLUSIVE MODE"))
    drift = _compare(session)
    if not drift:
        return []
    slugs = dict(session.execute(select(Organization.slug, Organization.id)).tuples().all())
    keys = [(slugs[d.organization], d.key.status, d.key.role) for d in drift]
    session.execute(
        delete(RosterCount).where(
            tuple_(RosterCount.organization_id, RosterCount.status, RosterCount.role_code).in_(keys)
        )
    )
    _upsert(
        session,
        {(slugs[d.organization], d.key): d.counted for d in drift if d.counted},
    )
    return drift


def recount() -> Select[tuple[int, str, str, int]]:
    """The counts as the contacts and their roles give them: (organization, status, role, n)."""
    listed = Contact.status != ContactStatus.ARCHIVED
    contacts = (
        select(
            Contact.organization_id,
            Contact.status,
            literal("").label("role_code"),
            func.count().label("n"),
        )
        .where(listed)
        .group_by(Contact.organization_id, Contact.status)
    )
    holders = (
        select(Contact.organization_id, Contact.status, ContactRole.role_code, func.count())
        .join(ContactRole, ContactRole.contact_id == Contact.id)
        .where(listed)
        .group_by(Contact.organization_id, Contact.status, ContactRole.role_code)
    )
    return union_all(contacts, holders)  # type: ignore[return-value]


def _compare(session: Session) -> list[Drift]:
    counted = recount().subquery("counted")
    stored = select(RosterCount).where(RosterCount.n != 0).subquery("stored")
    same_key = (
        (counted.c.organization_id == stored.c.organization_id)
        & (counted.c.status == stored.c.status)
        & (counted.c.role_code == stored.c.role_code)
    )
    org_id = func.coalesce(counted.c.organization_id, stored.c.organization_id)
    status = func.coalesce(counted.c.status, stored.c.status).label("status")
    role = func.coalesce(counted.c.role_code, stored.c.role_code).label("role")
    stored_n = func.coalesce(stored.c.n, 0)
    counted_n = func.coalesce(counted.c.n, 0)
    rows = session.execute(
        select(Organization.slug, status, role, stored_n, counted_n)
        .select_from(counted.join(stored, same_key, full=True))
        .join(Organization, Organization.id == org_id)
        .where(stored_n != counted_n)
        .order_by(Organization.slug, status, role)
    ).all()
    return [
        Drift(organization=slug, key=CountKey(str(status), role), stored=stored_n, counted=n)
        for slug, status, role, stored_n, n in rows
    ]


def _upsert(session: Session, changes: Mapping[OrgCountKey, int]) -> None:
    """Add each change to its row, creating it first: one statement, rows in a fixed order."""
    rows = [
        {"organization_id": org_id, "status": key.status, "role_code": key.role, "n": n}
        for (org_id, key), n in sorted(changes.items())
        if n
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = builder(RosterCount).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "status", "role_code"],
            set_={"n": RosterCount.n + statement.excluded.n},
        )
    )
