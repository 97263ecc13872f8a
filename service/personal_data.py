"""Where the service keeps personal data, declared in one place, and the purge derived from it.

Every text-like column of every table is declared here as personal or not personal; a test
fails when a model gains one that is declared neither. `HOLDINGS` says, for each table that
holds personal data, which rows belong to a contact and how they are erased; `FREE_TEXT` says
where people's words may mention one. Both the purge and the subject-access export are derived
from them, so they cannot disagree about what "everything" is: the purge erases each personal
column of those rows and the contact's values in that free text, and records which tables and
fields it erased, never the values; the export shows those rows and mentions, secrets (password
and token digests) as held or not.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from service.accounts import tasks as account_tasks
from service.accounts.models import AccessToken, AccountToken, User, UserStatus
from service.contacts import counts
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.errors import NotFound
from service.extensions import db
from service.models_base import isoformat, utcnow
from service.notifications.models import Email, EmailStatus
from service.notifications.outbox import erase_from_outbox
from service.requests.models import ChangeRequest, ChangeRequestItem
from service.sql import column_in, update_rows
from service.tickets.models import Ticket, TicketComment, format_reference
from service.vocabulary import CONTACT_FIELDS

# table -> columns that hold personal data of the contact the row belongs to.
PERSONAL: dict[str, frozenset[str]] = {
    # Every detail of a contact is about its person.
    "contacts": frozenset(CONTACT_FIELDS),
    "users": frozenset({"email", "password_hash"}),
    "access_tokens": frozenset({"token_hash"}),
    "account_tokens": frozenset({"token_hash"}),
    # `ref` is the client's name for a new contact within its batch: it may be theirs.
    "change_request_items": frozenset({"payload", "before", "ref"}),
    "emails": frozenset({"recipient"}),
}

# Free text that may mention a contact (people's own words): the purge replaces each of the
# contact's values in it (`Subjects.values`) with `MARKER`, in the tickets of the contact's
# organization and those the contact raised. These columns are declared not personal below:
# they belong to no one contact.
FREE_TEXT: dict[str, str] = {
    "change_requests": "comment",
    "ticket_comments": "body",
    "tickets": "resolution_reason",
}
MARKER = "[erased]"
# Shorter values (a two-letter first name) would erase parts of other people's words.
MIN_VALUE_LENGTH = 3
# Up to this many values, the statements that find free text mentioning them name them.
MAX_VALUES_IN_SQL = 50
# Fields whose values are looked for in free text and in the development outbox.
FOUND_IN_TEXT = ("first_name", "last_name", "email", "phone", "mobile")

# table -> text-like columns that hold no personal data, and why that is so where not obvious.
NOT_PERSONAL: dict[str, frozenset[str]] = {
    # The service-level plan is a name from SLA_PLANS.
    "organizations": frozenset({"slug", "name", "kind", "required_fields", "plan"}),
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
    # The requester's note (free text, see FREE_TEXT) and the validators' warnings (paths,
    # codes, role names).
    "change_requests": frozenset({"comment", "warnings"}),
    "change_request_items": frozenset({"op", "role_code"}),
    "tickets": frozenset(
        {
            "kind",
            "status",
            "failure_code",
            "failure_message",  # written by the service from codes and paths only
            "resolution_reason",  # staff's or the requester's words (free text, see FREE_TEXT)
            "erasure_receipt",  # table and field names only
        }
    ),
    # Ids only (docs/design.md: the event log never holds personal data).
    "ticket_events": frozenset({"action", "from_status", "to_status", "detail"}),
    # Comments stay after a purge, attributed to "former contact" (docs/design.md), with the
    # purged contact's values replaced (free text, see FREE_TEXT).
    "ticket_comments": frozenset({"body"}),
    "ticket_approvals": frozenset(),
    "ticket_status_counts": frozenset({"kind", "status"}),
    "ticket_reminders": frozenset({"kind"}),
    # Staff's names for their queue views, and the queue's filters (statuses, slugs, staff).
    "saved_views": frozenset({"name", "query"}),
    "roster_counts": frozenset({"status", "role_code"}),
    "emails": frozenset({"template", "context", "status", "last_error"}),
    "alembic_version": frozenset({"version_num"}),
    # A random token naming the role catalog's state.
    "role_catalog_version": frozenset({"version"}),
    # Counters' names: keyed digests of addresses, dropped with the counters after the purge.
    "counter_erasures": frozenset({"account_keys"}),
    # Webhooks hold ids only: the payload is built from them at delivery. The URL and the
    # description are staff's configuration; the secrets sign, they name nobody.
    "webhook_endpoints": frozenset(
        {"url", "description", "status", "secret", "previous_secret", "disabled_reason"}
    ),
    "webhook_subscriptions": frozenset({"event_type"}),
    "webhook_events": frozenset({"uid", "event_type"}),
    "webhook_deliveries": frozenset({"status", "last_error"}),
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
    # contact id -> what of theirs may appear in free text: names, addresses and numbers they
    # have or had (as batches set or replaced them), and the refs batches gave them.
    values: dict[int, list[str]]
    organization_ids: list[int]

    def pattern(self) -> re.Pattern[str] | None:
        """Any of the contacts' values, as a whole word, any case."""
        return _pattern([value for found in self.values.values() for value in found])


