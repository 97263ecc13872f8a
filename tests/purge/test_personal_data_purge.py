"""Deleting a contact erases its personal data from every table and from Redis."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import String, Text, inspect, select, text
from sqlalchemy.types import JSON

from harness.redis import dump_keys
from service.accounts.throttle import account_key
from service.extensions import db, redis_connection
from service.personal_data import NOT_PERSONAL, PERSONAL
from service.tickets.models import TicketComment
from tests.demo_ids import contact_ids
from tests.jobs import bodies, outbox, run_jobs
from tests.tickets.support import REQUESTER, STAFF, STAFF2, raise_ticket, update_contact

FRANK = "frank.fischer@acme.example"


def test_every_text_column_is_declared_personal_or_not_personal_exactly_once(app):
    undeclared, twice = [], []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            personal = column.name in PERSONAL.get(table.name, ())
            not_personal = column.name in NOT_PERSONAL.get(table.name, ())
            if personal and not_personal:
                twice.append(f"{table.name}.{column.name}")
            elif not (personal or not_personal):
                undeclared.append(f"{table.name}.{column.name}")
    assert undeclared == [], "declare these in service/personal_data.py"
    assert twice == []


def dump_everything(app) -> str:
    """Every row of every table, and every Redis key and value, as one text."""
    chunks = []
    with app.app_context():
        for name in inspect(db.engine).get_table_names():
            rows = db.session.execute(text(f"SELECT * FROM {name}")).all()
            chunks.extend(repr(tuple(row)) for row in rows)
        connection = redis_connection()
        if connection is not None:
            chunks.extend(dump_keys(connection))
    return "\n".join(chunks)


@pytest.fixture
def purged(app, client, factory):
    """Frank has an account, received emails, wrote a comment and was named in a batch."""
    factory.demo()
    ids = contact_ids(factory)
    # Failed sign-ins and a reset request leave rate-limit counters (keyed by a digest of the
    # email) to be erased.
    for _ in range(2):
        client.post("/api/auth/token", json={"email": FRANK, "password": "wrong password"})
    client.post("/api/password-reset", json={"email": FRANK})
    if app.config["REDIS_URL"]:
        assert frank_key(app) in dump_everything(app), "the counters are in Redis to be erased"
    frank = factory.headers(FRANK)
    staff = factory.headers(STAFF)
    first = raise_ticket(
        client,
        frank,
        [
            update_contact(
                ids["frank.fischer"],
                phone="+44 20 7946 0999",
                mobile="+44 7700 900999",
                alternate_email="frank.home@private.example",
            )
        ],
    )
    client.post(
        f"/api/tickets/{first}/comments", json={"body": "Please update my numbers."}, headers=frank
    )
    client.post(f"/api/tickets/{first}/approve", headers=staff)
    run_jobs(app)
    second = raise_ticket(
        client,
        factory.headers(REQUESTER),
        [{"op": "delete_contact", "contact_id": ids["frank.fischer"]}],
    )
    # Deleting an administrator needs two staff approvals (four eyes).
    assert client.post(f"/api/tickets/{second}/approve", headers=staff).status_code == 200
    assert (
        client.post(f"/api/tickets/{second}/approve", headers=factory.headers(STAFF2)).status_code
        == 202
    )
    run_jobs(app)
    return {"id": ids["frank.fischer"], "first": first, "second": second, "staff": staff}


def frank_key(app) -> str:
    with app.app_context():
        return account_key(FRANK)


def test_after_a_purge_no_table_or_redis_key_holds_the_contacts_data(app, client, purged):
    everything = dump_everything(app).lower()
    for value in (
        "frank",
        "fischer",
        "7946 0999",
        "900999",
        "7946 0106",
        "frank.home@private.example",
        frank_key(app),
    ):
        assert value not in everything, value


def test_the_contact_stays_archived_and_the_ticket_keeps_an_erasure_receipt(app, client, purged):
    detail = client.get(f"/api/tickets/{purged['second']}", headers=purged["staff"]).get_json()
    assert detail["status"] == "implemented"
    (receipt,) = detail["erasure_receipt"]
    assert receipt["contact_id"] == purged["id"]
    assert set(receipt["erased"]) >= {"contacts", "users", "change_request_items", "emails"}
    assert "email" in receipt["erased"]["contacts"]
    assert "frank" not in repr(receipt).lower()
    roster = client.get("/api/orgs/acme/contacts", headers=purged["staff"]).get_json()
    assert purged["id"] not in {c["id"] for c in roster["contacts"]}


def test_comments_of_a_purged_contact_stay_attributed_to_a_former_contact(app, client, purged):
    detail = client.get(f"/api/tickets/{purged['first']}", headers=purged["staff"]).get_json()
    comment = next(c for c in detail["comments"] if c["body"] == "Please update my numbers.")
    assert comment["author"] == "former contact"
    assert detail["requester"] == "former contact"
    assert detail["changes"][0]["contact"] == "former contact"
    with app.app_context():
        assert db.session.scalar(select(TicketComment.body)) == "Please update my numbers."


# Canary values: distinctive enough that finding any of them anywhere is a leak.
CANARY = {
    "first_name": "Zyxqa",
    "last_name": "Canarywell",
    "email": "zyxqa.canarywell@acme.example",
    "phone": "+44 20 7946 0987",
    "mobile": "+44 7700 900987",
}
CANARY_SECOND_EMAIL = "qwzyx.second@acme.example"
CANARY_REF = "zyxqa-ref"
CANARY_PASSWORD = "a long and unusual passphrase"
# What a scan looks for: every value, and each name on its own.
CANARY_TRACES = ("zyxqa", "canarywell", "qwzyx", "7946 0987", "900987")


def outbox_text(app) -> str:
    """Every .eml of the development outbox as raw bytes and decoded (subject, text, HTML)."""
    folder = Path(app.config["OUTBOX_DIR"])
    parser = BytesParser(policy=policy.default)
    chunks = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        raw = path.read_bytes()
        chunks.append(raw.decode("utf-8", "replace"))
        message = parser.parsebytes(raw)
        chunks.append(" ".join(f"{k}: {v}" for k, v in message.items()))
        chunks.append(bodies(message))
    return "\n".join(chunks)


def approve_all(client, factory, reference: str) -> None:
    for staff in (STAFF, STAFF2):
        answer = client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(staff))
        if answer.status_code == 202:
            return
    raise AssertionError(f"{reference} was not approved")


@pytest.fixture
def canary(app, client, factory):
    """A contact whose values reach every place a person's data can: a batch's ref and the
    details it sets and replaces, the requester's note, comments and a rejection reason that
    mention them, their account, links, emails to and about them, rate-limit counters."""
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    mention = f"{CANARY['first_name']} {CANARY['last_name']} ({CANARY['email']}, {CANARY['phone']})"
    added = raise_ticket(
        client,
        admin,
        [
            {
                "op": "add_contact",
                "ref": CANARY_REF,
                "contact": {"salutation": "Mx", **CANARY},
                "roles": ["management", "technical"],
            },
            {"op": "grant_role", "ref": CANARY_REF, "role": "agreement"},
        ],
        comment=f"Please add {mention}.",
    )
    question = {"body": f"Is {CANARY['email']} right for {CANARY['first_name']}?", "query": True}
    client.post(f"/api/tickets/{added}/comments", json=question, headers=staff)
    answer = {"body": f"Yes, and {CANARY['last_name']} answers on {CANARY['mobile']}."}
    client.post(f"/api/tickets/{added}/comments", json=answer, headers=admin)
    approve_all(client, factory, added)
    run_jobs(app)
    roster = client.get("/api/orgs/acme/contacts", headers=admin).get_json()["contacts"]
    canary_id = next(c["id"] for c in roster if c["email"] == CANARY["email"])
    (welcome,) = [m for m in outbox(app) if m["To"] == CANARY["email"]]
    token = re.search(r"/activate/([A-Za-z0-9_-]{43,})", bodies(welcome)).group(1)
    assert (
        client.post("/api/activate", json={"token": token, "password": CANARY_PASSWORD}).status_code
        == 200
    )
    # Their own words, a failed sign-in and a reset request (counters and a link).
    client.post("/api/auth/token", json={"email": CANARY["email"], "password": "wrong one"})
    client.post("/api/password-reset", json={"email": CANARY["email"]})
    refused = raise_ticket(
        client,
        admin,
        [{"op": "grant_role", "contact_id": canary_id, "role": "cust_admin"}],
        comment=f"{CANARY['first_name']} asked for this.",
    )
    reason = {
        "reason": f"{CANARY['first_name']} {CANARY['last_name']} may not be an administrator."
    }
    assert (
        client.post(f"/api/tickets/{refused}/reject", json=reason, headers=staff).status_code == 200
    )
    moved = raise_ticket(
        client,
        admin,
        [update_contact(canary_id, email=CANARY_SECOND_EMAIL, phone="+44 20 7946 0000")],
    )
    approve_all(client, factory, moved)
    run_jobs(app)
    assert CANARY["first_name"].lower() in outbox_text(app).lower(), "the outbox mentions them"
    deleted = raise_ticket(client, admin, [{"op": "delete_contact", "contact_id": canary_id}])
    approve_all(client, factory, deleted)
    run_jobs(app)
    return {"id": canary_id, "tickets": (added, refused, moved, deleted)}


def test_after_a_purge_no_table_redis_key_or_outbox_email_holds_a_canary_value(
    app, client, factory, canary
):
    everything = {
        "tables and redis": dump_everything(app).lower(),
        "outbox": outbox_text(app).lower(),
    }
    for where, scanned in everything.items():
        for trace in CANARY_TRACES:
            assert trace not in scanned, (where, trace)
    assert "[erased]" in everything["tables and redis"]
    # Emails to others that named them still read, with the marker in their place.
    assert "[erased]" in everything["outbox"]
    staff = factory.headers(STAFF)
    added, refused, *_ = canary["tickets"]
    detail = client.get(f"/api/tickets/{added}", headers=staff).get_json()
    assert detail["request_comment"] == "Please add [erased] ([erased], [erased])."
    bodies_now = [c["body"] for c in detail["comments"]]
    assert bodies_now == [
        "Is [erased] right for [erased]?",
        "Yes, and [erased] answers on [erased].",
    ]
    rejected = client.get(f"/api/tickets/{refused}", headers=staff).get_json()
    assert rejected["resolution_reason"] == "[erased] may not be an administrator."
    (receipt,) = client.get(f"/api/tickets/{canary['tickets'][-1]}", headers=staff).get_json()[
        "erasure_receipt"
    ]
    assert {"change_requests", "ticket_comments", "tickets"} <= set(receipt["erased"])
    assert "ref" in receipt["erased"]["change_request_items"]
    assert receipt["outbox"].startswith("development outbox: ")
