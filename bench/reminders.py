"""Benchmark: a reminder run (`service.tickets.reminders.send_due`) over 1,000 and 100,000 open
tickets on PostgreSQL.

Each size is seeded set-wise (`INSERT … SELECT … FROM generate_series`): as many customer
organizations as tickets (the database allows one unfinished ticket per organization), a
requester each, and their tickets, open or waiting on the customer, with due times far ahead
but for `DUE` tickets of each kind: a first response due, a resolution due, a wait past the
reminder, a wait past the close. The due set is the same at both sizes.

It prints, per size, the SQL statements of one run (its one batch: every due reminder recorded
and its email with it, every unanswered ticket closed through the workflow), the median time
of a run (rolled back after each, so each run finds the same work; nothing reaches SMTP), the
floor measured in the same run and their ratio. The floor is ONE select of the due tickets'
ids, the three due conditions in a UNION ALL: the least any sweep must read.

Targets: the same statement count at 1,000 and at 100,000 tickets (no read per open ticket),
and a ratio at 100,000 no more than `TARGET_GROWTH` times the ratio at 1,000 (what the run
reads follows the due set, through the indexed due columns, not the open tickets).

Run it with `python -m bench.reminders` (PostgreSQL running); `--explain` also prints
`EXPLAIN (ANALYZE, BUFFERS)` of the reads and the reminders' inserts of a run at the largest size.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import bindparam, select, text, union_all

from bench.common import StatementCounter, bench_app, explain_statements, median_seconds
from service.extensions import db
from service.models_base import utcnow
from service.tickets import counts, reminders
from service.tickets.models import AWAITING_CUSTOMER_SQL, UNFINISHED_STATUSES, Ticket

SIZES = (1_000, 100_000)
# Tickets due of each kind; the rest are not due.
DUE = 20
REPEAT = 15
TARGET_GROWTH = 2.0


def seed(app: Flask, size: int, now: datetime) -> None:
    """`size` organizations, requesters and open tickets, written by four set-wise inserts."""
    remind = timedelta(days=app.config["REMIND_AWAITING_AFTER_DAYS"], hours=1)
    close = remind + timedelta(days=app.config["CLOSE_UNANSWERED_AFTER_DAYS"])
    with db.engine.begin() as connection:
        connection.execute(
            text("TRUNCATE organizations, users, change_requests, tickets RESTART IDENTITY CASCADE")
        )
        connection.execute(
            text(
                "INSERT INTO organizations (id, slug, name, kind, created_at) "
                "SELECT g, 'customer-' || g, 'Customer ' || g, 'customer', :now "
                "FROM generate_series(1, :size) AS g"
            ),
            {"size": size, "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO users (id, email, status, is_staff, organization_id, created_at) "
                "SELECT g, 'admin@customer-' || g || '.example', 'active', false, g, :now "
                "FROM generate_series(1, :size) AS g"
            ),
            {"size": size, "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO change_requests "
                "(id, organization_id, requester_id, base_version, warnings, created_at) "
                "SELECT g, g, g, 1, '[]'::jsonb, :now FROM generate_series(1, :size) AS g"
            ),
            {"size": size, "now": now},
        )
        # 1..DUE: first response due; then resolution due; then waiting past the reminder;
        # then past the close; then not due: one in five waiting since yesterday, the rest open.
        connection.execute(
            text(
                """
                INSERT INTO tickets (id, kind, organization_id, change_request_id, requester_id,
                    status, approvals_required, revision, created_at, updated_at,
                    first_response_due, resolution_due, first_responded_at, sla_paused_at)
                SELECT g, 'change_request', g, g, g,
                    CASE WHEN g > 2 * :due AND (g <= 4 * :due OR g % 5 = 0)
                         THEN 'awaiting_customer' ELSE 'open' END,
                    1, 1, :now - interval '20 days',
                    CASE WHEN g > 2 * :due AND g <= 3 * :due THEN :remind_at
                         WHEN g > 3 * :due AND g <= 4 * :due THEN :close_at
                         ELSE :now - interval '1 day' END,
                    CASE WHEN g <= :due THEN :now - interval '1 hour'
                         ELSE :now + interval '30 days' END,
                    CASE WHEN g > :due AND g <= 2 * :due THEN :now - interval '1 hour'
                         ELSE :now + interval '60 days' END,
                    CASE WHEN g > :due THEN :now - interval '19 days' END,
                    NULL
                FROM generate_series(1, :size) AS g
                """
            ),
            {
                "size": size,
                "due": DUE,
                "now": now,
                "remind_at": now - remind,
                "close_at": now - close,
            },
        )
        for table in ("organizations", "users", "change_requests", "tickets"):
            connection.execute(
                text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
            )
    counts.rebuild(session=db.session)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE)"))


def run_once(now: datetime) -> reminders.Figures:
    """One run's batch, rolled back: the next run finds the same work."""
    try:
        return reminders.send_due(session=db.session(), now=now)
    finally:
        db.session.rollback()