Where = ColumnElement[bool] | None


def _contact_rows(session: Session, who: Subjects) -> ColumnElement[bool]:
    return column_in(session, Contact.id, who.contact_ids)


def _user_rows(session: Session, who: Subjects) -> Where:
    return column_in(session, User.id, who.user_ids) if who.user_ids else None


def _access_token_rows(session: Session, who: Subjects) -> Where:
    return column_in(session, AccessToken.user_id, who.user_ids) if who.user_ids else None


def _account_token_rows(session: Session, who: Subjects) -> Where:
    return column_in(session, AccountToken.user_id, who.user_ids) if who.user_ids else None


def _item_rows(session: Session, who: Subjects) -> ColumnElement[bool]:
    return column_in(session, ChangeRequestItem.contact_id, who.contact_ids)


def _email_rows(session: Session, who: Subjects) -> Where:
    addressed: list[ColumnElement[bool]] = []
    if who.user_ids:
        addressed.append(column_in(session, Email.recipient_user_id, who.user_ids))
    if who.emails:
        addressed.append(column_in(session, func.lower(Email.recipient, type_=String), who.emails))
    return or_(*addressed) if addressed else None


def _null_columns(columns: frozenset[str], **extra: Any) -> dict[str, Any]:
    return {**{name: None for name in columns}, **extra}


def _contacts(session: Session, who: Subjects) -> set[int]:
    session.execute(
        delete(ContactRole).where(column_in(session, ContactRole.contact_id, who.contact_ids))
    )
    session.execute(
        update(Contact)
        .where(_contact_rows(session, who))
        .values(
            **_null_columns(PERSONAL["contacts"]),
            status=ContactStatus.ARCHIVED,
            assistant_id=None,
            version=Contact.version + 1,
            user_id=None,  # the membership ends; the account may live on in others
        )
        .execution_options(synchronize_session=False)
    )
    # Nobody keeps a purged contact as their assistant (an id, but a link to no one now).
    session.execute(
        update(Contact)
        .where(column_in(session, Contact.assistant_id, who.contact_ids))
        .values(assistant_id=None)
        .execution_options(synchronize_session=False)
    )
    return set(who.contact_ids)


def _users(session: Session, who: Subjects) -> set[int]:
    rows = _user_rows(session, who)
    if rows is None:
        return set()
    session.execute(
        update(User)
        .where(rows)
        .values(**_null_columns(PERSONAL["users"]), status=UserStatus.ARCHIVED)
        .execution_options(synchronize_session=False)
    )
    return {who.user_of[uid] for uid in who.user_ids}


def _owned_by_accounts(session: Session, who: Subjects, model: Any, rows: Where) -> set[int]:
    if rows is None:
        return set()
    table = model.__table__
    owners = session.scalars(delete(table).where(rows).returning(table.c.user_id)).all()
    return {who.user_of[uid] for uid in owners}


def _access_tokens(session: Session, who: Subjects) -> set[int]:
    return _owned_by_accounts(session, who, AccessToken, _access_token_rows(session, who))


def _account_tokens(session: Session, who: Subjects) -> set[int]:
    return _owned_by_accounts(session, who, AccountToken, _account_token_rows(session, who))


def _items(session: Session, who: Subjects) -> set[int]:
    """Every batch item that named a contact keeps its operation (its own column), not its data."""
    items = ChangeRequestItem.__table__
    named = session.scalars(
        update(items)
        .where(_item_rows(session, who))
        .values(payload={"erased": True}, before=None, ref=None)
        .returning(items.c.contact_id)
    ).all()
    return {cid for cid in named if cid is not None}


