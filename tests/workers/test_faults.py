"""Fault tests with real processes: real PostgreSQL, Redis, `flask --app service worker` and SMTP.

Nothing here is mocked. Workers are started as subprocesses the way an operator starts them,
killed with SIGKILL, started again; SMTP is a real aiosmtpd server that is down, then up. Each
test asserts the outcome through the API and the database.

These need Redis, so they run in the PostgreSQL + Redis pass only. The module takes about two
minutes, almost all of it waiting on RQ's own clocks: a killed job counts as abandoned only
60 s (plus its timeout) after its last heartbeat, and its retry and an email's first retry
come 10 s and 30 s after the failure (the jobs' `retry`, service/requests/tasks.py and
service/notifications/tasks.py).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from harness.smtp import Inbox, free_port, smtp_server
from harness.worker import Workers, kill_session, wait_for
from service.contacts.models import Contact, ContactRole
from service.extensions import db
from service.notifications.models import Email, EmailStatus
from service.tickets.models import TicketEvent
from tests.demo_ids import contact_ids
from tests.tickets.support import REQUESTER, STAFF, new_contact, raise_ticket

pytestmark = pytest.mark.postgres_only
APPLY_TIMEOUT = 5  # seconds: the RQ timeout of the apply jobs these tests enqueue


# --- worker processes -------------------------------------------------------------------------


@pytest.fixture
def workers(workers: Workers) -> Workers:
    """The folder's workers, with the short apply timeout these tests wait out."""
    workers.settings["APPLY_JOB_TIMEOUT"] = str(APPLY_TIMEOUT)
    return workers


# --- data -------------------------------------------------------------------------------------


def make_org(factory, slug: str) -> dict[str, str]:
    """A customer organization with its admin (who can raise tickets) and a financial contact."""
    org_id = factory.org(slug)
    factory.contact(org_id, f"admin@{slug}.example", ["cust_admin"], account="active")
    factory.contact(org_id, f"money@{slug}.example", ["financial"])
    return factory.headers(f"admin@{slug}.example")


def additions(slug: str, count: int) -> list[dict[str, Any]]:
    """`count` new contacts; every third one holds two roles."""
    return [
        {
            "op": "add_contact",
            "ref": f"n{i}",
            "contact": {
                "salutation": "Mx",
                "first_name": f"New{i}",
                "last_name": "Person",
                "email": f"new{i:04d}@{slug}.example",
            },
            "roles": ["technical", "agreement"] if i % 3 == 0 else ["technical"],
        }
        for i in range(count)
    ]


def role_count(changes: list[dict[str, Any]]) -> int:
    return sum(len(change["roles"]) for change in changes)


def ticket_id(reference: str) -> int:
    return int(reference.split("-")[1])


def detail(client, headers, reference: str) -> dict[str, Any]:
    response = client.get(f"/api/tickets/{reference}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def actions(client, headers, reference: str) -> Counter[str]:
    return Counter(event["action"] for event in detail(client, headers, reference)["events"])


def roster_version(client, headers, slug: str) -> int:
    version: int = client.get(f"/api/orgs/{slug}/contacts", headers=headers).get_json()["version"]
    return version


def assert_applied_once(factory, client, headers, reference: str, slug: str, changes) -> None:
    """One `implemented` event, every new contact once, every role of theirs once."""
    body = detail(client, headers, reference)
    assert body["status"] == "implemented", body.get("failure")
    events = Counter(event["action"] for event in body["events"])
    assert events["implemented"] == 1, events
    assert events["apply_started"] == 1, events
    emails = [change["contact"]["email"] for change in changes]
    rows = factory.all(select(Contact.id, Contact.email).where(Contact.email.in_(emails)))
    assert len(rows) == len(changes), "a contact was created twice (or not at all)"
    assert sorted(email for _, email in rows) == sorted(emails)
    ids = [contact_id for contact_id, _ in rows]
    roles = factory.all(
        select(ContactRole.contact_id, ContactRole.role_code).where(ContactRole.contact_id.in_(ids))
    )
    assert len(roles) == len(set(roles)) == role_count(changes)
    db_events = factory.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id(reference), TicketEvent.action == "implemented")
    )
    assert db_events == 1


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


