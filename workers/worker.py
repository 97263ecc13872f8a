"""The worker process: an RQ worker that survives Redis outages, beats while it works, serves its
queues in turn and sweeps on its own timer.

- **Fair queues.** Jobs are taken round robin (RQ's `DequeueStrategy.ROUND_ROBIN`): after a job
  of one queue, the next queue is asked first, so a long apply queue never starves email and
  neither starves the maintenance queue.
- **Heartbeats.** Jobs run in this process (SimpleWorker: no cold fork per job). A thread beats
  every `HEARTBEAT_EVERY_SECONDS` while a job runs, keeping the job's entry in RQ's started
  registry alive for `HEARTBEAT_TTL_SECONDS`. When the process dies the beats stop, the entry
  expires, and the next registry clean-up of any live worker (every `SWEEP_EVERY_SECONDS`) marks
  the job failed; the sweep then sends its work again. Whatever the job's timeout, a dead
  worker's job is retried within about `HEARTBEAT_TTL_SECONDS + 2 x SWEEP_EVERY_SECONDS`.
- **The sweep on a timer.** The worker wakes at least every `SWEEP_EVERY_SECONDS` (its blocking
  dequeue times out then) and runs RQ's maintenance and `service.jobs.resend_pending`, when no
  other process swept within the interval (`service.jobs.claim_sweep`). Nothing in Redis has to
  be remembered for the next sweep to happen.
- **RQ's scheduler.** Every worker runs with RQ's scheduler (`with_scheduler`): the one that
  holds RQ's lock for a queue moves that queue's scheduled jobs in when they are due (the
  periodic jobs of `service.jobs.runs_every`, such as the reminders). A burst worker moves what
  is due once, at start. When it starts, a worker asks for the current period's run of each
  periodic job at once.
- **Outages.** `run` starts the worker when Redis answers and starts it again, with backoff, when
  Redis drops, restarts or is flushed: the process never exits for it. A database outage fails
  the job at hand, whose work stays pending for the sweep.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import suppress
from types import FrameType
from typing import Any

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker, worker_registration
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.worker import DequeueStrategy

from service.jobs import (
    QUEUES,
    SWEEP_EVERY_SECONDS,
    claim_sweep,
    queue,
    resend_pending,
    run_current_periods,
)

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_SECONDS = 5
# A job whose worker has not beaten for this long is abandoned.
HEARTBEAT_TTL_SECONDS = 20
# Waits between attempts to reach Redis: doubled from the first to the last, then kept.
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 5.0


class Heartbeat:
    """A thread that keeps a running job's heartbeat (and its worker's) fresh in Redis."""

    def __init__(self, worker: RolegateWorker, job: Job) -> None:
        self.worker = worker
        self.job = job
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat {job.id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=HEARTBEAT_EVERY_SECONDS)

    def _beat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_EVERY_SECONDS):
            if self.worker.execution is None:
                continue
            try:
                self.worker.maintain_heartbeats(self.job)
            except RedisError as exc:
                # Redis is away: the job goes on; if the outage outlasts the heartbeat's TTL, the
                # job may be retried elsewhere, which its idempotence makes harmless.
                log.warning("heartbeat of %s failed (%s)", self.job.id, type(exc).__name__)


class RolegateWorker(SimpleWorker):
    """RQ's SimpleWorker with heartbeats during a job, a short dequeue wait and the sweep."""

    # When a blocking dequeue loses Redis, RQ waits and doubles the wait; keep it short, so that
    # a Redis that is back is used again within seconds.
    max_connection_wait_time = RECONNECT_MAX_SECONDS

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", SWEEP_EVERY_SECONDS)
        super().__init__(*args, **kwargs)
        self.app = app
        self.stop_asked = False
        self.heartbeat_thread: Heartbeat | None = None

    @property
    def dequeue_timeout(self) -> int:
        # Wake up at least this often, even with nothing to do, to sweep.
        return SWEEP_EVERY_SECONDS

    def get_heartbeat_ttl(self, job: Job) -> int:
        # RQ's SimpleWorker allows a job its whole timeout plus a minute before it counts as
        # abandoned; with our heartbeats, a missed beat or three is enough.
        return HEARTBEAT_TTL_SECONDS

    def execute_job(self, job: Job, queue: Queue) -> None:
        self.heartbeat_thread = Heartbeat(self, job)
        self.heartbeat_thread.start()
        try:
            super().execute_job(job, queue)
        finally:
            self._stop_heartbeat()

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        # The job's body is done: stop beating before RQ records the outcome and removes the job
        # from the started registry, so that no late beat puts it back.
        self._stop_heartbeat()
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    def _stop_heartbeat(self) -> None:
        if self.heartbeat_thread is not None:
            self.heartbeat_thread.stop()
            self.heartbeat_thread = None

    def run_maintenance_tasks(self) -> None:
        # RQ's own first: its registry clean-up marks the jobs of dead workers failed, so the
        # sweep right after sends their work again.
        super().run_maintenance_tasks()
        self._register_again_if_forgotten()
        self.sweep()

    def sweep(self) -> None:
        """Re-send pending work, unless another process swept within the interval."""
        try:
            if not claim_sweep(self.connection):
                return
            with self.app.app_context():
                resend_pending()
        except Exception:
            # A sweep must never stop the worker (the database may be away): the next turn
            # tries again.
            log.exception("the sweep failed; the next one tries again")

    def _register_again_if_forgotten(self) -> None:
        """After a flush or a restart Redis no longer lists this worker: list it again."""
        if self.connection.sismember(self.redis_workers_keys, self.key):
            return
        with self.connection.pipeline() as pipeline:
            pipeline.hset(self.key, mapping=self.serialize())
            worker_registration.register(self, pipeline)
            pipeline.expire(self.key, self.worker_ttl + 60)
            pipeline.execute()

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)

    def teardown(self) -> None:
        # RQ's teardown talks to Redis first and would skip the rest when Redis is away; the
        # listener thread must stop whatever happens, or every reconnection would leave one.
        with suppress(RedisError):
            self.register_death()
        if self.pubsub_thread is not None:
            self.pubsub_thread.stop()
            self.pubsub_thread.join(timeout=1)
            self.pubsub_thread = None
        if self.pubsub is not None:
            with suppress(RedisError, OSError):
                self.pubsub.close()