def _emails(session: Session, who: Subjects) -> set[int]:
    matches = _email_rows(session, who)
    if matches is None:
        return set()
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


@dataclass(frozen=True)
class Mention:
    """A row of free text (`FREE_TEXT`) that mentions some of the contacts."""

    row_id: int
    text: str
    owners: set[int]


def _mentions(session: Session, who: Subjects) -> dict[str, list[Mention]]:
    """The free text of the contacts' tickets that mentions them: a statement per column."""
    everyone = who.pattern()
    if everyone is None:
        return {}
    owners_of: dict[str, set[int]] = {}
    for contact_id, found_values in who.values.items():
        for value in found_values:
            owners_of.setdefault(value.lower(), set()).add(contact_id)
    values = sorted(owners_of)
    scope = or_(
        column_in(session, Ticket.organization_id, who.organization_ids),
        column_in(session, Ticket.requester_id, who.user_ids or [-1]),
    )
    tickets = select(Ticket.id).where(scope)
    sources: dict[str, tuple[Any, ColumnElement[bool]]] = {
        "tickets": (Ticket.__table__, scope),
        "ticket_comments": (
            TicketComment.__table__,
            or_(
                TicketComment.ticket_id.in_(tickets),
                column_in(session, TicketComment.author_id, who.user_ids or [-1]),
            ),
        ),
        "change_requests": (
            ChangeRequest.__table__,
            or_(
                column_in(session, ChangeRequest.organization_id, who.organization_ids),
                column_in(session, ChangeRequest.requester_id, who.user_ids or [-1]),
            ),
        ),
    }
    found: dict[str, list[Mention]] = {}
    for table_name, column_name in FREE_TEXT.items():
        table, within = sources[table_name]
        column = table.c[column_name]
        # A few values narrow the rows in the database; a mass delete's thousands would make
        # the statement grow with them: its rows in scope are read and matched here instead.
        mentions = (
            or_(*(func.lower(column).contains(v, autoescape=True) for v in values))
            if len(values) <= MAX_VALUES_IN_SQL
            else column.is_not(None)
        )
        rows = session.execute(
            select(table.c.id, column).where(within, mentions).order_by(table.c.id)
        ).all()
        for row_id, text in rows:
            owners = {
                owner
                for match in everyone.finditer(text or "")
                for owner in owners_of.get(match.group(0).lower(), ())
            }
            if owners:
                found.setdefault(table_name, []).append(Mention(row_id, text, owners))
    return found


def _free_text(session: Session, who: Subjects) -> dict[str, set[int]]:
    """Replace the contacts' values in the free text of their tickets: a statement to find and
    one to write per column. The tables written, with the contacts whose values were found."""
    everyone = who.pattern()
    found: dict[str, set[int]] = {}
    if everyone is None:
        return found
    for table_name, mentions in _mentions(session, who).items():
        column_name = FREE_TEXT[table_name]
        changed = [{"id": m.row_id, column_name: everyone.sub(MARKER, m.text)} for m in mentions]
        update_rows(session, db.metadata.tables[table_name], changed, match=["id"])
        found[table_name] = {owner for m in mentions for owner in m.owners}
    return found


@dataclass(frozen=True)
class Holding:
    """A table that holds personal data: which of its rows belong to the subjects (None: none
    can), and how the purge erases them (the contacts it found data of)."""

    table: str
    rows: Callable[[Session, Subjects], Where]
    erase: Callable[[Session, Subjects], set[int]]


# Order matters: tokens and emails are found through the accounts and the addresses, which
# are read before anything is erased.
HOLDINGS: tuple[Holding, ...] = (
    Holding("change_request_items", _item_rows, _items),
    Holding("emails", _email_rows, _emails),
    Holding("access_tokens", _access_token_rows, _access_tokens),
    Holding("account_tokens", _account_token_rows, _account_tokens),
    Holding("users", _user_rows, _users),
    Holding("contacts", _contact_rows, _contacts),
)
# Digests that sign people in: the export says whether one is held, never its value.
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})


