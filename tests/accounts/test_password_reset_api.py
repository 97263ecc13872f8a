"""Password reset and sign-in limits: nothing leaks about which emails exist."""

from __future__ import annotations

import re
import time

import pytest

from tests.factories import PASSWORD
from tests.jobs import bodies, outbox
from tests.tickets.support import REQUESTER

NEW_PASSWORD = "an entirely new passphrase"


@pytest.fixture
def fast_reset(app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_RESET_ANSWER_SECONDS", 0.2)


def reset(client, email):
    started = time.monotonic()
    response = client.post("/api/password-reset", json={"email": email})
    return response, time.monotonic() - started


def reset_token(app, address):
    for message in reversed(outbox(app)):
        if message["To"] == address:
            match = re.search(r"/reset/([A-Za-z0-9_-]{43,})", bodies(message))
            if match:
                return match.group(1)
    return None


def test_known_and_unknown_emails_get_the_same_answer_after_the_same_floor(
    app, client, factory, fast_reset
):
    factory.demo()
    known, known_took = reset(client, REQUESTER)
    unknown, unknown_took = reset(client, "nobody@nowhere.example")
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    assert min(known_took, unknown_took) >= 0.2
    assert reset_token(app, REQUESTER) is not None
    assert all(m["To"] != "nobody@nowhere.example" for m in outbox(app))


def test_the_link_sets_a_new_password_once_and_ends_every_bearer_token(
    app, client, factory, fast_reset
):
    factory.demo()
    old_token = factory.headers(REQUESTER)
    reset(client, REQUESTER)
    token = reset_token(app, REQUESTER)
    weak = client.post("/api/password-reset/confirm", json={"token": token, "password": "x"})
    assert weak.status_code == 422
    done = client.post(
        "/api/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200
    assert client.get("/api/me", headers=old_token).status_code == 401
    assert (
        client.post(
            "/api/auth/token", json={"email": REQUESTER, "password": NEW_PASSWORD}
        ).status_code
        == 200
    )
    assert (
        client.post("/api/auth/token", json={"email": REQUESTER, "password": PASSWORD}).status_code
        == 401
    )
    again = client.post(
        "/api/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD + "!"}
    )
    assert again.status_code == 410
    assert again.get_json()["code"] == "token_invalid"


def test_reset_requests_are_limited_per_account_with_a_clear_429(client, factory, fast_reset):
    factory.demo()
    statuses = [reset(client, "someone@acme.example")[0].status_code for _ in range(6)]
    assert statuses == [202] * 5 + [429]
    limited = client.post("/api/password-reset", json={"email": "someone@acme.example"})
    assert limited.get_json()["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert reset(client, "other@acme.example")[0].status_code == 202
