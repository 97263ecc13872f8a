"""`flask --app service worker --burst` as a real process against real PostgreSQL, Redis and SMTP.

These need Redis, so they run in the PostgreSQL + Redis pass of `make test` (the SQLite pass
runs jobs in-process and has no worker to start).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tickets.support import REQUESTER, STAFF, raise_ticket

pytestmark = pytest.mark.postgres_only
ROOT = Path(__file__).resolve().parents[2]


def run_worker(app, inbox) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEST_", "SMTP_", "FLASK_"))
    }
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(inbox.port),
        BASE_URL=app.config["BASE_URL"],
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST="64",
    )
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "service", "worker", "--burst"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def status(client, headers, reference):
    return client.get(f"/api/tickets/{reference}", headers=headers).get_json()["status"]


@pytest.fixture
def approved(client, factory, smtp):
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    return reference, admin, staff


def test_the_worker_applies_an_approved_ticket_and_sends_its_emails(app, client, smtp, approved):
    reference, admin, staff = approved
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    assert status(client, admin, reference) == "approved"
    run_worker(app, smtp)
    assert status(client, admin, reference) == "implemented"
    recipients = {m["To"] for m in smtp.messages()}
    assert {REQUESTER, "nia.new@acme.example", "review-queue@vendor.example"} <= recipients


def test_an_approval_while_redis_is_down_is_applied_once_redis_is_back(
    app, client, smtp, approved, monkeypatch
):
    reference, admin, staff = approved
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    response = client.post(f"/api/tickets/{reference}/approve", headers=staff)
    assert response.status_code == 202
    monkeypatch.undo()
    assert status(client, admin, reference) == "approved"
    run_worker(app, smtp)
    assert status(client, admin, reference) == "implemented"


def test_work_lost_from_a_flushed_redis_is_resent_by_the_worker(app, client, smtp, approved):
    from service.extensions import redis_connection

    reference, admin, staff = approved
    client.post(f"/api/tickets/{reference}/approve", headers=staff)
    with app.app_context():
        redis_connection().flushdb()
    run_worker(app, smtp)
    assert status(client, admin, reference) == "implemented"
    # The emails recorded before the flush went out too, once each.
    to_requester = [m for m in smtp.messages() if m["To"] == REQUESTER]
    subjects = [str(m["Subject"]) for m in to_requester]
    assert len(subjects) == len(set(subjects))


def test_the_worker_command_explains_itself_without_redis(app):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS"))}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "service", "worker", "--burst"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "REDIS_URL is not set" in done.stderr
