"""Benchmark: submitting a change request against a roster of 5,000 contacts on PostgreSQL.

For batches of 10, 100 and 1,000 items it prints the time per submission (through the real
Flask app, in-process), the floor measured in the same run (`json.loads` of the same body plus
one SQLAlchemy Core `insert()` executemany of the same item rows), their ratio, and the SQL
statements per submission. A second floor ("floor 2") inserts the item rows exactly as the
submission stores them: with the values each update replaces (`before`, read back untimed from
the submission just measured), which the first floor leaves out; its ratio is printed last.
Target: submit of 1,000 items <= 4 x the floor. The statement count must not grow with batch or
roster size, nor with webhook endpoints: the last lines submit again once ten endpoints (five
vendor-wide, five the organization's) subscribe to every event, and their count equals the
first lines'.

The app points at a private Redis database (`BENCH_REDIS_URL`, default
redis://127.0.0.1:6379/13, flushed before each submission and at the end), as in production:
the emails a submission records are handed to the queue after its commit. (Without Redis the
demo mode would deliver them in-process, inside the timed request.)

Run it with `make bench` (or `python -m bench.submit` with PostgreSQL and Redis running).
"""

from __future__ import annotations

import json
import random

from flask import Flask
from sqlalchemy import delete, insert, select, text, update

from bench.common import (
    StatementCounter,
    bench_app_on_redis,
    cancel_unfinished,
    median_seconds,
    new_analyst,
)
from service.accounts.models import User, UserStatus
from service.accounts.passwords import hash_password
from service.contacts import counts as roster_counts
from service.contacts.models import Contact, ContactRole
from service.extensions import db, redis_connection
from service.organizations.models import Organization, OrgKind
from service.requests.models import ChangeRequest, ChangeRequestItem
from service.webhooks.models import EndpointStatus, EventType, WebhookEndpoint, WebhookSubscription
from service.webhooks.signing import new_secret

ROLES = ["management", "agreement", "technical"]
PASSWORD = "benchmark-password"


def seed_roster(org_slug: str, size: int) -> tuple[int, list[int]]:
    org = Organization(slug=org_slug, name=org_slug, kind=OrgKind.CUSTOMER)
    db.session.add(org)
    db.session.flush()
    rows = [
        {
            "organization_id": org.id,
            "salutation": "Ms",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "email": f"person{i}@{org_slug}.example",
            "job_title": "Engineer",
            "phone": "+44 20 7946 0000",
            "status": "active",
            "version": 1,
        }
        for i in range(size)
    ]
    ids = list(db.session.scalars(insert(Contact).returning(Contact.id), rows))
    role_rows = [
        {"contact_id": ids[0], "role_code": "cust_admin"},
        {"contact_id": ids[1], "role_code": "financial"},
    ]
    role_rows += [{"contact_id": cid, "role_code": ROLES[i % 3]} for i, cid in enumerate(ids)]
    db.session.execute(insert(ContactRole), role_rows)
    admin = User(
        email=f"admin@{org_slug}.example",
        password_hash=hash_password(PASSWORD),
        status=UserStatus.ACTIVE,
        organization_id=org.id,
    )
    db.session.add(admin)
    db.session.flush()
    db.session.execute(update(Contact).where(Contact.id == ids[0]).values(user_id=admin.id))
    # The roster's counts (which the validators read) follow rows written behind the app's back.
    roster_counts.repair(session=db.session())
    db.session.commit()
    return org.id, ids


def batch(size: int, contact_ids: list[int], round_no: int) -> list[dict]:
    """A valid mixed batch: adds, detail updates and role grants on distinct contacts."""
    rng = random.Random(size)
    targets = rng.sample(contact_ids[2:], size)
    changes: list[dict] = []
    for i, contact_id in enumerate(targets):
        kind = i % 3
        if kind == 0:
            changes.append(new_analyst(i, f"new{round_no}-{i}@bench.example"))
        elif kind == 1:
            changes.append(
                {
                    "op": "update_contact",
                    "contact_id": contact_id,
                    "fields": {"job_title": f"Senior Engineer {round_no}"},
                }
            )
        else:
            changes.append({"op": "grant_role", "contact_id": contact_id, "role": "cust_admin"})
    return changes


def main() -> None:
    with bench_app_on_redis() as app:
        run(app)


