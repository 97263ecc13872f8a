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

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from service.accounts import throttle
from service.accounts.models import AccessToken, AccountToken, User, UserStatus
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.notifications.models import Email, EmailStatus
from service.requests.models import ChangeRequestItem

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
    "organizations": frozenset({"slug", "name", "kind"}),
    "delegations": frozenset(),
    "roles": frozenset(
        {"code", "name", "description", "audience", "permissions", "emails", "incompatible_with"}
    ),
    "contacts": frozenset({"status"}),
    "contact_roles": frozenset({"role_code"}),
    "users": frozenset({"status"}),
    "access_tokens": frozenset(),
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
    # Ids only (DESIGN.md: the event log never holds personal data).
    "ticket_events": frozenset({"action", "from_status", "to_status", "detail"}),
    # Comments stay after a purge, attributed to "former contact" (DESIGN.md).
    "ticket_comments": frozenset({"body"}),
    "ticket_approvals": frozenset(),
    "ticket_status_counts": frozenset({"kind", "status"}),
    "emails": frozenset({"template", "context", "status", "last_error"}),
    "alembic_version": frozenset({"version_num"}),
}


@dataclass(frozen=True)
class Erasure:
    """How to find the rows of one table that belong to a contact, and erase them."""

    table: str
    erase: Callable[[Session, int, list[int], list[str]], int]


def _null_columns(columns: frozenset[str], **extra: Any) -> dict[str, Any]:
    return {**{name: None for name in columns}, **extra}


def _contacts(session: Session, contact_id: int, user_ids: list[int], emails: list[str]) -> int:
    session.execute(delete(ContactRole).where(ContactRole.contact_id == contact_id))
    result = session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(
            **_null_columns(PERSONAL["contacts"]),
            status=ContactStatus.ARCHIVED,
            version=Contact.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _users(session: Session, contact_id: int, user_ids: list[int], emails: list[str]) -> int:
    if not user_ids:
        return 0
    result = session.execute(
        update(User)
        .where(User.id.in_(user_ids))
        .values(**_null_columns(PERSONAL["users"]), status=UserStatus.ARCHIVED)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _access_tokens(
    session: Session, contact_id: int, user_ids: list[int], emails: list[str]
) -> int:
    if not user_ids:
        return 0
    result = session.execute(delete(AccessToken).where(AccessToken.user_id.in_(user_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _account_tokens(
    session: Session, contact_id: int, user_ids: list[int], emails: list[str]
) -> int:
    if not user_ids:
        return 0
    result = session.execute(delete(AccountToken).where(AccountToken.user_id.in_(user_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _items(session: Session, contact_id: int, user_ids: list[int], emails: list[str]) -> int:
    """Every batch item that named the contact keeps its operation, not its data."""
    rows = session.execute(
        select(ChangeRequestItem.id, ChangeRequestItem.op).where(
            ChangeRequestItem.contact_id == contact_id
        )
    ).all()
    for item_id, op in rows:
        session.execute(
            update(ChangeRequestItem)
            .where(ChangeRequestItem.id == item_id)
            .values(payload={"op": op, "contact_id": contact_id, "erased": True}, before=None)
            .execution_options(synchronize_session=False)
        )
    return len(rows)


def _emails(session: Session, contact_id: int, user_ids: list[int], emails: list[str]) -> int:
    addressed: list[ColumnElement[bool]] = []
    if user_ids:
        addressed.append(Email.recipient_user_id.in_(user_ids))
    if emails:
        addressed.append(func.lower(Email.recipient).in_(emails))
    if not addressed:
        return 0
    matches = or_(*addressed)
    session.execute(
        update(Email)
        .where(matches, Email.status == EmailStatus.PENDING)
        .values(status=EmailStatus.ERASED)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(Email)
        .where(matches)
        .values(recipient=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# Order matters: tokens and emails are found through the account and the contact's email,
# which are read before anything is erased.
ERASURES = (
    Erasure("change_request_items", _items),
    Erasure("emails", _emails),
    Erasure("access_tokens", _access_tokens),
    Erasure("account_tokens", _account_tokens),
    Erasure("users", _users),
    Erasure("contacts", _contacts),
)


def purge_contact(*, session: Session, contact_id: int) -> dict[str, Any]:
    """Archive the contact and erase its personal data everywhere; return the receipt."""
    session.flush()
    email = session.scalar(select(Contact.email).where(Contact.id == contact_id))
    user_ids = list(session.scalars(select(User.id).where(User.contact_id == contact_id)))
    user_emails = [e for e in session.scalars(select(User.email).where(User.id.in_(user_ids))) if e]
    emails = sorted({e.lower() for e in [email, *user_emails] if e})
    erased: dict[str, list[str]] = {}
    for erasure in ERASURES:
        if erasure.erase(session, contact_id, user_ids, emails):
            erased[erasure.table] = sorted(PERSONAL[erasure.table])
    # Objects already loaded in this session must not write old values back.
    session.expire_all()
    # Redis holds no personal data (jobs carry ids); only sign-in counters keyed by a digest of
    # the email, which go too.
    counters = throttle.forget(emails)
    return {"contact_id": contact_id, "erased": erased, "redis_counters_removed": counters}
