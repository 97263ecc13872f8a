"""Invitations that tell the truth: pending (with time left), expired, revoked, accepted or never
sent; a link lifetime long enough for the next day, a reset link's kept short; a dead link said
so on its GET without using anything; "resend all expired"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from service.accounts import tokens
from service.accounts.models import AccountToken, TokenPurpose
from service.contacts.models import Contact
from service.extensions import db
from service.models_base import utcnow
from tests.factories import PASSWORD
from tests.web.forms import csrf_token, sign_in

ADMIN = "admin@acme.example"
PEOPLE = ("pending", "expired", "revoked", "accepted", "never")


@pytest.fixture
def invited(app, factory) -> dict[str, int]:
    """Five invited contacts of acme; four were sent a link, one never was."""
    org_id = factory.org("acme", name="Acme")
    factory.contact(org_id, ADMIN, ["cust_admin", "financial"], account="active")
    users = {}
    for name in PEOPLE:
        contact_id = factory.contact(
            org_id, f"{name}@acme.example", ["technical"], account="invited", last_name=name
        )
        users[name] = factory.scalar(select(Contact.user_id).where(Contact.id == contact_id))
    with app.app_context():
        for name in PEOPLE[:4]:
            users[f"{name}_token"] = tokens.issue(  # type: ignore[assignment]
                session=db.session, user_id=users[name], purpose=TokenPurpose.ACTIVATION
            )
        db.session.execute(
            update(AccountToken)
            .where(AccountToken.user_id == users["expired"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        tokens.void_all(
            session=db.session, user_id=users["revoked"], purpose=TokenPurpose.ACTIVATION
        )
        db.session.commit()
    answer = factory.client.post(
        "/api/activate",
        json={"token": users["accepted_token"], "password": "a fine long passphrase"},
    )
    assert answer.status_code == 200, answer.get_json()
    return users


def statuses(client, headers):
    answer = client.get("/api/orgs/acme/invitations", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return {item["email"].split("@")[0]: item for item in answer.get_json()["items"]}


def test_each_invitation_says_where_it_stands(client, factory, invited):
    items = statuses(client, factory.headers(ADMIN))
    assert {name: item["status"] for name, item in items.items()} == {
        "pending": "pending",
        "expired": "expired",
        "revoked": "revoked",
        "accepted": "accepted",
        "never": "never_sent",
    }
    assert items["accepted"]["accepted_at"] is not None
    assert items["never"]["sent_at"] is None


def test_an_invitation_link_lasts_72_hours_and_a_reset_link_one(app, factory, invited):
    with app.app_context():
        rows = {
            row.purpose: row.expires_at - row.created_at
            for row in db.session.scalars(
                select(AccountToken).where(AccountToken.user_id == invited["pending"])
            )
        }
        assert rows[TokenPurpose.ACTIVATION] == timedelta(hours=72)
        tokens.issue(
            session=db.session, user_id=invited["pending"], purpose=TokenPurpose.PASSWORD_RESET
        )
        db.session.commit()
        reset = db.session.scalar(
            select(AccountToken).where(AccountToken.purpose == TokenPurpose.PASSWORD_RESET)
        )
        assert reset.expires_at - reset.created_at == timedelta(hours=1)


@pytest.mark.parametrize("which", ["expired", "revoked", "accepted"])
def test_a_dead_link_says_so_on_the_get_and_shows_no_form(app, client, invited, which):
    page = client.get(f"/activate/{invited[f'{which}_token']}")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "This link is not valid any more" in html
    assert 'type="password"' not in html
    unknown = client.get("/activate/" + "x" * 43)
    assert unknown.status_code == 410


def test_opening_a_live_link_uses_nothing(app, client, invited):
    page = client.get(f"/activate/{invited['pending_token']}")
    assert page.status_code == 200 and 'type="password"' in page.get_data(as_text=True)
    with app.app_context():
        used = db.session.scalar(
            select(AccountToken.used_at).where(AccountToken.user_id == invited["pending"])
        )
    assert used is None


def test_resend_all_expired_sends_only_the_expired_ones(app, client, factory, invited):
    headers = factory.headers(ADMIN)
    answer = client.post("/api/orgs/acme/invitations/resend-expired", headers=headers)
    assert answer.status_code == 202 and answer.get_json() == {"resent": 1}
    items = statuses(client, headers)
    assert items["expired"]["status"] == "pending"
    assert items["revoked"]["status"] == "revoked"
    assert items["never"]["status"] == "never_sent"
    assert client.post("/api/orgs/acme/invitations/resend-expired").status_code == 401


def test_the_invitations_page_shows_each_state_and_resends_the_expired(app, factory, invited):
    browser = app.test_client()
    assert sign_in(browser, ADMIN, PASSWORD).status_code == 302
    html = browser.get("/orgs/acme/invitations").get_data(as_text=True)
    for label in ("Pending", "Expired", "Revoked", "Accepted", "Never sent"):
        assert f">{label}</span>" in html
    assert re.search(r"(71|72) h left|2 d 2[34] h left", html), "no time left shown"
    assert "for 72 hours" in html
    token = csrf_token(browser, "/orgs/acme/invitations")
    done = browser.post("/orgs/acme/invitations/resend-expired", data={"csrf_token": token})
    assert done.status_code == 302
    assert "1 new link on its way" in browser.get("/orgs/acme/invitations").get_data(as_text=True)
