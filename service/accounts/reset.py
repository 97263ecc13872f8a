"""Password reset by email: asking for a link never tells whether the email has an account.

An address without an account that is an active contact somewhere gets a claim link instead
(a contact added without an invitation claims the account this way), and so does an account
invited and never activated, unless its invitation was revoked. The requester's answer is the
same in every case (the route answers after the same time).
"""

from __future__ import annotations

from sqlalchemy import String, func, select, update
from sqlalchemy.orm import Session

from service.accounts.models import AccountToken, TokenPurpose, User, UserStatus
from service.contacts.models import Contact, ContactStatus
from service.fields import normalize_email
from service.notifications import service as notify


def request_reset(*, session: Session, email: str) -> None:
    """Record a reset email for an active account with this email, a claim email for a contact
    without a usable account, or nothing."""
    address = normalize_email(email).lower()
    user = session.scalar(
        select(User).where(
            func.lower(User.email, type_=String) == address, User.status != UserStatus.ARCHIVED
        )
    )
    if user is not None and user.status == UserStatus.ACTIVE:
        notify.account_email(session=session, user=user, template="password_reset")
        return
    if user is not None and (
        user.is_staff or user.status != UserStatus.INVITED or _invitation_revoked(session, user)
    ):
        return
    unclaimed = list(
        session.scalars(
            select(Contact)
            .where(
                func.lower(Contact.email, type_=String) == address,
                Contact.status == ContactStatus.ACTIVE,
                Contact.user_id.is_(None),
            )
            .order_by(Contact.id)
        )
    )
    if user is None:
        if not unclaimed:
            return
        user = User(
            email=unclaimed[0].email,
            status=UserStatus.INVITED,
            is_staff=False,
            organization_id=unclaimed[0].organization_id,
        )
        session.add(user)
        session.flush()
    if unclaimed:
        session.execute(
            update(Contact)
            .where(Contact.id.in_([c.id for c in unclaimed]))
            .values(user_id=user.id)
            .execution_options(synchronize_session=False)
        )
    notify.account_email(session=session, user=user, template="account_claim")


def _invitation_revoked(session: Session, user: User) -> bool:
    """Whether the account's newest activation link was voided without a newer one: an
    administrator revoked the invitation, and only they may invite the person again."""
    newest = session.scalars(
        select(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.ACTIVATION)
        .order_by(AccountToken.id.desc())
        .limit(1)
    ).first()
    return newest is not None and newest.voided_at is not None and newest.used_at is None
