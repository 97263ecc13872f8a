"""Benchmark: applying approved change requests to a roster of 2,000 contacts on PostgreSQL.

It seeds one customer organization with 2,000 active contacts (holders of the required roles
`cust_admin` and `financial` among them; two of `financial`, `agreement` and `technical` each
for the others, and `management` for 20 of them), each with an active account (the first one is
the administrator's), and two vendor staff members; then it runs
`VACUUM (ANALYZE)`, so the planner knows the tables at their real size. Every measured batch
goes through the real API first (`app.test_client()`, bearer tokens): the administrator submits
it, staff approve it (twice when the four-eyes policy asks), so the ticket is `approved`. Only
then is the apply timed.

The apply, in-process: `service.requests.apply.apply(session=..., ticket_id=...)` and then the
commit, in a fresh app context with `REDIS_URL` unset, as the apply job does them. `apply` and
the commit are timed separately and reported both; the time compared with the floor is their
sum. The work the transaction queued for after its commit (the welcome and "implemented"
emails) is taken off the session just before the commit, so the commit does not also deliver
the emails in-process: the timing covers exactly apply + commit. (The emails stay `pending` in
the database; they are marked failed before the live worker starts, so that its relay does not
send them.) The approvals are made with the app pointed at a private Redis database, so that
approving only enqueues the apply job instead of running it in-process; the bench deletes that
job, nothing consumes the queue meanwhile. SQL statements are counted (`StatementCounter` on
`db.engine`, an executemany counts once) during every timed apply + commit; the column shows
every count seen over the rounds (it depends on which kinds of rows the batch meets, e.g.
whether any deleted contact has an account, not on the batch size).

Batches:
- mixed, 100 and 1,000 items: 25% new contacts (with one or two roles), 25% deletions of
  existing contacts (each purges the contact's personal data), 15% role grants, 15% role
  revokes and 20% detail updates (job title and phone; every fourth one also the email), each
  on a different contact, so the active roster stays at about 2,000;
- 1,000 pure adds, then 1,000 pure deletions of the contacts those adds created (each with its
  account, its welcome email and the batch item that named it: everything a purge must find),
  to compare the purge time per contact with the create time per contact;
- the same with 100 contacts, the deletions applied with the app pointed at the private Redis
  holding 1,000 keys (as RQ's kept job hashes fill a production Redis): the purge also clears
  the deleted contacts' rate-limit counters from Redis, which it skips without `REDIS_URL`, and
  production always has one.

The floor, measured in the same run and timed the same way (median, one transaction, commit
included): SQLAlchemy Core `insert()` executemany of the rows the batch creates, into the same
tables: the new `contacts` rows (RETURNING their ids), the `contact_roles` rows of the new
contacts and of the grants, and for each new contact its `users` row (RETURNING its id) and its
welcome `emails` row; they are deleted again, untimed, before the apply runs. The ratio is
taken against it. The columns `c+r` show a narrower floor, the contacts and roles only (what
earlier runs of this bench compared with), and the ratio to it.

With a live worker: `flask --app service worker` runs as a subprocess on the bench database,
a private Redis database (`BENCH_REDIS_URL`, default redis://127.0.0.1:6379/13, flushed before
and after) and a private SMTP server (aiosmtpd, which accepts and drops the emails). A 100-item
mixed batch is approved through the API with the app pointed at that Redis, and the bench polls
the ticket's status in the database (every 2 ms) until it is `implemented`. Total = from just
before the final approval request to the poll that sees `implemented`. It is cut in five parts
with RQ's own timestamps of the job (enqueued, started) and the `at` of the ticket's
`apply_started` and `implemented` events (written by the worker):
- approve > enqueued: the approval request itself (authentication, the four-eyes check, the
  transition and its commit), then the enqueue;
- enqueued > started: the job waits in Redis until the worker takes it;
- started > apply: the worker's bookkeeping, app context, session, and claiming the ticket;
- apply: applying the batch, from `apply_started` to `implemented`;
- implemented > seen: the rest of the apply's transaction (the emails it records), its commit,
  and at most one poll interval.
The queue's share is what the queue adds between an approval and its apply: (enqueued >
started + started > apply) / total. The approval's own work and the apply's own work would be
there without a queue. The column `outside` also shows the strictest reading, everything but
the apply part, (total - apply) / total. `answer` is when the approve request answered (it
renders the ticket after the commit and the enqueue, while the worker already runs). Before
each round the bench waits for the worker to be idle with empty queues, so that the emails of
the previous round do not delay it. The worker is stopped at the end (SIGTERM, then SIGKILL if it
does not exit).

Targets: total <= 3 x floor for the 1,000-item mixed batch; a statement count that does not grow
with the batch size (1,000 items: no more statements than 100 items); purge time per contact
<= 5 x create time per contact; the queue's share <= 10% of approve-to-implemented time for a
100-item batch.

Run it with `python -m bench.apply` (PostgreSQL and Redis running). `--statements` also prints
the statements of one extra 1,000-item mixed apply grouped by text with their time; `--profile`
prints a cProfile of one; `--explain` prints `EXPLAIN (ANALYZE, BUFFERS)` of its slowest
statements (each run once more in a savepoint that is rolled back).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import Engine, delete, event, func, insert, select, text, tuple_, update

from bench.common import StatementCounter, bench_app
from service.accounts.models import User, UserStatus
from service.accounts.passwords import hash_password
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.extensions import db
from service.jobs import _PENDING_KEY, QUEUES
from service.notifications.models import Email, EmailStatus
from service.organizations.models import Organization, OrgKind
from service.requests.apply import apply
from service.tickets.models import Ticket, TicketEvent, TicketStatus, parse_reference
from service.vocabulary import CONTACT_FIELDS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SLUG = "bench"
ROSTER = 2000
# The roles batches grant and revoke; none of them asks for the "implemented" email.
ROLES = ("financial", "agreement", "technical")
# Holders of `management`, which does: each applied batch tells them (and the administrator).
MANAGERS = 20
PASSWORD = "benchmark-password"
STAFF = 2
MIXED_SIZES = (100, 1000)
PURE_SIZE = 1000
WARMUP = 1
REPEAT = {100: 9, 1000: 5}
WORKER_ROUNDS = 7
# Keys in the private Redis while the purge of the "deletions, Redis" row runs.
REDIS_KEYS = 1000
POLL_SECONDS = 0.002
WORKER_COMMAND = [sys.executable, "-m", "flask", "--app", "service", "worker"]
# Shares of a mixed batch, in percent; each item acts on a different contact.
MIX = {"add": 25, "delete": 25, "grant": 15, "revoke": 15, "update": 20}

TARGET_RATIO = 3.0
TARGET_PURGE_PER_CREATE = 5.0
TARGET_QUEUE_SHARE = 0.10

contacts_t = Contact.__table__
roles_t = ContactRole.__table__
users_t = User.__table__
emails_t = Email.__table__


# --- seeding -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    org_id: int
    protected: frozenset[int]  # holders of the required roles, and the administrator


def seed(engine: Engine) -> Seeded:
    """The customer with its roster and administrator, and the vendor with its staff."""
    password_hash = hash_password(PASSWORD)
    with engine.begin() as connection:
        org_id = connection.execute(
            insert(Organization.__table__).returning(Organization.__table__.c.id),
            {"slug": SLUG, "name": "Bench Ltd", "kind": OrgKind.CUSTOMER},
        ).scalar_one()
        rows = [
            {
                "organization_id": org_id,
                "salutation": "Ms",
                "first_name": f"First{i}",
                "last_name": f"Last{i}",
                "email": f"person{i}@{SLUG}.example",
                "job_title": "Engineer",
                "phone": "+44 20 7946 0000",
                "status": ContactStatus.ACTIVE,
                "version": 1,
            }
            for i in range(ROSTER)
        ]
        ids = (
            connection.execute(
                insert(contacts_t).returning(contacts_t.c.id, sort_by_parameter_order=True), rows
            )
            .scalars()
            .all()
        )
        role_rows = [
            {"contact_id": ids[0], "role_code": "cust_admin"},
            {"contact_id": ids[1], "role_code": "financial"},
        ]
        role_rows += [
            {"contact_id": cid, "role_code": code}
            for i, cid in enumerate(ids[2:])
            for code in (ROLES[i % 3], ROLES[(i + 1) % 3])
        ]
        role_rows += [
            {"contact_id": cid, "role_code": "management"} for cid in ids[2 : 2 + MANAGERS]
        ]
        connection.execute(insert(roles_t), role_rows)
        # Every contact has its account, as every contact that came through an apply does.
        connection.execute(
            insert(User.__table__),
            [
                {
                    "email": row["email"] if n else f"admin@{SLUG}.example",
                    "password_hash": password_hash,
                    "status": UserStatus.ACTIVE,
                    "is_staff": False,
                    "organization_id": org_id,
                    "contact_id": contact_id,
                }
                for n, (row, contact_id) in enumerate(zip(rows, ids, strict=True))
            ],
        )
        vendor_id = connection.execute(
            insert(Organization.__table__).returning(Organization.__table__.c.id),
            {"slug": "vendor", "name": "Vendor", "kind": OrgKind.VENDOR},
        ).scalar_one()
        connection.execute(
            insert(User.__table__),
            [
                {
                    "email": f"staff{n}@vendor.example",
                    "password_hash": password_hash,
                    "status": UserStatus.ACTIVE,
                    "is_staff": True,
                    "organization_id": vendor_id,
                }
                for n in range(STAFF)
            ],
        )
    # Fresh planner statistics, as autovacuum keeps them in production.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE)"))
    return Seeded(org_id=org_id, protected=frozenset(ids[:2]))


# --- batches -----------------------------------------------------------------------------------


@dataclass
class Roster:
    version: int
    roles: dict[int, set[str]]  # active contacts that batches may touch -> their roles


def load_roster(engine: Engine, seeded: Seeded) -> Roster:
    with engine.connect() as connection:
        version = connection.execute(
            select(Organization.roster_version).where(Organization.id == seeded.org_id)
        ).scalar_one()
        active = select(contacts_t.c.id).where(
            contacts_t.c.organization_id == seeded.org_id,
            contacts_t.c.status == ContactStatus.ACTIVE,
        )
        roles: dict[int, set[str]] = {
            cid: set()
            for cid in connection.execute(active).scalars()
            if cid not in seeded.protected
        }
        for cid, code in connection.execute(
            select(roles_t.c.contact_id, roles_t.c.role_code).where(
                roles_t.c.contact_id.in_(active)
            )
        ):
            if cid in roles:
                roles[cid].add(code)
    return Roster(version=version, roles=roles)


def new_contact(round_no: int, i: int) -> dict[str, Any]:
    return {
        "op": "add_contact",
        "ref": f"n{i}",
        "contact": {
            "salutation": "Mr",
            "first_name": "New",
            "last_name": f"Person{round_no}x{i}",
            "email": f"new{round_no}-{i}@{SLUG}.example",
            "job_title": "Analyst",
            "phone": "+44 20 7946 0999",
        },
        "roles": ["technical"] if i % 2 else ["agreement", "technical"],
    }


def mixed_batch(roster: Roster, size: int, round_no: int) -> list[dict[str, Any]]:
    """A valid batch of `size` items in the proportions of MIX, each on its own contact."""
    rng = random.Random(round_no)
    wanted = {kind: size * share // 100 for kind, share in MIX.items()}
    wanted["update"] += size - sum(wanted.values())
    candidates = sorted(roster.roles)
    rng.shuffle(candidates)
    used: set[int] = set()

    def pick(count: int, fits: Callable[[set[str]], bool]) -> list[int]:
        chosen = [cid for cid in candidates if cid not in used and fits(roster.roles[cid])]
        if len(chosen) < count:
            raise RuntimeError(f"the roster has too few contacts for this batch ({size} items)")
        used.update(chosen[:count])
        return chosen[:count]

    changes: list[dict[str, Any]] = []
    for cid in pick(wanted["revoke"], lambda held: len(held & set(ROLES)) >= 2):
        role = rng.choice(sorted(roster.roles[cid] & set(ROLES)))
        changes.append({"op": "revoke_role", "contact_id": cid, "role": role})
    for cid in pick(wanted["grant"], lambda held: not set(ROLES) <= held):
        role = rng.choice(sorted(set(ROLES) - roster.roles[cid]))
        changes.append({"op": "grant_role", "contact_id": cid, "role": role})
    for cid in pick(wanted["delete"], lambda held: True):
        changes.append({"op": "delete_contact", "contact_id": cid})
    for n, cid in enumerate(pick(wanted["update"], lambda held: True)):
        fields = {"job_title": f"Lead {round_no}", "phone": "+44 20 7946 0123"}
        if n % 4 == 0:
            fields["email"] = f"moved{round_no}-{n}@{SLUG}.example"
        changes.append({"op": "update_contact", "contact_id": cid, "fields": fields})
    changes += [new_contact(round_no, i) for i in range(wanted["add"])]
    rng.shuffle(changes)
    return changes


def expected_active_change(changes: list[dict[str, Any]]) -> int:
    adds = sum(1 for item in changes if item["op"] == "add_contact")
    return adds - sum(1 for item in changes if item["op"] == "delete_contact")


# --- the API: submit and approve ---------------------------------------------------------------


@dataclass
class Bench:
    app: Flask
    engine: Engine
    seeded: Seeded
    redis: Redis
    admin: dict[str, str]
    staff: list[dict[str, str]]
    rounds: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    @contextmanager
    def with_redis(self) -> Iterator[None]:
        """The app enqueues its jobs in the private Redis instead of running them here."""
        self.app.config["REDIS_URL"] = REDIS_URL
        try:
            yield
        finally:
            self.app.config["REDIS_URL"] = None

    def submit(self, changes: list[dict[str, Any]]) -> tuple[int, str]:
        """Submit through the API as the organization's administrator: (ticket id, reference)."""
        version = load_roster(self.engine, self.seeded).version
        response = self.app.test_client().post(
            f"/api/orgs/{SLUG}/change-requests",
            json={"base_version": version, "changes": changes},
            headers=self.admin,
        )
        assert response.status_code == 201, response.get_json()
        reference = response.get_json()["ticket"]["reference"]
        ticket_id = parse_reference(reference)
        assert ticket_id is not None, reference
        return ticket_id, reference

    def approvals_required(self, ticket_id: int) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(Ticket.approvals_required).where(Ticket.id == ticket_id)
                ).scalar_one()
            )

    def approve(self, reference: str, staff: int) -> int:
        response = self.app.test_client().post(
            f"/api/tickets/{reference}/approve", headers=self.staff[staff]
        )
        assert response.status_code in (200, 202), response.get_json()
        return response.status_code

    def prepare(self, changes: list[dict[str, Any]]) -> int:
        """Submit and approve (jobs go to Redis and are dropped): an `approved` ticket's id."""
        with self.with_redis():
            ticket_id, reference = self.submit(changes)
            for staff in range(self.approvals_required(ticket_id)):
                self.approve(reference, staff)
        self.redis.flushdb()
        assert self.status(ticket_id) == TicketStatus.APPROVED
        return ticket_id

    def status(self, ticket_id: int) -> TicketStatus:
        with self.engine.connect() as connection:
            return TicketStatus(
                connection.execute(select(Ticket.status).where(Ticket.id == ticket_id)).scalar_one()
            )

    def active_count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(contacts_t)
                    .where(
                        contacts_t.c.organization_id == self.seeded.org_id,
                        contacts_t.c.status == ContactStatus.ACTIVE,
                    )
                ).scalar_one()
            )


