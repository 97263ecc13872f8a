"""The relay: re-send to the queues whatever the database says is still to do.

The database is the source of truth. An approved ticket needs applying; a pending email needs
sending. If Redis was down when that work committed, was flushed, or a process died between
commit and enqueue, the relay finds the work here and sends it again. Job ids derive from the
work, and a job that is still queued or running is left alone, so resending is harmless.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy import select, update

from service.extensions import db
from service.notifications.models import Email, EmailStatus
from service.tickets.models import Ticket, TicketStatus
from workers.queues import (
    JOBS,
    MAINTENANCE_QUEUE,
    Work,
    enqueue_all,
    queue,
    redis_connection,
    run_in_process,
)

log = logging.getLogger(__name__)

# After this many delivery attempts an email is given up on (the job's own retries included).
MAX_EMAIL_ATTEMPTS = 8
RELAY_EVERY = timedelta(seconds=60)
# Jobs per pair of Redis round trips when the relay re-sends a backlog.
RELAY_CHUNK = 500


def pending_work() -> list[Work]:
    """Everything the database holds that a job still has to do."""
    session = db.session()
    session.execute(
        update(Email)
        .where(Email.status == EmailStatus.PENDING, Email.attempts >= MAX_EMAIL_ATTEMPTS)
        .values(status=EmailStatus.FAILED, last_error="gave up after repeated failures")
    )
    session.commit()
    tickets = session.scalars(
        select(Ticket.id).where(Ticket.status == TicketStatus.APPROVED).order_by(Ticket.id)
    ).all()
    emails = session.scalars(
        select(Email.id).where(Email.status == EmailStatus.PENDING).order_by(Email.id)
    ).all()
    return [Work("apply", tid) for tid in tickets] + [Work("email", eid) for eid in emails]


def resend_pending() -> int:
    """Send the pending work to RQ (or run it here without Redis); how many were (re)sent."""
    work = pending_work()
    connection = redis_connection()
    if connection is None:
        for item in work:
            run_in_process(item)
        return len(work)
    sent = 0
    for start in range(0, len(work), RELAY_CHUNK):
        try:
            sent += enqueue_all(work[start : start + RELAY_CHUNK], connection)
        except RedisError as exc:
            log.warning("relay could not reach Redis (%s); will try again", type(exc).__name__)
            break
    if sent:
        log.info("relay re-sent %d job(s)", sent)
    return sent


def schedule_next() -> None:
    """Run the relay again in a minute (on the maintenance queue, by the RQ scheduler)."""
    connection = redis_connection()
    if connection is None:
        return
    minute = int(time.time() // RELAY_EVERY.total_seconds()) + 1
    work = Work("relay", minute)
    spec = JOBS["relay"]
    try:
        queue(MAINTENANCE_QUEUE, connection).enqueue_in(
            RELAY_EVERY,
            spec.func,
            minute,
            job_id=work.job_id,
            job_timeout=spec.timeout,
            result_ttl=600,
            description=work.job_id,
        )
    except RedisError as exc:
        log.warning("could not schedule the relay (%s)", type(exc).__name__)
