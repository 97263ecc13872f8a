"""Flask CLI commands: `seed-demo`, `load-roles`, `worker` (`db` comes from Flask-Migrate)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from service.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("load-roles")
    @click.option("--replace", is_flag=True, help="Overwrite roles that already exist.")
    def load_roles(replace: bool) -> None:
        """Load the role catalog from service/contacts/roles.json (missing roles only)."""
        from service.contacts.service import load_catalog_file

        written = load_catalog_file(session=db.session(), replace=replace)
        db.session.commit()
        click.echo(f"Role catalog: {written} role(s) written.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo organizations, contacts and accounts; running it twice changes nothing."""
        from service.demo import seed

        summary = seed(session=db.session(), password=current_app.config["DEMO_PASSWORD"])
        db.session.commit()
        click.echo(summary)

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
    def worker(burst: bool) -> None:
        """Run an RQ worker on every queue of the service (apply, email, maintenance).

        At start it re-sends to Redis any work the database holds that Redis does not; while
        running, the relay repeats that every minute (RQ's scheduler runs it).

        Jobs run in the worker process itself (RQ's SimpleWorker) rather than in a fork per
        job: a fork starts cold (new database connection, empty statement cache), which
        bench/apply.py measured as most of the time between approval and implementation.
        Timeouts still apply (SIGALRM), and a killed worker's job is still found abandoned
        and retried.
        """
        from rq import SimpleWorker
        from rq.serializers import JSONSerializer

        from workers.context import use_app
        from workers.queues import QUEUES, queue, redis_connection
        from workers.relay import resend_pending, schedule_next

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
