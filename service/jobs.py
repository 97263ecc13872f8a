"""Background jobs, a layer under the domain: declaring a job, and handing work to RQ after commit.

A domain declares each job body beside its services, in its own `tasks.py`, with the queue
and timeout on the function:

    @job(APPLY_QUEUE, name="apply", timeout=300)
    def apply_ticket(ticket_id: int) -> str:
        ...

and a service asks for it inside its transaction, where the hand-off can be read:

    apply_ticket.after_commit(session, ticket.id)

Nothing reaches Redis unless that transaction commits. When Redis cannot be reached then, the
work stays in the database (an approved ticket, a pending email) and the sweep (`resend_pending`)
sends it later: each domain declares how to find its own pending work with `@finds_pending_work`.
With `REDIS_URL` unset the job runs in-process right after the commit, so the demo needs no
worker.

The database, not Redis, remembers what is still to do, so RQ keeps no retry schedule: a job
that fails leaves its work pending in the database (a transient error) or records why it cannot
be done (the ticket `failed`, the email given up), and the sweep, which every worker process runs
on its own timer (`workers/worker.py`), sends pending work again. A restarted, flushed or failed
over Redis therefore loses nothing that the next sweep does not find.

Jobs take ids, never objects or personal data, and their RQ job id derives from the work
(`apply-12`, `emails-55`), so enqueueing twice is harmless.

A job declared with `@runs_every(setting)` runs on RQ's scheduler once per period of that many
seconds (`reminders-5904213`: its target is the period's number, counted from the epoch). Every
process that asks schedules the same job id for the next period, so however many workers there
are one job waits in RQ's scheduled registry; RQ's scheduler (workers run `with_scheduler`)
holds a lock per queue, so one of them moves it to its queue when it is due. The sweep asks for
the next period each time it runs; a worker, when it starts, also asks for the current period's
run at once. What such a job did is remembered in the database, so a second run of a period
(a worker started twice within it) finds it done. Each job runs in its own app context
and session (`job_context`). The worker process (`workers/`) names the app jobs run in.

What may import this module: every domain. What it imports: Flask, SQLAlchemy, RQ and
`service.extensions` only.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, get_current_job
from rq.job import Job, JobStatus
from rq.queue import EnqueueData
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import event
from sqlalchemy.orm import Session

from service import logs
from service.extensions import close_session, db, redis_connection
from service.metrics import JOB_DURATION, JOB_RETRIES, JOB_RUNS, RELAY_RESENT

log = logging.getLogger(__name__)
# One line per job run (service/logs.py): its id, kind, target, outcome and duration.
job_log = logging.getLogger("rolegate.job")

APPLY_QUEUE = "apply"
EMAIL_QUEUE = "email"
MAINTENANCE_QUEUE = "maintenance"
# Webhooks wait on other people's servers: on their own queue, they never hold up an email.
WEBHOOK_QUEUE = "webhook"
QUEUES = (APPLY_QUEUE, EMAIL_QUEUE, MAINTENANCE_QUEUE, WEBHOOK_QUEUE)

# Jobs kept in Redis after they end: results briefly, failures for a week (staff look at them).
RESULT_TTL_SECONDS = 600
FAILURE_TTL_SECONDS = 7 * 24 * 3600
# Jobs per pair of Redis round trips when the sweep re-sends a backlog.
RESEND_CHUNK = 500
# Every worker process tries to sweep this often; a lock in Redis lets one of them do it per
# interval. The lock expires by itself: a flushed or restarted Redis only lets a sweep come sooner.
SWEEP_EVERY_SECONDS = 10
SWEEP_LOCK_KEY = "rolegate:sweep"

_PENDING_KEY = "rolegate_work"
# Statuses in which a job will still run: enqueueing it again would only duplicate it.
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass(frozen=True)
class Work:
    """One unit of queued work: a job name and the id it acts on; its RQ job id derives from it."""

    kind: str
    target_id: int

    @property
    def job_id(self) -> str:
        return f"{self.kind}-{self.target_id}"


class JobFailed(Exception):
    """What RQ records of a failed job: its id and the error's type (the log line has the stack)."""


