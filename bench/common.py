"""Shared plumbing for the benchmarks: a private PostgreSQL database, timing, statement counts."""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from flask_migrate import upgrade
from redis import Redis
from sqlalchemy import Engine, event, text, update

from service import create_app
from service.accounts.models import UserStatus
from service.config import Config
from service.contacts.service import load_catalog_file
from service.extensions import db
from service.tickets.models import UNFINISHED_STATUSES, Ticket, TicketStatus

BENCH_DB = os.environ.get("BENCH_DATABASE", "rolegate_bench")
SERVER = os.environ.get("BENCH_PG", "127.0.0.1:5432")


def bench_app(instance: Path) -> Flask:
    """The app on a freshly migrated benchmark database (created when missing)."""
    with psycopg.connect(f"postgresql://{SERVER}/postgres", autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = f"postgresql+psycopg://{SERVER}/{BENCH_DB}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("ARGON2_TIME_COST", "1")
    os.environ.setdefault("ARGON2_MEMORY_COST", "64")
    app = create_app(Config(instance))
    # A benchmark prints tables: its own process logs warnings only, where the app's request
    # lines and the local SMTP server's connections (INFO, through the root logger) would bury
    # them. The worker it starts logs as in production, to its own file.
    logging.getLogger().setLevel(logging.WARNING)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        load_catalog_file(session=db.session)
        db.session.commit()
    return app


class StatementCounter:
    """Counts SQL statements sent by the app's engine (an executemany counts once)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object, **kwargs: object) -> None:
        self.count += 1

    @contextmanager
    def watching(self, engine) -> Iterator[StatementCounter]:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self)
        try:
            yield self
        finally:
            event.remove(engine, "before_cursor_execute", self)


def explain_statements(
    engine,
    run: Callable[[], object],
    *,
    parameters: bool = False,
    keep: Callable[[str], bool] = lambda statement: True,
) -> None:
    """Print EXPLAIN (ANALYZE, BUFFERS) of each statement `run()` sends that `keep` accepts, each
    alone in a transaction rolled back (a write that needs an earlier one's rows is left out)."""
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, params, context, executemany) -> None:
        sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    for statement, params in sent:
        if not keep(statement):
            continue
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
            ).scalars()
            print()
            print(statement)
            if parameters:
                print(params)
            print("\n".join(plan))
            connection.rollback()


# The private Redis database the benchmarks that hand work to a queue use: flushed before and after.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


@contextmanager
def bench_app_on_redis() -> Iterator[Flask]:
    """A benchmark's app (see `bench_app`) that enqueues into BENCH_REDIS_URL, emptied before
    the run and again after it."""
    app = bench_app(Path(tempfile.mkdtemp()))
    app.config["REDIS_URL"] = BENCH_REDIS_URL
    redis = Redis.from_url(BENCH_REDIS_URL)
    redis.flushdb()
    try:
        yield app
    finally:
        redis.flushdb()


def cancel_unfinished(org_id: int) -> None:
    """Cancel the organization's unfinished ticket, so that it may submit again (in an app
    context)."""
    db.session.execute(
        update(Ticket)
        .where(Ticket.organization_id == org_id, Ticket.status.in_(UNFINISHED_STATUSES))
        .values(status=TicketStatus.CANCELLED)
    )
    db.session.commit()


def new_analyst(
    i: int, email: str, *, last_name: str | None = None, roles: tuple[str, ...] = ("technical",)
) -> dict[str, Any]:
    """The `add_contact` item the benchmarks' batches add: an analyst, every detail set."""
    return {
        "op": "add_contact",
        "ref": f"n{i}",
        "contact": {
            "salutation": "Mr",
            "first_name": "New",
            "last_name": last_name or f"Person{i}",
            "email": email,
            "job_title": "Analyst",
            "phone": "+44 20 7946 0999",
        },
        "roles": list(roles),
    }


# Runs of a call before it is timed against its floor. A statement reaches its steady state on
# a pooled connection only after about ten runs: psycopg prepares it on its 5th run there, and
# PostgreSQL plans the first 5 runs of a prepared statement afresh before it weighs the generic
# plan it then keeps. A process serving requests runs in that state; the warm-up measures it.
WARMUP = 20


def median_seconds(run: Callable[[], object], *, repeat: int, setup: Callable[[], object]) -> float:
    """Median wall time of `run` over `repeat` rounds, each after an untimed `setup`."""
    samples = []
    for _ in range(repeat):
        setup()
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def against_floor(
    call: Callable[[], Any], floor: Callable[[], Any], engine: Engine, *, repeat: int
) -> tuple[float, float, int]:
    """After `WARMUP` untimed runs of each, the median seconds of `call` and of its `floor` over
    `repeat` runs, and the statements one `call` sends."""
    for _ in range(WARMUP):
        call()
        floor()
    app_s = median_seconds(call, repeat=repeat, setup=lambda: None)
    floor_s = median_seconds(floor, repeat=repeat, setup=lambda: None)
    counter = StatementCounter()
    with counter.watching(engine):
        call()
    return app_s, floor_s, counter.count


def staff_rows(*, vendor_id: int, count: int, password_hash: str) -> list[dict[str, object]]:
    """`users` rows of `count` active vendor staff, `staff0@vendor.example` onwards."""
    return [
        {
            "email": f"staff{n}@vendor.example",
            "password_hash": password_hash,
            "status": UserStatus.ACTIVE,
            "is_staff": True,
            "organization_id": vendor_id,
        }
        for n in range(count)
    ]