def run(app: Flask) -> None:
    client = app.test_client()
    print(
        f"{'roster':>7} {'items':>6} {'submit ms':>10} {'floor ms':>9} {'ratio':>6} {'stmts':>6} "
        f"{'floor 2 ms':>9} {'ratio':>6}"
    )
    with app.app_context():
        rosters = {"bench": seed_roster("bench", 5000), "small": seed_roster("small", 500)}
        # Fresh planner statistics, as autovacuum keeps them in production.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    headers = {}
    for slug, sizes in (("bench", (10, 100, 1000)), ("small", (100,))):
        token = client.post(
            "/api/auth/token", json={"email": f"admin@{slug}.example", "password": PASSWORD}
        ).get_json()["token"]
        headers[slug] = {"Authorization": f"Bearer {token}"}
        for size in sizes:
            measure(app, slug, rosters[slug], size, headers[slug])
    # Webhooks add no work that grows with the endpoints: the same submission, once ten
    # endpoints (five vendor-wide, five the organization's) subscribe to every event.
    with app.app_context():
        register_endpoints(rosters["bench"][0], 10)
    for size in (10, 100):
        measure(app, "bench", rosters["bench"], size, headers["bench"], note="+10 webhooks")


def register_endpoints(org_id: int, count: int) -> None:
    for n in range(count):
        endpoint = WebhookEndpoint(
            url=f"http://127.0.0.1:9/bench-{n}",
            organization_id=org_id if n % 2 else None,
            status=EndpointStatus.ACTIVE,
            secret=new_secret(),
        )
        db.session.add(endpoint)
        db.session.flush()
        db.session.execute(
            insert(WebhookSubscription),
            [{"endpoint_id": endpoint.id, "event_type": t.value} for t in EventType],
        )
    db.session.commit()


def measure(
    app: Flask,
    slug: str,
    roster: tuple[int, list[int]],
    size: int,
    headers: dict[str, str],
    note: str = "",
) -> None:
    """Time one batch size against its floor and print one line of the table."""
    org_id, contact_ids = roster
    client = app.test_client()
    repeat = 15 if size < 1000 else 7
    rounds = iter(range(10_000))
    bodies: list[bytes] = []
    with app.app_context():
        engine = db.engine

    def prepare() -> None:
        with app.app_context():
            cancel_unfinished(org_id)
            connection = redis_connection()
            assert connection is not None, "the benchmark runs with Redis"
            connection.flushdb()
        changes = batch(size, contact_ids, next(rounds))
        bodies.append(json.dumps({"base_version": 1, "changes": changes}).encode())

    def submit() -> None:
        response = client.post(
            f"/api/orgs/{slug}/change-requests",
            data=bodies[-1],
            headers=headers,
            content_type="application/json",
        )
        assert response.status_code == 201, response.get_json()

    submit_s = median_seconds(submit, repeat=repeat, setup=prepare)
    prepare()
    counter = StatementCounter()
    with counter.watching(engine):
        submit()

    with app.app_context():
        request_id = db.session.scalar(
            select(ChangeRequest.id).order_by(ChangeRequest.id.desc()).limit(1)
        )
        # What the submission stored beside each item: the values an update replaces.
        stored = {
            position: before
            for position, before in db.session.execute(
                select(ChangeRequestItem.position, ChangeRequestItem.before).where(
                    ChangeRequestItem.change_request_id == request_id
                )
            )
        }

    def floor(same_rows: bool = False) -> None:
        items = json.loads(bodies[-1])["changes"]
        rows = [
            {
                "change_request_id": request_id,
                "position": 100_000 + p,
                "op": item["op"],
                "contact_id": item.get("contact_id"),
                "ref": item.get("ref"),
                "role_code": item.get("role"),
                "payload": item,
                **({"target_organization_id": None, "before": stored[p]} if same_rows else {}),
            }
            for p, item in enumerate(items)
        ]
        with engine.begin() as connection:
            connection.execute(insert(ChangeRequestItem.__table__), rows)

    def clear_floor() -> None:
        with engine.begin() as connection:
            connection.execute(
                delete(ChangeRequestItem).where(ChangeRequestItem.position >= 100_000)
            )

    floor_s = median_seconds(floor, repeat=repeat, setup=clear_floor)
    same_rows_s = median_seconds(lambda: floor(same_rows=True), repeat=repeat, setup=clear_floor)
    clear_floor()
    print(
        f"{len(contact_ids):>7} {size:>6} {submit_s * 1000:>10.1f} "
        f"{floor_s * 1000:>9.1f} {submit_s / floor_s:>6.2f} {counter.count:>6} "
        f"{same_rows_s * 1000:>9.1f} {submit_s / same_rows_s:>6.2f} {note}".rstrip()
    )


if __name__ == "__main__":
    main()