# --- in-process: the apply and its floor ------------------------------------------------------


@dataclass
class Timing:
    apply_s: float
    commit_s: float
    statements: int

    @property
    def total_s(self) -> float:
        return self.apply_s + self.commit_s


def timed_apply(
    bench: Bench, ticket_id: int, *, observe: AbstractContextManager[Any] | None = None
) -> Timing:
    """apply() and the commit, as the job runs them, with the after-commit work taken off."""
    counter = StatementCounter()
    with bench.app.app_context():
        session = db.session()
        with counter.watching(bench.engine), observe or nullcontext():
            started = time.perf_counter()
            applied = apply(session=session, ticket_id=ticket_id)
            applied_at = time.perf_counter()
            session.info.pop(_PENDING_KEY, None)
            session.commit()
            committed_at = time.perf_counter()
        db.session.remove()
    assert applied is not None, f"ticket {ticket_id} was not applied"
    status = bench.status(ticket_id)
    assert status == TicketStatus.IMPLEMENTED, status
    return Timing(applied_at - started, committed_at - applied_at, counter.count)


def floor_rows(
    org_id: int, changes: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[list[str]], list[dict[str, Any]]]:
    """The contacts rows, the roles of each, and the grant rows the batch creates."""
    contacts = []
    new_roles = []
    for item in changes:
        if item["op"] == "add_contact":
            details = item["contact"]
            contacts.append(
                {
                    "organization_id": org_id,
                    **{name: details.get(name) for name in CONTACT_FIELDS},
                    "status": ContactStatus.ACTIVE,
                    "version": 1,
                }
            )
            new_roles.append(list(dict.fromkeys(item["roles"])))
    grants = [
        {"contact_id": item["contact_id"], "role_code": item["role"]}
        for item in changes
        if item["op"] == "grant_role"
    ]
    return contacts, new_roles, grants


