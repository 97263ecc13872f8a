"""Running queued jobs in tests: a real RQ burst worker when Redis is configured.

On the SQLite run (REDIS_URL unset) jobs already ran in-process after each commit; on the
PostgreSQL run they wait in Redis until `run_jobs` works them off with a real RQ worker.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from flask import Flask
from rq import SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from service.extensions import redis_connection
from service.jobs import QUEUES, queue


def run_jobs(app: Flask) -> None:
    with app.app_context():
        connection = redis_connection()
        if connection is None:
            return
        worker = SimpleWorker(
            [queue(name, connection) for name in QUEUES],
            connection=connection,
            serializer=JSONSerializer,
        )
        worker.work(burst=True, logging_level="WARNING")


def outbox(app: Flask) -> list[EmailMessage]:
    """Every email delivered to the outbox folder so far (SMTP unset), oldest first."""
    run_jobs(app)
    folder = Path(app.config["OUTBOX_DIR"])
    if not folder.exists():
        return []
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]  # type: ignore[misc]


def bodies(message: EmailMessage) -> str:
    """Subject, text and HTML of one email, as one string to search."""
    parts = [str(message["Subject"])]
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            parts.append(part.get_content())
    return "\n".join(parts)


def email_row_id(message: EmailMessage) -> int:
    """The Email row a delivered message came from (its Message-ID names it)."""
    found = re.search(r"\.email-(\d+)@", str(message["Message-ID"]))
    assert found, message["Message-ID"]
    return int(found.group(1))


def fail_job(app: Flask, job_id: str, error: str) -> None:
    """Leave the queued job `job_id` as a worker leaves one whose run failed (the database was
    away): in its queue's failed registry, out of the queue, with the error's type."""
    with app.app_context():
        connection = redis_connection()
        assert connection is not None
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        queue(job.origin, connection).remove(job)
        job.meta["error"] = error
        job.save_meta()
        with connection.pipeline() as pipeline:
            job.set_status(JobStatus.FAILED, pipeline=pipeline)
            FailedJobRegistry(job.origin, connection=connection).add(
                job, ttl=3600, pipeline=pipeline
            )
            pipeline.execute()
