"""Sign-in: tokens are issued for right credentials only, stored hashed, and expire."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from service.accounts.models import AccessToken, User
from service.models_base import utcnow
from tests.factories import PASSWORD


def _seed_admin(factory):
    org = factory.org("acme")
    factory.contact(org, "admin@acme.example", ["cust_admin"], account="active")
    return org


def test_right_credentials_return_a_token_and_its_expiry(factory, client):
    _seed_admin(factory)
    response = client.post(
        "/api/auth/token", json={"email": "admin@acme.example", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert len(body["token"]) >= 40
    assert body["expires_at"].endswith("Z")


def test_email_is_matched_case_insensitively(factory, client):
    _seed_admin(factory)
    response = client.post(
        "/api/auth/token", json={"email": "Admin@ACME.example", "password": PASSWORD}
    )
    assert response.status_code == 200


def test_unknown_email_and_wrong_password_get_the_same_401(factory, client):
    _seed_admin(factory)
    wrong = client.post(
        "/api/auth/token", json={"email": "admin@acme.example", "password": "nope-nope-nope"}
    )
    unknown = client.post(
        "/api/auth/token", json={"email": "ghost@acme.example", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["code"] == "invalid_credentials"


def test_invited_account_without_password_cannot_sign_in(factory, client):
    org = factory.org("acme")
    factory.contact(org, "new@acme.example", ["technical"], account="invited")
    response = client.post(
        "/api/auth/token", json={"email": "new@acme.example", "password": PASSWORD}
    )
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_credentials"


def test_token_is_stored_only_as_a_hash(factory, client):
    _seed_admin(factory)
    token = factory.token("admin@acme.example")
    stored = factory.all(select(AccessToken.token_hash))
    assert len(stored) == 1
    assert stored[0][0] != token and token not in stored[0][0]
    assert len(stored[0][0]) == 64


def test_password_is_hashed_with_argon2id(factory):
    _seed_admin(factory)
    password_hash = factory.scalar(select(User.password_hash))
    assert password_hash.startswith("$argon2id$")


def test_expired_token_is_refused(factory, client, app):
    _seed_admin(factory)
    headers = factory.headers("admin@acme.example")
    factory.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.get("/api/roles", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_token"


def test_missing_or_malformed_authorization_is_401_with_contract_body(factory, client):
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer not-a-token"},
    ):
        response = client.get("/api/roles", headers=headers)
        assert response.status_code == 401
        body = response.get_json()
        assert set(body) == {"code", "message", "errors"}
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_sign_in_refuses_unknown_fields_and_bad_json(factory, client):
    unknown = client.post(
        "/api/auth/token", json={"email": "a@b.example", "password": "x", "otp": "1"}
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == [
        {"path": "otp", "code": "unknown_field", "message": "Unknown field."}
    ]
    malformed = client.post("/api/auth/token", data="{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.get_json()["code"] == "malformed_json"


def test_me_describes_the_account(factory, client):
    _seed_admin(factory)
    body = client.get("/api/me", headers=factory.headers("admin@acme.example")).get_json()
    assert body == {
        "email": "admin@acme.example",
        "staff": False,
        "organization": "acme",
        "manages": ["acme"],
        "memberships": [
            {
                "organization": "acme",
                "contact_id": body["memberships"][0]["contact_id"],
                "roles": ["cust_admin"],
            }
        ],
    }
