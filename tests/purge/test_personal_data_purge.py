"""Deleting a contact erases its personal data from every table and from Redis."""

from __future__ import annotations

import pytest
from sqlalchemy import String, Text, inspect, select, text
from sqlalchemy.types import JSON

from service.accounts.throttle import account_key
from service.extensions import db, redis_connection
from service.personal_data import NOT_PERSONAL, PERSONAL
from service.tickets.models import TicketComment
from tests.demo_ids import contact_ids
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, STAFF2, raise_ticket

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
            for key in connection.scan_iter():
                chunks.append(repr(key))
                kind = connection.type(key)
                if kind == b"string":
                    chunks.append(repr(connection.get(key)))
                elif kind == b"hash":
                    chunks.append(repr(connection.hgetall(key)))
                elif kind == b"list":
                    chunks.append(repr(connection.lrange(key, 0, -1)))
                elif kind in (b"set",):
                    chunks.append(repr(connection.smembers(key)))
                elif kind == b"zset":
                    chunks.append(repr(connection.zrange(key, 0, -1)))
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
            {
                "op": "update_contact",
                "contact_id": ids["frank.fischer"],
                "fields": {"phone": "+44 20 7946 0999", "mobile": "+44 7700 900999"},
            }
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
    for value in ("frank", "fischer", "7946 0999", "900999", "7946 0106", frank_key(app)):
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
