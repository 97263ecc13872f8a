"""A purge never breaks history: every ticket that mentions a purged contact still reads.

One contact goes through every kind of operation a batch has (added, updated, granted and
revoked a role, deactivated, reactivated, and, as the requester, granting and ending a
delegation, with a note and a comment), then is deleted and purged. Every one of those tickets
answers 200 in the API and on its page, with "former contact" in place of the person and
nothing of theirs left to read; so do the queue and its page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from service.vocabulary import Op
from tests.jobs import bodies, outbox
from tests.tickets.support import REQUESTER, STAFF, implement
from tests.web.forms import sign_in

EMAIL = "petra.purgeable@acme.example"
NEW_EMAIL = "petra.p@acme.example"
FIRST, LAST = "Petra", "Purgeable"
PASSWORD = "a long and unusual passphrase"
# What must not be readable anywhere once she is purged.
HERS = (FIRST, LAST, EMAIL, NEW_EMAIL, "7946 0123")


@pytest.fixture
def history(app, client, factory) -> dict[str, Any]:
    """Her tickets by what they did to or through her, once she is purged."""
    factory.demo()
    admin = factory.headers(REQUESTER)
    tickets: dict[str, str] = {}
    tickets[Op.ADD_CONTACT] = implement(
        app,
        client,
        factory,
        [
            {
                "op": "add_contact",
                "ref": "p1",
                "contact": {
                    "salutation": "Ms",
                    "first_name": FIRST,
                    "last_name": LAST,
                    "email": EMAIL,
                    "phone": "+44 20 7946 0123",
                },
                "roles": ["management", "technical"],
            },
            {"op": "grant_role", "ref": "p1", "role": "agreement"},
        ],
        headers=admin,
    )
    roster = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["contacts"]
    petra = next(c["id"] for c in roster if c["email"] == EMAIL)

    def on_her(op: str, **item: Any) -> None:
        tickets[op] = implement(
            app, client, factory, [{"op": op, "contact_id": petra, **item}], headers=admin
        )

    # Invited again before she activates: the newest welcome's link is the one that works.
    on_her(Op.INVITE_CONTACT)
    welcome = [m for m in outbox(app) if m["To"] == EMAIL][-1]
    token = re.search(r"/activate/([A-Za-z0-9_-]{43,})", bodies(welcome)).group(1)
    activated = client.post("/api/activate", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 200

    on_her(Op.UPDATE_CONTACT, fields={"job_title": "Head of Things", "email": NEW_EMAIL})
    on_her(Op.REVOKE_ROLE, role="agreement")
    on_her(Op.GRANT_ROLE, role="agreement")
    on_her(Op.DEACTIVATE_CONTACT)
    on_her(Op.REACTIVATE_CONTACT)
    hers = factory.headers(NEW_EMAIL, PASSWORD)
    for op in (Op.GRANT_DELEGATE, Op.REVOKE_DELEGATE):
        tickets[op] = implement(
            app,
            client,
            factory,
            [{"op": op, "organization": "buyco"}],
            headers=hers,
            comment="Our partner manages our contacts from now on.",
        )
        said = client.post(
            f"/api/tickets/{tickets[op]}/comments",
            json={"body": "Thanks, that was me."},
            headers=hers,
        )
        assert said.status_code == 201
    on_her(Op.DELETE_CONTACT)
    return {"tickets": tickets, "petra": petra}


def test_the_matrix_covers_every_operation(history):
    assert set(history["tickets"]) == set(Op)


def test_every_ticket_that_mentions_a_purged_contact_reads_in_the_api_and_on_its_page(
    app, client, factory, history
):
    staff = factory.headers(STAFF)
    admin = factory.headers(REQUESTER)
    page = app.test_client()
    sign_in(page, STAFF)
    for op, reference in history["tickets"].items():
        for headers in (staff, admin):
            response = client.get(f"/api/tickets/{reference}", headers=headers)
            assert response.status_code == 200, (op, response.get_json())
            detail = response.get_json()
            text = response.get_data(as_text=True)
            for value in HERS:
                assert value.lower() not in text.lower(), (op, value)
            hers = [line for line in detail["changes"] if line["contact_id"] == history["petra"]]
            assert all(line["contact"] == "former contact" for line in hers), (op, hers)
            assert all("former contact" in line["summary"] for line in hers), (op, hers)
            assert all("  " not in line["summary"] for line in detail["changes"]), op
            if op == Op.UPDATE_CONTACT:
                assert hers[0]["summary"] == "Change details of former contact"
            if op in (Op.GRANT_DELEGATE, Op.REVOKE_DELEGATE):
                assert detail["requester"] == "former contact"
                authors = {c["author"] for c in detail["comments"]}
                assert authors == {"former contact"}, op
            else:
                assert hers, op
        shown = page.get(f"/tickets/{reference}")
        assert shown.status_code == 200, op
        html = shown.get_data(as_text=True)
        assert "former contact" in html, op
        for value in HERS:
            assert value.lower() not in html.lower(), (op, value)
    queue = client.get("/api/tickets?per_page=100", headers=staff)
    assert queue.status_code == 200
    assert page.get("/tickets").status_code == 200
