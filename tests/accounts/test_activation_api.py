"""`POST /api/activate`: a new contact sets a password with the link from its welcome email."""

from __future__ import annotations

import re

import pytest

from tests.jobs import bodies, outbox
from tests.tickets.support import REQUESTER, STAFF, raise_ticket

NEW = "nia.new@acme.example"
GOOD = "a long and unusual passphrase"


@pytest.fixture
def link_token(app, client, factory):
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    (welcome,) = [m for m in outbox(app) if m["To"] == NEW]
    match = re.search(r"/activate/([A-Za-z0-9_-]{43,})", bodies(welcome))
    assert match, "the welcome email carries an activation link"
    return match.group(1)


def activate(client, token, password):
    return client.post("/api/activate", json={"token": token, "password": password})


def test_the_emailed_link_activates_the_account_once(client, link_token):
    response = activate(client, link_token, GOOD)
    assert response.status_code == 200
    assert response.get_json() == {"email": NEW, "status": "active"}
    signed_in = client.post("/api/auth/token", json={"email": NEW, "password": GOOD})
    assert signed_in.status_code == 200
    again = activate(client, link_token, GOOD + "!")
    assert again.status_code == 410
    assert again.get_json()["code"] == "token_invalid"


def test_a_weak_password_is_refused_with_every_reason_and_keeps_the_link_usable(client, link_token):
    response = activate(client, link_token, "short")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "weak_password"
    assert {e["path"] for e in body["errors"]} == {"password"}
    assert len(body["errors"]) >= 1
    assert activate(client, link_token, "nia.new is my password").status_code == 422
    assert activate(client, link_token, GOOD).status_code == 200


def test_an_unknown_token_is_410_and_a_malformed_body_is_422(client, factory):
    assert activate(client, "x" * 43, GOOD).status_code == 410
    response = client.post("/api/activate", json={"token": "x"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["path"] == "password"
