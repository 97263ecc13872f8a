"""Single-use activation and password-reset tokens, stored only as their SHA-256 digest."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.orm import Session

from service.accounts.models import AccountToken, TokenPurpose, User, UserStatus
from service.accounts.passwords import token_digest
from service.errors import Gone
from service.models_base import utcnow
from service.sql import column_in, insert_rows, update_in

# One answer for unknown, expired, used, voided and wrong-purpose tokens: a caller learns nothing
# about which links exist.
INVALID_TOKEN = "This link is not valid any more. Ask for a new one."

# Accounts a link may still act on; deactivated and purged accounts cannot be brought back by one.
_USABLE_ACCOUNTS = (UserStatus.INVITED, UserStatus.ACTIVE)


def issue(*, session: Session, user_id: int, purpose: TokenPurpose) -> str:
    """Create a token for the user, void the older unused ones of that purpose, return it plain."""
    return issue_many(session=session, wanted=[(user_id, purpose)])[(user_id, purpose)]


def issue_many(
    *, session: Session, wanted: Iterable[tuple[int, TokenPurpose]]
) -> dict[tuple[int, TokenPurpose], str]:
    """`issue` for many (user, purpose) pairs at once: a statement per purpose voids the older
    tokens, one inserts the new ones. The plain token of each pair."""
    pairs = list(dict.fromkeys(wanted))
    if not pairs:
        return {}
    now = utcnow()
    for purpose in dict.fromkeys(purpose for _, purpose in pairs):
        session.execute(
            update(AccountToken)
            .where(
                column_in(session, AccountToken.user_id, [u for u, p in pairs if p == purpose]),
                AccountToken.purpose == purpose,
                AccountToken.used_at.is_(None),
                AccountToken.voided_at.is_(None),
            )
            .values(voided_at=now)
            .execution_options(synchronize_session=False)
        )
    plain = {pair: secrets.token_urlsafe(32) for pair in pairs}
    insert_rows(
        session,
        AccountToken.__table__,
        [
            {
                "user_id": user_id,
                "purpose": purpose,
                "token_hash": token_digest(plain[(user_id, purpose)]),
                "created_at": now,
                "expires_at": now + timedelta(seconds=lifetime(purpose)),
            }
            for user_id, purpose in pairs
        ],
    )
    return plain


def lifetime(purpose: TokenPurpose) -> int:
    """How many seconds a link of this purpose works: an invitation's is configurable
    (`ACTIVATION_TOKEN_TTL_SECONDS`), a password reset's is an hour."""
    if purpose == TokenPurpose.ACTIVATION:
        return int(current_app.config["ACTIVATION_TOKEN_TTL_SECONDS"])
    return int(current_app.config["PASSWORD_RESET_TOKEN_TTL_SECONDS"])


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


def void_every(*, session: Session, user_ids: Sequence[int]) -> None:
    """Void every unused link of these accounts, of every purpose: their address changed, or
    they may not act any more. One statement."""
    update_in(
        session,
        AccountToken.user_id,
        user_ids,
        AccountToken.used_at.is_(None),
        AccountToken.voided_at.is_(None),
        voided_at=utcnow(),
    )


def _usable(digest: str, purpose: TokenPurpose, now: datetime) -> list[ColumnElement[bool]]:
    """What makes a token usable: the one definition `is_usable` and `consume` share."""
    return [
        AccountToken.token_hash == digest,
        AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None),
        AccountToken.voided_at.is_(None),
        AccountToken.expires_at > now,
        AccountToken.user_id.in_(select(User.id).where(User.status.in_(_USABLE_ACCOUNTS))),
    ]


def is_usable(*, session: Session, token: str, purpose: TokenPurpose) -> bool:
    """Whether `consume` would accept the token now, without using it (a link's page)."""
    found = session.scalar(
        select(AccountToken.id).where(*_usable(token_digest(token), purpose, utcnow()))
    )
    return found is not None


def consume(*, session: Session, token: str, purpose: TokenPurpose) -> User:
    """Mark the token used and return its account; 410 `token_invalid` for any unusable token.

    The conditional UPDATE is the check: of two concurrent uses, the database lets one match.
    """
    now = utcnow()
    digest = token_digest(token)
    result = session.execute(
        update(AccountToken)
        .where(*_usable(digest, purpose, now))
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
