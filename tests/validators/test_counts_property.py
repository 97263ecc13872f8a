"""Property: checking a batch against what it names and the maintained counts says exactly what
checking it against the whole roster, recounted, says.

Random rosters and random batches (valid or not: unknown contacts and roles, duplicate refs,
contradictions, emails that clash). For each, the context the service gathers (the contacts the
batch names, the roster's counts, the holders of the emails it brings in) and a context holding
the whole roster must give the same findings; the counts after the batch must equal a recount of
the whole roster once the batch is applied to it; and the required-role and seat-limit findings
must be what that recount says.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.validators import check, project
from service.validators.projection import apply_item, counts_after, start
from service.validators.types import (
    CheckContext,
    CountKey,
    OrgInfo,
    RosterContact,
    count_changes,
    counts_of,
)
from tests.validators.context import CATALOG, ctx, recount

CODES = [*CATALOG, "astronaut"]
EMAILS = [f"p{i}@acme.example" for i in range(8)]
STATUSES = ["active", "deactivated"]


@st.composite
def rosters(draw: Any) -> dict[int, RosterContact]:
    size = draw(st.integers(min_value=0, max_value=14))
    roster: dict[int, RosterContact] = {}
    active_emails: set[str] = set()
    for contact_id in range(1, size + 1):
        status = draw(st.sampled_from(STATUSES))
        email = draw(st.sampled_from(EMAILS))
        # The database keeps active emails unique (a partial unique index).
        if status == "active" and email in active_emails:
            status = "deactivated"
        if status == "active":
            active_emails.add(email)
        roles = set(draw(st.lists(st.sampled_from(list(CATALOG)), max_size=3)))
        roster[contact_id] = RosterContact(
            id=contact_id,
            status=status,  # type: ignore[arg-type]
            fields={
                "salutation": "Ms",
                "first_name": f"P{contact_id}",
                "last_name": "Tester",
                "email": email,
                "job_title": None,
                "phone": None,
                "mobile": None,
            },
            roles=roles,
        )
    return roster


def items(roster_size: int) -> st.SearchStrategy[dict[str, Any]]:
    contact_id = st.integers(min_value=1, max_value=roster_size + 2)
    ref = st.sampled_from(["n1", "n2", "n3"])
    role = st.sampled_from(CODES)
    target = st.one_of(contact_id.map(lambda i: {"contact_id": i}), ref.map(lambda r: {"ref": r}))
    return st.one_of(
        st.builds(
            lambda r, email, roles: {
                "op": "add_contact",
                "ref": r,
                "contact": {
                    "salutation": "Mr",
                    "first_name": "New",
                    "last_name": "Person",
                    "email": email,
                },
                "roles": roles,
            },
            ref,
            st.sampled_from(EMAILS),
            st.lists(role, max_size=2, unique=True),
        ),
        st.builds(
            lambda i, email: {"op": "update_contact", "contact_id": i, "fields": {"email": email}},
            contact_id,
            st.sampled_from([e.upper() for e in EMAILS[:3]] + EMAILS),
        ),
        st.builds(
            lambda t, r, op: {"op": op, **t, "role": r},
            target,
            role,
            st.sampled_from(["grant_role", "revoke_role"]),
        ),
        st.builds(
            lambda i, op: {"op": op, "contact_id": i},
            contact_id,
            st.sampled_from(["deactivate_contact", "reactivate_contact", "delete_contact"]),
        ),
    )


@st.composite
def cases(draw: Any) -> tuple[dict[int, RosterContact], list[dict[str, Any]], int | None]:
    roster = draw(rosters())
    changes = draw(st.lists(items(len(roster)), min_size=1, max_size=10))
    seat_limit = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=12)))
    return roster, changes, seat_limit


def last_removals(full: CheckContext, missing: list[str]) -> list[str]:
    """Where each missing role is reported, found by recounting the whole roster after every
    item: for a role held before the batch, the item after which its holders fell to none for
    the last time; for one held by nobody already, the batch as a whole."""
    projection = start(full)
    before = recount(projection.contacts.values())
    held = {code for code in missing if before.holders(code) > 0}
    fell: dict[str, int] = {}
    for position, item in enumerate(full.changes):
        apply_item(full, projection, position, item)
        now = recount(projection.contacts.values())
        for code in held:
            if before.holders(code) > 0 and now.holders(code) == 0:
                fell[code] = position
        before = now
    return [f"changes/{fell[code]}" if code in fell else "changes" for code in missing]


@settings(max_examples=250, deadline=None)
@given(cases())
def test_the_gathered_context_and_the_whole_roster_agree(case):
    roster, changes, seat_limit = case
    org = OrgInfo(id=1, slug="acme", kind="customer", seat_limit=seat_limit)
    narrow = ctx(changes, roster=roster, organization=org)
    full = CheckContext(
        **{
            **narrow.__dict__,
            "roster": roster,
            "email_holders": {},
            "cache": {},
        }
    )
    assert check(narrow) == check(full)

    # The counts after the batch are a recount of the whole roster once the batch is applied.
    after_whole = project(full).contacts.values()
    recounted = recount(after_whole)
    assert {k: n for k, n in counts_after(narrow).counts.items() if n} == dict(recounted.counts)

    errors, _ = check(narrow)
    codes = [f.code for f in errors]
    required = [c for c, role in CATALOG.items() if role.required and role.audience == "customer"]
    missing = [c for c in required if recounted.holders(c) == 0]
    assert sorted(f.path for f in errors if f.code == "required_role_missing") == sorted(
        last_removals(full, missing)
    )
    before = recount(roster.values()).active
    over = seat_limit is not None and recounted.active > seat_limit and recounted.active > before
    assert ("seat_limit_exceeded" in codes) == over


contacts = st.none() | st.builds(
    RosterContact,
    id=st.none() | st.integers(min_value=1, max_value=9),
    status=st.sampled_from([*STATUSES, "archived"]),
    fields=st.just({}),
    roles=st.sets(st.sampled_from(CODES), max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(contacts, contacts), max_size=6))
def test_count_changes_is_what_each_contact_adds_less_what_it_took(pairs):
    expected: Counter[CountKey] = Counter()
    for before, after in pairs:
        expected.update(counts_of(after))
        expected.subtract(counts_of(before))
    assert count_changes(pairs) == Counter({key: n for key, n in expected.items() if n})
