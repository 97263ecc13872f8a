"""The apply measured in-process, as the job runs it, against its floor."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update

from bench.apply.api import Bench
from bench.apply.roster import (
    contacts_t,
    emails_t,
    expected_active_change,
    load_roster,
    mixed_batch,
    new_contact,
    roles_t,
    users_t,
)
from bench.apply.settings import REPEAT, WARMUP
from bench.common import StatementCounter
from service.accounts.models import UserStatus
from service.contacts.models import ContactStatus
from service.extensions import db
from service.jobs import _PENDING_KEY
from service.notifications.models import EmailStatus
from service.requests.apply import apply
from service.tickets.models import TicketStatus
from service.vocabulary import CONTACT_FIELDS


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
                    "created_at": now,
                }
                for row in contacts
            ]
            statement = insert(users_t).returning(users_t.c.id, sort_by_parameter_order=True)
            user_ids = list(connection.execute(statement, account_rows).scalars())
            # Each new contact names its account.
            connection.execute(
                update(contacts_t)
                .where(contacts_t.c.id == bindparam("contact"))
                .values(user_id=bindparam("account")),
                [{"contact": cid, "account": uid} for cid, uid in zip(ids, user_ids, strict=True)],
            )
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
        if grants:
            pairs = [(row["contact_id"], row["role_code"]) for row in grants]
            connection.execute(
                delete(roles_t).where(tuple_(roles_t.c.contact_id, roles_t.c.role_code).in_(pairs))
            )
        if ids:
            connection.execute(delete(roles_t).where(roles_t.c.contact_id.in_(ids)))
            connection.execute(delete(contacts_t).where(contacts_t.c.id.in_(ids)))
        if user_ids:
            connection.execute(delete(users_t).where(users_t.c.id.in_(user_ids)))
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
