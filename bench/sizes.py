"""Benchmark: a small change costs the same at 50 and at 50,000 contacts (PostgreSQL).

Two customer organizations are seeded with `service.demo.seed_large`, the generator behind
`flask --app service seed-demo --contacts N --org SLUG`: `small` with 50 contacts and `large`
with 50,000 (set-wise inserts; the roster counts are kept as every write keeps them), then
`VACUUM (ANALYZE)`. The same kind of 10-item batch (3 new contacts with a role, 4 job-title
updates, 3 role grants, each on a different active contact chosen at random) is then measured
against each organization, through the real app (`app.test_client()`, bearer tokens):

- submit: `POST /api/orgs/<slug>/change-requests`;
- dry run: `POST /api/orgs/<slug>/change-requests/validate?projected=changed` (the projected
  roster lists only what the batch touches; without it the answer carries the whole roster);
- apply: `service.requests.apply.apply()` and its commit, in-process as the apply job runs them,
  on a ticket submitted and approved through the API just before (untimed). The emails the apply
  records stay pending (the work queued for after the commit is taken off the session).

For each it prints the median time at both sizes, their ratio (target <= 1.5) and the SQL
statements of one call at each size (target: the same at both sizes).

The roster's page: `GET /api/orgs/<slug>/contacts?limit=50&role=agreement` at both sizes (the
first page, then the page its cursor names where there is one), against a floor measured in
the same run: a bare SQLAlchemy Core query returning the same rows (the contacts' columns in
the roster's order, filtered by the role through `contact_roles`). Both are timed in the
steady state of a serving process, after a warm-up (`bench.common.against_floor`; a statement's
first ten or so runs on a connection are planned afresh); the median of the page's first calls
in the process is printed beside them as "cold", and last the ratio against a stricter floor,
the same query outside a transaction as the API reads (no BEGIN, no ROLLBACK). Targets: ratio
<= 3 in the steady state against the first floor, at most 4 statements per page.

The app enqueues its jobs in a private Redis database (`BENCH_REDIS_URL`, default
redis://127.0.0.1:6379/13), flushed before each measured call and at the end, as production
hands emails to the queue after a commit instead of sending them inside the request.

Run it with `make bench` (or `python -m bench.sizes`; `SIZES_LARGE=5000` for a quicker run).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from redis import Redis
from sqlalchemy import exists, insert, select, text, tuple_

from bench.common import (
    BENCH_REDIS_URL,
    StatementCounter,
    against_floor,
    bench_app_on_redis,
    cancel_unfinished,
    median_seconds,
    new_analyst,
    staff_rows,
)
from service.accounts.models import User
from service.accounts.passwords import hash_password
from service.contacts.models import Contact, ContactRole
from service.contacts.paging import sort_key
from service.demo import seed_large
from service.extensions import db
from service.jobs import _PENDING_KEY
from service.organizations.models import Organization, OrgKind
from service.requests.apply import apply
from service.tickets.models import parse_reference
from service.vocabulary import CONTACT_FIELDS

PASSWORD = "benchmark-password"
SIZES = {"small": 50, "large": int(os.environ.get("SIZES_LARGE", "50000"))}
BATCH = 10
REPEAT = int(os.environ.get("SIZES_REPEAT", "15"))
TARGET_RATIO = 1.5
PAGE_TARGET_RATIO = 3.0
PAGE_TARGET_STATEMENTS = 4
PAGE_REPEAT = 51


class Org:
    """One seeded organization: its slug, id, the active contacts a batch may touch, and its
    administrator's bearer header."""

    def __init__(self, app: Flask, slug: str) -> None:
        self.slug = slug
        with app.app_context():
            self.id = db.session.scalar(select(Organization.id).where(Organization.slug == slug))
            # Leave out the administrator and the first financial contact, whom every rule needs.
            self.contact_ids = list(
                db.session.scalars(
                    select(Contact.id)
                    .where(Contact.organization_id == self.id, Contact.status == "active")
                    .order_by(Contact.id)
                    .offset(2)
                )
            )
        response = app.test_client().post(
            "/api/auth/token", json={"email": f"admin@{slug}.example", "password": PASSWORD}
        )
        self.headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
        self.rounds = iter(range(1, 1_000_000))
        with app.app_context():
            self.managers = set(
                db.session.scalars(
                    select(ContactRole.contact_id)
                    .join(Contact, Contact.id == ContactRole.contact_id)
                    .where(
                        Contact.organization_id == self.id, ContactRole.role_code == "management"
                    )
                )
            )
        self.toggled: list[int] = []  # the contacts whose `management` the last batch toggles

    def version(self) -> int:
        return int(
            db.session.scalar(select(Organization.roster_version).where(Organization.id == self.id))
        )