def _accounts_kept(session: Session, user_ids: list[int], purged: list[int]) -> set[int]:
    """Those of these accounts that keep a membership (a contact not archived) besides the
    contacts being purged."""
    if not user_ids:
        return set()
    going = set(purged)
    return {
        user_id
        for user_id, contact_id in session.execute(
            select(Contact.user_id, Contact.id).where(
                column_in(session, Contact.user_id, user_ids),
                Contact.status != ContactStatus.ARCHIVED,
            )
        )
        if contact_id not in going and user_id is not None
    }


def purge_contacts(*, session: Session, contact_ids: list[int]) -> list[dict[str, Any]]:
    """Archive the contacts and erase their personal data everywhere; a receipt per contact.

    A fixed number of statements, however many contacts go. Their values are also replaced in
    the free text of their tickets (`FREE_TEXT`) and in the development outbox.
    """
    if not contact_ids:
        return []
    session.flush()
    who = _subjects(session, contact_ids)
    # Archived contacts count no more (their status and roles, read before they go).
    counts.forget_contacts(session=session, contact_ids=contact_ids)
    erased: dict[int, dict[str, list[str]]] = {cid: {} for cid in contact_ids}
    for table, contacts in _free_text(session, who).items():
        for contact_id in contacts:
            erased[contact_id][table] = [FREE_TEXT[table]]
    for holding in HOLDINGS:
        for contact_id in holding.erase(session, who):
            erased[contact_id][holding.table] = sorted(PERSONAL[holding.table])
    # Objects already loaded in this session must not write old values back.
    session.expire_all()
    # Redis holds no personal data (jobs carry ids); only rate-limit counters named by a digest
    # of the email, which a job drops after commit: Redis being away must not fail the purge.
    account_tasks.record(session=session, emails=who.emails)
    outbox = erase_from_outbox(pattern=who.pattern(), addresses=who.emails, marker=MARKER)
    return [
        {
            "contact_id": contact_id,
            "erased": erased[contact_id],
            "redis": "rate-limit counters of the contact's addresses removed",
            **({"outbox": outbox} if outbox else {}),
        }
        for contact_id in contact_ids
    ]


def _subjects(session: Session, contact_ids: list[int]) -> Subjects:
    """Everything of the contacts the purge looks for, read before anything is erased."""
    contacts = session.execute(
        select(
            Contact.id, Contact.organization_id, *(Contact.__table__.c[f] for f in FOUND_IN_TEXT)
        ).where(column_in(session, Contact.id, contact_ids))
    ).all()
    linked = session.execute(
        select(User.id, Contact.id, User.email)
        .join(Contact, Contact.user_id == User.id)
        .where(column_in(session, Contact.id, contact_ids))
    ).all()
    # An account that is still a contact elsewhere keeps its email, password, sessions and
    # emails: only this membership and its data here go. The others are purged with it.
    kept = _accounts_kept(session, [row[0] for row in linked], contact_ids)
    accounts = [row for row in linked if row[0] not in kept]
    kept_emails = {email.lower() for user_id, _, email in linked if user_id in kept and email}
    user_of = {user_id: contact_id for user_id, contact_id, _ in accounts}
    items = ChangeRequestItem.__table__
    named = session.execute(
        select(items.c.contact_id, items.c.payload, items.c.before, items.c.ref).where(
            column_in(session, items.c.contact_id, contact_ids)
        )
    ).all()
    mailed = (
        session.execute(
            select(Email.recipient_user_id, Email.recipient).where(
                column_in(session, Email.recipient_user_id, list(user_of)),
                Email.recipient.is_not(None),
            )
        ).all()
        if user_of
        else []
    )
    values: dict[int, set[str]] = {cid: set() for cid in contact_ids}
    addresses: dict[int, set[str]] = {cid: set() for cid in contact_ids}
    for row in contacts:
        details = dict(zip(FOUND_IN_TEXT, row[2:], strict=True))
        values[row.id] |= _details_values(details)
        if details["email"]:
            addresses[row.id].add(details["email"])
    for _user_id, contact_id, email in accounts:
        if email:
            addresses[contact_id].add(email)
    for contact_id, payload, before, ref in named:
        for details in _item_details(payload, before):
            values[contact_id] |= _details_values(details)
            if details.get("email"):
                addresses[contact_id].add(str(details["email"]))
        if ref:
            values[contact_id].add(str(ref))
    for user_id, address in mailed:
        addresses[user_of[user_id]].add(address)
    contact_of_email: dict[str, int] = {}
    for contact_id, found in addresses.items():
        values[contact_id] |= found
        for address in found:
            if address.lower() not in kept_emails:  # still the address of a live account
                contact_of_email[address.lower()] = contact_id
    return Subjects(
        contact_ids=list(contact_ids),
        user_ids=[row[0] for row in accounts],
        emails=sorted(contact_of_email),
        user_of=user_of,
        contact_of_email=contact_of_email,
        values={
            cid: sorted(v for v in found if len(v) >= MIN_VALUE_LENGTH)
            for cid, found in values.items()
        },
        organization_ids=sorted({row.organization_id for row in contacts}),
    )


