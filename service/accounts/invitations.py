"""Invitations: the activation links of contacts whose accounts are not active yet, and giving
a contact without an account one (directly, as a resend is; a batch does it with
`invite_contact`)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, String, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from service.accounts import throttle, tokens
from service.accounts.models import AccountToken, TokenPurpose, User, UserStatus
from service.contacts.models import Contact, ContactStatus
from service.errors import Conflict, NotFound
from service.models_base import isoformat, utcnow
from service.notifications import service as notify
from service.notifications.models import Email, EmailStatus


class InvitationStatus(enum.StrEnum):
    """Where an invitation stands (docs/api.md)."""

    PENDING = "pending"  # its newest link works (or its welcome email is on its way)
    EXPIRED = "expired"  # its newest link ran out of time unused
    REVOKED = "revoked"  # its links were voided and no new one was sent
    ACCEPTED = "accepted"  # the account was activated
    NEVER_SENT = "never_sent"  # no link was ever made, and none is on its way


# Accepted invitations stay listed this long after their activation, then leave the page.
ACCEPTED_LISTED_FOR = timedelta(days=7)


def list_invitations(*, session: Session, org_id: int) -> list[dict[str, Any]]:
    """The organization's invitations: every invited account with its newest link, and those
    accepted in the last days. Three statements whatever their number."""
    now = utcnow()
    recently_accepted = (
        select(AccountToken.id)
        .where(
            AccountToken.user_id == User.id,
            AccountToken.purpose == TokenPurpose.ACTIVATION,
            AccountToken.used_at > now - ACCEPTED_LISTED_FOR,
        )
        .exists()
    )
    rows = session.execute(
        select(User.id, Contact.id, User.email, User.status)
        .join(Contact, Contact.user_id == User.id)
        .where(
            Contact.organization_id == org_id,
            Contact.status == ContactStatus.ACTIVE,
            or_(
                User.status == UserStatus.INVITED,
                and_(User.status == UserStatus.ACTIVE, recently_accepted),
            ),
        )
        .order_by(User.id)
    ).all()
    user_ids = [row[0] for row in rows]
    newest = _newest_links(session, user_ids)
    queued = set(
        session.scalars(
            select(Email.recipient_user_id).where(
                Email.recipient_user_id.in_(user_ids),
                Email.template == "welcome",
                Email.status == EmailStatus.PENDING,
            )
        )
    )
    items = []
    for user_id, contact_id, email, account_status in rows:
        token = newest.get(user_id)
        status = _status(token, account_status, queued=user_id in queued, now=now)
        items.append(
            {
                "contact_id": contact_id,
                "email": email,
                "sent_at": isoformat(token.created_at) if token else None,
                "expires_at": isoformat(token.expires_at) if token else None,
                "accepted_at": isoformat(token.used_at) if token and token.used_at else None,
                "status": status.value,
            }
        )
    return items


def of_contacts(*, session: Session, contact_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Where the invitation of each of these contacts stands (invited accounts only), for the
    roster's rows: its status and when its link expires. Two statements."""
    rows = session.execute(
        select(User.id, Contact.id)
        .join(Contact, Contact.user_id == User.id)
        .where(Contact.id.in_(contact_ids), User.status == UserStatus.INVITED)
    ).all()
    if not rows:
        return {}
    user_ids = [user_id for user_id, _ in rows]
    newest = _newest_links(session, user_ids)
    now = utcnow()
    found = {}
    for user_id, contact_id in rows:
        token = newest.get(user_id)
        status = _status(token, UserStatus.INVITED, queued=False, now=now)
        found[contact_id] = {
            "status": status.value,
            "expires_at": isoformat(token.expires_at) if token else None,
        }
    return found


def _newest_links(session: Session, user_ids: list[int]) -> dict[int, AccountToken]:
    """Each account's newest activation link, of those that have one. One statement."""
    newest: dict[int, AccountToken] = {}
    for issued in session.scalars(
        select(AccountToken)
        .where(
            AccountToken.user_id.in_(user_ids),
            AccountToken.purpose == TokenPurpose.ACTIVATION,
        )
        .order_by(AccountToken.id)
    ):
        newest[issued.user_id] = issued
    return newest


