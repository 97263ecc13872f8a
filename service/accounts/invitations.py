"""Invitations: the activation links of contacts whose accounts are not active yet."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
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
