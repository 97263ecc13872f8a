"""Who is told what about each ticket event: every email the service sends is decided here.

Each function records `Email` rows in the caller's transaction (with the event that calls for
them) and asks for their delivery after commit. Rendering happens at delivery, from
templates/emails/, so no rendered personal data waits in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import access
from service.accounts.models import User, UserStatus
from service.contacts import service as contacts_service
from service.contacts.models import Role
from service.models_base import utcnow
from service.notifications.models import Email, EmailStatus
from service.notifications.render import ACCOUNT_TEMPLATES
from service.notifications.tasks import send_email, send_event_emails
from service.sql import column_in, insert_rows, update_in
from service.tickets.models import Ticket, TicketComment, TicketEvent, TicketStatus

Recipient = tuple[str, int | None]  # (address, user id or None for a shared mailbox)


def ticket_opened(*, session: Session, ticket: Ticket, event: TicketEvent) -> None:
    """A new ticket: the requester gets a receipt, the review queue a heads-up, and the holders
    of roles that ask for "request_raised" (the customer administrators) are kept informed."""
    holders = role_holders(
        session=session, org_id=ticket.organization_id, email_key="request_raised"
    )
    recipients = [*_users(session, [ticket.requester_id, *holders]), _staff_mailbox()]
    _record(session, ticket, event, "ticket_raised", recipients)


def staff_query(
    *, session: Session, ticket: Ticket, event: TicketEvent, comment: TicketComment
) -> None:
    """Staff asked the customer something: the requester must answer."""
    _to_requester(session, ticket, event, "ticket_query", comment_id=comment.id)


def customer_comment(
    *, session: Session, ticket: Ticket, event: TicketEvent, comment: TicketComment
) -> None:
    """The customer wrote: the assignee is told, or the review queue when nobody is assigned."""
    recipients = _users(session, [ticket.assignee_id]) if ticket.assignee_id else []
    _record(
        session,
        ticket,
        event,
        "customer_reply",
        recipients or [_staff_mailbox()],
        comment_id=comment.id,
    )


def staff_comment(
    *, session: Session, ticket: Ticket, event: TicketEvent, comment: TicketComment
) -> None:
    """Staff commented (not a question, not an internal note): the requester reads it too."""
    _to_requester(session, ticket, event, "staff_comment", comment_id=comment.id)


def ticket_amended(
    *,
    session: Session,
    ticket: Ticket,
    event: TicketEvent,
    withdrawn_from: Sequence[int],
) -> None:
    """The customer replaced the batch with its next revision: the assignee is told, or the
    review queue when nobody is assigned, and so is every staff member whose approval of the
    previous revision the amendment withdrew (`withdrawn_from`), each once."""
    # An assignee without an address (purged since) leaves it to the review queue.
    owners = _users(session, [ticket.assignee_id]) or [_staff_mailbox()]
    _record(
        session,
        ticket,
        event,
        "ticket_amended",
        [*owners, *_users(session, withdrawn_from)],
        revision=ticket.revision,
        amended_by=event.actor_id,
        amended_for=event.actor_organization_id,
        approvals_withdrawn=len(withdrawn_from),
        # The event says where the ticket really came from (another move may have won).
        requeued=event.from_status == TicketStatus.AWAITING_CUSTOMER,
    )


def delegation_changed(
    *,
    session: Session,
    ticket: Ticket,
    event: TicketEvent,
    granted: Iterable[int],
    revoked: Iterable[int],
) -> None:
    """Delegated access started or ended: the partner organization's admins are told."""
    for template, partners in (("delegation_started", granted), ("delegation_ended", revoked)):
        for partner in sorted(partners):
            _record(
                session,
                ticket,
                event,
                template,
                _users(session, _managers(session, partner)),
                partner_organization_id=partner,
            )


