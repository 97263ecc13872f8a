"""Applying an approved change request to the roster, all items in one transaction.

`apply` is called by the apply job with its own session and commits nothing itself: the job
commits on success, or rolls back and calls `record_failure` in a fresh transaction. A second
run finds the ticket no longer `approved` and does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.accounts.models import AccessToken, User, UserStatus
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.models_base import utcnow
from service.notifications import service as notify
from service.organizations.models import Delegation, Organization
from service.personal_data import purge_contact
from service.requests.models import ChangeRequestItem
from service.tickets.models import Ticket, TicketStatus
from service.tickets.workflow import transition
from service.validators import check
from service.validators.projection import clean
from service.validators.types import CONTACT_FIELDS


class ApplyFailed(Exception):
    """The batch cannot be applied as it stands; staff read `code` and `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Applied:
    ticket_id: int
    new_user_ids: list[int] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)


def apply(*, session: Session, ticket_id: int) -> Applied | None:
    """Apply the ticket's batch; None when there is nothing to do (not approved any more)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != TicketStatus.APPROVED:
        return None
    # The conditional update also takes the row lock on PostgreSQL: a second worker waits
    # here, then finds the ticket no longer approved.
    transition(session=session, ticket=ticket, action="start_apply", actor_id=None)
    org = session.get(Organization, ticket.organization_id)
    assert org is not None
    items = session.scalars(
        select(ChangeRequestItem)
        .where(ChangeRequestItem.change_request_id == ticket.change_request_id)
        .order_by(ChangeRequestItem.position)
    ).all()
    _recheck(session=session, org=org, items=items)

    applied = Applied(ticket_id=ticket.id)
    new_ids: dict[str, int] = {}
    for item in items:
        _apply_item(session, org, ticket, item, new_ids, applied)
    org.roster_version += 1
    session.flush()
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
    for user_id in applied.new_user_ids:
        user = session.get(User, user_id)
        if user is not None:
            notify.welcome(session=session, ticket=ticket, event=event, user=user)
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


def _recheck(*, session: Session, org: Organization, items: Any) -> None:
    """The batch against the roster as it is now: refuse rather than half-apply."""
    from service.requests.service import build_context

    ctx = build_context(session=session, org=org, changes=[dict(i.payload) for i in items])
    errors, _ = check(ctx)
    if errors:
        listed = "; ".join(f"{f.path}: {f.code}" for f in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise ApplyFailed(
            "validation_failed",
            f"The batch no longer fits the roster: {listed}{more}. Reject it, or retry once "
            "the roster allows it.",
        )


def _apply_item(
    session: Session,
    org: Organization,
    ticket: Ticket,
    item: ChangeRequestItem,
    new_ids: dict[str, int],
    applied: Applied,
) -> None:
    payload: Mapping[str, Any] = item.payload
    op = item.op
    if op == "add_contact":
        contact_id, user_id = _add_contact(session, org, payload)
        new_ids[payload["ref"]] = contact_id
        # The item now names the contact it created, so a later purge finds its data here too.
        item.contact_id = contact_id
        if user_id is not None:
            applied.new_user_ids.append(user_id)
        return
    if op in ("grant_delegate", "revoke_delegate"):
        _delegate(session, org, ticket, item)
        return
    contact_id = item.contact_id if item.contact_id is not None else new_ids[payload["ref"]]
    if item.contact_id is None:
        item.contact_id = contact_id
    contact = session.get(Contact, contact_id)
    assert contact is not None and contact.organization_id == org.id
    if op == "update_contact":
        _update_contact(session, contact, payload["fields"])
    elif op == "grant_role":
        session.add(ContactRole(contact_id=contact.id, role_code=payload["role"]))
    elif op == "revoke_role":
        session.execute(
            delete(ContactRole).where(
                ContactRole.contact_id == contact.id, ContactRole.role_code == payload["role"]
            )
        )
        session.expire(contact, ["roles"])
    elif op == "deactivate_contact":
        contact.status = ContactStatus.DEACTIVATED
        _set_account(session, contact.id, active=False)
    elif op == "reactivate_contact":
        contact.status = ContactStatus.ACTIVE
        _set_account(session, contact.id, active=True)
    elif op == "delete_contact":
        applied.receipts.append(purge_contact(session=session, contact_id=contact.id))
    session.flush()


def _add_contact(
    session: Session, org: Organization, payload: Mapping[str, Any]
) -> tuple[int, int | None]:
    details = {name: clean(payload["contact"].get(name)) for name in CONTACT_FIELDS}
    contact = Contact(organization_id=org.id, status=ContactStatus.ACTIVE, **details)
    contact.roles = [ContactRole(role_code=code) for code in dict.fromkeys(payload["roles"])]
    session.add(contact)
    session.flush()
    user = User(
        email=details["email"],
        status=UserStatus.INVITED,
        organization_id=org.id,
        contact_id=contact.id,
    )
    session.add(user)
    session.flush()
    return contact.id, user.id


def _update_contact(session: Session, contact: Contact, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        setattr(contact, name, clean(value))
    if "email" in fields:
        # The account signs in with the contact's email: they move together.
        session.execute(
            update(User)
            .where(User.contact_id == contact.id, User.status != UserStatus.ARCHIVED)
            .values(email=clean(fields["email"]))
        )


def _set_account(session: Session, contact_id: int, *, active: bool) -> None:
    """A deactivated contact's account cannot sign in; reactivation restores it."""
    user = session.scalar(select(User).where(User.contact_id == contact_id))
    if user is None or user.status == UserStatus.ARCHIVED:
        return
    if active:
        user.status = UserStatus.ACTIVE if user.password_hash else UserStatus.INVITED
        return
    user.status = UserStatus.DEACTIVATED
    session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _delegate(session: Session, org: Organization, ticket: Ticket, item: ChangeRequestItem) -> None:
    target = item.target_organization_id
    if target is None:
        raise ApplyFailed("unknown_organization", f"changes/{item.position}: no such organization.")
    if item.op == "grant_delegate":
        session.add(
            Delegation(
                organization_id=org.id,
                delegate_organization_id=target,
                granted_by_ticket_id=ticket.id,
            )
        )
    else:
        session.execute(
            update(Delegation)
            .where(
                Delegation.organization_id == org.id,
                Delegation.delegate_organization_id == target,
                Delegation.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow(), revoked_by_ticket_id=ticket.id)
        )