def timed_floor(
    bench: Bench, ticket_id: int, changes: list[dict[str, Any]], *, accounts: bool
) -> float | None:
    """Core insert() executemany of the batch's new rows, committed; deleted again untimed.

    The new contacts (RETURNING their ids) and the roles of the new contacts and of the grants;
    with `accounts`, also the account of each new contact (RETURNING its id) and its welcome
    email, the rows the apply must create for them too.
    """
    contacts, new_roles, grants = floor_rows(bench.seeded.org_id, changes)
    if not contacts and not grants:
        return None
    now = datetime.now(UTC)
    started = time.perf_counter()
    with bench.engine.begin() as connection:
        ids: list[int] = []
        user_ids: list[int] = []
        if contacts:
            statement = insert(contacts_t).returning(contacts_t.c.id, sort_by_parameter_order=True)
            ids = list(connection.execute(statement, contacts).scalars())
        role_rows = [
            {"contact_id": cid, "role_code": code}
            for cid, codes in zip(ids, new_roles, strict=True)
            for code in codes
        ]
        connection.execute(insert(roles_t), role_rows + grants)
        if accounts and ids:
            account_rows = [
                {
                    "email": row["email"],
                    "status": UserStatus.INVITED,
                    "is_staff": False,
                    "organization_id": bench.seeded.org_id,
                    "contact_id": cid,
                    "created_at": now,
                }
                for row, cid in zip(contacts, ids, strict=True)
            ]
            statement = insert(users_t).returning(users_t.c.id, sort_by_parameter_order=True)
            user_ids = list(connection.execute(statement, account_rows).scalars())
            connection.execute(
                insert(emails_t),
                [
                    {
                        "ticket_id": ticket_id,
                        "template": "welcome",
                        "recipient": row["email"],
                        "recipient_user_id": uid,
                        "context": {"ticket_id": ticket_id, "user_id": uid},
                        "status": EmailStatus.PENDING,
                        "attempts": 0,
                        "created_at": now,
                    }
                    for row, uid in zip(account_rows, user_ids, strict=True)
                ],
            )
    seconds = time.perf_counter() - started
    with bench.engine.begin() as connection:
        if user_ids:
            connection.execute(delete(emails_t).where(emails_t.c.recipient_user_id.in_(user_ids)))
            connection.execute(delete(users_t).where(users_t.c.id.in_(user_ids)))
        if grants:
            pairs = [(row["contact_id"], row["role_code"]) for row in grants]
            connection.execute(
                delete(roles_t).where(tuple_(roles_t.c.contact_id, roles_t.c.role_code).in_(pairs))
            )
        if ids:
            connection.execute(delete(roles_t).where(roles_t.c.contact_id.in_(ids)))
            connection.execute(delete(contacts_t).where(contacts_t.c.id.in_(ids)))
    return seconds


