"""Redis flushed, stopped, started late: live workers ride it out and nothing is lost.

Each test runs its own `redis-server` on a free port (harness/redis.py), which it flushes,
kills and starts again; the web app and the `flask --app service worker` subprocesses both use
it. Tickets and emails are checked in the database: the source of truth the sweep reads.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from harness.worker import wait_for
from service.notifications.models import Email, EmailStatus
from service.tickets.models import Ticket, TicketStatus
from tests.tickets.support import STAFF, raise_ticket
from tests.workers.support import additions, count, make_org
from tests.workers.test_faults import roster_version_held

pytestmark = pytest.mark.postgres_only

# The bound: after Redis lost its data, every approved ticket is applied and every
# pending email sent within a minute, with no worker restarted.
RECOVERY_SECONDS = 60


@pytest.fixture
def on_private_redis(app, smtp, workers, private_redis, monkeypatch):
    """The web app and the workers on the test's own Redis and SMTP server."""
    monkeypatch.setitem(app.config, "REDIS_URL", private_redis.url)
    workers.redis_url = private_redis.url
    workers.smtp_port = smtp.port
    return private_redis


def statuses(factory) -> dict[str, int]:
    rows = factory.all(select(Ticket.status))
    found: dict[str, int] = {}
    for (status,) in rows:
        found[status] = found.get(status, 0) + 1
    return found


def all_done(factory) -> bool:
    """No ticket waits for its apply and no email for its delivery."""
    waiting = count(factory, Ticket, Ticket.status.in_([TicketStatus.APPROVED, "applying"]))
    pending = count(factory, Email, Email.status == EmailStatus.PENDING)
    return waiting == 0 and pending == 0


def raised_tickets(client, factory, slugs: list[str], size: int = 3) -> list[str]:
    return [
        raise_ticket(client, make_org(factory, slug), additions(slug, size), org=slug)
        for slug in slugs
    ]


def approve(client, staff: dict[str, str], references: list[str]) -> list[str]:
    for reference in references:
        assert client.post(f"/api/tickets/{reference}/approve", headers=staff).status_code == 202
    return references


def caught_up(factory, worker, what: str, *, implemented: int) -> None:
    """Wait (RECOVERY_SECONDS at most) until every ticket is applied and every email sent, the
    worker still running; then all `implemented` tickets are."""
    wait_for(
        lambda: all_done(factory), timeout=RECOVERY_SECONDS, interval=0.5, what=what, log=worker
    )
    assert worker.poll() is None, "the worker exited"
    assert statuses(factory) == {TicketStatus.IMPLEMENTED: implemented}


def reconnection_attempts(worker) -> int:
    return int(worker.log.read_bytes().count(b"cannot be reached"))


def test_after_a_flushall_live_workers_apply_every_ticket_and_send_every_email_within_a_minute(
    app, client, factory, workers, on_private_redis
):
    worker = workers.start_listening()
    references = raised_tickets(client, factory, [f"org{n}" for n in range(5)])
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    # The worker takes the first apply and waits in it, on a row this test holds; meanwhile
    # the other approvals and the emails they record wait in Redis.
    with roster_version_held(app, "org0"):
        approve(client, staff, references)
        queued = on_private_redis.client().llen("rq:queue:apply")
        assert queued >= 3, queued
        on_private_redis.flushall()
        flushed_at = time.monotonic()
    # Only the database knows what is left to do now.
    caught_up(
        factory, worker, "every ticket applied and every email sent after the flush", implemented=5
    )
    assert time.monotonic() - flushed_at < RECOVERY_SECONDS
    workers.stop(worker)


def test_a_worker_rides_out_redis_being_stopped_and_started_again(
    app, client, factory, workers, on_private_redis
):
    references = raised_tickets(client, factory, ["mike", "november"])
    factory.staff(STAFF)
    staff = factory.headers(STAFF)  # signing in counts attempts in Redis: before it goes
    worker = workers.start_listening()
    on_private_redis.stop()
    # Approved while Redis is down: the hand-off fails, the database keeps the work.
    approve(client, staff, references)
    wait_for(
        lambda: (
            b"cannot be reached" in worker.log.read_bytes()
            or b"could not connect" in worker.log.read_bytes()
        ),
        timeout=60,
        what="the worker to notice Redis is away",
        log=worker,
    )
    assert worker.poll() is None, "the worker exited when Redis went away"
    assert statuses(factory) == {TicketStatus.APPROVED: len(references)}

    on_private_redis.start()
    caught_up(factory, worker, "the work recorded during the outage", implemented=len(references))
    workers.stop(worker)


def test_a_worker_started_while_redis_is_down_waits_for_it_and_then_works(
    app, client, factory, workers, on_private_redis
):
    references = raised_tickets(client, factory, ["oscar"])
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    on_private_redis.stop()
    worker = workers.start()
    approve(client, staff, references)
    wait_for(
        lambda: reconnection_attempts(worker) >= 3,
        timeout=60,
        what="the worker to keep waiting for Redis",
        log=worker,
    )
    assert worker.poll() is None, "the worker gave up while Redis was down"

    on_private_redis.start()
    caught_up(
        factory,
        worker,
        "the worker to start working once Redis answers",
        implemented=len(references),
    )
    workers.stop(worker)
