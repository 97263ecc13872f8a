"""Where the service keeps personal data, declared in one place, and the purge derived from it.

Every text-like column of every table is declared here as personal or not personal; a test
fails when a model gains one that is declared neither. The purge erases, for one contact, each
personal column of each row that belongs to that contact, as `OWNERSHIP` says how to find them.
It records which tables and fields it erased, never the values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from service.accounts import tasks as account_tasks
from service.accounts.models import AccessToken, AccountToken, User, UserStatus
from service.contacts import counts
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.notifications.models import Email, EmailStatus
from service.requests.models import ChangeRequestItem
from service.sql import column_in

# table -> columns that hold personal data of the contact the row belongs to.
PERSONAL: dict[str, frozenset[str]] = {
    "contacts": frozenset(
        {"salutation", "first_name", "last_name", "email", "job_title", "phone", "mobile"}
    ),
    "users": frozenset({"email", "password_hash"}),
    "access_tokens": frozenset({"token_hash"}),
    "account_tokens": frozenset({"token_hash"}),
    "change_request_items": frozenset({"payload", "before"}),
    "emails": frozenset({"recipient"}),
}

# table -> text-like columns that hold no personal data, and why that is so where not obvious.
NOT_PERSONAL: dict[str, frozenset[str]] = {
    "organizations": frozenset({"slug", "name", "kind", "required_fields"}),
    "delegations": frozenset(),
    "roles": frozenset(
        {
            "code",
            "name",
            "description",
            "audience",
            "permissions",
            "exceptions",
            "emails",
            "incompatible_with",
        }
    ),
    "contacts": frozenset({"status"}),
    "contact_roles": frozenset({"role_code"}),
    "users": frozenset({"status", "staff_permissions"}),
    "access_tokens": frozenset({"kind"}),
    "account_tokens": frozenset({"purpose"}),
    # The requester's note and the validators' warnings (paths, codes, role names).
    "change_requests": frozenset({"comment", "warnings"}),
    "change_request_items": frozenset({"op", "ref", "role_code"}),
    "tickets": frozenset(
        {
            "kind",
            "status",
            "failure_code",
            "failure_message",  # written by the service from codes and paths only
            "resolution_reason",  # staff's or the requester's words about the request
            "erasure_receipt",  # table and field names only
        }
    ),
    # Ids only (docs/design.md: the event log never holds personal data).
    "ticket_events": frozenset({"action", "from_status", "to_status", "detail"}),
    # Comments stay after a purge, attributed to "former contact" (docs/design.md).
    "ticket_comments": frozenset({"body"}),
    "ticket_approvals": frozenset(),
    "ticket_status_counts": frozenset({"kind", "status"}),
    # Staff's names for their queue views, and the queue's filters (statuses, slugs, staff).
    "saved_views": frozenset({"name", "query"}),
    "roster_counts": frozenset({"status", "role_code"}),
    "emails": frozenset({"template", "context", "status", "last_error"}),
    "alembic_version": frozenset({"version_num"}),
    # Counters' names: keyed digests of addresses, dropped with the counters after the purge.
    "counter_erasures": frozenset({"account_keys"}),
}


@dataclass(frozen=True)
class Subjects:
    """The contacts being purged, and where their data is found: ids of their accounts and the
    lower-cased addresses that emails were sent to."""

    contact_ids: list[int]
    user_ids: list[int]
    emails: list[str]
    user_of: dict[int, int]  # account id -> contact id
    contact_of_email: dict[str, int]  # lower-cased address -> contact id


def _null_columns(columns: frozenset[str], **extra: Any) -> dict[str, Any]:
    return {**{name: None for name in columns}, **extra}


def _contacts(session: Session, who: Subjects) -> set[int]:
    session.execute(
        delete(ContactRole).where(column_in(session, ContactRole.contact_id, who.contact_ids))
    )
    session.execute(
        update(Contact)
        .where(column_in(session, Contact.id, who.contact_ids))
        .values(
            **_null_columns(PERSONAL["contacts"]),
            status=ContactStatus.ARCHIVED,
            version=Contact.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return set(who.contact_ids)


def _users(session: Session, who: Subjects) -> set[int]:
    if not who.user_ids:
        return set()
    session.execute(
        update(User)
        .where(column_in(session, User.id, who.user_ids))
        .values(**_null_columns(PERSONAL["users"]), status=UserStatus.ARCHIVED)
        .execution_options(synchronize_session=False)
    )
    return {who.user_of[uid] for uid in who.user_ids}


def _owned_by_accounts(session: Session, who: Subjects, model: Any) -> set[int]:
    if not who.user_ids:
        return set()
    table = model.__table__
    owners = session.scalars(
        delete(table)
        .where(column_in(session, table.c.user_id, who.user_ids))
        .returning(table.c.user_id)
    ).all()
    return {who.user_of[uid] for uid in owners}


def _access_tokens(session: Session, who: Subjects) -> set[int]:
    return _owned_by_accounts(session, who, AccessToken)


def _account_tokens(session: Session, who: Subjects) -> set[int]:
    return _owned_by_accounts(session, who, AccountToken)


def _items(session: Session, who: Subjects) -> set[int]:
    """Every batch item that named a contact keeps its operation (its own column), not its data."""
    items = ChangeRequestItem.__table__
    named = session.scalars(
        update(items)
        .where(column_in(session, items.c.contact_id, who.contact_ids))
        .values(payload={"erased": True}, before=None)
        .returning(items.c.contact_id)
    ).all()
    return {cid for cid in named if cid is not None}


def _emails(session: Session, who: Subjects) -> set[int]:
    addressed: list[ColumnElement[bool]] = []
    if who.user_ids:
        addressed.append(column_in(session, Email.recipient_user_id, who.user_ids))
    if who.emails:
        addressed.append(column_in(session, func.lower(Email.recipient, type_=String), who.emails))
    if not addressed:
        return set()
    matches = or_(*addressed)
    rows = session.execute(
        select(Email.recipient_user_id, func.lower(Email.recipient)).where(matches)
    ).all()
    # Emails still waiting are never sent; sent ones keep their record, without the address.
    session.execute(
        update(Email)
        .where(matches)
        .values(
            recipient=None,
            status=case(
                (Email.status == EmailStatus.PENDING, EmailStatus.ERASED), else_=Email.status
            ),
        )
        .execution_options(synchronize_session=False)
    )
    found = set()
    for user_id, address in rows:
        owner = who.user_of.get(user_id) if user_id else who.contact_of_email.get(address or "")
        if owner is None:
            owner = who.contact_of_email.get(address or "")
        if owner is not None:
            found.add(owner)
    return found


# Order matters: tokens and emails are found through the accounts and the addresses, which
# are read before anything is erased. Each erasure returns the contacts it found data of.
ERASURES: tuple[tuple[str, Callable[[Session, Subjects], set[int]]], ...] = (
    ("change_request_items", _items),
    ("emails", _emails),
    ("access_tokens", _access_tokens),
    ("account_tokens", _account_tokens),
    ("users", _users),
    ("contacts", _contacts),
)


def purge_contacts(*, session: Session, contact_ids: list[int]) -> list[dict[str, Any]]:
    """Archive the contacts and erase their personal data everywhere; a receipt per contact.

    A fixed number of statements, however many contacts go.
    """
    if not contact_ids:
        return []
    session.flush()
    contact_emails = session.execute(
        select(Contact.id, Contact.email).where(column_in(session, Contact.id, contact_ids))
    ).all()
    accounts = session.execute(
        select(User.id, User.contact_id, User.email).where(
            column_in(session, User.contact_id, contact_ids)
        )
    ).all()
    contact_of_email: dict[str, int] = {}
    for contact_id, email in contact_emails:
        if email:
            contact_of_email[email.lower()] = contact_id
    for _user_id, contact_id, email in accounts:
        if email:
            contact_of_email[email.lower()] = contact_id
    who = Subjects(
        contact_ids=list(contact_ids),
        user_ids=[row[0] for row in accounts],
        emails=sorted(contact_of_email),
        user_of={user_id: contact_id for user_id, contact_id, _ in accounts},
        contact_of_email=contact_of_email,
    )
    # Archived contacts count no more (their status and roles, read before they go).
    counts.forget_contacts(session=session, contact_ids=contact_ids)
    erased: dict[int, dict[str, list[str]]] = {cid: {} for cid in contact_ids}
    for table, erase in ERASURES:
        for contact_id in erase(session, who):
            erased[contact_id][table] = sorted(PERSONAL[table])
    # Objects already loaded in this session must not write old values back.
    session.expire_all()
    # Redis holds no personal data (jobs carry ids); only rate-limit counters named by a digest
    # of the email, which a job drops after commit: Redis being away must not fail the purge.
    account_tasks.record(session=session, emails=who.emails)
    return [
        {
            "contact_id": contact_id,
            "erased": erased[contact_id],
            "redis": "rate-limit counters of the contact's addresses removed",
        }
        for contact_id in contact_ids
    ]