def batch(org: Org, round_no: int) -> list[dict[str, Any]]:
    """3 adds, 4 job-title updates and 3 grants (or, where an applied batch granted it
    before, revocations) of `management`, on distinct random contacts."""
    rng = random.Random(f"{org.slug}-{round_no}")
    targets = rng.sample(org.contact_ids, 7)
    changes: list[dict[str, Any]] = [
        new_analyst(i, f"new{round_no}-{i}@{org.slug}-bench.example") for i in range(3)
    ]
    changes += [
        {"op": "update_contact", "contact_id": cid, "fields": {"job_title": f"Lead {round_no}"}}
        for cid in targets[:4]
    ]
    org.toggled = targets[4:]
    changes += [
        {
            "op": "revoke_role" if cid in org.managers else "grant_role",
            "contact_id": cid,
            "role": "management",
        }
        for cid in org.toggled
    ]
    return changes


def seed(app: Flask) -> None:
    with app.app_context():
        for slug, size in SIZES.items():
            seed_large(session=db.session, slug=slug, contacts=size, password=PASSWORD)
        vendor_id = db.session.execute(
            insert(Organization).returning(Organization.id),
            {"slug": "vendor", "name": "Vendor", "kind": OrgKind.VENDOR},
        ).scalar_one()
        db.session.execute(
            insert(User),
            staff_rows(vendor_id=vendor_id, count=2, password_hash=hash_password(PASSWORD)),
        )
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))