def started_expiry(app, job_id: str) -> float | None:
    """When RQ will consider the running `job_id` abandoned (its StartedJobRegistry score)."""
    from rq.registry import StartedJobRegistry

    from service.extensions import redis_connection
    from service.jobs import APPLY_QUEUE

    with app.app_context():
        connection = redis_connection()
        registry = StartedJobRegistry(APPLY_QUEUE, connection=connection)
        for entry, score in connection.zrange(registry.key, 0, -1, withscores=True):
            if entry.decode().partition(":")[0] == job_id:
                return float(score)
    return None


def scheduler_locked(app) -> bool:
    """Whether a scheduler (maybe a dead worker's, until its lock expires) holds the queues."""
    from rq.scheduler import RQScheduler

    from service.extensions import redis_connection
    from service.jobs import QUEUES

    with app.app_context():
        connection = redis_connection()
        return any(connection.exists(RQScheduler.get_locking_key(name)) for name in QUEUES)


def count(factory, model: Any, *where: Any) -> int:
    total: int = factory.scalar(select(func.count()).select_from(model).where(*where))
    return total


def test_a_worker_killed_mid_apply_is_recovered_and_the_batch_applied_once(
    app, client, factory, smtp, workers, monkeypatch
):
    monkeypatch.setitem(app.config, "JOB_TIMEOUTS", {"apply": APPLY_TIMEOUT})
    workers.smtp_port = smtp.port
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    admin = make_org(factory, "kilo")
    # A big batch: 800 contacts (and their roles and accounts) written, then never committed.
    changes = additions("kilo", 800)
    reference = raise_ticket(client, admin, changes, org="kilo")
    version = roster_version(client, admin, "kilo")
    contacts_before = count(factory, Contact)
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202

    with roster_version_held(app, "kilo"):
        worker = workers.start()
        wait_for(
            lambda: foreign_contact_writers(app, waiting=True),
            timeout=30,
            what="the apply to have written the contacts and to wait for the roster row",
            log=worker,
        )
        abandoned_at = started_expiry(app, f"apply-{ticket_id(reference)}")
        kill_session(worker)  # SIGKILL: the worker, its scheduler, its work horse if any

    # PostgreSQL rolls the dead transaction back: nothing of the first run is visible.
    wait_for(lambda: not foreign_contact_writers(app), timeout=30, what="the rollback")
    assert detail(client, admin, reference)["status"] == "approved"
    assert actions(client, admin, reference)["apply_started"] == 0
    assert count(factory, Contact) == contacts_before
    assert roster_version(client, admin, "kilo") == version

    # RQ finds the job abandoned when a worker cleans its registries (at start) after the
    # job's StartedJobRegistry entry expired (job timeout + 60 s of heartbeat allowance), and
    # retries it 10 s later through the scheduler. A worker started while the dead worker's
    # scheduler lock (61 s) still stands would run without a scheduler, so wait for both.
    assert abandoned_at is not None, "the apply job was not in the StartedJobRegistry"
    assert abandoned_at - time.time() < 90
    wait_for(
        lambda: time.time() > abandoned_at + 1 and not scheduler_locked(app),
        timeout=150,
        interval=0.5,
        what="RQ to consider the killed job abandoned",
    )
    replacement = workers.start()
    wait_for(
        lambda: detail(client, admin, reference)["status"] not in ("approved", "applying"),
        timeout=45,
        interval=0.5,
        what="the retried apply",
        log=replacement,
    )
    workers.stop(replacement)

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
        ).order_by(Email.id)
    )


