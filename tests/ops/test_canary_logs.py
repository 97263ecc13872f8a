"""A whole story told with canary personal data, and not one canary in the logs.

A new contact with a name, email and phones nobody else has is searched for, requested, approved,
welcomed, activated, signed in (and mistyped), sent a reset link, commented about, and finally
deleted and purged, through the API and the pages, with its emails delivered by the jobs. Every
line the app logged meanwhile, in JSON and in text, is searched for each canary.
"""

from __future__ import annotations

import re

from tests.jobs import bodies, outbox, run_jobs
from tests.ops.support import captured_logs
from tests.tickets.support import REQUESTER, STAFF, STAFF2, raise_ticket
from tests.web.forms import sign_in

FIRST, LAST = "Zebulonia", "Quillfeatherby"
EMAIL = "zebulonia.quillfeatherby@acme.example"
PHONE, MOBILE = "+44 20 7946 0917", "+44 7700 900917"
CANARIES = (FIRST, LAST, EMAIL, "zebulonia", "quillfeatherby", "7946 0917", "900917")
PASSWORD = "a canary's own long passphrase"


def test_no_canary_reaches_the_logs_in_a_whole_story(app, client, factory):
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    with captured_logs() as as_json, captured_logs("text") as as_text:
        _tell_the_story(app, client, factory, admin, staff)
    for written in (as_json.text, as_text.text):
        assert "rolegate.request" in written and "rolegate.job" in written
        lowered = written.lower()
        found = [canary for canary in CANARIES if canary.lower() in lowered]
        assert found == [], f"personal data in the logs: {found}"


def _tell_the_story(app, client, factory, admin, staff) -> None:
    reference = raise_ticket(
        client,
        admin,
        [
            {
                "op": "add_contact",
                "ref": "canary",
                "contact": {
                    "salutation": "Ms",
                    "first_name": FIRST,
                    "last_name": LAST,
                    "email": EMAIL,
                    "phone": PHONE,
                    "mobile": MOBILE,
                },
                "roles": ["technical"],
            }
        ],
        comment=f"Please add {FIRST} {LAST} ({EMAIL}, {PHONE}).",
    )
    # Searches and a question about the person, by staff and by the requester.
    client.get(f"/api/tickets?q={LAST}", headers=staff)
    client.get(f"/api/orgs/acme/contacts?q={FIRST}", headers=admin)
    client.post(
        f"/api/tickets/{reference}/comments",
        headers=staff,
        json={"body": f"Is {EMAIL} right for {FIRST}?", "query": True},
    )
    client.post(f"/api/tickets/{reference}/comments", headers=admin, json={"body": f"Yes, {PHONE}"})
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    run_jobs(app)

    # The welcome email's link, the account, a mistyped password, a reset request, the pages.
    (welcome,) = [message for message in outbox(app) if message["To"] == EMAIL]
    token = re.search(r"/activate/([A-Za-z0-9_-]{43,})", bodies(welcome)).group(1)
    assert client.get(f"/activate/{token}").status_code == 200
    activated = client.post("/api/activate", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 200
    wrong = client.post("/api/auth/token", json={"email": EMAIL, "password": "wrong"})
    assert wrong.status_code == 401
    right = client.post("/api/auth/token", json={"email": EMAIL, "password": PASSWORD})
    assert right.status_code == 200
    assert client.post("/api/password-reset", json={"email": EMAIL}).status_code == 202
    assert sign_in(client, EMAIL, "not the password").status_code == 401
    assert sign_in(client, EMAIL, PASSWORD).status_code == 302
    client.get("/tickets?q=" + LAST)
    client.get("/logout")
    run_jobs(app)

    # Deleted and purged: a contact who may not manage contacts needs one approval.
    contact_id = next(
        contact["id"]
        for contact in client.get("/api/orgs/acme/contacts", headers=admin).get_json()["contacts"]
        if contact["email"] == EMAIL
    )
    second = raise_ticket(client, admin, [{"op": "delete_contact", "contact_id": contact_id}])
    approved = client.post(f"/api/tickets/{second}/approve", headers=staff)
    if approved.status_code == 200:  # four eyes
        client.post(f"/api/tickets/{second}/approve", headers=factory.headers(STAFF2))
    run_jobs(app)
    ticket = client.get(f"/api/tickets/{second}", headers=staff).get_json()
    assert ticket["status"] == "implemented"
