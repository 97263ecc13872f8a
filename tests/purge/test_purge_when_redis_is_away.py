"""The purge's clean-up in Redis is work done after commit: Redis being away never fails a ticket.

The apply job runs here in-process, as a worker runs it, with the app pointed at a Redis that
does not answer; the counters themselves stay in the test's real Redis until the clean-up job
drops them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from harness.smtp import free_port
from service.accounts.models import CounterErasure
from service.accounts.throttle import account_key
from service.extensions import redis_connection
from service.jobs import resend_pending
from service.organizations.models import Organization
from service.requests.tasks import apply_ticket
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, raise_ticket

pytestmark = pytest.mark.postgres_only  # the pass with a Redis that holds the counters

LEAVER = "lee.leaver@acme.example"


def counters_of(app, email: str) -> list[bytes]:
    with app.app_context():
        digest = account_key(email)
        return [key for key in redis_connection().scan_iter() if digest.encode() in key]


def test_a_purge_while_redis_is_away_is_applied_and_its_counters_go_once_redis_is_back(
    app, client, factory, monkeypatch
):
    factory.demo()
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    leaver = factory.contact(acme, LEAVER, ["technical"], account="active")
    # Failed sign-ins and a reset request leave counters named after the account.
    client.post("/api/auth/token", json={"email": LEAVER, "password": "wrong password"})
    client.post("/api/password-reset", json={"email": LEAVER})
    assert counters_of(app, LEAVER), "the counters are in Redis to be dropped"
    staff = factory.headers(STAFF)
    reference = raise_ticket(
        client,
        factory.headers(REQUESTER),
        [{"op": "delete_contact", "contact_id": leaver}],
    )
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202

    redis_url = app.config["REDIS_URL"]
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        assert apply_ticket(int(reference.split("-")[1])) == "done"
    detail = client.get(f"/api/tickets/{reference}", headers=staff).get_json()
    assert detail["status"] == "implemented", detail["failure"]
    assert factory.scalar(select(func.count()).select_from(CounterErasure)) == 1

    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    with app.app_context():
        assert resend_pending() >= 1  # the sweep finds the clean-up still to do
    run_jobs(app)
    assert counters_of(app, LEAVER) == []
    assert factory.scalar(select(func.count()).select_from(CounterErasure)) == 0
    # The record named the account by digest only; it is gone now anyway.
    with app.app_context():
        assert all(b"lee" not in key for key in redis_connection().scan_iter())
