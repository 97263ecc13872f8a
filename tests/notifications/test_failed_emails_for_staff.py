"""Emails given up on are counted and shown to staff: `GET /api/emails` and the `/emails` page."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from service.extensions import db
from service.notifications.models import Email, EmailStatus
from service.tickets.models import Ticket
from tests.tickets.support import REQUESTER, STAFF, raise_ticket
from tests.web.forms import sign_in


@pytest.fixture
def given_up(app, client, factory) -> dict[str, object]:
    """A raised ticket whose first email was given up on after its last attempt."""
    factory.demo()
    reference = raise_ticket(client, factory.headers(REQUESTER))
    with app.app_context():
        first = db.session.scalar(select(Email.id).order_by(Email.id))
        db.session.execute(
            update(Email)
            .where(Email.id == first)
            .values(
                status=EmailStatus.FAILED,
                attempts=8,
                last_error="gave up after 8 attempts: ConnectionRefusedError",
            )
        )
        db.session.commit()
    return {"reference": reference, "email_id": first}


def test_staff_list_the_emails_given_up_on_with_their_ticket_and_last_error(
    client, factory, given_up
):
    response = client.get("/api/emails", headers=factory.headers(STAFF))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == 1 and body["page"] == 1
    (item,) = body["items"]
    assert item["id"] == given_up["email_id"]
    assert item["ticket"] == given_up["reference"]
    assert item["status"] == "failed" and item["attempts"] == 8
    assert item["last_error"] == "gave up after 8 attempts: ConnectionRefusedError"
    assert "@" in item["recipient"]
    others = client.get("/api/emails?status=pending", headers=factory.headers(STAFF)).get_json()
    assert given_up["email_id"] not in {e["id"] for e in others["items"]}


def test_only_staff_see_the_emails(client, factory, given_up):
    assert client.get("/api/emails").status_code == 401
    refused = client.get("/api/emails", headers=factory.headers(REQUESTER))
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "forbidden"
    bad = client.get("/api/emails?status=lost", headers=factory.headers(STAFF))
    assert bad.status_code == 422


def test_the_staff_queue_counts_them_and_links_to_the_list(app, given_up):
    browser = app.test_client()
    assert sign_in(browser, STAFF).status_code == 302
    queue = browser.get("/tickets").get_data(as_text=True)
    assert "1 email could not be delivered" in queue
    listing = browser.get("/emails")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert given_up["reference"] in page
    assert "ConnectionRefusedError" in page


def test_a_customer_gets_no_list_of_emails(app, given_up):
    browser = app.test_client()
    assert sign_in(browser, REQUESTER).status_code == 302
    assert "could not be delivered" not in browser.get("/tickets").get_data(as_text=True)
    assert browser.get("/emails").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Ticket.id)) is not None
