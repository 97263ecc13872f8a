"""Sessions live on the server: signing out, sign out everywhere, a new password, deactivation and
a purge end them, even for a copy of the cookie or token taken before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service import config, create_app
from service.accounts.models import AccessToken, SessionKind
from service.contacts.models import Contact
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import OTHER_ADMIN, STAFF, STAFF2, raise_ticket
from tests.web.browser import ADMIN, emailed_link
from tests.web.forms import csrf_token, sign_in

NEW_PASSWORD = "quiet meadow bicycle 7"


@pytest.fixture
def demo(factory):
    factory.demo()


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding the same session cookie, as a thief's copy would."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return thief


def signed_in(app: Flask, email: str = ADMIN) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    assert client.get("/tickets").status_code == 200
    return client


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/tickets").status_code == 200


def test_a_cookie_copied_before_sign_out_stops_working_after_it(demo, app):
    browser = signed_in(app)
    thief = copy_of(app, browser)
    assert is_signed_in(thief)

    token = csrf_token(browser, "/tickets")
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302

    assert not is_signed_in(thief)
    assert not is_signed_in(browser)


def test_web_sessions_are_recorded_server_side_as_digests(demo, app, factory):
    browser = signed_in(app)
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    rows = factory.all(select(AccessToken.kind, AccessToken.token_hash, AccessToken.revoked_at))
    assert [(kind, revoked) for kind, _, revoked in rows] == [(SessionKind.WEB, None)]
    assert rows[0][1] not in cookie.value


def test_sign_out_everywhere_from_a_page_ends_every_session_and_token(demo, app, factory):
    laptop, phone = signed_in(app), signed_in(app)
    headers = factory.headers(ADMIN)
    other = signed_in(app, STAFF)

    token = csrf_token(laptop, "/logout")
    page = laptop.get("/logout").get_data(as_text=True)
    assert 'action="/logout/everywhere"' in page
    assert laptop.post("/logout/everywhere", data={"csrf_token": token}).status_code == 302

    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert factory.client.get("/api/me", headers=headers).status_code == 401
    assert is_signed_in(other), "only the caller's sessions end"


def test_sign_out_everywhere_over_the_api_ends_every_session_and_token(demo, app, factory):
    browser = signed_in(app)
    first, second = factory.headers(ADMIN), factory.headers(ADMIN)
    staff = factory.headers(STAFF)

    response = factory.client.post("/api/me/sign-out-everywhere", headers=first)
    assert response.status_code == 204
    assert response.get_data() == b""

    for headers in (first, second):
        assert factory.client.get("/api/me", headers=headers).status_code == 401
    assert not is_signed_in(browser)
    assert factory.client.get("/api/me", headers=staff).status_code == 200


def test_delete_auth_token_revokes_only_the_calling_token(demo, factory):
    first, second = factory.headers(ADMIN), factory.headers(ADMIN)

    response = factory.client.delete("/api/auth/token", headers=first)
    assert response.status_code == 204

    refused = factory.client.get("/api/me", headers=first)
    assert refused.status_code == 401
    assert refused.get_json()["code"] == "invalid_token"
    assert factory.client.get("/api/me", headers=second).status_code == 200
    assert factory.client.delete("/api/auth/token", headers=first).status_code == 401
    assert factory.client.delete("/api/auth/token").status_code == 401


def test_a_web_session_is_not_a_bearer_token(demo, app, factory):
    browser = signed_in(app)
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    secret = serializer.loads(cookie.value)["sid"]
    response = factory.client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_a_password_reset_ends_copied_sessions_and_tokens(demo, app, factory):
    browser = signed_in(app)
    thief = copy_of(app, browser)
    headers = factory.headers(ADMIN)

    factory.client.post("/api/password-reset", json={"email": ADMIN})
    link = emailed_link(app, ADMIN, kind="reset")
    resetter = app.test_client()
    form = {"csrf_token": csrf_token(resetter, link)}
    done = resetter.post(link, data={**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302

    assert not is_signed_in(thief)
    assert not is_signed_in(browser)
    assert factory.client.get("/api/me", headers=headers).status_code == 401
    assert is_signed_in(resetter), "the reset signs its own browser in afresh"


def _apply(app, factory, change: dict) -> None:
    reference = raise_ticket(factory.client, factory.headers(OTHER_ADMIN), [change])
    staff = factory.headers(STAFF)
    answer = factory.client.post(f"/api/tickets/{reference}/approve", headers=staff)
    if answer.status_code == 200:  # four eyes
        answer = factory.client.post(
            f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF2)
        )
    assert answer.status_code == 202, answer.get_json()
    run_jobs(app)


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(demo, app, factory):
    admin = factory.scalar(select(Contact.id).where(Contact.email == ADMIN))
    browser = signed_in(app)
    headers = factory.headers(ADMIN)

    _apply(app, factory, {"op": "deactivate_contact", "contact_id": admin})
    assert not is_signed_in(browser)
    _apply(app, factory, {"op": "reactivate_contact", "contact_id": admin})

    assert not is_signed_in(browser)
    assert factory.client.get("/api/me", headers=headers).status_code == 401
    assert sign_in(app.test_client(), ADMIN).status_code == 302, "a fresh sign-in works"


def test_deleting_a_contact_erases_its_sessions(demo, app, factory):
    frank = contact_ids(factory)["frank.fischer"]
    browser = signed_in(app, OTHER_ADMIN)
    factory.headers(OTHER_ADMIN)
    user_id = factory.scalar(select(Contact.user_id).where(Contact.id == frank))

    _apply(app, factory, {"op": "delete_contact", "contact_id": frank})

    assert not is_signed_in(browser)
    assert factory.all(select(AccessToken.id).where(AccessToken.user_id == user_id)) == []


def _set_cookie(response) -> dict[str, str]:
    (header,) = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    parts = [part.strip() for part in header.split(";")]
    attributes = {}
    for part in parts[1:]:
        name, _, value = part.partition("=")
        attributes[name.lower()] = value
    return attributes


def test_the_session_cookie_is_http_only_same_site_lax_and_lives_as_long_as_a_token(demo, app):
    response = sign_in(app.test_client(), ADMIN)
    cookie = _set_cookie(response)
    assert "httponly" in cookie
    assert cookie["samesite"] == "Lax"
    assert "secure" not in cookie, "BASE_URL is http in the suite"
    expires = parsedate_to_datetime(cookie["expires"])
    lifetime = timedelta(seconds=app.config["ACCESS_TOKEN_TTL_SECONDS"])
    assert abs(expires - (datetime.now(UTC) + lifetime)) < timedelta(minutes=1)


def test_the_session_cookie_is_secure_when_the_service_is_served_over_https(demo, app):
    https = create_app(
        config.TestConfig(app.instance_path),
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        BASE_URL="https://rolegate.test",
    )
    client = https.test_client()
    response = sign_in(client, ADMIN)
    assert response.status_code == 302
    assert "secure" in _set_cookie(response)
