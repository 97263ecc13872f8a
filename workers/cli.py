"""`flask --app service worker`: an RQ worker on every queue of the service.

Registered through the `flask.commands` entry point (pyproject.toml), so the app factory never
imports the worker.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from service.jobs import use_app
from workers.worker import run


@click.command("worker")
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run an RQ worker on every queue of the service (apply, email, maintenance).

    At start, and every few seconds while it runs, the worker re-sends to Redis whatever work
    the database holds that Redis does not (workers/worker.py). It waits while Redis is down and
    reconnects when Redis comes back; it exits only when asked to (SIGTERM, Ctrl+C), or with
    `--burst` once the queues are empty.

    Jobs run in the worker process itself (RQ's SimpleWorker) rather than in a fork per job: a
    fork starts cold (new database connection, empty statement cache), which bench/apply
    measured as most of the time between approval and implementation.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        raise click.ClickException(
            "REDIS_URL is not set: jobs run in-process after each commit, so no worker is "
            "needed. Set REDIS_URL to run jobs on RQ workers."
        )
    use_app(app)
    if not run(app, redis_url, burst=burst):
        sys.exit(1)
