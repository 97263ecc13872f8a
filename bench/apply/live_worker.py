"""Approve-to-implemented with a live worker, cut in five parts by RQ's and the ticket's clocks."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select, update

from bench.apply.api import Bench
from bench.apply.roster import load_roster, mixed_batch
from bench.apply.settings import POLL_SECONDS, REDIS_URL, WARMUP, WORKER_ROUNDS
from harness.smtp import DropEmails, smtp_server
from harness.worker import Worker as WorkerProcess
from harness.worker import Workers
from service.jobs import QUEUES
from service.notifications.models import Email, EmailStatus
from service.tickets.models import Ticket, TicketEvent, TicketStatus


def epoch(value: datetime | None) -> float:
    assert value is not None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


@dataclass
class WorkerRound:
    """One approve-to-implemented run; the five parts add up to the total."""

    total_s: float
    enqueue_s: float  # approve request sent -> job enqueued: auth, approval, commit, enqueue
    wait_s: float  # enqueued -> RQ's started_at: dequeue, fork, job bookkeeping
    setup_s: float  # started_at -> apply_started event: import, app context, connect, claim
    apply_s: float  # apply_started event -> implemented event
    tail_s: float  # implemented event -> the poll that saw it: emails recorded, commit, poll
    answer_s: float  # approve request sent -> its answer (renders the ticket after enqueueing)
    job_s: float  # RQ's started_at -> ended_at
    redis_keys: int  # keys in the private Redis just before the approval

    @property
    def share(self) -> float:
        """What the queue adds: waiting in Redis and the worker's own setup."""
        return (self.wait_s + self.setup_s) / self.total_s

    @property
    def outside(self) -> float:
        """Everything but the apply part, the approval request included."""
        return (self.total_s - self.apply_s) / self.total_s


@contextmanager
def live_worker(bench: Bench, logs: Path) -> Iterator[WorkerProcess]:
    """`flask --app service worker` on the bench database, the private Redis and SMTP."""
    workers = Workers(
        database_url=str(bench.engine.url.render_as_string(hide_password=False)),
        redis_url=REDIS_URL,
        logs=logs,
    )
    bench.redis.flushdb()
    try:
        with smtp_server(DropEmails()) as smtp:
            workers.smtp_port = smtp.port
            with workers.running(ready=lambda: Worker.all(connection=bench.redis)) as process:
                yield process
    finally:
        bench.redis.flushdb()


def wait_idle(bench: Bench, process: WorkerProcess, *, timeout: float = 120) -> None:
    """Until the worker is idle and nothing waits in the queues (the last round's emails)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError("the worker exited")
        busy = any(
            Queue(name, connection=bench.redis, serializer=JSONSerializer).count
            or StartedJobRegistry(name, connection=bench.redis).count
            for name in QUEUES
        ) or any(w.get_state() != "idle" for w in Worker.all(connection=bench.redis))
        if not busy:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the worker stayed busy")
        time.sleep(0.05)


def worker_round(
    bench: Bench, process: WorkerProcess, changes: list[dict[str, Any]]
) -> WorkerRound:
    with bench.with_redis():
        ticket_id, reference = bench.submit(changes)
        required = bench.approvals_required(ticket_id)
        for staff in range(required - 1):
            assert bench.approve(reference, staff) == 200
        wait_idle(bench, process)
        keys = int(bench.redis.dbsize())
        with bench.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as poll:
            started = time.time()
            assert bench.approve(reference, required - 1) == 202
            answered = time.time()
            status_of = select(Ticket.status).where(Ticket.id == ticket_id)
            deadline = time.monotonic() + 300
            while (status := poll.execute(status_of).scalar_one()) in (
                TicketStatus.APPROVED,
                TicketStatus.APPLYING,
            ):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"ticket {reference} stayed {status}")
                time.sleep(POLL_SECONDS)
            seen = time.time()
    assert status == TicketStatus.IMPLEMENTED, f"{reference} is {status}"
    with bench.engine.connect() as connection:
        at: dict[str, datetime] = {
            action: moment
            for action, moment in connection.execute(
                select(TicketEvent.action, TicketEvent.at).where(
                    TicketEvent.ticket_id == ticket_id,
                    TicketEvent.action.in_(("apply_started", "implemented")),
                )
            )
        }
    job = Job.fetch(f"apply-{ticket_id}", connection=bench.redis, serializer=JSONSerializer)
    deadline = time.monotonic() + 60
    while job.get_status(refresh=True) != JobStatus.FINISHED:
        if time.monotonic() > deadline:
            raise RuntimeError(f"apply job of {reference} is {job.get_status()}")
        time.sleep(0.01)
    job.refresh()
    apply_started, implemented = epoch(at["apply_started"]), epoch(at["implemented"])
    enqueued, job_started = epoch(job.enqueued_at), epoch(job.started_at)
    return WorkerRound(
        total_s=seen - started,
        enqueue_s=enqueued - started,
        wait_s=job_started - enqueued,
        setup_s=apply_started - job_started,
        apply_s=implemented - apply_started,
        tail_s=seen - implemented,
        answer_s=answered - started,
        job_s=epoch(job.ended_at) - job_started,
        redis_keys=keys,
    )


def measure_worker(bench: Bench, size: int) -> list[WorkerRound]:
    # The in-process rounds left their emails pending; the worker's sweep must not send them.
    with bench.engine.begin() as connection:
        connection.execute(
            update(Email)
            .where(Email.status == EmailStatus.PENDING)
            .values(status=EmailStatus.FAILED, last_error="not sent: benchmark")
        )
    rounds = []
    with live_worker(bench, Path(tempfile.mkdtemp())) as process:
        for n in range(WARMUP + WORKER_ROUNDS):
            changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
            result = worker_round(bench, process, changes)
            if n >= WARMUP:
                rounds.append(result)
        wait_idle(bench, process)
    return rounds
