"""The roster a page at a time: filters, one stable order, an opaque cursor, and the counts.

`GET /api/orgs/<slug>/contacts?limit=&cursor=&q=&role=&status=&account_status=` reads here. A
page is one statement however large the roster: contacts come in the order of the index
`ix_contacts_roster_order` (last name, first name, id; case-insensitive), from just after the
contact the cursor names, with their roles and account status joined in. The total comes from
the maintained counts (service/contacts/counts.py) unless the page searches by name or email or
filters by account status; then it is one count over the matching contacts.

The cursor carries the id of the page's last contact and nothing else, so no name travels in a
URL (or an access log); the next page starts after that contact's place in the order.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from service.accounts.models import User, UserStatus
from service.contacts.models import Contact, ContactRole
from service.sql import joined_text
from service.validators.types import CountKey, RosterCounts
from service.vocabulary import CONTACT_FIELDS, ContactStatus

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_PREFIX = "after:"
# What `account_status` answers for a contact without a (living) account.
NO_ACCOUNT = "none"
ACCOUNT_STATUSES = (NO_ACCOUNT, "invited", "active", "deactivated")


@dataclass(frozen=True)
class RosterFilters:
    """What a page is narrowed to; None means "any"."""

    q: str | None = None  # a prefix of the first name, last name, full name or email
    role: str | None = None
    status: ContactStatus | None = None
    account_status: str | None = None


@dataclass(frozen=True)
class RosterPage:
    contacts: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(contact_id: int) -> str:
    """The opaque cursor that continues after this contact."""
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{contact_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The contact id a cursor continues after, or None when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    number = text.removeprefix(CURSOR_PREFIX)
    if not text.startswith(CURSOR_PREFIX) or not number.isdigit() or len(number) > 10:
        return None
    return int(number)


def sort_key(table: Any = Contact) -> tuple[ColumnElement[Any], ...]:
    """The roster's order, exactly as the index `ix_contacts_roster_order` spells it (the `''`
    is a literal, not a parameter, so that the planner recognises the indexed expression)."""
    blank: ColumnElement[str] = literal_column("''")
    return (
        func.lower(func.coalesce(table.last_name, blank), type_=String),
        func.lower(func.coalesce(table.first_name, blank), type_=String),
        table.id,
    )


def page(
    *,
    session: Session,
    org_id: int,
    filters: RosterFilters,
    limit: int,
    after: int | None = None,
) -> RosterPage:
    """One page of the roster in its stable order: one statement, whatever the roster size.
    Without a search the statement is built once per shape of filters and reused (building
    and keying it costs more than running it)."""
    dialect = session.get_bind().dialect.name
    params = _params(org_id, filters) | {"limit": limit + 1}
    if after is not None:
        params["after"] = after
    if filters.q:
        statement = _page_statement(dialect, filters, after is not None)
    else:
        statement = _page_of_shape(
            dialect,
            filters.role is not None,
            filters.status is not None,
            NO_ACCOUNT
            if filters.account_status == NO_ACCOUNT
            else filters.account_status is not None,
            after is not None,
        )
    # A Core statement: run on the session's connection, past the ORM's result machinery.
    rows = session.connection().execute(statement, params).all()
    more = len(rows) > limit
    contacts = [_contact(row) for row in rows[:limit]]
    return RosterPage(
        contacts=contacts,
        next_cursor=encode_cursor(contacts[-1]["id"]) if more and contacts else None,
    )


def _contact(row: Sequence[Any]) -> dict[str, Any]:
    """A contact of the page from its row: `_matching`'s columns, then its role codes and its
    account's status."""
    contact_id, status, assistant_id, *fields, role_codes, account = row
    return {
        "id": contact_id,
        **dict(zip(CONTACT_FIELDS, fields, strict=True)),
        "assistant_id": assistant_id,
        "status": ContactStatus(status),
        "roles": sorted(role_codes.split(",")) if role_codes else [],
        "account_status": account_status(account),
    }


def total(*, session: Session, org_id: int, filters: RosterFilters, stored: RosterCounts) -> int:
    """How many contacts match the filters, all pages together: from the maintained counts
    when they say it (status and role filters), else one count over the matching contacts."""
    if filters.q or filters.account_status is not None:
        matching = _matching(filters).subquery()
        count = select(func.count()).select_from(matching)
        return int(session.scalar(count, _params(org_id, filters)) or 0)
    statuses = (
        [filters.status] if filters.status else [ContactStatus.ACTIVE, ContactStatus.DEACTIVATED]
    )
    return sum(stored.counts.get(CountKey(status, filters.role or ""), 0) for status in statuses)


def account_status(status: UserStatus | str | None) -> str:
    """A contact's account as the roster shows it: none, invited, active or deactivated."""
    if status is None or status == UserStatus.ARCHIVED:
        return NO_ACCOUNT
    return UserStatus(status).value