class Task:
    """A job body declared with `@job`: callable by RQ with the id, in its own app context."""

    def __init__(
        self,
        func: Callable[[int], Any],
        *,
        queue: str,
        name: str,
        timeout: int,
    ) -> None:
        self.func = func
        self.queue = queue
        self.name = name
        self.timeout = timeout
        # What RQ imports to run the job: this object, under the function's own name.
        self.path = f"{func.__module__}.{func.__name__}"
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        self.__module__ = func.__module__

    def __call__(self, target_id: int) -> Any:
        """Run the body under the request id that caused it, and write the job's one log line.

        A failure reaches RQ as `JobFailed`, which names the job and the error's type only: RQ
        logs and stores in Redis what it is given, and an error's text may quote a row.
        """
        job_id = self.work(target_id).job_id
        current = get_current_job()
        request_id = (current.meta.get("request_id") if current is not None else None) or (
            logs.current_request_id() or logs.new_request_id()
        )
        started = time.perf_counter()
        outcome = "error"
        failure: BaseException | None = None
        with logs.bound(request_id) as fields:
            try:
                with job_context():
                    result = self.func(target_id)
                outcome = result if isinstance(result, str) else "done"
                return result
            except Exception as exc:
                failure = exc
                if current is not None:
                    # What the Jobs page shows of the failure: its type, never its text.
                    current.meta["error"] = type(exc).__name__
                    with suppress(RedisError):
                        current.save_meta()
                raise JobFailed(f"{job_id} failed: {type(exc).__name__}") from None
            finally:
                elapsed = time.perf_counter() - started
                JOB_RUNS.labels(self.name, outcome).inc()
                JOB_DURATION.labels(self.name).observe(elapsed)
                job_log.log(
                    logging.INFO if failure is None else logging.ERROR,
                    "%s %s",
                    job_id,
                    outcome,
                    exc_info=(type(failure), failure, failure.__traceback__) if failure else None,
                    extra={
                        "job_id": job_id,
                        "kind": self.name,
                        "target_id": target_id,
                        "outcome": outcome,
                        "duration_ms": round(elapsed * 1000, 1),
                        **fields,
                    },
                )

    def work(self, target_id: int) -> Work:
        return Work(self.name, target_id)

    def after_commit(self, session: Session, target_id: int) -> None:
        """Run this job for `target_id` once the session's transaction commits."""
        after_commit(session, self.work(target_id))

    def __repr__(self) -> str:
        return f"<job {self.name} on {self.queue}>"


# Every declared job by name; the app factory imports each domain's tasks module.
TASKS: dict[str, Task] = {}


def job(queue: str, *, name: str, timeout: int) -> Callable[[Callable[[int], Any]], Task]:
    """Declare a job body: the queue it runs on, its name (the prefix of its job ids) and how
    long it may run (`JOB_TIMEOUTS[name]` in the config overrides it).

    There is no retry policy: a job that raises leaves its work pending in the database, and
    the sweep sends it again."""

    def declare(func: Callable[[int], Any]) -> Task:
        if name in TASKS and TASKS[name].path != f"{func.__module__}.{func.__name__}":
            raise ValueError(f"two jobs are named {name!r}")
        task = TASKS[name] = Task(func, queue=queue, name=name, timeout=timeout)
        return task

    return declare


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
        # The database still holds the work; the sweep sends it when Redis is back.
        log.warning(
            "could not enqueue %d job(s) (%s); the sweep will retry", len(work), type(exc).__name__
        )


def enqueue(work: Work, connection: Redis) -> bool:
    """Enqueue `work` under its derived job id unless a live job for it already exists."""
    return enqueue_all([work], connection) == 1


def enqueue_all(work: list[Work], connection: Redis) -> int:
    """Enqueue each of `work` that has no live job yet; how many were enqueued.

    Two round trips to Redis whatever the number of jobs: one pipeline reads the jobs that
    exist, one pipeline enqueues the rest. Either all of them reach Redis or, when a
    `RedisError` is raised, the caller leaves them to the sweep. A job that failed before is
    enqueued again under the same id and leaves the failed registry.
    """
    return len(_enqueue_missing(work, connection))


