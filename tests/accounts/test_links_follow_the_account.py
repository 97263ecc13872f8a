"""An emailed link dies with the address it was mailed to, and with the account's standing.

Every kind of link (an invitation's activation link, a password reset link) against every way
the account changes under it (its email corrected, its contact deactivated, deactivated and
reactivated, deleted): each link mailed before the change answers 410 `token_invalid`, through
the API and on its page, whatever the method. An account not yet activated whose address was
corrected gets a fresh link at the new address, and only that link works.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.organizations.models import Organization
from tests.jobs import bodies, outbox, run_jobs
from tests.tickets.support import REQUESTER, implement
from tests.web.forms import csrf_token

INVITED = "ivy.invited@acme.example"
ACTIVE = "otto.active@acme.example"
GOOD = "a long and unusual passphrase"
# link kind -> (page path, API endpoint that uses the token)
KINDS = {"activate": "/api/activate", "reset": "/api/password-reset/confirm"}


def links_to(app, address: str, kind: str) -> list[str]:
    """Every token of `kind` mailed to this address so far, oldest first."""
    found = []
    for message in outbox(app):
        if str(message["To"]).lower() == address.lower():
            found += re.findall(rf"/{kind}/([A-Za-z0-9_-]{{43,}})", bodies(message))
    return list(dict.fromkeys(found))  # each email carries its link in text and HTML


def assert_dead(app, kind: str, token: str) -> None:
    """The API, the page's GET and the page's POST all answer 410."""
    api = app.test_client().post(KINDS[kind], json={"token": token, "password": GOOD})
    assert api.status_code == 410, (kind, api.get_json())
    assert api.get_json()["code"] == "token_invalid"
    browser = app.test_client()
    page = browser.get(f"/{kind}/{token}")
    assert page.status_code == 410, kind
    assert "This link is not valid any more" in page.get_data(as_text=True)
    form = {"csrf_token": csrf_token(browser), "password": GOOD, "confirm": GOOD}
    assert browser.post(f"/{kind}/{token}", data=form).status_code == 410


@pytest.fixture
def mailed(app, client, factory):
    """An invited contact with its activation link, an active one with a reset link."""
    factory.demo()
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    invited = factory.contact(acme, INVITED, ["technical"], account="invited")
    active = factory.contact(acme, ACTIVE, ["technical"], account="active")
    admin = factory.headers(REQUESTER)
    resent = client.post(f"/api/orgs/acme/invitations/{invited}/resend", headers=admin)
    assert resent.status_code == 202
    assert client.post("/api/password-reset", json={"email": ACTIVE}).status_code == 202
    run_jobs(app)
    return {"invited": invited, "active": active}


CHANGES = {
    "email corrected": [
        [
            {
                "op": "update_contact",
                "contact_id": "invited",
                "fields": {"email": "ivy@new.example"},
            },
            {
                "op": "update_contact",
                "contact_id": "active",
                "fields": {"email": "otto@new.example"},
            },
        ]
    ],
    "deactivated": [
        [
            {"op": "deactivate_contact", "contact_id": "invited"},
            {"op": "deactivate_contact", "contact_id": "active"},
        ]
    ],
    "deactivated, then reactivated": [
        [
            {"op": "deactivate_contact", "contact_id": "invited"},
            {"op": "deactivate_contact", "contact_id": "active"},
        ],
        [
            {"op": "reactivate_contact", "contact_id": "invited"},
            {"op": "reactivate_contact", "contact_id": "active"},
        ],
    ],
    "deleted": [
        [
            {"op": "delete_contact", "contact_id": "invited"},
            {"op": "delete_contact", "contact_id": "active"},
        ]
    ],
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_link_mailed_before_the_change_answers_410_everywhere(
    app, client, factory, mailed, change
):
    before = {
        "activate": links_to(app, INVITED, "activate"),
        "reset": links_to(app, ACTIVE, "reset"),
    }
    assert before["activate"] and before["reset"], "both links were mailed"
    for batch in CHANGES[change]:
        changes = [{**item, "contact_id": mailed[item["contact_id"]]} for item in batch]
        implement(app, client, factory, changes)
    for kind, tokens in before.items():
        for token in tokens:
            assert_dead(app, kind, token)


def test_a_corrected_address_gets_a_fresh_link_and_only_it_works(app, client, factory, mailed):
    old_links = links_to(app, INVITED, "activate")
    implement(
        app,
        client,
        factory,
        [
            {
                "op": "update_contact",
                "contact_id": mailed["invited"],
                "fields": {"email": "ivy@new.example"},
            }
        ],
    )
    # Whatever reached the old address, before or after the change, is dead.
    assert links_to(app, INVITED, "activate") == old_links
    for token in old_links:
        assert_dead(app, "activate", token)
    (fresh,) = links_to(app, "ivy@new.example", "activate")
    assert app.test_client().get(f"/activate/{fresh}").status_code == 200
    used = client.post("/api/activate", json={"token": fresh, "password": GOOD})
    assert used.status_code == 200, used.get_json()
    assert used.get_json() == {"email": "ivy@new.example", "status": "active"}
    # An active account needs no link: its new address gets none.
    assert links_to(app, "otto@new.example", "reset") == []


def test_a_welcome_still_waiting_for_the_old_address_never_carries_a_working_link(
    app, client, factory
):
    """Recorded but not sent yet when the address changes (jobs wait in Redis on PostgreSQL)."""
    factory.demo()
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    invited = factory.contact(acme, INVITED, ["technical"], account="invited")
    admin = factory.headers(REQUESTER)
    assert (
        client.post(f"/api/orgs/acme/invitations/{invited}/resend", headers=admin).status_code
        == 202
    )
    implement(
        app,
        client,
        factory,
        [{"op": "update_contact", "contact_id": invited, "fields": {"email": "ivy@new.example"}}],
    )
    for token in links_to(app, INVITED, "activate"):
        assert_dead(app, "activate", token)
    (fresh,) = links_to(app, "ivy@new.example", "activate")
    assert client.post("/api/activate", json={"token": fresh, "password": GOOD}).status_code == 200
