"""Fault tests with real processes: real PostgreSQL, Redis, `flask --app service worker` and SMTP.

Nothing here is mocked. Workers are started as subprocesses the way an operator starts them,
killed with SIGKILL; SMTP is a real aiosmtpd server that is down, then up; database connections
are terminated on the server. Each test asserts the outcome through the API and the database.
Faults of Redis itself (stopped, flushed) are in test_redis_outages.py, on a private server.

These need Redis, so they run in the PostgreSQL + Redis pass only.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from rq.registry import StartedJobRegistry
from sqlalchemy import select, text, update

from harness.smtp import Inbox, free_port, smtp_server
from harness.worker import Worker, kill_session, wait_for
from service.contacts.models import Contact
from service.extensions import db, redis_connection
from service.jobs import APPLY_QUEUE, TASKS, Work, enqueue, queue
from service.notifications.models import Email, EmailStatus
from tests.demo_ids import contact_ids
from tests.jobs import email_row_id
from tests.tickets.support import REQUESTER, STAFF, new_contact, raise_ticket
from tests.workers.support import (
    actions,
    additions,
    assert_applied_once,
    big_batch,
    count,
    detail,
    make_org,
    roster_version,
    ticket_id,
)
from workers.worker import HEARTBEAT_TTL_SECONDS

pytestmark = pytest.mark.postgres_only


# --- 1. a worker killed in the middle of an apply ----------------------------------------------


def foreign_contact_writers(app, *, waiting: bool = False) -> int:
    """Backends other than ours holding a write lock on `contacts`: an apply mid-transaction
    (with `waiting`, only those that wait for a lock)."""
    with app.app_context():
        return int(
            db.session.scalar(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE c.relname = 'contacts' AND l.mode = 'RowExclusiveLock' "
                    "AND l.granted AND l.pid <> pg_backend_pid() "
                    "AND (NOT :waiting OR a.wait_event_type = 'Lock')"
                ),
                {"waiting": waiting},
            )
            or 0
        )


@contextlib.contextmanager
def roster_version_held(app, slug: str) -> Iterator[None]:
    """Hold the organization's row in a transaction of our own (FOR NO KEY UPDATE).

    Inserting contacts only takes a KEY SHARE lock on it, so an apply writes the batch's
    contacts, roles and accounts and then waits here to bump the roster version: in the
    middle of its transaction, however fast the apply is.
    """
    with app.app_context(), db.engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(
            text("SELECT id FROM organizations WHERE slug = :slug FOR NO KEY UPDATE"),
            {"slug": slug},
        )
        try:
            yield
        finally:
            transaction.rollback()


@contextlib.contextmanager
def stuck_mid_apply(app, workers, slug: str, what: str) -> Iterator[Worker]:
    """A worker whose apply for `slug` has written its contacts and waits, mid-transaction, for
    the roster row this test holds (`roster_version_held`) until the block ends."""
    with roster_version_held(app, slug):
        worker = workers.start()
        wait_for(
            lambda: foreign_contact_writers(app, waiting=True), timeout=60, what=what, log=worker
        )
        yield worker


def wait_implemented(client, admin, reference: str, worker, what: str, *, timeout: float) -> None:
    """Wait until the ticket reads implemented, failing if the worker exits first."""
    wait_for(
        lambda: detail(client, admin, reference)["status"] == "implemented",
        timeout=timeout,
        interval=0.5,
        what=what,
        log=worker,
    )


def started_expiry(app, job_id: str) -> float | None:
    """When RQ will consider the running `job_id` abandoned (its StartedJobRegistry score)."""
    with app.app_context():
        connection = redis_connection()
        registry = StartedJobRegistry(APPLY_QUEUE, connection=connection)
        for entry, score in connection.zrange(registry.key, 0, -1, withscores=True):
            if entry.decode().partition(":")[0] == job_id:
                return float(score)
    return None


def test_a_worker_killed_mid_apply_is_noticed_by_its_heartbeat_and_another_worker_applies_once(
    app, client, factory, smtp, workers
):
    workers.smtp_port = smtp.port
    # A big batch: 800 contacts (and their roles and accounts) written, then never committed.
    staff, admin, changes, reference = big_batch(client, factory, "kilo", 800)
    version = roster_version(client, admin, "kilo")
    contacts_before = count(factory, Contact)
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202

    waiting = "the apply to have written the contacts and to wait for the roster row"
    with stuck_mid_apply(app, workers, "kilo", waiting) as victim:
        # The job's 300 s timeout does not matter: the heartbeat keeps its entry alive for
        # HEARTBEAT_TTL_SECONDS at a time, and nothing longer.
        expiry = started_expiry(app, f"apply-{ticket_id(reference)}")
        assert expiry is not None, "the apply job was not in the StartedJobRegistry"
        assert expiry - time.time() <= HEARTBEAT_TTL_SECONDS + 1
        survivor = workers.start()
        kill_session(victim)  # SIGKILL: the worker and anything it started
        killed_at = time.monotonic()

    # PostgreSQL rolls the dead transaction back: nothing of the first run is visible.
    wait_for(lambda: not foreign_contact_writers(app), timeout=30, what="the rollback")
    assert count(factory, Contact) == contacts_before

    # The live worker's registry clean-up finds the job abandoned once its heartbeat expired,
    # and its sweep sends the ticket again: no restart, no wait for the job's timeout.
    wait_for(
        lambda: detail(client, admin, reference)["status"] not in ("approved", "applying"),
        timeout=120,
        interval=0.5,
        what="the apply to be retried by the live worker",
        log=survivor,
    )
    recovered_after = time.monotonic() - killed_at
    workers.stop(survivor)
    assert recovered_after < 60 + 30, recovered_after  # the design: TTL + two sweep turns

    assert_applied_once(factory, client, admin, reference, "kilo", changes)
    assert roster_version(client, admin, "kilo") == version + 1
    # The emails of the apply were recorded once too: one welcome per new contact.
    tid = ticket_id(reference)
    assert count(factory, Email, Email.ticket_id == tid, Email.template == "welcome") == 800
    implemented = count(
        factory, Email, Email.ticket_id == tid, Email.template == "ticket_implemented"
    )
    assert implemented == 1


# --- 2. SMTP down, then back -------------------------------------------------------------------


def email_rows(factory) -> list[Any]:
    return factory.all(
        select(
            Email.id,
            Email.recipient,
            Email.template,
            Email.status,
            Email.attempts,
            Email.last_error,
            Email.next_attempt_at,
        ).order_by(Email.id)
    )


def test_emails_that_failed_while_smtp_was_down_are_delivered_once_it_is_back(
    app, client, factory, workers, monkeypatch
):
    port = free_port()  # nothing listens here yet
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    workers.smtp_port = port
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202

    workers.burst()
    assert detail(client, admin, reference)["status"] == "implemented"
    failed = email_rows(factory)
    assert {"ticket_raised", "ticket_implemented", "welcome"} <= {row.template for row in failed}
    for row in failed:
        assert row.status == EmailStatus.PENDING, row
        assert row.attempts == 1, row
        assert "Refused" in (row.last_error or ""), row
        assert row.next_attempt_at is not None, row  # the backoff, kept in the database

    inbox = Inbox()
    with smtp_server(inbox, port=port):
        # As if the backoff were over: the running worker's sweep sends them on its own timer.
        factory.execute(update(Email).values(next_attempt_at=None))
        worker = workers.start()
        wait_for(
            lambda: count(factory, Email, Email.status == EmailStatus.PENDING) == 0,
            timeout=60,
            interval=0.5,
            what="the emails to be sent again",
            log=worker,
        )
        workers.stop(worker)

    rows = email_rows(factory)
    assert [row.id for row in rows] == [row.id for row in failed]
    assert all(row.status == EmailStatus.SENT and row.attempts == 2 for row in rows), rows
    messages = inbox.messages()
    assert Counter(email_row_id(m) for m in messages) == Counter(row.id for row in rows)
    by_recipient = Counter((str(m["To"]), str(m["Subject"])) for m in messages)
    assert set(by_recipient.values()) == {1}, by_recipient
    assert Counter(str(m["To"]) for m in messages) == Counter(row.recipient for row in rows)


# --- 3. two workers on the same queues ---------------------------------------------------------


def test_two_workers_on_the_same_queues_apply_each_ticket_once(
    app, client, factory, smtp, workers, monkeypatch
):
    workers.smtp_port = smtp.port
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    slugs = ["alpha", "bravo", "charlie", "delta"]
    admins = {slug: make_org(factory, slug) for slug in slugs}
    batches = {slug: additions(slug, 15) for slug in slugs}
    refs = {slug: raise_ticket(client, admins[slug], batches[slug], org=slug) for slug in slugs}
    versions = {slug: roster_version(client, admins[slug], slug) for slug in slugs}

    # Approved while the web process cannot reach Redis (202, nothing enqueued), so that the
    # test decides the queue: RQ runs a job at least once, so each apply is queued twice, the
    # copies side by side, for the two workers to take at the same time.
    redis_url = app.config["REDIS_URL"]
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    for reference in refs.values():
        response = client.post(f"/api/tickets/{reference}/approve", headers=staff)
        assert response.status_code == 202
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    with app.app_context():
        connection = redis_connection()
        for reference in refs.values():
            tid = ticket_id(reference)
            assert enqueue(Work("apply", tid), connection)
            queue(APPLY_QUEUE, connection).enqueue_call(
                TASKS["apply"].path, args=(tid,), job_id=f"apply-{tid}-again", timeout=60
            )

    first, second = workers.start(burst=True), workers.start(burst=True)
    workers.finish(first, timeout=90)
    workers.finish(second, timeout=90)

    for slug in slugs:
        assert_applied_once(factory, client, admins[slug], refs[slug], slug, batches[slug])
        assert roster_version(client, admins[slug], slug) == versions[slug] + 1


# --- 4. the roster changed after approval -------------------------------------------------------


def test_a_batch_the_roster_no_longer_allows_fails_with_a_reason_and_changes_nothing(
    app, client, factory, smtp, workers
):
    workers.smtp_port = smtp.port
    factory.demo()
    ids = contact_ids(factory)
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    changes = [
        new_contact(),
        {"op": "update_contact", "contact_id": ids["devon.tran"], "fields": {"job_title": "CTO"}},
        {"op": "deactivate_contact", "contact_id": ids["grace.gill"]},
    ]
    reference = raise_ticket(client, admin, changes)
    version = roster_version(client, admin, "acme")
    contacts_before = count(factory, Contact)
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    assert detail(client, staff, reference)["status"] == "approved"
    # After the approval, before a worker runs, Grace is deactivated some other way.
    factory.change_contact(ids["grace.gill"], status="deactivated")

    workers.burst()

    body = detail(client, staff, reference)
    assert body["status"] == "failed"
    assert body["failure"]["code"] == "validation_failed"
    assert "status_unchanged" in body["failure"]["message"]
    events = Counter(event["action"] for event in body["events"])
    assert (events["apply_failed"], events["implemented"]) == (1, 0)
    assert count(factory, Contact) == contacts_before
    assert count(factory, Contact, Contact.email == "nia.new@acme.example") == 0
    assert factory.scalar(select(Contact.job_title).where(Contact.id == ids["devon.tran"])) != "CTO"
    assert roster_version(client, admin, "acme") == version
    # Staff are told, once.
    failed_mail = factory.all(
        select(Email.id, Email.status).where(
            Email.ticket_id == ticket_id(reference), Email.template == "apply_failed"
        )
    )
    assert [status for _, status in failed_mail] == [EmailStatus.SENT]
    delivered = [email_row_id(m) for m in smtp.messages()]
    assert delivered.count(failed_mail[0][0]) == 1


# --- 5. the sweep on every worker's own timer ----------------------------------------------------


def test_a_running_worker_resends_what_redis_never_got_on_its_own_timer(
    app, client, factory, smtp, workers, monkeypatch
):
    workers.smtp_port = smtp.port
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    worker = workers.start_listening()

    # The approval commits while the web process cannot reach Redis: only the database knows.
    # Nothing in Redis is scheduled to find it; the worker's timer is.
    redis_url = app.config["REDIS_URL"]
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    assert detail(client, admin, reference)["status"] == "approved"

    wait_implemented(client, admin, reference, worker, "the swept apply", timeout=60)
    assert actions(client, admin, reference)["implemented"] == 1
    wait_for(
        lambda: count(factory, Email, Email.status == EmailStatus.PENDING) == 0,
        timeout=60,
        what="the emails",
        log=worker,
    )
    workers.stop(worker)


# --- 6. database connections cut mid-job -------------------------------------------------------


def terminate_waiting_backends(app) -> int:
    """Cut the connections to this test's database that wait for a lock: the apply's."""
    with app.app_context():
        killed = db.session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND wait_event_type = 'Lock'"
            )
        )
        db.session.commit()
        return int(killed or 0)


def test_an_apply_whose_database_connection_is_cut_is_retried_and_never_fails_the_ticket(
    app, client, factory, smtp, workers
):
    workers.smtp_port = smtp.port
    staff, admin, changes, reference = big_batch(client, factory, "lima", 300)
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202

    with stuck_mid_apply(app, workers, "lima", "the apply to be mid-transaction") as worker:
        assert terminate_waiting_backends(app) == 1

    wait_implemented(client, admin, reference, worker, "the apply to be retried", timeout=90)
    workers.stop(worker)
    body = detail(client, admin, reference)
    events = Counter(event["action"] for event in body["events"])
    assert events["apply_failed"] == 0 and events["implemented"] == 1, events
    assert_applied_once(factory, client, admin, reference, "lima", changes)
