"""Password reset by email: asking for a link never tells whether the email has an account."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.models import User, UserStatus
from service.fields import normalize_email
from service.notifications import service as notify


def request_reset(*, session: Session, email: str) -> None:
    """Record a reset email for an active account with this email; otherwise do nothing."""
    user = session.scalar(
        select(User).where(
            func.lower(User.email) == normalize_email(email).lower(),
            User.status == UserStatus.ACTIVE,
        )
    )
    if user is not None:
        notify.account_email(session=session, user=user, template="password_reset")