def _item_details(payload: Any, before: Any) -> list[dict[str, Any]]:
    """The contact details an item set or replaced: an added contact's, an update's fields and
    the values they replaced."""
    found = []
    for blob in (payload, before):
        if not isinstance(blob, dict):
            continue
        found.append(blob)
        for key in ("contact", "fields"):
            if isinstance(blob.get(key), dict):
                found.append(blob[key])
    return found


def _details_values(details: dict[str, Any]) -> set[str]:
    found = {str(details[f]).strip() for f in FOUND_IN_TEXT if details.get(f)}
    first, last = details.get("first_name"), details.get("last_name")
    if first and last:
        found.add(f"{str(first).strip()} {str(last).strip()}")
    return {value for value in found if value}


def _pattern(values: list[str]) -> re.Pattern[str] | None:
    """The values as whole words, longest first (a full name before its parts), any case."""
    wanted = sorted({v for v in values if v}, key=lambda v: (-len(v), v))
    if not wanted:
        return None
    either = "|".join(re.escape(value) for value in wanted)
    return re.compile(rf"(?<!\w)(?:{either})(?!\w)", re.IGNORECASE)


def export_organization_contact(
    *, session: Session, organization_id: int, contact_id: int
) -> dict[str, Any]:
    """`export_contact` for a contact of this organization; 404 for any other id."""
    found = session.scalar(
        select(Contact.id).where(
            Contact.id == contact_id, Contact.organization_id == organization_id
        )
    )
    if found is None:
        raise NotFound("No such contact.", code="unknown_contact")
    return export_contact(session=session, contact_id=contact_id)


def export_contact(*, session: Session, contact_id: int) -> dict[str, Any]:
    """Everything held about one contact, as JSON: every row of every table in `HOLDINGS` that
    the purge would erase, with all its columns (secrets as held or not); the free text that
    mentions it (`FREE_TEXT`), which the purge would rewrite; its roles; and the tickets that
    mention it, that its account raised or that emailed it. A statement per table."""
    who = _subjects(session, [contact_id])
    tables = db.metadata.tables
    held: dict[str, list[dict[str, Any]]] = {}
    for holding in HOLDINGS:
        table = tables[holding.table]
        where = holding.rows(session, who)
        found = (
            []
            if where is None
            else session.execute(select(table).where(where).order_by(table.c.id)).mappings().all()
        )
        held[holding.table] = [
            {
                name: (value is not None) if name in SECRET_COLUMNS else _plain(value)
                for name, value in row.items()
            }
            for row in found
        ]
    mentioned_in = {
        table: [{"id": m.row_id, FREE_TEXT[table]: m.text} for m in mentions]
        for table, mentions in _mentions(session, who).items()
    }
    roles = sorted(
        session.scalars(select(ContactRole.role_code).where(ContactRole.contact_id == contact_id))
    )
    change_requests = {row["change_request_id"] for row in held["change_request_items"]}
    emailed = {row["ticket_id"] for row in held["emails"] if row["ticket_id"] is not None}
    which = [
        *([Ticket.change_request_id.in_(change_requests)] if change_requests else []),
        *([column_in(session, Ticket.requester_id, who.user_ids)] if who.user_ids else []),
        *([Ticket.id.in_(emailed)] if emailed else []),
    ]
    tickets = (
        session.execute(select(Ticket.kind, Ticket.id).where(or_(*which))).tuples().all()
        if which
        else []
    )
    return {
        "contact_id": contact_id,
        "exported_at": isoformat(utcnow()),
        "roles": roles,
        "tickets": sorted(format_reference(kind, ticket_id) for kind, ticket_id in tickets),
        "held": held,
        "mentioned_in": mentioned_in,
    }


def _plain(value: Any) -> Any:
    """A column's value as JSON holds it."""
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value
