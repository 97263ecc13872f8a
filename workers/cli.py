"""`flask --app service worker`: an RQ worker on every queue of the service.

Registered through the `flask.commands` entry point (pyproject.toml), so the app factory never
imports the worker.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from service.extensions import redis_connection
from service.jobs import QUEUES, queue, resend_pending, use_app
from workers.relay import schedule_next


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run an RQ worker on every queue of the service (apply, email, maintenance).

    At start it re-sends to Redis any work the database holds that Redis does not; while
    running, the relay repeats that every minute (RQ's scheduler runs it).

    Jobs run in the worker process itself (RQ's SimpleWorker) rather than in a fork per
    job: a fork starts cold (new database connection, empty statement cache), which
    bench/apply measured as most of the time between approval and implementation.
    Timeouts still apply (SIGALRM), and a killed worker's job is still found abandoned
    and retried.
    """
    connection = redis_connection()
    if connection is None:
        raise click.ClickException(
            "REDIS_URL is not set: jobs run in-process after each commit, so no worker is "
            "needed. Set REDIS_URL to run jobs on RQ workers."
        )
    use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    resend_pending()
    if not burst:
        schedule_next()
    rq_worker = SimpleWorker(
        [queue(name, connection) for name in QUEUES],
        connection=connection,
        serializer=JSONSerializer,
        # Find jobs of killed workers (and retry them) within a minute or two, not RQ's
        # default ten minutes or more.
        worker_ttl=60,
        maintenance_interval=30,
    )
    rq_worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