class _Stop:
    """SIGTERM or SIGINT between two runs of the worker: stop waiting and exit."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()

    def wait(self, seconds: float) -> bool:
        """Wait; True when asked to stop meanwhile."""
        return self.event.wait(seconds)


def run(app: Flask, redis_url: str, *, burst: bool) -> bool:
    """Work on every queue of the service until stopped (or, with `burst`, until they are empty).

    While Redis cannot be reached the worker waits and tries again, longer each time up to
    `RECONNECT_MAX_SECONDS`; when Redis drops mid-run, it starts over. A burst run gives up at
    the first outage instead and returns False.
    """
    stop = _Stop()
    wait = RECONNECT_FIRST_SECONDS
    while True:
        stop.install()
        connection = Redis.from_url(redis_url, socket_connect_timeout=2)
        try:
            connection.ping()
            _sweep_at_start(app)
            worker = RolegateWorker(
                [queue(name, connection) for name in QUEUES],
                connection=connection,
                serializer=JSONSerializer,
                app=app,
            )
            worker.work(
                burst=burst,
                logging_level="INFO",
                dequeue_strategy=DequeueStrategy.ROUND_ROBIN,
                with_scheduler=True,
            )
            if burst or worker.stop_asked:
                return True
            wait = RECONNECT_FIRST_SECONDS
            log.warning("the worker stopped without being asked to; starting it again")
        except RedisError as exc:
            if burst:
                log.error("Redis cannot be reached (%s)", type(exc).__name__)
                return False
            log.warning("Redis cannot be reached (%s); trying again in %.1f s", exc, wait)
        finally:
            connection.close()
        stop.install()
        if stop.wait(wait):
            return True
        wait = min(wait * 2, RECONNECT_MAX_SECONDS)


def _sweep_at_start(app: Flask) -> None:
    """Whatever the database says is to do goes to Redis before the first job is taken, and so
    does the current period's run of each periodic job."""
    try:
        with app.app_context():
            resend_pending()
            run_current_periods()
    except Exception:
        log.exception("the sweep at start failed; the worker's timer tries again")
