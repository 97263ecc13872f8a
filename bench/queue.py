"""Benchmark: the review queue, `GET /api/tickets`, over 100,000 tickets on PostgreSQL.

It seeds 500 customer organizations (one requester each) with 100,000 tickets created over a
year: mostly implemented, cancelled and rejected, and, as the database allows at most one
unfinished ticket per organization, one open, awaiting_customer, approved, applying or failed
ticket for about two organizations in three. A few staff members hold most tickets.

A staff member signs in through `POST /api/auth/token`; then, for `status=implemented` (tens
of thousands of rows) and `status=open` (a few hundred) at 10, 50 and 100 per page, it prints
the median time per request through the real Flask app (in-process, bearer token, marshmallow),
the floor measured in the same run, their ratio, and the SQL statements per request.

The floor is a bare endpoint on the same app that runs ONE SQLAlchemy Core select of the same
columns for the same page (same filter, order and limit, joined to organizations and users for
the names) and returns the rows with `jsonify`: no authentication, no counts, no schema.

Each case, and the scrape below, is timed in the steady state of a serving process, after a
warm-up (`bench.common.against_floor`).

The column "as the app" is the ratio against a stricter floor: the same rows written as the app
writes them, the names as subqueries rather than joins (PostgreSQL plans the four joins of the
floor above in about 0.7 ms on every call), on a connection outside a transaction. It is printed
for the reader; the target is against the first floor.

Targets: ratio <= 3, and at most 4 statements per request, the same for every page size. The
statements of the service levels' orders and filters (`sort=due`, `sla=overdue|due_soon`) are
counted too, against the same target.

It then scrapes `GET /metrics` (with its token) over the same 100,000 tickets: the gauges read at
scrape time come from the maintained counters and index-bounded reads, never a count over
tickets. Its floor is a bare endpoint that reads the counters by status (one select) and writes
them as Prometheus text. Targets: ratio <= 5 (four reads against the floor's one, and the text
of every counter the process keeps), and the same 4 statements whatever the number of tickets.

Run it with `python -m bench.queue` (PostgreSQL running); `--explain` also prints
`EXPLAIN (ANALYZE, BUFFERS)` of every statement one queue request sends.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from bench.common import (
    StatementCounter,
    against_floor,
    bench_app,
    explain_statements,
    staff_rows,
)
from service.accounts.models import User, UserStatus
from service.accounts.passwords import hash_password
from service.extensions import db
from service.models_base import utcnow
from service.organizations.models import Organization, OrgKind
from service.requests.models import ChangeRequest
from service.tickets import counts
from service.tickets.models import Ticket, TicketStatus, TicketStatusCount, format_reference

ORGS = 500
PURCHASERS = 5
TICKETS = 100_000
STAFF = 4
CHUNK = 10_000
PASSWORD = "benchmark-password"
STAFF_EMAIL = "staff0@vendor.example"
REPEAT = 30
CASES = [(status, per_page) for status in ("implemented", "open") for per_page in (10, 50, 100)]
TARGET_RATIO = 3.0
TARGET_STATEMENTS = 4
# The queue's service-level orders and filters (service/tickets/sla.py): the same statements as
# any other page of the queue.
SLA_QUERIES = ("sort=due", "sla=overdue&sort=due", "sla=due_soon&sort=-due&per_page=100")
METRICS_TOKEN = "benchmark-metrics-token-0123456789"
# The counters by status, the oldest open ticket, the oldest approval, the pending emails.
TARGET_SCRAPE_STATEMENTS = 4
TARGET_SCRAPE_RATIO = 5.0

# Of the 500 organizations: how many have their latest ticket in each unfinished status.
UNFINISHED = {
    TicketStatus.OPEN: 200,
    TicketStatus.AWAITING_CUSTOMER: 80,
    TicketStatus.APPROVED: 20,
    TicketStatus.APPLYING: 10,
    TicketStatus.FAILED: 20,
}
# Every other ticket is finished, in these proportions.
FINISHED = {TicketStatus.IMPLEMENTED: 78, TicketStatus.CANCELLED: 14, TicketStatus.REJECTED: 8}

tickets_t = Ticket.__table__
orgs_t = Organization.__table__
users_t = User.__table__
requests_t = ChangeRequest.__table__


def insert_chunks(connection: Any, table: Any, rows: list[dict], *, ids: bool = False) -> list:
    """Core `insert()` executemany, CHUNK rows at a time; the new ids in order when asked."""
    new_ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if ids:
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            new_ids += connection.execute(statement, chunk).scalars().all()
        else:
            connection.execute(insert(table), chunk)
    return new_ids


def seed(engine: Engine) -> None:
    """500 customers with a requester each, staff, 100,000 change requests and their tickets."""
    rng = random.Random(2026)
    now = utcnow()
    with engine.begin() as connection:
        org_rows = [{"slug": "vendor", "name": "Vendor", "kind": OrgKind.VENDOR}]
        org_rows += [
            {"slug": f"customer-{n:03d}", "name": f"Customer {n:03d} Ltd", "kind": OrgKind.CUSTOMER}
            for n in range(ORGS)
        ]
        org_rows += [
            {"slug": f"partner-{n}", "name": f"Partner {n} plc", "kind": OrgKind.PURCHASER}
            for n in range(PURCHASERS)
        ]
        org_ids = insert_chunks(connection, orgs_t, org_rows, ids=True)
        vendor_id, customers, partners = org_ids[0], org_ids[1 : ORGS + 1], org_ids[ORGS + 1 :]

        password_hash = hash_password(PASSWORD)
        staff = staff_rows(vendor_id=vendor_id, count=STAFF, password_hash=password_hash)
        staff_ids = insert_chunks(connection, users_t, staff, ids=True)
        requester_rows = [
            {
                "email": f"admin@customer-{n:03d}.example",
                "status": UserStatus.ACTIVE,
                "is_staff": False,
                "organization_id": org_id,
            }
            for n, org_id in enumerate(customers)
        ]
        requester_ids = insert_chunks(connection, users_t, requester_rows, ids=True)
        requester_of = dict(zip(customers, requester_ids, strict=True))

        # Ids follow creation time, as they do in production.
        offsets = sorted(rng.uniform(0, 365 * 86400) for _ in range(TICKETS))
        created = [now - timedelta(days=365) + timedelta(seconds=s) for s in offsets]
        owner = [rng.choice(customers) for _ in range(TICKETS)]
        acting = [rng.choice(partners) if rng.random() < 0.05 else None for _ in range(TICKETS)]
        request_rows = [
            {
                "organization_id": owner[i],
                "acting_organization_id": acting[i],
                "requester_id": requester_of[owner[i]],
                "base_version": 1,
                "warnings": [],
                "created_at": created[i],
            }
            for i in range(TICKETS)
        ]
        request_ids = insert_chunks(connection, requests_t, request_rows, ids=True)

        statuses = rng.choices(list(FINISHED), weights=list(FINISHED.values()), k=TICKETS)
        latest = {org_id: i for i, org_id in enumerate(owner)}
        unfinished = [status for status, n in UNFINISHED.items() for _ in range(n)]
        for org_id, status in zip(rng.sample(customers, len(unfinished)), unfinished, strict=True):
            statuses[latest[org_id]] = status
        ticket_rows = []
        for i in range(TICKETS):
            status = statuses[i]
            assigned = rng.random() < (0.5 if status == TicketStatus.OPEN else 0.95)
            ticket_rows.append(
                {
                    "kind": "change_request",
                    "organization_id": owner[i],
                    "acting_organization_id": acting[i],
                    "change_request_id": request_ids[i],
                    "requester_id": requester_of[owner[i]],
                    "assignee_id": rng.choice(staff_ids) if assigned else None,
                    "status": status,
                    "approvals_required": 1,
                    "created_at": created[i],
                    "updated_at": min(now, created[i] + timedelta(hours=rng.uniform(0, 120))),
                    # Due times as a standard plan gives them, roughly (calendar days).
                    "first_response_due": created[i] + timedelta(hours=8),
                    "resolution_due": created[i] + timedelta(days=7),
                }
            )
        insert_chunks(connection, tickets_t, ticket_rows)
    # The bulk load bypassed the workflow, which keeps the per-status counters: recount.
    with Session(engine) as session, session.begin():
        counts.rebuild(session=session)
    # Fresh statistics and visibility map, as autovacuum keeps them in production (and so that
    # autovacuum does not wake up on the new rows in the middle of the measurements).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE)"))


def add_floor(app: Flask) -> None:
    """`GET /bench/floor?status=&per_page=`: one Core select of the page, straight to jsonify."""
    acting = orgs_t.alias("acting")
    requester = users_t.alias("requester")
    assignee = users_t.alias("assignee")
    page = (
        select(
            tickets_t.c.id,
            tickets_t.c.kind,
            tickets_t.c.status,
            tickets_t.c.created_at,
            tickets_t.c.updated_at,
            orgs_t.c.slug,
            orgs_t.c.name,
            acting.c.slug,
            requester.c.email,
            requester.c.status,
            assignee.c.email,
        )
        .select_from(
            tickets_t.join(orgs_t, orgs_t.c.id == tickets_t.c.organization_id)
            .join(requester, requester.c.id == tickets_t.c.requester_id)
            .outerjoin(assignee, assignee.c.id == tickets_t.c.assignee_id)
            .outerjoin(acting, acting.c.id == tickets_t.c.acting_organization_id)
        )
        .order_by(tickets_t.c.created_at, tickets_t.c.id)
    )

    def lookup(table: Any, column: str, key: Any) -> Any:
        row = table.alias()
        return select(row.c[column]).where(row.c.id == key).scalar_subquery()

    # The same rows written as the app writes them: the names as subqueries (cheaper to plan
    # than four joins), read outside a transaction (prepared statements are kept).
    as_the_app = select(
        *page.selected_columns[:5],
        lookup(orgs_t, "slug", tickets_t.c.organization_id),
        lookup(orgs_t, "name", tickets_t.c.organization_id),
        lookup(orgs_t, "slug", tickets_t.c.acting_organization_id),
        lookup(users_t, "email", tickets_t.c.requester_id),
        lookup(users_t, "status", tickets_t.c.requester_id),
        lookup(users_t, "email", tickets_t.c.assignee_id),
    ).order_by(tickets_t.c.created_at, tickets_t.c.id)

    def floor_of(statement: Any, **options: Any) -> Callable[[], Response]:
        def floor() -> Response:
            per_page = int(request.args["per_page"])
            status = TicketStatus(request.args["status"])
            one_page = statement.where(tickets_t.c.status == status).limit(per_page).offset(0)
            with db.engine.connect().execution_options(**options) as connection:
                rows = connection.execute(one_page).all()
            return jsonify([list(row) for row in rows])

        return floor

    app.add_url_rule("/bench/floor", "bench_floor", floor_of(page))
    app.add_url_rule(
        "/bench/floor-as-the-app",
        "bench_floor_as_the_app",
        floor_of(as_the_app, isolation_level="AUTOCOMMIT"),
    )

    by_status = select(TicketStatusCount.status, func.sum(TicketStatusCount.n)).group_by(
        TicketStatusCount.status
    )

    def scrape_floor():
        with db.engine.connect() as connection:
            rows = connection.execute(by_status).all()
        lines = [f'rolegate_tickets{{status="{status}"}} {n}' for status, n in rows]
        return Response("\n".join(lines) + "\n", mimetype="text/plain")

    app.add_url_rule("/bench/scrape-floor", "bench_scrape_floor", scrape_floor)


def main() -> None:
    explain = "--explain" in sys.argv[1:]
    app = bench_app(Path(tempfile.mkdtemp()))
    add_floor(app)  # before the first request, as Flask requires
    with app.app_context():
        engine = db.engine
    started = time.perf_counter()
    with app.app_context():
        seed(engine)
    seconds = time.perf_counter() - started
    with engine.connect() as connection:
        counted = select(tickets_t.c.status, func.count()).group_by(tickets_t.c.status)
        counts = {status: n for status, n in connection.execute(counted)}
    print(f"Seeded {TICKETS:,} tickets over {ORGS} organizations in {seconds:.1f} s.")
    print(", ".join(f"{status}: {counts.get(status, 0):,}" for status in TicketStatus))
    print()

    client = app.test_client()
    response = client.post("/api/auth/token", json={"email": STAFF_EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}

    print(
        f"{'case':<18} {'per_page':>8} {'app ms':>8} {'floor ms':>9} {'ratio':>6} {'stmts':>6} "
        f"{'as the app':>10}"
    )
    misses = []
    statements_by_status: dict[str, set[int]] = {}
    for status, per_page in CASES:
        app_s, floor_s, as_the_app, statements = measure(client, engine, headers, status, per_page)
        statements_by_status.setdefault(status, set()).add(statements)
        ratio = app_s / floor_s
        print(
            f"{'status=' + status:<18} {per_page:>8} {app_s * 1000:>8.2f} "
            f"{floor_s * 1000:>9.2f} {ratio:>6.2f} {statements:>6} {as_the_app:>10.2f}"
        )
        if ratio > TARGET_RATIO or statements > TARGET_STATEMENTS:
            misses.append(f"status={status} per_page={per_page}")
    misses += [
        f"status={status}: {sorted(counts)} statements depending on the page size"
        for status, counts in statements_by_status.items()
        if len(counts) > 1
    ]
    for query in SLA_QUERIES:
        counter = StatementCounter()
        with counter.watching(engine):
            response = client.get(f"/api/tickets?{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        print(f"{query:<40} {counter.count:>6} statements")
        if counter.count > TARGET_STATEMENTS:
            misses.append(query)
    print()
    print(
        f"Targets: ratio <= {TARGET_RATIO:g}; statements <= {TARGET_STATEMENTS}, "
        "the same for every page size and for the service-level orders and filters."
    )
    misses += scrape(app, client, engine)
    print("Missed: " + "; ".join(misses) if misses else "All targets met.")
    if explain:
        explain_queue(client, engine, headers, "implemented", 50)


def scrape(app: Flask, client: FlaskClient, engine: Engine) -> list[str]:
    """`GET /metrics` over the seeded tickets against its floor; the targets it missed."""
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}

    def metrics() -> Any:
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    def floor() -> Any:
        return client.get("/bench/scrape-floor")

    app_s, floor_s, statements = against_floor(metrics, floor, engine, repeat=REPEAT)
    ratio = app_s / floor_s
    print()
    print(f"{'GET /metrics':<18} {'':>8} {app_s * 1000:>8.2f} {floor_s * 1000:>9.2f}", end="")
    print(f" {ratio:>6.2f} {statements:>6}")
    print(
        f"Targets: ratio <= {TARGET_SCRAPE_RATIO:g}; statements = {TARGET_SCRAPE_STATEMENTS} "
        "whatever the number of tickets."
    )
    if ratio > TARGET_SCRAPE_RATIO or statements != TARGET_SCRAPE_STATEMENTS:
        return ["GET /metrics"]
    return []


def measure(
    client: FlaskClient, engine: Engine, headers: dict[str, str], status: str, per_page: int
) -> tuple[float, float, float, int]:
    """Median seconds per app request and per request of each floor (the target's, then the
    one written as the app), and the app's statement count."""
    url = f"/api/tickets?status={status}&per_page={per_page}"

    def queue() -> Any:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    shown = [item["reference"] for item in queue().get_json()["items"]]
    assert len(shown) == per_page, (status, per_page, len(shown))
    floors = []
    for path in ("/bench/floor", "/bench/floor-as-the-app"):

        def floor(path: str = path) -> Any:
            response = client.get(f"{path}?status={status}&per_page={per_page}")
            assert response.status_code == 200, response.get_data(as_text=True)
            return response

        # Both must show the same page, or the comparison means nothing.
        rows = floor().get_json()
        assert shown == [format_reference(row[1], row[0]) for row in rows], (path, status)
        app_s, floor_s, statements = against_floor(queue, floor, engine, repeat=REPEAT)
        floors.append((app_s, floor_s))
    (app_s, floor_s), (again_s, as_the_app_s) = floors
    return app_s, floor_s, again_s / as_the_app_s, statements


def explain_queue(
    client: FlaskClient, engine: Engine, headers: dict[str, str], status: str, per_page: int
) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement that one queue request sends."""

    def one_request() -> None:
        response = client.get(f"/api/tickets?status={status}&per_page={per_page}", headers=headers)
        assert response.status_code == 200

    explain_statements(engine, one_request, parameters=True)


if __name__ == "__main__":
    main()
