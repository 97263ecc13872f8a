"""The pages over HTTP without a browser: sessions, activation links, escaping, filters, CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from service.accounts import tokens
from service.accounts.models import AccountToken, TokenPurpose, User, UserStatus
from service.extensions import db
from service.organizations.models import Organization
from tests.factories import PASSWORD
from tests.tickets.support import raise_ticket
from tests.web.browser import ADMIN, STAFF, STAFF2, emailed_link
from tests.web.forms import csrf_token, sign_in

NEW_PASSWORD = "quiet meadow bicycle 7"


@pytest.fixture
def demo(factory):
    factory.demo()


def test_a_page_sends_a_stranger_to_sign_in_and_back_afterwards(demo, browser_client):
    response = browser_client.get("/tickets?status=open")
    assert response.status_code == 302
    assert response.location == "/login?next=/tickets?status%3Dopen"

    response = sign_in(browser_client, STAFF, next_path="/tickets?status=open")
    assert response.status_code == 302
    assert response.location == "/tickets?status=open"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_sign_in_never_returns_to_another_site(demo, browser_client, target):
    response = sign_in(browser_client, ADMIN, next_path=target)
    assert response.status_code == 302
    assert response.location == "/"


def test_unknown_email_and_wrong_password_get_the_same_answer(demo, browser_client):
    wrong = sign_in(browser_client, ADMIN, "not the password")
    unknown = sign_in(browser_client, "nobody@acme.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "The email or password is not correct."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert browser_client.get("/tickets").status_code == 302


def test_start_page_depends_on_who_signs_in(demo, app):
    for email, start in [(STAFF, "/tickets"), (ADMIN, "/orgs/acme/contacts")]:
        client = app.test_client()
        sign_in(client, email)
        assert client.get("/").location == start


def test_deactivating_the_account_ends_its_session(demo, app, browser_client):
    sign_in(browser_client, ADMIN)
    assert browser_client.get("/tickets").status_code == 200
    with app.app_context():
        db.session.execute(
            update(User).where(User.email == ADMIN).values(status=UserStatus.DEACTIVATED)
        )
        db.session.commit()
    response = browser_client.get("/tickets")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_signing_out_takes_a_post_with_the_token(demo, browser_client):
    sign_in(browser_client, ADMIN)
    assert browser_client.get("/logout").status_code == 200
    assert browser_client.get("/tickets").status_code == 200
    token = csrf_token(browser_client, "/tickets")
    assert browser_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert browser_client.get("/tickets").status_code == 302


def test_the_api_stays_free_of_csrf_and_cookies(demo, browser_client):
    sign_in(browser_client, ADMIN)
    response = browser_client.post("/api/auth/token", json={"email": ADMIN, "password": PASSWORD})
    assert response.status_code == 200
    # A session cookie does not authenticate the bearer-token API.
    assert browser_client.get("/api/me").status_code == 401


def test_json_calls_without_a_session_answer_401_in_the_api_shape(demo, browser_client):
    token = csrf_token(browser_client)
    response = browser_client.post(
        "/web/orgs/acme/change-requests/validate",
        json={"base_version": 1, "changes": []},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 401
    assert response.get_json()["code"] == "session_expired"


def test_json_calls_refuse_a_badly_shaped_batch_with_every_path(demo, browser_client):
    sign_in(browser_client, ADMIN)
    token = csrf_token(browser_client, "/orgs/acme/contacts")
    response = browser_client.post(
        "/web/orgs/acme/change-requests/validate",
        json={"base_version": 1, "changes": [{"op": "add_contact", "ref": "n1"}]},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 422
    assert "changes/0/contact" in [error["path"] for error in response.get_json()["errors"]]


def _invite(app, factory) -> str:
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    factory.contact(acme, "ivy.invited@acme.example", ["technical"], account="invited")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "ivy.invited@acme.example"))
        token = tokens.issue(session=db.session, user_id=user_id, purpose=TokenPurpose.ACTIVATION)
        db.session.commit()
    return token


def _used(app) -> list[object]:
    with app.app_context():
        return list(db.session.scalars(select(AccountToken.used_at)))


def test_the_activation_link_is_used_only_by_a_post_with_an_acceptable_password(
    demo, app, factory, browser_client
):
    token = _invite(app, factory)
    page = browser_client.get(f"/activate/{token}")
    assert page.status_code == 200
    assert "Set your password" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert _used(app) == [None]

    form = {"csrf_token": csrf_token(browser_client, f"/activate/{token}")}
    weak = browser_client.post(
        f"/activate/{token}", data={**form, "password": "ivy.invited1", "confirm": "ivy.invited1"}
    )
    assert weak.status_code == 422
    assert "Do not use your email address in your password." in weak.get_data(as_text=True)
    assert _used(app) == [None]

    done = browser_client.post(
        f"/activate/{token}", data={**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert browser_client.get("/").location == "/orgs/acme/contacts"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ivy.invited@acme.example"))
        assert user is not None and user.status == UserStatus.ACTIVE

    # Signing in started a new session, with a new CSRF token.
    form = {"csrf_token": csrf_token(browser_client, f"/activate/{token}")}
    again = browser_client.post(
        f"/activate/{token}", data={**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert again.status_code == 410
    assert "This link is not valid any more" in again.get_data(as_text=True)


def test_a_password_reset_from_the_pages_sets_a_new_password(demo, app, browser_client):
    token = csrf_token(browser_client, "/password-reset")
    for email in (ADMIN, "nobody@acme.example"):
        answer = browser_client.post("/password-reset", data={"email": email, "csrf_token": token})
        assert answer.status_code == 200
        assert "Check your email" in answer.get_data(as_text=True)

    link = emailed_link(app, ADMIN, kind="reset")
    form = {"csrf_token": csrf_token(browser_client, link)}
    response = browser_client.post(
        link, data={**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    fresh = app.test_client()
    assert sign_in(fresh, ADMIN, NEW_PASSWORD).status_code == 302


def test_what_people_typed_is_escaped_on_every_page(app, factory, browser_client):
    factory.demo()
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    factory.contact(
        acme,
        "mallory@acme.example",
        ["technical"],
        first_name='<script>alert("x")</script>',
        last_name="<b>Bold</b>",
    )
    sign_in(browser_client, ADMIN)
    html = browser_client.get("/orgs/acme/contacts").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    assert "<b>Bold</b>" not in html


def test_pages_send_a_content_security_policy_without_inline_code(demo, browser_client):
    sign_in(browser_client, ADMIN)
    response = browser_client.get("/orgs/acme/contacts")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html


def test_the_queue_takes_the_api_filters_and_names_staff_by_id(app, factory, browser_client):
    factory.demo()
    reference = raise_ticket(factory.client, factory.headers(ADMIN))
    sign_in(browser_client, STAFF)
    with app.app_context():
        colleague = db.session.scalar(select(User.id).where(User.email == STAFF2))

    page = browser_client.get("/tickets?status=open&q=acme&sort=-created_at")
    assert page.status_code == 200
    assert reference in page.get_data(as_text=True)
    assert f'<option value="{colleague}"' in page.get_data(as_text=True)

    for query in ("assignee=me", f"assignee={colleague}", "status=implemented"):
        assert reference not in browser_client.get(f"/tickets?{query}").get_data(as_text=True)
    assert reference in browser_client.get("/tickets?status=unfinished").get_data(as_text=True)

    refused = browser_client.get("/tickets?status=bogus").get_data(as_text=True)
    assert "Some filters were not understood" in refused
    assert reference in refused