def floor_query(now: datetime) -> Any:
    """One select of the due tickets' ids: what any sweep must read at least."""
    settings = reminders.Settings.from_config()
    unfinished = Ticket.status.in_(
        bindparam("unfinished", [s.value for s in UNFINISHED_STATUSES], literal_execute=True)
    )
    return union_all(
        select(Ticket.id).where(
            unfinished, Ticket.first_responded_at.is_(None), Ticket.first_response_due <= now
        ),
        select(Ticket.id).where(unfinished, Ticket.resolution_due <= now),
        select(Ticket.id).where(
            text(AWAITING_CUSTOMER_SQL), Ticket.updated_at <= now - settings.remind_after
        ),
    )


def measure(app: Flask, size: int) -> tuple[int, float, float, reminders.Figures]:
    """Seed `size` tickets; the statements of a run, its median time, the floor's, what it did
    (in an app context)."""
    now = utcnow()
    seed(app, size, now)
    counter = StatementCounter()
    floor = floor_query(now)
    with counter.watching(db.engine):
        figures = run_once(now)
    app_s = median_seconds(lambda: run_once(now), repeat=REPEAT, setup=lambda: None)

    def read_floor() -> None:
        db.session.execute(floor).all()
        db.session.rollback()

    floor_s = median_seconds(read_floor, repeat=REPEAT, setup=lambda: None)
    return counter.count, app_s, floor_s, figures


def main() -> None:
    app = bench_app(Path(tempfile.mkdtemp()))
    with app.app_context():
        report(app)


def report(app: Flask) -> None:
    print(f"{'tickets':>8} {'due':>5} {'stmts':>6} {'run ms':>8} {'floor ms':>9} {'ratio':>7}")
    results = {}
    for size in SIZES:
        started = time.perf_counter()
        statements, app_s, floor_s, figures = measure(app, size)
        ratio = app_s / floor_s
        results[size] = (statements, ratio)
        print(
            f"{size:>8,} {figures.total:>5} {statements:>6} {app_s * 1000:>8.2f} "
            f"{floor_s * 1000:>9.2f} {ratio:>7.2f}   (seeded and measured in "
            f"{time.perf_counter() - started:.1f} s)"
        )
    (small_statements, small_ratio), (large_statements, large_ratio) = (
        results[SIZES[0]],
        results[SIZES[-1]],
    )
    print()
    print(
        f"Targets: the same statements at {SIZES[0]:,} and {SIZES[-1]:,} tickets; the ratio at "
        f"{SIZES[-1]:,} at most {TARGET_GROWTH:g} x the ratio at {SIZES[0]:,}."
    )
    misses = []
    if small_statements != large_statements:
        misses.append(f"statements {small_statements} -> {large_statements}")
    if large_ratio > TARGET_GROWTH * small_ratio:
        misses.append(f"ratio {small_ratio:.2f} -> {large_ratio:.2f}")
    print("Missed: " + "; ".join(misses) if misses else "All targets met.")
    if "--explain" in sys.argv[1:]:
        explain_statements(
            db.engine,
            lambda: run_once(utcnow()),
            keep=lambda s: s.startswith(("SELECT", "INSERT INTO ticket_reminders")),
        )


if __name__ == "__main__":
    main()