def _status(
    token: AccountToken | None, account: UserStatus, *, queued: bool, now: datetime
) -> InvitationStatus:
    if account == UserStatus.ACTIVE:
        return InvitationStatus.ACCEPTED
    if queued:
        return InvitationStatus.PENDING
    if token is None:
        return InvitationStatus.NEVER_SENT
    if token.voided_at is not None or token.used_at is not None:
        return InvitationStatus.REVOKED
    if token.expires_at <= now:
        return InvitationStatus.EXPIRED
    return InvitationStatus.PENDING


def _invited_user(*, session: Session, org_id: int, contact_id: int) -> User:
    user = session.scalar(
        select(User)
        .join(Contact, Contact.user_id == User.id)
        .where(Contact.id == contact_id, Contact.organization_id == org_id)
    )
    if user is None or user.status == UserStatus.ARCHIVED:
        raise NotFound("No invitation for this contact.", code="invitation_not_found")
    if user.status != UserStatus.INVITED:
        raise Conflict(
            f"The contact's account is {user.status.value}; only invited accounts have "
            "invitations.",
            code="not_invited",
        )
    return user


def resend(*, session: Session, org_id: int, contact_id: int) -> None:
    """Void every older link now and send a new one; 429 past the contact's resend limit, so
    that no one floods a person's inbox with welcome emails."""
    user = _invited_user(session=session, org_id=org_id, contact_id=contact_id)
    throttle.limit_invitation_resend(contact_id)
    tokens.void_all(session=session, user_id=user.id, purpose=TokenPurpose.ACTIVATION)
    _cancel_queued_welcomes(session=session, user_id=user.id)
    notify.account_email(session=session, user=user, template="welcome")


def resend_expired(*, session: Session, org_id: int) -> int:
    """A new link to every invitation of the organization that expired unused; how many were
    sent. One whose contact was sent links too often lately is left for later."""
    expired = [
        item["contact_id"]
        for item in list_invitations(session=session, org_id=org_id)
        if item["status"] == InvitationStatus.EXPIRED
    ]
    sent = 0
    for contact_id in expired:
        try:
            resend(session=session, org_id=org_id, contact_id=contact_id)
        except throttle.TooManyRequests:
            continue
        sent += 1
    return sent


def without_account(*, session: Session, org_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """Active contacts of the organization that have no account yet, by name (at most `limit`):
    those added without an invitation, and those from before accounts existed."""
    rows = session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.email)
        .where(
            Contact.organization_id == org_id,
            Contact.status == ContactStatus.ACTIVE,
            Contact.user_id.is_(None),
        )
        .order_by(
            func.lower(func.coalesce(Contact.last_name, "")),
            func.lower(func.coalesce(Contact.first_name, "")),
            Contact.id,
        )
        .limit(limit)
    )
    return [
        {"contact_id": cid, "first_name": first, "last_name": last, "email": email}
        for cid, first, last, email in rows
    ]


