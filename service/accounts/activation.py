"""Setting a password through an emailed link: activating a new account, or resetting one."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.accounts import sessions, tokens
from service.accounts.models import TokenPurpose, User, UserStatus
from service.accounts.passwords import hash_password, password_problems
from service.errors import ErrorDetail, Unprocessable


class WeakPassword(Unprocessable):
    code = "weak_password"
    message = "Choose a stronger password."


def check_password(password: str, *, email: str | None = None) -> None:
    """422 `weak_password` listing every reason, or nothing."""
    problems = password_problems(password, email=email)
    if problems:
        raise WeakPassword(errors=[ErrorDetail("password", "weak_password", p) for p in problems])


def set_password(*, session: Session, token: str, password: str, purpose: TokenPurpose) -> User:
    """Use the link's token and set the password; every session of the user is revoked.

    Runs in the caller's transaction: a refused password rolls back the use of the token, so
    the link still works for a better password.
    """
    check_password(password)
    user = tokens.consume(session=session, token=token, purpose=purpose)
    check_password(password, email=user.email)
    user.password_hash = hash_password(password)
    user.status = UserStatus.ACTIVE
    sessions.revoke_all(session=session, user_ids=[user.id])
    session.flush()
    return user
