"""Handing work to RQ: derived job ids, live jobs left alone, many jobs in one go (real Redis)."""

from __future__ import annotations

import pytest
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer

from service.extensions import redis_connection
from service.jobs import (
    APPLY_QUEUE,
    EMAIL_QUEUE,
    MAINTENANCE_QUEUE,
    Work,
    enqueue,
    enqueue_all,
    period_of,
    queue,
    run_current_periods,
    schedule_next_periods,
)

pytestmark = pytest.mark.postgres_only  # the pass with a Redis


def test_enqueue_all_sends_each_job_once_to_its_queue_under_its_derived_id(app):
    with app.app_context():
        connection = redis_connection()
        assert connection is not None
        assert enqueue(Work("email", 1), connection)  # already waiting: left alone below
        work = [Work("email", n) for n in range(1, 301)] + [Work("apply", 7), Work("email", 2)]
        assert enqueue_all(work, connection) == 300  # 299 emails and the apply, no repeats
        emails = queue(EMAIL_QUEUE, connection)
        assert emails.count == 300
        assert sorted(emails.job_ids, key=lambda i: int(i.split("-")[1]))[:3] == [
            "email-1",
            "email-2",
            "email-3",
        ]
        assert queue(APPLY_QUEUE, connection).job_ids == ["apply-7"]
        job = Job.fetch("email-300", connection=connection, serializer=JSONSerializer)
        assert job.args == [300] or job.args == (300,)
        assert job.func_name == "service.notifications.tasks.send_email"
        assert job.timeout == 300  # the email job's timeout came along
        assert job.retries_left is None  # retries are the sweep's, from the database
        # Everything is live now: a second hand-over (the sweep's) sends nothing.
        assert enqueue_all(work, connection) == 0
        assert emails.count == 300


def test_a_failed_job_is_enqueued_again_under_its_id_and_leaves_the_failed_registry(app):
    with app.app_context():
        connection = redis_connection()
        assert enqueue(Work("apply", 7), connection)
        job = Job.fetch("apply-7", connection=connection, serializer=JSONSerializer)
        apply_queue = queue(APPLY_QUEUE, connection)
        apply_queue.remove(job)
        registry = FailedJobRegistry(APPLY_QUEUE, connection=connection)
        with connection.pipeline() as pipeline:
            job.set_status(JobStatus.FAILED, pipeline=pipeline)
            registry.add(job, ttl=600, pipeline=pipeline)
            pipeline.execute()
        assert registry.get_job_ids() == ["apply-7"]

        assert enqueue_all([Work("apply", 7)], connection) == 1
        assert apply_queue.job_ids == ["apply-7"]
        assert registry.get_job_ids() == []
        assert job.get_status(refresh=True) == JobStatus.QUEUED


def test_every_process_asking_schedules_one_run_per_period_on_rqs_scheduler(app, monkeypatch):
    # Periods of about 32 years: no period ends while the test runs.
    every = 10**9
    monkeypatch.setitem(app.config, "REMINDERS_EVERY_SECONDS", every)
    with app.app_context():
        connection = redis_connection()
        scheduled = [schedule_next_periods(connection) for _ in range(3)]  # three workers ask
        assert [len(s) for s in scheduled] == [1, 0, 0]
        (work,) = scheduled[0]
        assert work.kind == "reminders"
        registry = ScheduledJobRegistry(MAINTENANCE_QUEUE, connection=connection)
        assert registry.get_job_ids() == [work.job_id]
        # It is due when its period starts (RQ's scheduler keeps the real clock).
        at = registry.get_scheduled_time(work.job_id)
        assert period_of(every, at.timestamp()) == work.target_id
        assert at.timestamp() % every == 0
        assert queue(MAINTENANCE_QUEUE, connection).job_ids == []
        # A worker that starts asks for the current period at once; a second asks in vain.
        assert run_current_periods() == 1
        assert run_current_periods() == 0
        assert queue(MAINTENANCE_QUEUE, connection).job_ids == [f"reminders-{work.target_id - 1}"]
