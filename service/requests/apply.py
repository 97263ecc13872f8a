"""Applying an approved change request to the roster, all items in one transaction.

`apply` is called by the apply job with its own session and commits nothing itself: the job
commits on success, or rolls back and calls `record_failure` in a fresh transaction. A second
run finds the ticket no longer `approved` and does nothing.

The batch is re-checked against the roster as it is now, and then written from the projected
roster the validators computed (the same one the dry run shows), as set-wise statements: a
fixed number of them whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, case, func, insert, select, update
from sqlalchemy.orm import Session

from service.accounts import sessions, tokens
from service.accounts.models import User, UserStatus
from service.contacts import counts
from service.contacts import service as contacts_service
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.models_base import utcnow
from service.notifications import service as notify
from service.organizations.models import (
    CLOSED_MESSAGE,
    ORGANIZATION_CLOSED,
    Delegation,
    Organization,
)
from service.personal_data import purge_contacts
from service.requests.context import build_context
from service.requests.models import ChangeRequestItem
from service.sql import column_in, delete_rows, insert_rows, update_in, update_rows
from service.tickets.models import Ticket, TicketStatus
from service.tickets.workflow import InvalidTransition, transition
from service.validators import check, project
from service.validators.projection import Projection
from service.validators.types import CheckContext, ContactKey, RosterContact, count_changes
from service.vocabulary import Op
from service.webhooks import events as webhooks
from service.webhooks.models import EventType

contacts_t = Contact.__table__
roles_t = ContactRole.__table__
users_t = User.__table__
items_t = ChangeRequestItem.__table__


class ApplyFailed(Exception):
    """The batch cannot be applied as it stands; staff read `code` and `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Applied:
    ticket_id: int
    new_accounts: list[tuple[str, int | None]] = field(default_factory=list)  # (email, user id)
    # Existing accounts a new contact joined: (email, user id); told they were added.
    joined: list[tuple[str, int | None]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)


def apply(*, session: Session, ticket_id: int) -> Applied | None:
    """Apply the ticket's batch; None when there is nothing to do (not approved any more)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != TicketStatus.APPROVED:
        return None
    # The conditional update also takes the row lock on PostgreSQL: a second worker waits
    # here, then finds the ticket no longer approved and has nothing to do.
    try:
        transition(session=session, ticket=ticket, action="start_apply", actor_id=None)
    except InvalidTransition:
        return None
    org = session.get(Organization, ticket.organization_id)
    assert org is not None
    items = session.execute(
        select(items_t.c.id, items_t.c.position, items_t.c.payload)
        .where(items_t.c.change_request_id == ticket.change_request_id)
        .order_by(items_t.c.position)
    ).all()
    ctx = _recheck(session=session, org=org, payloads=[dict(row.payload) for row in items])
    projection = project(ctx)

    applied = Applied(ticket_id=ticket.id)
    new_ids = _add_contacts(session, org, projection, applied)
    _give_accounts(session, org, _invitees(session, ctx, projection, new_ids), applied)
    _link_items(session, items, new_ids)
    _update_contacts(session, ctx, projection)
    _change_roles(session, ctx, projection, new_ids)
    _count_changes(session, org, ctx, projection)
    _sync_accounts(session, ctx, projection, applied)
    deleted = [
        key.id
        for key, contact in projection.contacts.items()
        if key.id is not None and contact.status == ContactStatus.ARCHIVED
    ]
    applied.receipts = purge_contacts(session=session, contact_ids=deleted)
    granted, revoked = _delegations(session, org, ticket, ctx, projection)
    _record_webhooks(session, org, ticket, ctx, projection, new_ids, applied)

    session.execute(
        update(Organization)
        .where(Organization.id == org.id)
        .values(roster_version=Organization.roster_version + 1)
    )
    if applied.receipts:
        ticket.erasure_receipt = applied.receipts
    event = transition(session=session, ticket=ticket, action="implement", actor_id=None)
    notify.implemented(
        session=session,
        ticket=ticket,
        event=event,
        extra_user_ids=notify.role_holders(
            session=session, org_id=org.id, email_key="request_implemented"
        ),
    )
    notify.welcome_all(session=session, ticket=ticket, event=event, accounts=applied.new_accounts)
    notify.memberships_added(session=session, ticket=ticket, event=event, accounts=applied.joined)
    notify.delegation_changed(
        session=session, ticket=ticket, event=event, granted=granted, revoked=revoked
    )
    return applied


def record_failure(*, session: Session, ticket_id: int, code: str, message: str) -> None:
    """In a fresh transaction after a rollback: leave the ticket `failed`, tell staff."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != TicketStatus.APPROVED:
        return
    event = transition(
        session=session,
        ticket=ticket,
        action="fail",
        actor_id=None,
        failure_code=code,
        failure_message=message,
    )
    notify.apply_failed(session=session, ticket=ticket, event=event)


def _recheck(
    *, session: Session, org: Organization, payloads: list[dict[str, Any]]
) -> CheckContext:
    """The batch against the roster as it is now: refuse rather than half-apply. A closed
    organization takes no batch, even one submitted while staff were closing it."""
    if org.closed:
        raise ApplyFailed(ORGANIZATION_CLOSED, CLOSED_MESSAGE + " Reject the request.")
    ctx = build_context(session=session, org=org, changes=payloads)
    errors, _ = check(ctx)
    if errors:
        listed = "; ".join(f"{f.path}: {f.code}" for f in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise ApplyFailed(
            "validation_failed",
            f"The batch no longer fits the roster: {listed}{more}. Reject it, or retry once "
            "the roster allows it.",
        )
    return ctx


def _new_contacts(projection: Projection) -> list[tuple[str, RosterContact]]:
    return [
        (key.ref, contact) for key, contact in projection.contacts.items() if key.ref is not None
    ]


def _add_contacts(
    session: Session, org: Organization, projection: Projection, applied: Applied
) -> dict[str, int]:
    """Insert the new contacts with their roles (counted): two statements."""
    new = _new_contacts(projection)
    if not new:
        return {}
    ids = contacts_service.insert_contacts(
        session=session, org_id=org.id, contacts=[contact for _, contact in new]
    )
    return {ref: contact_id for (ref, _), contact_id in zip(new, ids, strict=True)}


@dataclass(frozen=True)
class Invitee:
    """A contact that is to have an account: its email, and whether the person is told."""

    contact_id: int
    email: str
    tell: bool = True


def _invitees(
    session: Session, ctx: CheckContext, projection: Projection, new_ids: dict[str, int]
) -> list[Invitee]:
    """The new contacts (told unless added with `"invite": false`) and the contacts the batch
    invites. An invited contact whose account waits for activation gets a fresh welcome."""
    quiet = {
        item["ref"]
        for item in ctx.changes
        if item["op"] == Op.ADD_CONTACT and item.get("invite") is False
    }
    wanted = [
        Invitee(new_ids[ref], str(contact.fields["email"]), tell=ref not in quiet)
        for ref, contact in _new_contacts(projection)
    ]
    invited = sorted(
        {item["contact_id"] for item in ctx.changes if item["op"] == Op.INVITE_CONTACT}
    )
    if invited:
        accounts = dict(
            session.execute(
                select(Contact.id, User)
                .join(User, User.id == Contact.user_id)
                .where(column_in(session, Contact.id, invited))
            )
            .tuples()
            .all()
        )
        for contact_id in invited:
            user = accounts.get(contact_id)
            if user is None:
                email = projection.contacts[ContactKey.of_id(contact_id)].fields["email"]
                wanted.append(Invitee(contact_id, str(email)))
            elif user.status == UserStatus.INVITED and user.email:
                wanted.append(Invitee(contact_id, user.email))
    return wanted


def _invited_accounts(
    session: Session, emails: Mapping[str, str], *, org_id: int
) -> dict[str, int]:
    """A new invited account for each address (`emails`: key -> address), in one insert; the new
    account's id by key."""
    ids = insert_rows(
        session,
        users_t,
        [
            {
                "email": email,
                "status": UserStatus.INVITED,
                "is_staff": False,
                "organization_id": org_id,
                "created_at": utcnow(),
            }
            for email in emails.values()
        ],
        returning_ids=True,
    )
    return dict(zip(emails, ids, strict=True))


def _give_accounts(
    session: Session, org: Organization, wanted: list[Invitee], applied: Applied
) -> None:
    """Link each contact to its person's account: the existing one of its email (one login, any
    number of organizations), or a new invited one for those to be told. Who is told gets the
    welcome (an account not activated yet) or the news that they were added (an active one).
    A fixed number of statements."""
    if not wanted:
        return
    existing = _accounts_by_email(session, {w.email.lower() for w in wanted})
    links: dict[int, int] = {}  # contact id -> account id
    creating: dict[str, str] = {}  # lower-cased email -> email, of accounts to make
    waiting: dict[int, str] = {}  # contact id -> lower-cased email of an account to make
    woken: list[int] = []  # deactivated accounts a new membership brings back
    told: dict[int, str] = {}  # account id -> email, of accounts told
    for w in wanted:
        found = existing.get(w.email.lower())
        if found is None:
            if w.tell:
                creating.setdefault(w.email.lower(), w.email)
                waiting[w.contact_id] = w.email.lower()
            continue
        user_id, status, staff, has_password = found
        if staff:
            continue  # a staff account is nobody's contact: this contact has no account
        links[w.contact_id] = user_id
        if status == UserStatus.DEACTIVATED:
            woken.append(user_id)
            status = UserStatus.ACTIVE if has_password else UserStatus.INVITED
        if w.tell and user_id not in told:
            told[user_id] = w.email
            if status == UserStatus.ACTIVE:
                applied.joined.append((w.email, user_id))
            else:  # never activated: a fresh link, for this organization
                applied.new_accounts.append((w.email, user_id))
    made = _invited_accounts(session, creating, org_id=org.id)
    applied.new_accounts += [(creating[key], user_id) for key, user_id in made.items()]
    links.update({contact_id: made[key] for contact_id, key in waiting.items()})
    update_rows(
        session,
        contacts_t,
        [{"id": contact_id, "user_id": user_id} for contact_id, user_id in links.items()],
        match=["id"],
    )
    update_in(
        session,
        User.id,
        woken,
        User.status == UserStatus.DEACTIVATED,
        status=_status_with_password(),
    )


def _accounts_by_email(
    session: Session, emails: set[str]
) -> dict[str, tuple[int, UserStatus, bool, bool]]:
    """Accounts (not purged) by lower-cased email: id, status, staff, has a password."""
    if not emails:
        return {}
    lowered = func.lower(User.email, type_=String)
    rows = session.execute(
        select(lowered, User.id, User.status, User.is_staff, User.password_hash.is_not(None)).where(
            column_in(session, lowered, emails), User.status != UserStatus.ARCHIVED
        )
    )
    return {email: (user_id, status, staff, bool(pw)) for email, user_id, status, staff, pw in rows}


def _status_with_password() -> Any:
    """An account coming back: active when it has a password, invited otherwise."""
    return case((User.password_hash.is_not(None), UserStatus.ACTIVE), else_=UserStatus.INVITED)


def _link_items(session: Session, items: Any, new_ids: dict[str, int]) -> None:
    """Items that named a new contact by ref now name it by id, so a later purge finds them."""
    rows = [
        {"id": row.id, "contact_id": new_ids[row.payload["ref"]]}
        for row in items
        if "contact_id" not in row.payload and row.payload.get("ref") in new_ids
    ]
    update_rows(session, items_t, rows, match=["id"])


def _touched_existing(ctx: CheckContext, projection: Projection) -> list[tuple[int, Any, Any]]:
    """(id, before, after) of each roster contact the batch changes and does not delete."""
    touched = []
    for key in projection.touched_by:
        if key.id is None:
            continue
        after = projection.contacts[key]
        if after.status != ContactStatus.ARCHIVED:
            touched.append((key.id, ctx.roster[key.id], after))
    return touched


def _update_contacts(session: Session, ctx: CheckContext, projection: Projection) -> None:
    """Details and status of changed contacts: one statement."""
    rows = [
        {
            "id": contact_id,
            **after.fields,
            "assistant_id": after.assistant_id,
            "status": ContactStatus(after.status),
        }
        for contact_id, before, after in _touched_existing(ctx, projection)
        if after.fields != before.fields
        or after.status != before.status
        or after.assistant_id != before.assistant_id
    ]
    update_rows(
        session,
        contacts_t,
        rows,
        match=["id"],
        also={"updated_at": utcnow(), "version": contacts_t.c.version + 1},
    )


def _change_roles(
    session: Session, ctx: CheckContext, projection: Projection, new_ids: dict[str, int]
) -> None:
    """Roles granted and revoked on existing contacts: at most two statements."""
    granted, revoked = [], []
    for contact_id, before, after in _touched_existing(ctx, projection):
        granted += [{"contact_id": contact_id, "role_code": c} for c in after.roles - before.roles]
        revoked += [{"contact_id": contact_id, "role_code": c} for c in before.roles - after.roles]
    delete_rows(session, roles_t, revoked)
    insert_rows(session, roles_t, granted)


def _count_changes(
    session: Session, org: Organization, ctx: CheckContext, projection: Projection
) -> None:
    """Move the roster's counts by the status and role changes written above: one statement.
    New contacts were counted as they were inserted; the purge uncounts the deleted ones."""
    counts.add(
        session=session,
        org_id=org.id,
        changes=count_changes(
            (before, after) for _, before, after in _touched_existing(ctx, projection)
        ),
    )


def _sync_accounts(
    session: Session, ctx: CheckContext, projection: Projection, applied: Applied
) -> None:
    """Accounts follow their contacts: the email they sign in with, and whether they may sign
    in at all (an account with no active membership left may not).

    A link mailed to an account dies with the address it went to and with the account's
    standing: every unused link of an account whose address changed, or that may not sign in
    any more, is voided, and its account emails still waiting never go out. An account not yet
    activated whose address changed gets a fresh welcome at the new address (with the welcome
    emails of the applied batch).
    """
    touched = _touched_existing(ctx, projection)
    readdressed = _follow_emails(
        session,
        ctx.organization.id,
        {
            cid: str(after.fields["email"])
            for cid, before, after in touched
            if after.fields["email"] != before.fields["email"] and after.fields["email"]
        },
        applied,
    )
    deactivated = [
        cid for cid, before, after in touched if _became(before, after, ContactStatus.DEACTIVATED)
    ]
    reactivated = [
        cid for cid, before, after in touched if _became(before, after, ContactStatus.ACTIVE)
    ]
    ending: list[int] = []
    if deactivated:
        # The contacts' new statuses are written: an account still active elsewhere stays.
        accounts = select(Contact.user_id).where(column_in(session, Contact.id, deactivated))
        idle = select(User.id).where(
            User.id.in_(accounts),
            ~User.id.in_(
                select(Contact.user_id).where(
                    Contact.user_id.is_not(None), Contact.status == ContactStatus.ACTIVE
                )
            ),
        )
        ending = list(session.scalars(idle))
        if ending:
            session.execute(
                update(User)
                .where(
                    column_in(session, User.id, ending),
                    User.status.in_([UserStatus.ACTIVE, UserStatus.INVITED]),
                )
                .values(status=UserStatus.DEACTIVATED)
                .execution_options(synchronize_session=False)
            )
            # Ended for good: reactivating the contact later does not bring them back.
            sessions.revoke_all(session=session, user_ids=ending)
    if reactivated:
        session.execute(
            update(User)
            .where(
                User.id.in_(
                    select(Contact.user_id).where(column_in(session, Contact.id, reactivated))
                ),
                User.status == UserStatus.DEACTIVATED,
            )
            .values(status=_status_with_password())
            .execution_options(synchronize_session=False)
        )
    applied.new_accounts += _void_links(session, readdressed=readdressed, ending=ending)


def _void_links(
    session: Session, *, readdressed: list[int], ending: list[int]
) -> list[tuple[str, int | None]]:
    """Void the links of these accounts (a fixed number of statements); the invited accounts
    among the readdressed ones, to welcome at their new address."""
    user_ids = sorted(set(readdressed + ending))
    if not user_ids:
        return []
    accounts = session.execute(
        select(User.id, User.email, User.status).where(
            column_in(session, User.id, user_ids), User.status != UserStatus.ARCHIVED
        )
    ).all()
    live = [row.id for row in accounts]
    tokens.void_every(session=session, user_ids=live)
    notify.cancel_account_emails(
        session=session,
        user_ids=live,
        reason="superseded: the account's address or standing changed",
    )
    moved = set(readdressed)
    return [
        (str(row.email), row.id)
        for row in accounts
        if row.id in moved and row.status == UserStatus.INVITED and row.email
    ]


def _follow_emails(
    session: Session, org_id: int, emails: dict[int, str], applied: Applied
) -> list[int]:
    """Contacts whose email changed keep signing in with it. The account follows its contact
    when that is its only membership; a contact that shares its account with other memberships
    leaves it for the account of its new email, or a new invited one; an address that already
    has an account joins that account. The accounts whose address changed."""
    if not emails:
        return []
    owner = dict(
        session.execute(
            select(Contact.id, Contact.user_id).where(
                column_in(session, Contact.id, list(emails)), Contact.user_id.is_not(None)
            )
        )
        .tuples()
        .all()
    )
    if not owner:
        return []
    shared = {
        user_id
        for user_id, contact_id in session.execute(
            select(Contact.user_id, Contact.id).where(
                column_in(session, Contact.user_id, sorted(set(owner.values()))),
                Contact.status != ContactStatus.ARCHIVED,
            )
        )
        if contact_id not in emails
    }
    existing = _accounts_by_email(session, {email.lower() for email in emails.values()})
    follow: list[dict[str, Any]] = []  # accounts whose email changes with their contact's
    relink: list[dict[str, Any]] = []  # contacts moving to another account
    creating: dict[str, str] = {}  # lower-cased email -> email, of new accounts to make
    moving: dict[int, str] = {}  # contact id -> the new account's lower-cased email
    for contact_id, user_id in owner.items():
        email = emails[contact_id]
        found = existing.get(email.lower())
        if found is not None and found[0] != user_id:
            relink.append({"id": contact_id, "user_id": None if found[2] else found[0]})
        elif found is None and user_id in shared:
            creating.setdefault(email.lower(), email)
            moving[contact_id] = email.lower()
        elif found is None:
            follow.append({"id": user_id, "email": email})
    update_rows(
        session, users_t, follow, match=["id"], where=[users_t.c.status != UserStatus.ARCHIVED]
    )
    made = _invited_accounts(session, creating, org_id=org_id)
    relink += [{"id": cid, "user_id": made[key]} for cid, key in moving.items()]
    applied.new_accounts += [(creating[key], user_id) for key, user_id in made.items()]
    update_rows(session, contacts_t, relink, match=["id"])
    return [row["id"] for row in follow]
    return [row["id"] for row in follow]


def _became(before: RosterContact, after: RosterContact, status: ContactStatus) -> bool:
    return after.status == status and before.status != status


def _delegations(
    session: Session,
    org: Organization,
    ticket: Ticket,
    ctx: CheckContext,
    projection: Projection,
) -> tuple[set[int], set[int]]:
    """Start and end delegated access as the batch says; the organizations granted and those
    whose access ended."""
    granted = projection.delegate_ids - ctx.delegate_ids
    revoked = ctx.delegate_ids - projection.delegate_ids
    if granted:
        session.execute(
            insert(Delegation),
            [
                {
                    "organization_id": org.id,
                    "delegate_organization_id": delegate,
                    "granted_at": utcnow(),
                    "granted_by_ticket_id": ticket.id,
                }
                for delegate in sorted(granted)
            ],
        )
    if revoked:
        session.execute(
            update(Delegation)
            .where(
                Delegation.organization_id == org.id,
                Delegation.delegate_organization_id.in_(revoked),
                Delegation.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow(), revoked_by_ticket_id=ticket.id)
            .execution_options(synchronize_session=False)
        )
    return set(granted), set(revoked)


def _record_webhooks(
    session: Session,
    org: Organization,
    ticket: Ticket,
    ctx: CheckContext,
    projection: Projection,
    new_ids: dict[str, int],
    applied: Applied,
) -> None:
    """What the batch did, as webhook events by ids (two statements): contacts added, updated,
    deleted and purged, delegations granted and revoked. Each deleted contact's erasure receipt
    names its `contact.purged` event and the deliveries that carry the erasure downstream."""

    def event(event_type: EventType, **ids: int) -> webhooks.NewEvent:
        return webhooks.NewEvent(event_type, org.id, ticket.id, **ids)

    events = [event(EventType.CONTACT_ADDED, contact_id=cid) for cid in new_ids.values()]
    events += [
        event(EventType.CONTACT_UPDATED, contact_id=cid)
        for cid, before, after in _touched_existing(ctx, projection)
        if after.fields != before.fields
        or after.status != before.status
        or after.roles != before.roles
    ]
    purged = [receipt["contact_id"] for receipt in applied.receipts]
    events += [event(EventType.CONTACT_DELETED, contact_id=cid) for cid in purged]
    events += [event(EventType.CONTACT_PURGED, contact_id=cid) for cid in purged]
    events += [
        event(EventType.DELEGATION_GRANTED, delegate_organization_id=delegate)
        for delegate in sorted(projection.delegate_ids - ctx.delegate_ids)
    ]
    events += [
        event(EventType.DELEGATION_REVOKED, delegate_organization_id=delegate)
        for delegate in sorted(ctx.delegate_ids - projection.delegate_ids)
    ]
    recorded = webhooks.record(session=session, events=events)
    downstream = {r.contact_id: r for r in recorded if r.event_type == EventType.CONTACT_PURGED}
    for receipt in applied.receipts:
        sent = downstream[receipt["contact_id"]]
        receipt["webhooks"] = {"event": sent.uid, "deliveries": sent.delivery_ids}
