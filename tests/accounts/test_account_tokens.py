"""Activation and reset tokens: hashed at rest, one hour, single use, newest voids the older."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from service.accounts import tokens
from service.accounts.models import AccountToken, TokenPurpose, User, UserStatus
from service.accounts.passwords import token_digest
from service.contacts.models import Contact
from service.errors import Gone
from service.extensions import db
from service.models_base import utcnow

ACTIVATION = TokenPurpose.ACTIVATION
RESET = TokenPurpose.PASSWORD_RESET


@pytest.fixture
def user_id(factory):
    org_id = factory.org("acme")
    contact_id = factory.contact(org_id, "ivy@acme.example", ["management"], account="invited")
    return factory.scalar(select(Contact.user_id).where(Contact.id == contact_id))


def issue(app, user_id, purpose=ACTIVATION):
    with app.app_context():
        token = tokens.issue(session=db.session, user_id=user_id, purpose=purpose)
        db.session.commit()
        return token


def consume(app, token, purpose=ACTIVATION):
    with app.app_context():
        user = tokens.consume(session=db.session, token=token, purpose=purpose)
        db.session.commit()
        return user.id


def assert_gone(app, token, purpose=ACTIVATION):
    with pytest.raises(Gone) as caught:
        consume(app, token, purpose)
    assert caught.value.code == "token_invalid"
    assert caught.value.message == tokens.INVALID_TOKEN
    return caught.value


def test_issue_stores_only_the_digest_and_expires_after_the_configured_hour(app, factory, user_id):
    before = utcnow()
    token = issue(app, user_id)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    row = factory.scalar(select(AccountToken))
    assert row.token_hash == token_digest(token)
    assert token not in {row.token_hash, str(row.id)}
    ttl = timedelta(seconds=app.config["ACTIVATION_TOKEN_TTL_SECONDS"])
    assert before + ttl <= row.expires_at <= utcnow() + ttl
    assert row.purpose == ACTIVATION
    assert row.used_at is None and row.voided_at is None


def test_consume_returns_the_account_once_and_refuses_a_second_use(app, factory, user_id):
    token = issue(app, user_id)
    assert consume(app, token) == user_id
    assert factory.scalar(select(AccountToken.used_at)) is not None
    assert_gone(app, token)


def test_a_new_token_voids_the_older_unused_ones_of_the_same_purpose(app, factory, user_id):
    first = issue(app, user_id)
    reset = issue(app, user_id, RESET)
    second = issue(app, user_id)
    assert_gone(app, first)
    assert consume(app, second) == user_id
    assert consume(app, reset, RESET) == user_id


def test_void_all_counts_the_unused_tokens_it_voids(app, user_id):
    issue(app, user_id)
    used = issue(app, user_id, RESET)
    consume(app, used, RESET)
    issue(app, user_id, RESET)
    with app.app_context():
        assert tokens.void_all(session=db.session, user_id=user_id, purpose=RESET) == 1
        assert tokens.void_all(session=db.session, user_id=user_id, purpose=RESET) == 0
        db.session.commit()


@pytest.mark.parametrize("case", ["expired", "wrong_purpose", "unknown", "empty", "voided"])
def test_every_unusable_token_gets_the_same_gone_answer(app, user_id, case):
    token = issue(app, user_id)
    purpose = ACTIVATION
    with app.app_context():
        if case == "expired":
            db.session.execute(
                update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1))
            )
        elif case == "voided":
            tokens.void_all(session=db.session, user_id=user_id, purpose=ACTIVATION)
        db.session.commit()
    if case == "wrong_purpose":
        purpose = RESET
    elif case == "unknown":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "empty":
        token = ""
    error = assert_gone(app, token, purpose)
    assert error.status == 410


@pytest.mark.parametrize("status", [UserStatus.DEACTIVATED, UserStatus.ARCHIVED])
def test_a_token_of_a_deactivated_or_purged_account_is_refused(app, user_id, status):
    token = issue(app, user_id)
    with app.app_context():
        db.session.execute(update(User).where(User.id == user_id).values(status=status))
        db.session.commit()
    assert_gone(app, token)


def test_a_refused_token_stays_unused(app, factory, user_id):
    token = issue(app, user_id)
    assert_gone(app, token, RESET)
    assert factory.scalar(select(AccountToken.used_at)) is None
    assert consume(app, token) == user_id


@pytest.mark.postgres_only
def test_two_concurrent_uses_of_one_token_give_exactly_one_success(app, user_id):
    token = issue(app, user_id)
    outcomes: list[str] = []
    started = threading.Event()

    def second_use() -> None:
        with app.app_context():
            started.set()
            try:
                tokens.consume(session=db.session, token=token, purpose=ACTIVATION)
                db.session.commit()
                outcomes.append("used")
            except Gone:
                db.session.rollback()
                outcomes.append("gone")

    with app.app_context():
        # The first use holds the row lock; the second waits on it, then finds the row used.
        assert tokens.consume(session=db.session, token=token, purpose=ACTIVATION).id == user_id
        thread = threading.Thread(target=second_use)
        thread.start()
        started.wait(5)
        thread.join(0.5)
        assert thread.is_alive(), "the second use should wait for the first transaction"
        db.session.commit()
    thread.join(10)
    assert outcomes == ["gone"]