def _enqueue_missing(work: list[Work], connection: Redis) -> list[Work]:
    """`enqueue_all`, answering what it enqueued.

    Each job carries in its meta the id of the request that caused it (the running request's or
    job's; for a job sent again, the one its earlier run carried), so that a job's line and the
    request's line share it. A job sent again after its earlier run failed is counted a retry.
    """
    missing = _not_live(work, connection)
    if not missing:
        return []
    request_id = logs.current_request_id()
    by_queue: dict[str, list[EnqueueData]] = {}
    for item, found in missing:
        earlier = found.meta.get("request_id") if found is not None else None
        by_queue.setdefault(TASKS[item.kind].queue, []).append(
            Queue.prepare_data(**_job_options(item, earlier or request_id))
        )
    failed = [
        (item, found)
        for item, found in missing
        if found is not None and found.get_status(refresh=False) == JobStatus.FAILED
    ]
    with connection.pipeline() as pipeline:
        for _, found in failed:
            FailedJobRegistry(found.origin, connection=connection).remove(found, pipeline=pipeline)
        for name, jobs in by_queue.items():
            queue(name, connection).enqueue_many(jobs, pipeline=pipeline)
        pipeline.execute()
    for item, _ in failed:
        JOB_RETRIES.labels(item.kind).inc()
    return [item for item, _ in missing]


def _job_options(item: Work, request_id: str | None) -> dict[str, Any]:
    """What RQ is told of a job for `item`: its function, id, limits and the request id it
    carries."""
    task = TASKS[item.kind]
    return {
        "func": task.path,
        "args": (item.target_id,),
        "job_id": item.job_id,
        "timeout": current_app.config.get("JOB_TIMEOUTS", {}).get(item.kind, task.timeout),
        "result_ttl": RESULT_TTL_SECONDS,
        "failure_ttl": FAILURE_TTL_SECONDS,
        "description": item.job_id,
        "meta": {"request_id": request_id},
    }


def _not_live(work: list[Work], connection: Redis) -> list[tuple[Work, Job | None]]:
    """Each of `work` (once) that has no job that will still run, with its earlier job if any."""
    unique = list(dict.fromkeys(work))
    existing = Job.fetch_many(
        [item.job_id for item in unique], connection=connection, serializer=JSONSerializer
    )
    return [
        (item, found)
        for item, found in zip(unique, existing, strict=True)
        if found is None or found.get_status(refresh=False) not in _LIVE
    ]


def run_in_process(work: Work) -> None:
    """The embedded default: run the job now, in its own app context and session."""
    # A failure is in the job's own line; its work stays pending in the database.
    with suppress(JobFailed):
        TASKS[work.kind](work.target_id)


# --- Jobs on RQ's scheduler -------------------------------------------------------------------

# Periodic jobs by name, with the setting that holds each one's period in seconds (0: never).
_EVERY: dict[str, str] = {}


def runs_every(setting: str) -> Callable[[Task], Task]:
    """Run this job on RQ's scheduler once every `current_app.config[setting]` seconds; its
    target is the period's number (`period_of`)."""

    def declare(task: Task) -> Task:
        _EVERY[task.name] = setting
        return task

    return declare