class Sizes:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.redis = Redis.from_url(BENCH_REDIS_URL)
        self.orgs = {slug: Org(app, slug) for slug in SIZES}
        self.staff = []
        for n in range(2):
            response = self.client.post(
                "/api/auth/token",
                json={"email": f"staff{n}@vendor.example", "password": PASSWORD},
            )
            self.staff.append({"Authorization": f"Bearer {response.get_json()['token']}"})
        with app.app_context():
            self.engine = db.engine

    def body(self, org: Org) -> bytes:
        with self.app.app_context():
            version = org.version()
        changes = batch(org, next(org.rounds))
        return json.dumps({"base_version": version, "changes": changes}).encode()

    def cancel_pending(self, org: Org) -> None:
        with self.app.app_context():
            cancel_unfinished(org.id)
        self.redis.flushdb()

    def post(self, org: Org, path: str, body: bytes, expect: int) -> dict[str, Any]:
        response = self.client.post(
            f"/api/orgs/{org.slug}/{path}",
            data=body,
            headers=org.headers,
            content_type="application/json",
        )
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def measured(
        self, call: Callable[[], object], setup: Callable[[], object]
    ) -> tuple[float, int]:
        seconds = median_seconds(call, repeat=REPEAT, setup=setup)
        setup()
        counter = StatementCounter()
        with counter.watching(self.engine):
            call()
        return seconds, counter.count

    def submit(self, org: Org) -> tuple[float, int]:
        bodies: list[bytes] = []

        def setup() -> None:
            self.cancel_pending(org)
            bodies.append(self.body(org))

        return self.measured(
            lambda: self.post(org, "change-requests", bodies[-1], 201), setup=setup
        )

    def dry_run(self, org: Org) -> tuple[float, int]:
        bodies: list[bytes] = []

        def setup() -> None:
            self.cancel_pending(org)
            bodies.append(self.body(org))

        def call() -> None:
            answer = self.post(org, "change-requests/validate?projected=changed", bodies[-1], 200)
            assert answer["valid"], answer

        return self.measured(call, setup=setup)

    def approved_ticket(self, org: Org) -> int:
        """A ticket of `org` submitted and approved through the API; its apply job dropped."""
        self.cancel_pending(org)
        self.app.config["REDIS_URL"] = BENCH_REDIS_URL
        try:
            answer = self.post(org, "change-requests", self.body(org), 201)
            reference = answer["ticket"]["reference"]
            for headers in self.staff:
                response = self.client.post(f"/api/tickets/{reference}/approve", headers=headers)
                if response.status_code == 202:
                    break
                assert response.status_code == 200, response.get_json()
        finally:
            self.redis.flushdb()
        ticket_id = parse_reference(reference)
        assert ticket_id is not None
        return ticket_id

    def apply(self, org: Org) -> tuple[float, int]:
        samples: list[float] = []
        statements = 0
        for _ in range(REPEAT):
            ticket_id = self.approved_ticket(org)
            counter = StatementCounter()
            with self.app.app_context():
                session = db.session()
                with counter.watching(self.engine):
                    started = time.perf_counter()
                    applied = apply(session=session, ticket_id=ticket_id)
                    session.info.pop(_PENDING_KEY, None)
                    session.commit()
                    samples.append(time.perf_counter() - started)
                db.session.remove()
            assert applied is not None, "the ticket was not applied"
            org.managers ^= set(org.toggled)
            statements = counter.count
        samples.sort()
        return samples[len(samples) // 2], statements

    def page(self) -> None:
        """Each roster's first two pages filtered by role (the second where there is one),
        against a bare Core query returning the same rows: first cold, the first `REPEAT`
        calls of the page in this process, then in the steady state (`against_floor`)."""
        for org in self.orgs.values():
            path = f"/api/orgs/{org.slug}/contacts?limit=50&role=agreement"
            first = self.client.get(path, headers=org.headers).get_json()
            pages = [("first", path)]
            if first["next_cursor"]:
                pages.append(("next", f"{path}&cursor={first['next_cursor']}"))
            for label, url in pages:
                answer: dict[str, Any] = {}

                def call(
                    url: str = url, answer: dict[str, Any] = answer, headers: Any = org.headers
                ) -> None:
                    response = self.client.get(url, headers=headers)
                    assert response.status_code == 200, response.get_json()
                    answer.update(response.get_json())

                cold_s = median_seconds(call, repeat=REPEAT, setup=lambda: None)
                ids = [contact["id"] for contact in answer["contacts"]]
                after = None if label == "first" else first["contacts"][-1]
                seconds, floor_s, statements = against_floor(
                    call,
                    lambda org=org, after=after, ids=ids: self.floor_page(org, after, ids),
                    self.engine,
                    repeat=PAGE_REPEAT,
                )
                again_s, strict_s, _ = against_floor(
                    call,
                    lambda org=org, after=after, ids=ids: self.floor_page(
                        org, after, ids, isolation_level="AUTOCOMMIT"
                    ),
                    self.engine,
                    repeat=PAGE_REPEAT,
                )
                print(
                    f"{label + ' ' + format(SIZES[org.slug], ','):<12} {len(ids):>3} rows "
                    f"{seconds * 1000:>9.2f} {floor_s * 1000:>9.2f} {seconds / floor_s:>6.2f} "
                    f"{statements:>6} {cold_s * 1000:>8.2f} {cold_s / floor_s:>6.2f} "
                    f"{again_s / strict_s:>9.2f}"
                )

    def floor_page(
        self, org: Org, after: dict[str, Any] | None, expect: list[int], **options: Any
    ) -> None:
        """The same 50 contacts, bare: their columns in the roster's index order, the role as an
        EXISTS, the page after `after` as a keyset; no roles, accounts, counts or access."""
        key = sort_key()
        statement = (
            select(Contact.id, *(getattr(Contact, name) for name in CONTACT_FIELDS))
            .where(
                Contact.organization_id == org.id,
                Contact.status != "archived",
                exists().where(
                    ContactRole.contact_id == Contact.id, ContactRole.role_code == "agreement"
                ),
            )
            .order_by(*key)
            .limit(50)
        )
        if after is not None:
            mark = ((after["last_name"] or "").lower(), (after["first_name"] or "").lower())
            statement = statement.where(tuple_(*key) > tuple_(*mark, after["id"]))
        with self.engine.connect().execution_options(**options) as connection:
            rows = connection.execute(statement).all()
        assert [row.id for row in rows] == expect, "the floor must return the page's rows"


def main() -> None:
    with bench_app_on_redis() as app:
        started = time.perf_counter()
        seed(app)
        print(
            f"seeded {SIZES['small']:,} and {SIZES['large']:,} contacts "
            f"in {time.perf_counter() - started:.1f} s"
        )
        run(Sizes(app))


def run(sizes: Sizes) -> None:
    small, large = sizes.orgs["small"], sizes.orgs["large"]
    print(
        f"{'call':<10} {'50 ms':>9} {SIZES['large']:>7,} ms {'ratio':>6} "
        f"{'stmts 50':>9} {'stmts ' + format(SIZES['large'], ','):>12}   (target ratio <= "
        f"{TARGET_RATIO}, same statements)"
    )
    for name, measure in (("submit", sizes.submit), ("dry run", sizes.dry_run)):
        small_s, small_n = measure(small)
        large_s, large_n = measure(large)
        print(
            f"{name:<10} {small_s * 1000:>9.2f} {large_s * 1000:>10.2f} "
            f"{large_s / small_s:>6.2f} {small_n:>9} {large_n:>12}"
        )
    small_s, small_n = sizes.apply(small)
    large_s, large_n = sizes.apply(large)
    print(
        f"{'apply':<10} {small_s * 1000:>9.2f} {large_s * 1000:>10.2f} "
        f"{large_s / small_s:>6.2f} {small_n:>9} {large_n:>12}"
    )
    print(
        f"\n{'roster page':<12} {'':>8} {'API ms':>9} {'floor ms':>9} {'ratio':>6} {'stmts':>6} "
        f"{'cold ms':>8} {'ratio':>6} {'strict':>9}   (target ratio <= {PAGE_TARGET_RATIO}, "
        f"statements <= "
        f"{PAGE_TARGET_STATEMENTS})"
    )
    sizes.page()


if __name__ == "__main__":
    main()
