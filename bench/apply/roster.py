"""The benchmark's customer: its seeded roster, and the batches made against it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from bench.apply.settings import MANAGERS, MIX, PASSWORD, ROLES, ROSTER, SLUG, STAFF
from bench.common import new_analyst, staff_rows
from service.accounts.models import User, UserStatus
from service.accounts.passwords import hash_password
from service.contacts import counts
from service.contacts.models import Contact, ContactRole, ContactStatus
from service.notifications.models import Email
from service.organizations.models import Organization, OrgKind

contacts_t = Contact.__table__
roles_t = ContactRole.__table__
users_t = User.__table__
emails_t = Email.__table__


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
        user_ids = (
            connection.execute(
                insert(users_t).returning(users_t.c.id, sort_by_parameter_order=True),
                [
                    {
                        "email": row["email"] if n else f"admin@{SLUG}.example",
                        "password_hash": password_hash,
                        "status": UserStatus.ACTIVE,
                        "is_staff": False,
                        "organization_id": org_id,
                    }
                    for n, row in enumerate(rows)
                ],
            )
            .scalars()
            .all()
        )
        connection.execute(
            update(contacts_t)
            .where(contacts_t.c.id == bindparam("contact"))
            .values(user_id=bindparam("account")),
            [
                {"contact": contact_id, "account": user_id}
                for contact_id, user_id in zip(ids, user_ids, strict=True)
            ],
        )
        vendor_id = connection.execute(
            insert(Organization.__table__).returning(Organization.__table__.c.id),
            {"slug": "vendor", "name": "Vendor", "kind": OrgKind.VENDOR},
        ).scalar_one()
        connection.execute(
            insert(User.__table__),
            staff_rows(vendor_id=vendor_id, count=STAFF, password_hash=password_hash),
        )
    # The roster's counts, which every write keeps and validation reads, from a recount.
    with Session(engine) as session:
        counts.repair(session=session)
        session.commit()
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
    return new_analyst(
        i,
        f"new{round_no}-{i}@{SLUG}.example",
        last_name=f"Person{round_no}x{i}",
        roles=("technical",) if i % 2 else ("agreement", "technical"),
    )


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