@dataclass
class Samples:
    label: str
    items: int
    timings: list[Timing] = field(default_factory=list)
    floors: list[float] = field(default_factory=list)  # every row the batch creates
    narrow_floors: list[float] = field(default_factory=list)  # contacts and roles only

    def median(self, pick: Callable[[Timing], float]) -> float:
        return statistics.median(pick(t) for t in self.timings)

    @property
    def statements(self) -> list[int]:
        return sorted({t.statements for t in self.timings})

    @property
    def floor_s(self) -> float | None:
        return statistics.median(self.floors) if self.floors else None

    @property
    def narrow_floor_s(self) -> float | None:
        return statistics.median(self.narrow_floors) if self.narrow_floors else None


def fill_redis(redis: Redis, keys: int) -> None:
    """The private Redis with `keys` keys, as RQ's kept job hashes and registries make them."""
    redis.flushdb()
    with redis.pipeline(transaction=False) as pipeline:
        for n in range(keys):
            pipeline.hset(f"rq:job:filler-{n}", mapping={"status": "finished", "origin": "email"})
        pipeline.execute()


def run_batch(
    bench: Bench,
    changes: list[dict[str, Any]],
    samples: Samples | None,
    *,
    redis_keys: int | None = None,
) -> None:
    """One round: submit and approve (untimed), the floor, then the apply (both timed).

    With `redis_keys`, the apply runs with the app pointed at the private Redis holding that
    many keys, as a production worker's apply does.
    """
    ticket_id = bench.prepare(changes)
    before = bench.active_count()
    floor_s = timed_floor(bench, ticket_id, changes, accounts=True)
    narrow_s = timed_floor(bench, ticket_id, changes, accounts=False)
    if redis_keys is None:
        timing = timed_apply(bench, ticket_id)
    else:
        fill_redis(bench.redis, redis_keys)
        with bench.with_redis():
            timing = timed_apply(bench, ticket_id)
        bench.redis.flushdb()
    after = bench.active_count()
    assert after - before == expected_active_change(changes), (before, after)
    if samples is not None:
        samples.timings.append(timing)
        if floor_s is not None and narrow_s is not None:
            samples.floors.append(floor_s)
            samples.narrow_floors.append(narrow_s)


