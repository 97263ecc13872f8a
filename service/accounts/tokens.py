"""Single-use activation and password-reset tokens, stored only as their SHA-256 digest."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from service.accounts.models import AccountToken, TokenPurpose, User, UserStatus
from service.accounts.passwords import token_digest
from service.errors import Gone
from service.models_base import utcnow

# One answer for unknown, expired, used, voided and wrong-purpose tokens: a caller learns nothing
# about which links exist.
INVALID_TOKEN = "This link is not valid any more. Ask for a new one."

# Accounts a link may still act on; deactivated and purged accounts cannot be brought back by one.
_USABLE_ACCOUNTS = (UserStatus.INVITED, UserStatus.ACTIVE)


def issue(*, session: Session, user_id: int, purpose: TokenPurpose) -> str:
    """Create a token for the user, void the older unused ones of that purpose, return it plain."""
    now = utcnow()
    void_all(session=session, user_id=user_id, purpose=purpose)
    token = secrets.token_urlsafe(32)
    ttl = timedelta(seconds=current_app.config["ACTIVATION_TOKEN_TTL_SECONDS"])
    session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return token


def void_all(*, session: Session, user_id: int, purpose: TokenPurpose) -> int:
    """Void every unused token of the user and purpose; the number voided."""
    result = session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.voided_at.is_(None),
        )
        .values(voided_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return cast(CursorResult[Any], result).rowcount


def consume(*, session: Session, token: str, purpose: TokenPurpose) -> User:
    """Mark the token used and return its account; 410 `token_invalid` for any unusable token.

    The conditional UPDATE is the check: of two concurrent uses, the database lets one match.
    """
    now = utcnow()
    digest = token_digest(token)
    result = session.execute(
        update(AccountToken)
        .where(
            AccountToken.token_hash == digest,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.voided_at.is_(None),
            AccountToken.expires_at > now,
            AccountToken.user_id.in_(select(User.id).where(User.status.in_(_USABLE_ACCOUNTS))),
        )
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise Gone(INVALID_TOKEN, code="token_invalid")
    return session.scalars(
        select(User)
        .join(AccountToken, AccountToken.user_id == User.id)
        .where(AccountToken.token_hash == digest)
    ).one()