def email_id(message) -> int:
    """The Email row a delivered message came from (its Message-ID names it)."""
    found = re.search(r"\.email-(\d+)@", str(message["Message-ID"]))
    assert found, message["Message-ID"]
    return int(found.group(1))


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

    inbox = Inbox()
    with smtp_server(inbox, port=port):
        # RQ retries each email 30 s after its failure (service/notifications/tasks.py), by its
        # scheduler.
        worker = workers.start()
        wait_for(
            lambda: count(factory, Email, Email.status == EmailStatus.PENDING) == 0,
            timeout=75,
            interval=0.5,
            what="the emails to be retried",
            log=worker,
        )
        workers.stop(worker)

    rows = email_rows(factory)
    assert [row.id for row in rows] == [row.id for row in failed]
    assert all(row.status == EmailStatus.SENT and row.attempts == 2 for row in rows), rows
    messages = inbox.messages()
    assert Counter(email_id(m) for m in messages) == Counter(row.id for row in rows)
    by_recipient = Counter((str(m["To"]), str(m["Subject"])) for m in messages)
    assert set(by_recipient.values()) == {1}, by_recipient
    assert Counter(str(m["To"]) for m in messages) == Counter(row.recipient for row in rows)


# --- 3. two workers on the same queues ---------------------------------------------------------


def test_two_workers_on_the_same_queues_apply_each_ticket_once(
    app, client, factory, smtp, workers, monkeypatch
):
    from service.extensions import redis_connection
    from service.jobs import APPLY_QUEUE, TASKS, Work, enqueue, queue

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
    delivered = [email_id(m) for m in smtp.messages()]
    assert delivered.count(failed_mail[0][0]) == 1


# --- 5. the worker's periodic relay --------------------------------------------------------------


def test_a_running_worker_resends_what_redis_never_got_with_its_periodic_relay(
    app, client, factory, smtp, workers, monkeypatch
):
    from rq.job import Job, JobStatus
    from rq.registry import ScheduledJobRegistry
    from rq.serializers import JSONSerializer

    from service.extensions import redis_connection
    from service.jobs import MAINTENANCE_QUEUE, queue

    workers.smtp_port = smtp.port
    factory.demo()
    admin, staff = factory.headers(REQUESTER), factory.headers(STAFF)
    reference = raise_ticket(client, admin)
    worker = workers.start()

    def scheduled_relay() -> str | None:
        with app.app_context():
            registry = ScheduledJobRegistry(
                MAINTENANCE_QUEUE, connection=redis_connection(), serializer=JSONSerializer
            )
            return next((j for j in registry.get_job_ids() if j.startswith("relay-")), None)

    relay_id = wait_for(scheduled_relay, timeout=30, what="the relay to be scheduled", log=worker)

    # The approval commits while the web process cannot reach Redis: only the database knows.
    redis_url = app.config["REDIS_URL"]
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    assert detail(client, admin, reference)["status"] == "approved"

    # The relay is due within a minute; rather than wait, hand the scheduled job to its queue
    # now, as RQ's scheduler would when it is due (same job, same arguments).
    with app.app_context():
        connection = redis_connection()
        job = Job.fetch(relay_id, connection=connection, serializer=JSONSerializer)
        ScheduledJobRegistry(
            MAINTENANCE_QUEUE, connection=connection, serializer=JSONSerializer
        ).remove(job)
        queue(MAINTENANCE_QUEUE, connection).enqueue_job(job)

        def ended() -> JobStatus | None:
            status = job.get_status(refresh=True)
            return status if status in (JobStatus.FINISHED, JobStatus.FAILED) else None

        status = wait_for(ended, timeout=30, what="the relay job to run", log=worker)
        result = job.latest_result()
        assert status == JobStatus.FINISHED, (
            f"the relay job failed:\n{result and result.exc_string}"
        )
    wait_for(
        lambda: detail(client, admin, reference)["status"] == "implemented",
        timeout=30,
        interval=0.5,
        what="the relayed apply",
        log=worker,
    )
    assert scheduled_relay() is not None, "the relay did not schedule its next run"
    workers.stop(worker)
