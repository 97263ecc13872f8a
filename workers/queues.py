"""Queue names, job identities, and handing work to RQ once the transaction that made it commits.

Services call `after_commit(session, Work(...))`. Nothing reaches Redis unless the transaction
commits; if Redis is unreachable then, the work stays in the database (an approved ticket, a
pending email) and the relay (`workers.relay`) sends it later. With `REDIS_URL` unset, the work
runs in-process right after the commit, so the demo needs no worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.queue import EnqueueData
from rq.serializers import JSONSerializer
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

APPLY_QUEUE = "apply"
EMAIL_QUEUE = "email"
MAINTENANCE_QUEUE = "maintenance"
QUEUES = (APPLY_QUEUE, EMAIL_QUEUE, MAINTENANCE_QUEUE)

_PENDING_KEY = "rolegate_work"
# Statuses in which a job will still run: enqueueing it again would only duplicate it.
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass(frozen=True)
class Work:
    """One unit of queued work: a job kind and the id it acts on. Its RQ job id derives from it."""

    kind: str
    target_id: int

    @property
    def job_id(self) -> str:
        return f"{self.kind}-{self.target_id}"


@dataclass(frozen=True)
class JobSpec:
    queue: str
    func: str
    timeout: int
    retry: Retry | None


JOBS: dict[str, JobSpec] = {
    "apply": JobSpec(
        APPLY_QUEUE, "workers.jobs.apply_ticket", 300, Retry(max=3, interval=[10, 60, 300])
    ),
    "email": JobSpec(
        EMAIL_QUEUE,
        "workers.jobs.send_email",
        60,
        Retry(max=5, interval=[30, 120, 600, 1800, 3600]),
    ),
    "relay": JobSpec(MAINTENANCE_QUEUE, "workers.jobs.relay", 120, None),
}


def after_commit(session: Session, work: Work) -> None:
    """Send `work` to its queue once this session's transaction commits (dropped on rollback)."""
    # A dict keeps the order of arrival and finds a repeat in constant time: an apply that
    # creates a thousand accounts queues a thousand welcome emails here.
    pending: dict[Work, None] = session.info.setdefault(_PENDING_KEY, {})
    pending[work] = None


@event.listens_for(Session, "after_commit")
def _dispatch_committed(session: Session) -> None:
    work = session.info.pop(_PENDING_KEY, {})
    if work and has_app_context():
        dispatch(list(work))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def redis_connection() -> Redis | None:
    from service.extensions import redis_connection as connection

    return connection()


def queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def dispatch(work: list[Work]) -> None:
    """Hand committed work to RQ, or run it here when there is no Redis."""
    connection = redis_connection()
    if connection is None:
        for item in work:
            run_in_process(item)
        return
    try:
        enqueue_all(work, connection)
    except RedisError as exc:
        # The database still holds the work; the relay sends it when Redis is back.
        log.warning(
            "could not enqueue %d job(s) (%s); the relay will retry", len(work), type(exc).__name__
        )


def enqueue(work: Work, connection: Redis) -> bool:
    """Enqueue `work` under its derived job id unless a live job for it already exists."""
    return enqueue_all([work], connection) == 1


def enqueue_all(work: list[Work], connection: Redis) -> int:
    """Enqueue each of `work` that has no live job yet; how many were enqueued.

    Two round trips to Redis whatever the number of jobs: one pipeline reads the jobs that
    exist, one pipeline enqueues the rest. Either all of them reach Redis or, when a
    `RedisError` is raised, the caller leaves them to the relay.
    """
    unique = list(dict.fromkeys(work))
    existing = Job.fetch_many(
        [item.job_id for item in unique], connection=connection, serializer=JSONSerializer
    )
    missing = [
        item
        for item, job in zip(unique, existing, strict=True)
        if job is None or job.get_status(refresh=False) not in _LIVE
    ]
    if not missing:
        return 0
    timeouts = current_app.config.get("JOB_TIMEOUTS", {})
    by_queue: dict[str, list[EnqueueData]] = {}
    for item in missing:
        spec = JOBS[item.kind]
        by_queue.setdefault(spec.queue, []).append(
            Queue.prepare_data(
                spec.func,
                args=(item.target_id,),
                job_id=item.job_id,
                timeout=timeouts.get(item.kind, spec.timeout),
                retry=spec.retry,
                result_ttl=600,
                failure_ttl=7 * 24 * 3600,
                description=item.job_id,
            )
        )
    with connection.pipeline() as pipeline:
        for name, jobs in by_queue.items():
            queue(name, connection).enqueue_many(jobs, pipeline=pipeline)
        pipeline.execute()
    return len(missing)


def run_in_process(work: Work) -> None:
    """The embedded default: run the job now, in its own app context and session."""
    func = _resolve(JOBS[work.kind].func)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        try:
            func(work.target_id)
        except Exception:
            log.exception("in-process job %s failed; it stays pending in the database", work.job_id)


def _resolve(path: str) -> Callable[[int], Any]:
    import importlib

    module, _, name = path.rpartition(".")
    func: Callable[[int], Any] = getattr(importlib.import_module(module), name)
    return func