def invite(*, session: Session, org_id: int, contact_id: int) -> None:
    """Give an active contact without an account its person's account and tell them: the
    welcome email with a link, or, when the address already has an active account elsewhere,
    the news that they were added. 404 for no such contact, 409 `not_invitable` for one that is
    not active, `account_exists` for one whose account is active (a resend is for invited
    ones); 429 past the contact's limit, as resends."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.organization_id != org_id:
        raise NotFound("No contact with this id belongs to this organization.", code="not_found")
    if contact.status != ContactStatus.ACTIVE:
        raise Conflict("Only an active contact can be invited.", code="not_invitable")
    if contact.user_id is not None:
        raise Conflict(
            "This contact already has an account; send its invitation again instead.",
            code="account_exists",
        )
    if not contact.email:
        raise Conflict("The contact has no email to invite.", code="not_invitable")
    throttle.limit_invitation_resend(contact_id)
    link_account(session=session, contact=contact, org_id=org_id)


def link_account(*, session: Session, contact: Contact, org_id: int) -> User | None:
    """Give a contact (active, with an email, without an account) its person's account and tell
    them: the welcome email with a link, or, when the address already has an active account,
    the news that they were added (they sign in as before). None, and nothing done, when the
    address is a staff account's: nobody's contact account."""
    assert contact.email is not None
    user = account_for(session=session, email=contact.email, org_id=org_id)
    if user is None:
        return None
    contact.user_id = user.id
    session.flush()
    if user.status == UserStatus.ACTIVE:
        notify.account_email(
            session=session, user=user, template="membership_added", organization_id=org_id
        )
        return user
    tokens.void_all(session=session, user_id=user.id, purpose=TokenPurpose.ACTIVATION)
    _cancel_queued_welcomes(session=session, user_id=user.id)
    notify.account_email(session=session, user=user, template="welcome", organization_id=org_id)
    return user


def account_for(*, session: Session, email: str, org_id: int) -> User | None:
    """The account of this address, made (invited) when there is none, brought back when it was
    deactivated; None when the address is a staff account's."""
    user = session.scalar(
        select(User).where(
            func.lower(User.email, type_=String) == email.lower(),
            User.status != UserStatus.ARCHIVED,
        )
    )
    if user is None:
        user = User(email=email, status=UserStatus.INVITED, is_staff=False, organization_id=org_id)
        session.add(user)
        session.flush()
    elif user.is_staff:
        return None
    elif user.status == UserStatus.DEACTIVATED:
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(
                status=case(
                    (User.password_hash.is_not(None), UserStatus.ACTIVE),
                    else_=UserStatus.INVITED,
                )
            )
            .execution_options(synchronize_session="fetch")
        )
    return user


def revoke(*, session: Session, org_id: int, contact_id: int) -> None:
    """Void every link of the invitation; nothing new is sent."""
    user = _invited_user(session=session, org_id=org_id, contact_id=contact_id)
    tokens.void_all(session=session, user_id=user.id, purpose=TokenPurpose.ACTIVATION)
    _cancel_queued_welcomes(session=session, user_id=user.id)


def _cancel_queued_welcomes(*, session: Session, user_id: int) -> None:
    """A welcome still waiting to be sent would make a fresh link: it must not go out."""
    session.execute(
        update(Email)
        .where(
            Email.recipient_user_id == user_id,
            Email.template == "welcome",
            Email.status == EmailStatus.PENDING,
        )
        .values(status=EmailStatus.FAILED, last_error="superseded or revoked invitation")
        .execution_options(synchronize_session=False)
    )


def expired_unnoticed(*, session: Session, limit: int = 500) -> list[int]:
    """Activation links that expired unused while their account still waits, whose
    organizations' admins were not told yet (oldest first, at most `limit` per sweep)."""
    return list(
        session.scalars(
            select(AccountToken.id)
            .join(User, User.id == AccountToken.user_id)
            .where(
                AccountToken.purpose == TokenPurpose.ACTIVATION,
                AccountToken.expiry_noticed_at.is_(None),
                AccountToken.used_at.is_(None),
                AccountToken.voided_at.is_(None),
                AccountToken.expires_at <= utcnow(),
                User.status == UserStatus.INVITED,
            )
            .order_by(AccountToken.id)
            .limit(limit)
        )
    )


def notice_expired(*, session: Session, token_id: int) -> int:
    """Mark the expired link noticed and record `invitation_expired` for the admins of each
    organization the invited person is an active contact of; how many emails. The conditional
    update is the once-only guard: a second run (or a concurrent one) finds it marked."""
    now = utcnow()
    marked = session.execute(
        update(AccountToken)
        .where(
            AccountToken.id == token_id,
            AccountToken.expiry_noticed_at.is_(None),
            AccountToken.used_at.is_(None),
            AccountToken.voided_at.is_(None),
            AccountToken.expires_at <= now,
        )
        .values(expiry_noticed_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], marked).rowcount != 1:
        return 0
    user_id = session.scalar(select(AccountToken.user_id).where(AccountToken.id == token_id))
    contacts = session.execute(
        select(Contact.id, Contact.organization_id)
        .join(User, User.id == Contact.user_id)
        .where(
            Contact.user_id == user_id,
            Contact.status == ContactStatus.ACTIVE,
            User.status == UserStatus.INVITED,
        )
        .order_by(Contact.id)
    ).all()
    recorded = 0
    for contact_id, org_id in contacts:
        recorded += notify.invitation_expired(session=session, org_id=org_id, contact_id=contact_id)
    return recorded
