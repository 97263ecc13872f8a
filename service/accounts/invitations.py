"""Invitations: the activation links of contacts whose accounts are not active yet."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.accounts import throttle, tokens
from service.accounts.models import AccountToken, TokenPurpose, User, UserStatus
from service.contacts.models import Contact, ContactStatus
from service.errors import Conflict, NotFound
from service.models_base import isoformat, utcnow
from service.notifications import service as notify
from service.notifications.models import Email, EmailStatus


def list_invitations(*, session: Session, org_id: int) -> list[dict[str, Any]]:
    """Every invited account of the organization with its newest link: pending or expired."""
    rows = session.execute(
        select(User.id, User.contact_id, User.email)
        .join(Contact, Contact.id == User.contact_id)
        .where(
            Contact.organization_id == org_id,
            Contact.status == ContactStatus.ACTIVE,
            User.status == UserStatus.INVITED,
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
    now = utcnow()
    items = []
    for user_id, contact_id, email in rows:
        token = newest.get(user_id)
        usable = token is not None and token.used_at is None and token.voided_at is None
        pending = (usable and token is not None and token.expires_at > now) or user_id in queued
        items.append(
            {
                "contact_id": contact_id,
                "email": email,
                "sent_at": isoformat(token.created_at) if token else None,
                "expires_at": isoformat(token.expires_at) if token else None,
                "status": "pending" if pending else "expired",
            }
        )
    return items


def _invited_user(*, session: Session, org_id: int, contact_id: int) -> User:
    user = session.scalar(
        select(User)
        .join(Contact, Contact.id == User.contact_id)
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
