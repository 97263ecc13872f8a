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
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
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
    pending: list[Work] = session.info.setdefault(_PENDING_KEY, [])
    if work not in pending:
        pending.append(work)


@event.listens_for(Session, "after_commit")
def _dispatch_committed(session: Session) -> None:
    work = session.info.pop(_PENDING_KEY, [])
    if work and has_app_context():
        dispatch(work)


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
    for item in work:
        try:
            enqueue(item, connection)
        except RedisError as exc:
            # The database still holds the work; the relay sends it when Redis is back.
            log.warning(
                "could not enqueue %s (%s); the relay will retry", item.job_id, type(exc).__name__
            )


def enqueue(work: Work, connection: Redis) -> bool:
    """Enqueue `work` under its derived job id unless a live job for it already exists."""
    spec = JOBS[work.kind]
    try:
        existing = Job.fetch(work.job_id, connection=connection, serializer=JSONSerializer)
        if existing.get_status(refresh=False) in _LIVE:
            return False
    except NoSuchJobError:
        pass
    timeout = current_app.config.get("JOB_TIMEOUTS", {}).get(work.kind, spec.timeout)
    queue(spec.queue, connection).enqueue_call(
        spec.func,
        args=(work.target_id,),
        job_id=work.job_id,
        timeout=timeout,
        retry=spec.retry,
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
        description=work.job_id,
    )
    return True


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