def period_of(seconds: int, at: float) -> int:
    """The number of the period of `seconds` that the Unix time `at` falls in."""
    return int(at // seconds)


def _periods(offset: int) -> list[tuple[Work, datetime]]:
    """Each periodic job's work for the current period (`offset` 0) or the next (1), with the
    real time that period starts: RQ's scheduler keeps the real clock."""
    planned = []
    for name, setting in _EVERY.items():
        seconds = int(current_app.config.get(setting) or 0)
        if seconds <= 0:
            continue
        number = period_of(seconds, time.time()) + offset
        planned.append((Work(name, number), datetime.fromtimestamp(number * seconds, UTC)))
    return planned


def schedule_next_periods(connection: Redis) -> list[Work]:
    """Put each periodic job's next run in RQ's scheduled registry unless a live job for that
    period exists already; what was scheduled. Two round trips to Redis."""
    planned = dict(_periods(1))
    missing = _not_live(list(planned), connection)
    if not missing:
        return []
    request_id = logs.current_request_id()
    with connection.pipeline() as pipeline:
        for item, _ in missing:
            target = queue(TASKS[item.kind].queue, connection)
            scheduled = target.create_job(
                status=JobStatus.SCHEDULED, **_job_options(item, request_id)
            )
            target.schedule_job(scheduled, planned[item], pipeline=pipeline)
        pipeline.execute()
    return [item for item, _ in missing]


def run_current_periods() -> int:
    """Each periodic job's run for the current period, now (a worker starting asks for it: the
    database may hold what came due while no worker ran); how many were sent."""
    work = [item for item, _ in _periods(0)]
    connection = redis_connection()
    if connection is None:
        for item in work:
            run_in_process(item)
        return len(work)
    return len(_enqueue_missing(work, connection))


# --- Finding work the queues lost -------------------------------------------------------------

PendingWorkFinder = Callable[[Session], list[Work]]
_FINDERS: list[PendingWorkFinder] = []


def finds_pending_work(finder: PendingWorkFinder) -> PendingWorkFinder:
    """Declare a reader of work the database says is still to do (it must not write)."""
    if finder not in _FINDERS:
        _FINDERS.append(finder)
    return finder


GiveUp = Callable[[Session, int], None]
_GIVE_UP: dict[str, GiveUp] = {}


def gives_up(kind: str) -> Callable[[GiveUp], GiveUp]:
    """Declare how a domain stops pending work of `kind` for good (staff discard its job): it
    records why in the database, so the sweep no longer finds the work. It flushes."""

    def declare(give_up: GiveUp) -> GiveUp:
        _GIVE_UP[kind] = give_up
        return give_up

    return declare


def give_up_rule(kind: str) -> GiveUp | None:
    return _GIVE_UP.get(kind)


def parse_job_id(job_id: str) -> Work | None:
    """The work an RQ job id names (`apply-12`), or None when it names none of ours."""
    kind, _, target = job_id.rpartition("-")
    if kind not in TASKS or not target.isdigit():
        return None
    return Work(kind, int(target))


def pending_work(session: Session) -> list[Work]:
    """Everything the database holds that a job still has to do, as the domains find it."""
    return [work for finder in _FINDERS for work in finder(session)]


def claim_sweep(connection: Redis) -> bool:
    """Whether this process should sweep now: the first of every worker process to ask within
    `SWEEP_EVERY_SECONDS` gets the turn (SET NX with an expiry, never released: a sweep that
    dies still ends its turn)."""
    holder = f"{socket.gethostname()}:{os.getpid()}"
    return bool(connection.set(SWEEP_LOCK_KEY, holder, nx=True, px=int(SWEEP_EVERY_SECONDS * 900)))


def resend_pending() -> int:
    """Send the pending work to RQ (or run it here without Redis); how many were (re)sent.

    A sweep outside any request or job runs under an id of its own, which the work it sends
    carries when no earlier run of it left one.
    """
    with logs.bound(logs.current_request_id() or logs.new_request_id()):
        return _resend_pending()


def _resend_pending() -> int:
    """The database is the source of truth: work that Redis never got (it was down, flushed, or a
    process died between commit and enqueue) and work whose job failed or was abandoned is found
    there and sent again. A job that is still queued or running is left alone, so resending is
    harmless, and two sweeps at once at worst enqueue one job twice, whose second run finds
    nothing to do.
    """
    session = db.session()
    try:
        work = pending_work(session)
    finally:
        # A sweep reads; it must not hold a transaction open while it talks to Redis or runs
        # the jobs it found (SQLite has one writer at a time).
        session.rollback()
    connection = redis_connection()
    if connection is None:
        for item in work:
            run_in_process(item)
        return len(work)
    sent: list[Work] = []
    for start in range(0, len(work), RESEND_CHUNK):
        try:
            sent += _enqueue_missing(work[start : start + RESEND_CHUNK], connection)
        except RedisError as exc:
            log.warning("the sweep could not reach Redis (%s); will try again", type(exc).__name__)
            break
    for item in sent:
        RELAY_RESENT.labels(item.kind).inc()
    if sent:
        log.info("the sweep re-sent %d job(s)", len(sent))
    try:
        schedule_next_periods(connection)
    except RedisError as exc:
        log.warning("the sweep could not schedule (%s); will try again", type(exc).__name__)
    return len(sent)


# --- The app a job runs in --------------------------------------------------------------------

_app: Flask | None = None
_pool_pid = os.getpid()


def use_app(app: Flask) -> None:
    """Make `app` the one that jobs of this process run in (the worker command calls this)."""
    global _app
    _app = app


def _app_for_job() -> Flask:
    if has_app_context():
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        return app
    if _app is None:
        raise RuntimeError(
            "No app to run the job in: start workers with `flask --app service worker`."
        )
    return _app


def _own_connections(app: Flask) -> None:
    """A forked work horse must not use the parent's pooled database connections."""
    global _pool_pid
    if _pool_pid != os.getpid():
        with app.app_context():
            db.engine.dispose(close=False)
        _pool_pid = os.getpid()


@contextmanager
def job_context() -> Iterator[None]:
    """A fresh app context (and so a fresh session) for one job, removed afterwards."""
    app = _app_for_job()
    _own_connections(app)
    with app.app_context():
        try:
            yield
        finally:
            close_session()