def _managers(session: Session, org_id: int) -> list[int]:
    """The accounts that manage the organization's contacts (its admins)."""
    catalog = contacts_service.catalog(session=session)
    found = access.managers(session=session, org_id=org_id, catalog=catalog)
    return list(dict.fromkeys(m.user_id for m in found))


def cancelled(*, session: Session, ticket: Ticket, event: TicketEvent) -> None:
    ids = [ticket.requester_id] + ([ticket.assignee_id] if ticket.assignee_id else [])
    _record(session, ticket, event, "ticket_cancelled", _users(session, ids))


def rejected(*, session: Session, ticket: Ticket, event: TicketEvent) -> None:
    _to_requester(session, ticket, event, "ticket_rejected")


def implemented(
    *, session: Session, ticket: Ticket, event: TicketEvent, extra_user_ids: Iterable[int] = ()
) -> None:
    """The batch is applied: the requester (and any holders of roles that ask for it)."""
    ids = [ticket.requester_id, *extra_user_ids]
    _record(session, ticket, event, "ticket_implemented", _users(session, ids))


def apply_failed(*, session: Session, ticket: Ticket, event: TicketEvent) -> None:
    _record(session, ticket, event, "apply_failed", [_staff_mailbox()])


def account_email(
    *, session: Session, user: User, template: str, organization_id: int | None = None
) -> Email | None:
    """An email about the account itself (a welcome resent, a password reset): no ticket.
    `organization_id` names the organization it comes from, for an account that is a contact
    of several.

    The link in it is made at delivery; a newer one voids the older links.
    """
    if not user.email or user.status == UserStatus.ARCHIVED:
        return None
    context: dict[str, Any] = {"user_id": user.id}
    if organization_id is not None:
        context["organization_id"] = organization_id
    email = Email(
        template=template,
        recipient=user.email,
        recipient_user_id=user.id,
        context=context,
    )
    session.add(email)
    session.flush()
    send_email.after_commit(session, email.id)
    return email


def cancel_account_emails(*, session: Session, user_ids: Sequence[int], reason: str) -> None:
    """Account emails (welcome, password reset) still waiting for these accounts never go
    out: the link each would carry is made at delivery, and must not be made any more.
    `reason` holds no personal data."""
    update_in(
        session,
        Email.recipient_user_id,
        user_ids,
        Email.template.in_(list(ACCOUNT_TEMPLATES)),
        Email.status == EmailStatus.PENDING,
        status=EmailStatus.FAILED,
        last_error=reason[:500],
        next_attempt_at=None,
    )


def role_holders(*, session: Session, org_id: int, email_key: str) -> list[int]:
    """Active accounts of the organization whose roles ask for this automated email."""
    # The catalog is a handful of roles; the holders can be thousands.
    codes = [
        code
        for code, emails in session.execute(select(Role.code, Role.emails))
        if email_key in (emails or [])
    ]
    found = access.holders(session=session, org_id=org_id, roles=codes)
    return sorted({holder.user_id for holder in found})


def welcome_all(
    *, session: Session, ticket: Ticket, event: TicketEvent, accounts: list[Recipient]
) -> list[int]:
    """Welcome emails for the accounts a batch just created, given as (address, user id); the
    link in each is made at delivery."""
    new = [(address, user_id) for address, user_id in accounts if address and user_id is not None]
    return _record(session, ticket, event, "welcome", new, with_user_id=True)


def invitation_expired(*, session: Session, org_id: int, contact_id: int) -> int:
    """A contact's invitation expired unused: the holders of roles that ask for
    "invitation_expired" (the customer administrators) may send a new one. Each email goes on
    its own (no ticket); how many were recorded."""
    admins = _users(
        session, role_holders(session=session, org_id=org_id, email_key="invitation_expired")
    )
    for address, user_id in admins:
        email = Email(
            template="invitation_expired",
            recipient=address,
            recipient_user_id=user_id,
            context={"organization_id": org_id, "contact_id": contact_id},
        )
        session.add(email)
        session.flush()
        send_email.after_commit(session, email.id)
    return len(admins)


