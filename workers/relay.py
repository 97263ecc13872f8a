"""The sweep's schedule: every minute, re-send to the queues whatever the database says is to do.

The sweep itself (`service.jobs.resend_pending`) asks each domain for its pending work. It runs
once at worker start and then as a job on the maintenance queue that schedules its next run.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from redis.exceptions import RedisError

from service.extensions import redis_connection
from service.jobs import MAINTENANCE_QUEUE, RESULT_TTL_SECONDS, job, queue, resend_pending

log = logging.getLogger(__name__)

RELAY_EVERY = timedelta(seconds=60)


@job(MAINTENANCE_QUEUE, name="relay", timeout=120)
def relay(_minute: int = 0) -> int:
    """Re-send to Redis whatever the database says is still to do, then run again later."""
    sent = resend_pending()
    schedule_next()
    return sent


def schedule_next() -> None:
    """Run the relay again in a minute (on the maintenance queue, by the RQ scheduler)."""
    connection = redis_connection()
    if connection is None:
        return
    minute = int(time.time() // RELAY_EVERY.total_seconds()) + 1
    work = relay.work(minute)
    try:
        queue(MAINTENANCE_QUEUE, connection).enqueue_in(
            RELAY_EVERY,
            relay.path,
            minute,
            job_id=work.job_id,
            job_timeout=relay.timeout,
            result_ttl=RESULT_TTL_SECONDS,
            description=work.job_id,
        )
    except RedisError as exc:
        log.warning("could not schedule the relay (%s)", type(exc).__name__)
