"""The RQ queues as staff and metrics see them: what waits, what failed, and staff's retry and
discard of a failed job.

Retry and discard follow the sweep's rule, that the database says what is still to do:

- **retry** sends a failed job again at once, when the database still holds its work (an
  approved ticket, a pending email); otherwise there is nothing to do and it is refused;
- **discard** removes a failed job; when the database still holds its work, the domain first
  gives it up for good (`service.jobs.gives_up`: the ticket is marked failed for staff to retry,
  the email is marked failed), since the sweep would otherwise send it again. Work no domain can
  give up is not discarded.

A failed job is shown with ids only: its id, kind and target, when it failed, the request id it
carried and the type of its error (never the error's text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy.orm import Session

from service.errors import Conflict, NotFound
from service.jobs import (
    QUEUES,
    Work,
    enqueue_all,
    give_up_rule,
    parse_job_id,
    pending_work,
    queue,
)

# The failed jobs listed per queue, newest first.
FAILED_SHOWN = 50
# The last line of a traceback: `package.module.ErrorType: its text` (the text is dropped).
_ERROR_TYPE = re.compile(r"([A-Za-z_][\w.]*)(?::.*)?")


@dataclass(frozen=True)
class QueueStats:
    """One queue: jobs waiting, the age of the oldest, jobs running, jobs in the failed registry."""

    name: str
    depth: int
    oldest_age_seconds: float
    started: int
    failed: int


def queue_stats(connection: Redis, *, now: datetime | None = None) -> list[QueueStats]:
    """Every queue of the service, in four Redis reads per queue plus one for the oldest jobs.

    Nothing is cleaned up on the way (RQ's `count` would move expired jobs): a scrape only reads.
    """
    now = now or datetime.now(UTC)
    queues = [queue(name, connection) for name in QUEUES]
    with connection.pipeline(transaction=False) as pipeline:
        for each in queues:
            pipeline.llen(each.key)
            pipeline.lindex(each.key, 0)
            pipeline.zcard(each.started_job_registry.key)
            pipeline.zcard(each.failed_job_registry.key)
        answers = pipeline.execute()
    rows = [answers[i : i + 4] for i in range(0, len(answers), 4)]
    first_ids = [_text(row[1]) for row in rows]
    oldest = Job.fetch_many(
        [job_id for job_id in first_ids if job_id],
        connection=connection,
        serializer=JSONSerializer,
    )
    enqueued = {job.id: job.enqueued_at for job in oldest if job is not None}
    stats = []
    for each, row, first in zip(queues, rows, first_ids, strict=True):
        at = enqueued.get(first) if first else None
        age = (now - at).total_seconds() if at else 0.0
        stats.append(
            QueueStats(
                name=each.name,
                depth=int(row[0]),
                oldest_age_seconds=max(0.0, age),
                started=int(row[2]),
                failed=int(row[3]),
            )
        )
    return stats


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class FailedJob:
    """A job in a failed registry, by ids: what it was for and the type of its error."""

    job_id: str
    queue: str
    work: Work | None
    failed_at: datetime | None
    error: str
    request_id: str | None
    pending: bool


def failed_jobs(*, session: Session, connection: Redis) -> list[FailedJob]:
    """The newest failed jobs of every queue, and whether the database still holds their work."""
    pending = set(pending_work(session))
    session.rollback()
    found: list[FailedJob] = []
    for name in QUEUES:
        registry = FailedJobRegistry(queue=queue(name, connection))
        ids = registry.get_job_ids(0, FAILED_SHOWN - 1, desc=True, cleanup=False)
        jobs = Job.fetch_many(ids, connection=connection, serializer=JSONSerializer)
        for job_id, job in zip(ids, jobs, strict=True):
            work = parse_job_id(job_id)
            found.append(
                FailedJob(
                    job_id=job_id,
                    queue=name,
                    work=work,
                    failed_at=job.ended_at if job is not None else None,
                    error=_error_type(job),
                    request_id=job.meta.get("request_id") if job is not None else None,
                    pending=work in pending,
                )
            )
    return found


def retry(*, session: Session, connection: Redis, job_id: str) -> Work:
    """Send a failed job again now, if the database still holds its work."""
    job, work = _failed(connection, job_id)
    if work not in set(pending_work(session)):
        raise Conflict(
            f"{job_id} has nothing left to do: the database says its work is done or given up."
        )
    FailedJobRegistry(job.origin, connection=connection).remove(job)
    enqueue_all([work], connection)
    return work


def discard(*, session: Session, connection: Redis, job_id: str) -> Work:
    """Remove a failed job; its pending work is given up for good first. The caller commits."""
    job, work = _failed(connection, job_id)
    if work in set(pending_work(session)):
        give_up = give_up_rule(work.kind)
        if give_up is None:
            raise Conflict(
                f"{job_id} cannot be given up: its work is still to do, and the sweep sends it "
                "again. Retry it instead."
            )
        give_up(session, work.target_id)
    FailedJobRegistry(job.origin, connection=connection).remove(job, delete_job=True)
    return work


def _failed(connection: Redis, job_id: str) -> tuple[Job, Work]:
    work = parse_job_id(job_id)
    job = Job.fetch_many([job_id], connection=connection, serializer=JSONSerializer)[0]
    in_registry = (
        job is not None
        and job.origin in QUEUES
        and (job_id in FailedJobRegistry(job.origin, connection=connection))
    )
    if work is None or job is None or not in_registry:
        raise NotFound("No such failed job.")
    return job, work


def _error_type(job: Job | None) -> str:
    """The type of the error a job failed with, never its text: as the job recorded it
    (`service.jobs.Task`), else from the last line of the traceback RQ kept."""
    if job is not None and job.meta.get("error"):
        return str(job.meta["error"])
    result = job.latest_result() if job is not None else None
    text = (result.exc_string or "") if result is not None else ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "unknown"
    if "AbandonedJobError" in lines[-1]:
        return "AbandonedJobError"  # its worker died
    match = _ERROR_TYPE.fullmatch(lines[-1].strip())
    return match.group(1).rsplit(".", 1)[-1] if match else "unknown"
