"""The invitations page: an admin sees who has not activated yet, sends a new link or revokes."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.jobs import bodies, outbox, run_jobs
from tests.tickets.support import NO_MANAGE, OUTSIDER, REQUESTER, STAFF, raise_ticket
from tests.web.forms import csrf_token, sign_in

NEW = "nia.new@acme.example"
PASSPHRASE = "a fine long passphrase"


def links(app, address: str) -> list[str]:
    found: list[str] = []
    for message in outbox(app):
        if message["To"] == address:
            found += re.findall(r"/activate/([A-Za-z0-9_-]{43,})", bodies(message))
    return list(dict.fromkeys(found))


@pytest.fixture
def invited(app, client, factory) -> int:
    """Nia New was added by an implemented request: invited, her welcome link emailed."""
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    assert (
        client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF)).status_code
        == 202
    )
    run_jobs(app)
    roster = client.get("/api/orgs/acme/contacts", headers=factory.headers(REQUESTER)).get_json()
    return next(c["id"] for c in roster["contacts"] if c["email"] == NEW)


@pytest.fixture
def admin(app, invited) -> FlaskClient:
    browser = app.test_client()
    assert sign_in(browser, REQUESTER).status_code == 302
    return browser


def post(browser: FlaskClient, path: str, **fields: str):
    token = csrf_token(browser, "/orgs/acme/invitations")
    return browser.post(path, data={"csrf_token": token, **fields})


def test_the_contacts_page_leads_admins_to_the_pending_invitations(admin):
    assert 'href="/orgs/acme/invitations"' in admin.get("/orgs/acme/contacts").get_data(
        as_text=True
    )
    html = admin.get("/orgs/acme/invitations").get_data(as_text=True)
    row = html[html.index("Nia New") :]
    assert NEW in row and "Pending" in row[:600]
    assert "Send new link" in row and "Revoke" in row


def test_a_new_link_voids_the_older_ones(app, client, admin, invited):
    (first,) = links(app, NEW)
    response = post(admin, f"/orgs/acme/invitations/{invited}/resend")
    assert response.status_code == 302 and response.location == "/orgs/acme/invitations"
    run_jobs(app)
    page = admin.get("/orgs/acme/invitations").get_data(as_text=True)
    assert "A new activation link is on its way" in page
    newer = links(app, NEW)
    assert len(newer) == 2
    assert (
        client.post("/api/activate", json={"token": first, "password": PASSPHRASE}).status_code
        == 410
    )
    assert (
        client.post("/api/activate", json={"token": newer[-1], "password": PASSPHRASE}).status_code
        == 200
    )
    # Active now: no invitation left to send, and the page says why instead of failing; the
    # invitation is listed as accepted, with nothing to send or revoke.
    post(admin, f"/orgs/acme/invitations/{invited}/resend")
    page = admin.get("/orgs/acme/invitations").get_data(as_text=True)
    assert "only invited accounts have invitations" in page
    row = page[page.index("Nia New") :]
    assert ">Accepted</span>" in row[:800] and "Send new link" not in row


def test_revoking_asks_first_then_the_link_is_dead(app, client, admin, invited):
    (first,) = links(app, NEW)
    asked = post(admin, f"/orgs/acme/invitations/{invited}/revoke")
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "Revoke the invitation of Nia New?" in html and 'value="revoke"' in html
    assert "Pending" in admin.get("/orgs/acme/invitations").get_data(as_text=True)
    response = post(admin, f"/orgs/acme/invitations/{invited}/revoke", confirm="revoke")
    assert response.status_code == 302
    page = admin.get("/orgs/acme/invitations").get_data(as_text=True)
    assert "The invitation is revoked" in page
    assert "Revoked" in page[page.index("Nia New") :]
    assert (
        client.post("/api/activate", json={"token": first, "password": PASSPHRASE}).status_code
        == 410
    )


def test_only_the_organizations_admins_reach_the_invitations(app, invited):
    path = "/orgs/acme/invitations"
    stranger = app.test_client()
    assert stranger.get(path).status_code == 302  # to the sign-in page
    for email, status in [(NO_MANAGE, 403), (OUTSIDER, 404), (STAFF, 403)]:
        browser = app.test_client()
        sign_in(browser, email)
        assert browser.get(path).status_code == status, email
        assert post(browser, f"{path}/{invited}/resend").status_code == status, email
    admin = app.test_client()
    sign_in(admin, REQUESTER)
    assert post(admin, f"{path}/99999/resend").status_code == 404
    # Without the form's token nothing happens.
    assert admin.post(f"{path}/{invited}/revoke").status_code == 400
    assert "Pending" in admin.get(path).get_data(as_text=True)


def test_resending_from_the_page_is_limited_per_contact_too(app, admin, invited):
    answers = [post(admin, f"/orgs/acme/invitations/{invited}/resend") for _ in range(6)]
    assert [a.status_code for a in answers] == [302] * 5 + [429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 3600
    assert "Too many attempts" in answers[-1].get_data(as_text=True)