def measure_mixed(bench: Bench, size: int) -> Samples:
    samples = Samples("mixed", size)
    for n in range(WARMUP + REPEAT[size]):
        changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
        run_batch(bench, changes, samples if n >= WARMUP else None)
    return samples


def measure_pure(
    bench: Bench, size: int, *, redis_keys: int | None = None
) -> tuple[Samples, Samples]:
    """Pure adds, then pure deletions of the contacts just added, round after round."""
    label = "deletions" if redis_keys is None else f"deletions, Redis {redis_keys:,} keys"
    adds, deletions = Samples("adds", size), Samples(label, size)
    for n in range(WARMUP + REPEAT[size]):
        round_no = next(bench.rounds)
        changes = [new_contact(round_no, i) for i in range(size)]
        run_batch(bench, changes, adds if n >= WARMUP else None)
        emails = [item["contact"]["email"] for item in changes]
        with bench.engine.connect() as connection:
            created = (
                connection.execute(select(contacts_t.c.id).where(contacts_t.c.email.in_(emails)))
                .scalars()
                .all()
            )
        assert len(created) == size, len(created)
        removal = [{"op": "delete_contact", "contact_id": cid} for cid in created]
        run_batch(bench, removal, deletions if n >= WARMUP else None, redis_keys=redis_keys)
        with bench.engine.connect() as connection:
            left = connection.execute(
                select(func.count())
                .select_from(contacts_t)
                .where(contacts_t.c.id.in_(created))
                .where(
                    (contacts_t.c.status != ContactStatus.ARCHIVED)
                    | contacts_t.c.email.is_not(None)
                )
            ).scalar_one()
        assert left == 0, f"{left} deleted contacts kept their status or email"
    return adds, deletions


# --- with a live worker ------------------------------------------------------------------------