@functools.lru_cache(maxsize=64)
def _page_of_shape(
    dialect: str, role: bool, status: bool, account: bool | str, after: bool
) -> Select[Any]:
    """The page's statement for filters of this shape (which are set; `account` is the
    `none` filter itself, or whether another account status is asked), built once."""
    filters = RosterFilters(
        role="" if role else None,
        status=ContactStatus.ACTIVE if status else None,
        account_status=account if isinstance(account, str) else ("active" if account else None),
    )
    return _page_statement(dialect, filters, after)


def _page_statement(dialect: str, filters: RosterFilters, after: bool) -> Select[Any]:
    """The page: the matching contacts with their roles and account, in the roster's order,
    `:limit` of them, from just after the contact `:after` when `after`."""
    statement = (
        _matching(filters)
        .add_columns(_roles_of_contact(dialect).label("role_codes"), User.status.label("account"))
        .order_by(*sort_key())
        .limit(bindparam("limit", type_=Integer))
    )
    if after:
        mark = (
            select(*(column.label(f"k{i}") for i, column in enumerate(sort_key())))
            .where(Contact.id == bindparam("after"), Contact.organization_id == bindparam("org_id"))
            .subquery()
        )
        statement = statement.join(mark, tuple_(*sort_key()) > tuple_(*mark.c))
    return statement


def _params(org_id: int, filters: RosterFilters) -> dict[str, Any]:
    """The values of the bound parameters of `_matching(filters)`."""
    params: dict[str, Any] = {"org_id": org_id}
    if filters.role is not None:
        params["role"] = filters.role
    if filters.status is not None:
        params["status"] = filters.status
    if filters.account_status is not None and filters.account_status != NO_ACCOUNT:
        params["account_status"] = UserStatus(filters.account_status)
    return params


def _matching(filters: RosterFilters) -> Select[Any]:
    """The org's (`:org_id`) listed contacts that match the filters, with their account joined
    in; the filters' values are bound parameters (`_params`) but for the search's prefix."""
    conditions: list[ColumnElement[bool]] = [
        Contact.organization_id == bindparam("org_id"),
        Contact.status != ContactStatus.ARCHIVED,
    ]
    if filters.status is not None:
        conditions.append(Contact.status == bindparam("status"))
    if filters.role is not None:
        conditions.append(
            exists().where(
                ContactRole.contact_id == Contact.id, ContactRole.role_code == bindparam("role")
            )
        )
    if filters.q:
        conditions.append(_prefix_of_name_or_email(filters.q))
    if filters.account_status == NO_ACCOUNT:
        conditions.append(or_(User.id.is_(None), User.status == UserStatus.ARCHIVED))
    elif filters.account_status is not None:
        conditions.append(User.status == bindparam("account_status"))
    return (
        select(
            Contact.id,
            Contact.status,
            Contact.assistant_id,
            *(getattr(Contact, name) for name in CONTACT_FIELDS),
        )
        .outerjoin(User, User.id == Contact.user_id)
        .where(and_(*conditions))
    )


def _prefix_of_name_or_email(q: str) -> ColumnElement[bool]:
    """Case-insensitive prefix of the first name, the last name, "first last", or the email.
    (SQLite's lower() folds ASCII letters only; PostgreSQL's folds every script.)"""
    prefix = q.strip().lower()
    full_name = func.coalesce(Contact.first_name, literal_column("''")) + " " + Contact.last_name
    columns: Sequence[Any] = (
        Contact.first_name,
        Contact.last_name,
        Contact.email,
        full_name,
    )
    return or_(
        *(
            func.lower(column, type_=String).startswith(prefix, autoescape=True)
            for column in columns
        )
    )


def _roles_of_contact(dialect: str) -> ColumnElement[Any]:
    """The contact's role codes as one comma-separated text (codes are `[a-z0-9_]`)."""
    return (
        select(joined_text(dialect, ContactRole.role_code))
        .where(ContactRole.contact_id == Contact.id)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class Place:
    """Where the page after a cursor's contact starts in the matching contacts."""

    position: int  # how many matching contacts come before the page
    previous_cursor: str | None  # the cursor of the page before; None: the first page


def place(
    *, session: Session, org_id: int, filters: RosterFilters, after: int, limit: int
) -> Place:
    """Where the page after contact `after` starts, for a page opened from its address (where
    no earlier page was seen): one statement, counting the matching contacts up to `after` and
    finding the one `limit` places before it."""
    key = sort_key()
    mark = (
        select(*(column.label(f"k{i}") for i, column in enumerate(key)))
        .where(Contact.id == bindparam("after"), Contact.organization_id == bindparam("org_id"))
        .subquery()
    )
    up_to = _matching(filters).join(mark, tuple_(*key) <= tuple_(*mark.c))
    count = select(func.count()).select_from(up_to.subquery()).scalar_subquery()
    start = (
        up_to.with_only_columns(Contact.id)
        .order_by(*(column.desc() for column in key))
        .offset(limit)
        .limit(1)
        .scalar_subquery()
    )
    row = session.execute(select(count, start), _params(org_id, filters) | {"after": after}).one()
    position, previous = int(row[0] or 0), row[1]
    return Place(
        position=position,
        previous_cursor=encode_cursor(previous) if previous is not None else None,
    )
