"""What waits in the RQ queues, read without changing anything: for metrics and the Jobs page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer

from service.jobs import QUEUES, queue


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