class DropEmails:
    """An aiosmtpd handler that accepts every email and keeps none."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def epoch(value: datetime | None) -> float:
    assert value is not None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


@dataclass
class WorkerRound:
    """One approve-to-implemented run; the five parts add up to the total."""

    total_s: float
    enqueue_s: float  # approve request sent -> job enqueued: auth, approval, commit, enqueue
    wait_s: float  # enqueued -> RQ's started_at: dequeue, fork, job bookkeeping
    setup_s: float  # started_at -> apply_started event: import, app context, connect, claim
    apply_s: float  # apply_started event -> implemented event
    tail_s: float  # implemented event -> the poll that saw it: emails recorded, commit, poll
    answer_s: float  # approve request sent -> its answer (renders the ticket after enqueueing)
    job_s: float  # RQ's started_at -> ended_at
    redis_keys: int  # keys in the private Redis just before the approval

    @property
    def share(self) -> float:
        """What the queue adds: waiting in Redis and the worker's own setup."""
        return (self.wait_s + self.setup_s) / self.total_s

    @property
    def outside(self) -> float:
        """Everything but the apply part, the approval request included."""
        return (self.total_s - self.apply_s) / self.total_s


@contextmanager
def live_worker(bench: Bench, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`flask --app service worker` on the bench database, the private Redis and SMTP."""
    smtp = Controller(DropEmails(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SMTP_", "FLASK_")) and key != "REDIS_URL"
    }
    env.update(
        {
            "REDIS_URL": REDIS_URL,
            "DATABASE_URL": str(bench.engine.url.render_as_string(hide_password=False)),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    bench.redis.flushdb()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            WORKER_COMMAND,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not Worker.all(connection=bench.redis):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {log_path}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        smtp.stop()
        bench.redis.flushdb()


def wait_idle(bench: Bench, process: subprocess.Popen[bytes], *, timeout: float = 120) -> None:
    """Until the worker is idle and nothing waits in the queues (the last round's emails)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError("the worker exited")
        busy = any(
            Queue(name, connection=bench.redis, serializer=JSONSerializer).count
            or StartedJobRegistry(name, connection=bench.redis).count
            for name in QUEUES
        ) or any(w.get_state() != "idle" for w in Worker.all(connection=bench.redis))
        if not busy:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the worker stayed busy")
        time.sleep(0.05)


def worker_round(
    bench: Bench, process: subprocess.Popen[bytes], changes: list[dict[str, Any]]
) -> WorkerRound:
    with bench.with_redis():
        ticket_id, reference = bench.submit(changes)
        required = bench.approvals_required(ticket_id)
        for staff in range(required - 1):
            assert bench.approve(reference, staff) == 200
        wait_idle(bench, process)
        keys = int(bench.redis.dbsize())
        with bench.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as poll:
            started = time.time()
            assert bench.approve(reference, required - 1) == 202
            answered = time.time()
            status_of = select(Ticket.status).where(Ticket.id == ticket_id)
            deadline = time.monotonic() + 300
            while (status := poll.execute(status_of).scalar_one()) in (
                TicketStatus.APPROVED,
                TicketStatus.APPLYING,
            ):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"ticket {reference} stayed {status}")
                time.sleep(POLL_SECONDS)
            seen = time.time()
    assert status == TicketStatus.IMPLEMENTED, f"{reference} is {status}"
    with bench.engine.connect() as connection:
        at: dict[str, datetime] = {
            action: moment
            for action, moment in connection.execute(
                select(TicketEvent.action, TicketEvent.at).where(
                    TicketEvent.ticket_id == ticket_id,
                    TicketEvent.action.in_(("apply_started", "implemented")),
                )
            )
        }
    job = Job.fetch(f"apply-{ticket_id}", connection=bench.redis, serializer=JSONSerializer)
    deadline = time.monotonic() + 60
    while job.get_status(refresh=True) != JobStatus.FINISHED:
        if time.monotonic() > deadline:
            raise RuntimeError(f"apply job of {reference} is {job.get_status()}")
        time.sleep(0.01)
    job.refresh()
    apply_started, implemented = epoch(at["apply_started"]), epoch(at["implemented"])
    enqueued, job_started = epoch(job.enqueued_at), epoch(job.started_at)
    return WorkerRound(
        total_s=seen - started,
        enqueue_s=enqueued - started,
        wait_s=job_started - enqueued,
        setup_s=apply_started - job_started,
        apply_s=implemented - apply_started,
        tail_s=seen - implemented,
        answer_s=answered - started,
        job_s=epoch(job.ended_at) - job_started,
        redis_keys=keys,
    )


def measure_worker(bench: Bench, size: int) -> list[WorkerRound]:
    # The in-process rounds left their emails pending; the worker's relay must not send them.
    with bench.engine.begin() as connection:
        connection.execute(
            update(Email)
            .where(Email.status == EmailStatus.PENDING)
            .values(status=EmailStatus.FAILED, last_error="not sent: benchmark")
        )
    rounds = []
    log_path = Path(tempfile.mkdtemp()) / "worker.log"
    with live_worker(bench, log_path) as process:
        for n in range(WARMUP + WORKER_ROUNDS):
            changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
            result = worker_round(bench, process, changes)
            if n >= WARMUP:
                rounds.append(result)
        wait_idle(bench, process)
    return rounds


# --- diagnostics -------------------------------------------------------------------------------


@contextmanager
def statement_times(engine: Engine, into: dict[str, list[float]]) -> Iterator[None]:
    """Wall time of every statement the engine sends, grouped by its text."""
    started: list[float] = []

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        started.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        key = " ".join(statement.split())[:160] + (" [executemany]" if executemany else "")
        into.setdefault(key, []).append(time.perf_counter() - started.pop())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def print_statements(bench: Bench, size: int) -> None:
    changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
    ticket_id = bench.prepare(changes)
    times: dict[str, list[float]] = {}
    timing = timed_apply(bench, ticket_id, observe=statement_times(bench.engine, times))
    in_sql = sum(sum(v) for v in times.values())
    print()
    print(
        f"Statements of one {size}-item mixed apply: {timing.statements}, "
        f"{in_sql * 1000:.1f} ms in the database driver of {timing.total_s * 1000:.1f} ms."
    )
    print(f"{'ms':>8} {'count':>6}  statement")
    for key, values in sorted(times.items(), key=lambda kv: -sum(kv[1]))[:25]:
        print(f"{sum(values) * 1000:>8.1f} {len(values):>6}  {key}")


@contextmanager
def explained(engine: Engine, into: list[tuple[float, str, str]]) -> Iterator[None]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, run first in a savepoint rolled back."""

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            return
        params = parameters[0] if executemany and isinstance(parameters, list) else parameters
        raw = cursor.connection
        raw.execute("SAVEPOINT bench_explain")
        try:
            plan = [
                row[0] for row in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            ]
        finally:
            raw.execute("ROLLBACK TO SAVEPOINT bench_explain")
        took = next(
            (float(line.split()[2]) for line in plan if line.startswith("Execution Time")), 0.0
        )
        shown = " ".join(statement.split())[:300] + (" [executemany]" if executemany else "")
        into.append((took, shown, "\n".join(plan)))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def print_explain(bench: Bench, size: int, slowest: int = 8) -> None:
    changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
    ticket_id = bench.prepare(changes)
    plans: list[tuple[float, str, str]] = []
    timed_apply(bench, ticket_id, observe=explained(bench.engine, plans))
    print()
    print(
        f"The {slowest} slowest of {len(plans)} statements of one {size}-item mixed apply, by "
        "server execution time (an executemany is explained with its first row); all of them "
        f"took {sum(p[0] for p in plans):.1f} ms on the server:"
    )
    for took, statement, plan in sorted(plans, key=lambda p: -p[0])[:slowest]:
        print()
        print(f"{took:.1f} ms  {statement}")
        print(plan)


def print_profile(bench: Bench, size: int) -> None:
    changes = mixed_batch(load_roster(bench.engine, bench.seeded), size, next(bench.rounds))
    ticket_id = bench.prepare(changes)
    profiler = cProfile.Profile()

    @contextmanager
    def profiled() -> Iterator[None]:
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()

    timed_apply(bench, ticket_id, observe=profiled())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print()
    print(f"Profile of one {size}-item mixed apply (cumulative):")
    print(out.getvalue())


# --- main --------------------------------------------------------------------------------------


def sign_in(app: Flask, email: str) -> dict[str, str]:
    response = app.test_client().post(
        "/api/auth/token", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def main() -> None:
    args = set(sys.argv[1:])
    app = bench_app(Path(tempfile.mkdtemp()))
    app.config["REDIS_URL"] = None
    with app.app_context():
        engine = db.engine
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    try:
        with app.app_context():
            seeded = seed(engine)
        bench = Bench(
            app=app,
            engine=engine,
            seeded=seeded,
            redis=redis,
            admin=sign_in(app, f"admin@{SLUG}.example"),
            staff=[sign_in(app, f"staff{n}@vendor.example") for n in range(STAFF)],
        )
        run(bench, args)
    finally:
        redis.flushdb()


def print_samples(samples: Samples) -> None:
    total, floor, narrow = (
        samples.median(lambda t: t.total_s),
        samples.floor_s,
        samples.narrow_floor_s,
    )
    floor_ms = f"{floor * 1000:>9.1f}" if floor else f"{'-':>9}"
    ratio = f"{total / floor:>6.2f}" if floor else f"{'-':>6}"
    narrow_ms = f"{narrow * 1000:>9.1f}" if narrow else f"{'-':>9}"
    narrow_ratio = f"{total / narrow:>6.2f}" if narrow else f"{'-':>6}"
    statements = "/".join(str(n) for n in samples.statements)
    print(
        f"{samples.label:<26} {samples.items:>6} "
        f"{samples.median(lambda t: t.apply_s) * 1000:>9.1f} "
        f"{samples.median(lambda t: t.commit_s) * 1000:>10.1f} {total * 1000:>9.1f} "
        f"{floor_ms} {ratio} {narrow_ms} {narrow_ratio} {statements:>6}"
    )


def per_contact(samples: Samples) -> float:
    return samples.median(lambda t: t.total_s) / samples.items


def print_worker(rounds: list[WorkerRound]) -> float:
    """The table of the live-worker rounds; returns the median queue's share."""
    share = statistics.median(r.share for r in rounds)
    print(
        f"{'round':<7} {'total':>7} {'approve>':>9} {'enqueued>':>10} {'started>':>9} "
        f"{'apply':>7} {'implemented>':>13} {'share':>7} {'outside':>8} {'answer':>7} "
        f"{'job':>7} {'keys':>6}"
    )
    print(
        f"{'':<7} {'':>7} {'enqueued':>9} {'started':>10} {'apply':>9} "
        f"{'':>7} {'seen':>13} {'':>7} {'':>8} {'':>7} {'':>7} {'':>6}"
    )
    rows = [(str(n), vars(r), r.share, r.outside) for n, r in enumerate(rounds, start=1)]
    rows.append(
        (
            "median",
            {k: statistics.median(vars(r)[k] for r in rounds) for k in vars(rounds[0])},
            share,
            statistics.median(r.outside for r in rounds),
        )
    )
    for label, values, round_share, outside in rows:
        ms = {k: v * 1000 for k, v in values.items() if k.endswith("_s")}
        print(
            f"{label:<7} {ms['total_s']:>7.1f} {ms['enqueue_s']:>9.1f} {ms['wait_s']:>10.1f} "
            f"{ms['setup_s']:>9.1f} {ms['apply_s']:>7.1f} {ms['tail_s']:>13.1f} "
            f"{round_share:>7.1%} {outside:>8.1%} {ms['answer_s']:>7.1f} {ms['job_s']:>7.1f} "
            f"{values['redis_keys']:>6.0f}"
        )
    return share


def run(bench: Bench, args: set[str]) -> None:
    print(
        f"Roster of {ROSTER:,} active contacts; medians of {REPEAT[100]} (100 items) and "
        f"{REPEAT[1000]} (1,000 items) rounds after {WARMUP} warm-up round; in-process, "
        "REDIS_URL unset unless the row says otherwise."
    )
    print()
    print(
        f"{'batch':<26} {'items':>6} {'apply ms':>9} {'commit ms':>10} {'total ms':>9} "
        f"{'floor ms':>9} {'ratio':>6} {'c+r ms':>9} {'ratio':>6} {'stmts':>6}"
    )
    mixed = {}
    for size in MIXED_SIZES:
        mixed[size] = measure_mixed(bench, size)
        print_samples(mixed[size])
    adds, deletions = measure_pure(bench, PURE_SIZE)
    print_samples(adds)
    print_samples(deletions)
    small_adds, redis_deletions = measure_pure(bench, 100, redis_keys=REDIS_KEYS)
    print_samples(small_adds)
    print_samples(redis_deletions)

    create, purge = per_contact(adds), per_contact(deletions)
    small_create, redis_purge = per_contact(small_adds), per_contact(redis_deletions)
    print()
    print(
        f"Per contact, {PURE_SIZE:,}-contact batches: create {create * 1000:.2f} ms, purge "
        f"{purge * 1000:.2f} ms, purge / create {purge / create:.2f}."
    )
    print(
        f"Per contact, 100-contact batches, the purge with Redis holding {REDIS_KEYS:,} keys: "
        f"create {small_create * 1000:.2f} ms, purge {redis_purge * 1000:.2f} ms, "
        f"purge / create {redis_purge / small_create:.2f}."
    )

    rounds = measure_worker(bench, 100)
    print()
    print(
        f"Live worker, 100-item mixed batch, {len(rounds)} rounds after {WARMUP} warm-up (ms; "
        "the five parts add up to the total; share: enqueued > apply; keys: Redis keys before the "
        "approval):"
    )
    share = print_worker(rounds)

    misses = []
    big = mixed[1000]
    assert big.floor_s is not None
    if big.median(lambda t: t.total_s) / big.floor_s > TARGET_RATIO:
        misses.append("ratio for 1,000 items")
    if max(big.statements) > max(mixed[100].statements):
        misses.append("statement count grows with the batch")
    if purge / create > TARGET_PURGE_PER_CREATE:
        misses.append("purge per contact")
    if redis_purge / small_create > TARGET_PURGE_PER_CREATE:
        misses.append(f"purge per contact with Redis holding {REDIS_KEYS:,} keys")
    if share > TARGET_QUEUE_SHARE:
        misses.append("queue's share")
    print()
    print(
        f"Targets: ratio <= {TARGET_RATIO:g} for 1,000 items; statements not growing with the "
        f"batch; purge <= {TARGET_PURGE_PER_CREATE:g} x create per contact; queue's share <= "
        f"{TARGET_QUEUE_SHARE:.0%}."
    )
    print("Missed: " + "; ".join(misses) if misses else "All targets met.")
    if "--statements" in args:
        print_statements(bench, 1000)
    if "--profile" in args:
        print_profile(bench, 1000)
    if "--explain" in args:
        print_explain(bench, 1000)


if __name__ == "__main__":
    main()