def memberships_added(
    *, session: Session, ticket: Ticket, event: TicketEvent, accounts: list[Recipient]
) -> list[int]:
    """People who already had an account and became a contact of the ticket's organization are
    told so (they sign in as before); given as (address, user id)."""
    joined = [(address, user_id) for address, user_id in accounts if address and user_id]
    return _record(session, ticket, event, "membership_added", joined, with_user_id=True)


@dataclass(frozen=True)
class TicketNotice:
    """An email about a ticket to one account, or to the review queue (`user_id` None)."""

    ticket_id: int
    template: str
    user_id: int | None
    context: dict[str, Any] = field(default_factory=dict)
    event_id: int | None = None


def ticket_notices(*, session: Session, notices: Sequence[TicketNotice]) -> list[int]:
    """Record many ticket emails in one insert (a reminder run tells hundreds of people) and
    ask for each one's delivery after commit; an account without an address gets none. Their
    ids. The context holds ids and codes only: the email is rendered at delivery."""
    found = dict(_users(session, [notice.user_id for notice in notices]))
    address_of = {user_id: address for address, user_id in found.items()}
    mailbox, _ = _staff_mailbox()
    now = utcnow()
    rows = []
    for notice in notices:
        address = mailbox if notice.user_id is None else address_of.get(notice.user_id)
        if address is None:
            continue
        rows.append(
            {
                "ticket_id": notice.ticket_id,
                "event_id": notice.event_id,
                "template": notice.template,
                "recipient": address,
                "recipient_user_id": notice.user_id,
                "context": {"ticket_id": notice.ticket_id, **notice.context},
                "status": EmailStatus.PENDING,
                "attempts": 0,
                "created_at": now,
            }
        )
    email_ids = insert_rows(session, Email.__table__, rows, returning_ids=True)
    for email_id in email_ids:
        send_email.after_commit(session, email_id)
    return email_ids


def _staff_mailbox() -> Recipient:
    return (current_app.config["STAFF_NOTIFICATION_ADDRESS"], None)


def _users(session: Session, user_ids: Iterable[int | None]) -> list[Recipient]:
    """The addresses of these accounts, skipping purged ones; in the order given."""
    wanted = [uid for uid in dict.fromkeys(user_ids) if uid is not None]
    if not wanted:
        return []
    found = dict(
        session.execute(
            select(User.id, User.email).where(
                column_in(session, User.id, wanted),
                User.status != UserStatus.ARCHIVED,
                User.email.is_not(None),
            )
        )
        .tuples()
        .all()
    )
    return [(str(found[uid]), uid) for uid in wanted if uid in found]


def _to_requester(
    session: Session, ticket: Ticket, event: TicketEvent, template: str, **context: Any
) -> None:
    _record(session, ticket, event, template, _users(session, [ticket.requester_id]), **context)


def _record(
    session: Session,
    ticket: Ticket,
    event: TicketEvent,
    template: str,
    recipients: Iterable[Recipient],
    *,
    with_user_id: bool = False,
    **context: Any,
) -> list[int]:
    """One email per distinct address, all in one insert (an implemented batch can tell
    hundreds of role holders); the event's email job delivers them after commit. Their ids."""
    session.flush()
    now = utcnow()
    rows = []
    seen: set[str] = set()
    for address, user_id in recipients:
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        own = {"user_id": user_id} if with_user_id else {}
        rows.append(
            {
                "ticket_id": ticket.id,
                "event_id": event.id,
                "template": template,
                "recipient": address,
                "recipient_user_id": user_id,
                "context": {"ticket_id": ticket.id, **context, **own},
                "status": EmailStatus.PENDING,
                "attempts": 0,
                "created_at": now,
            }
        )
    email_ids = insert_rows(session, Email.__table__, rows, returning_ids=True)
    if email_ids:
        send_event_emails.after_commit(session, event.id)
    return email_ids
