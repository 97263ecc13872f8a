"""`flask --app service worker --burst` as a real process against real PostgreSQL, Redis and SMTP.

These need Redis, so they run in the PostgreSQL + Redis pass of `make test` (the SQLite pass
runs jobs in-process and has no worker to start).
"""

from __future__ import annotations

import pytest

from harness.worker import tail
from service.extensions import redis_connection
from tests.tickets.support import REQUESTER, STAFF, raise_ticket

pytestmark = pytest.mark.postgres_only


def status(client, headers, reference):
    return client.get(f"/api/tickets/{reference}", headers=headers).get_json()["status"]


@pytest.fixture
def approved(client, factory, smtp):
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    return reference, admin, staff


@pytest.fixture
def burst(workers, smtp):
    """Run one `flask --app service worker --burst` to the end, with the test's SMTP server."""
    workers.smtp_port = smtp.port
    return lambda: workers.burst(timeout=180)


def test_the_worker_applies_an_approved_ticket_and_sends_its_emails(client, smtp, approved, burst):
    reference, admin, staff = approved
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    assert status(client, admin, reference) == "approved"
    burst()
    assert status(client, admin, reference) == "implemented"
    recipients = {m["To"] for m in smtp.messages()}
    assert {REQUESTER, "nia.new@acme.example", "review-queue@vendor.example"} <= recipients


def test_an_approval_while_redis_is_down_is_applied_once_redis_is_back(
    app, client, approved, burst, monkeypatch
):
    reference, admin, staff = approved
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    response = client.post(f"/api/tickets/{reference}/approve", headers=staff)
    assert response.status_code == 202
    monkeypatch.undo()
    assert status(client, admin, reference) == "approved"
    burst()
    assert status(client, admin, reference) == "implemented"


def test_work_lost_from_a_flushed_redis_is_resent_by_the_worker(app, client, smtp, approved, burst):

    reference, admin, staff = approved
    client.post(f"/api/tickets/{reference}/approve", headers=staff)
    with app.app_context():
        redis_connection().flushdb()
    burst()
    assert status(client, admin, reference) == "implemented"
    # The emails recorded before the flush went out too, once each.
    to_requester = [m for m in smtp.messages() if m["To"] == REQUESTER]
    subjects = [str(m["Subject"]) for m in to_requester]
    assert len(subjects) == len(set(subjects))


def test_the_worker_command_explains_itself_without_redis(workers):
    workers.redis_url = None
    worker = workers.start(burst=True)
    assert worker.wait(timeout=60) != 0
    assert "REDIS_URL is not set" in tail(worker)
