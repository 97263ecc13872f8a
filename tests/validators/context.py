"""A small roster and catalog in plain data, for testing the rules without a database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from service.validators.emails import emails_brought_in
from service.validators.types import (
    CheckContext,
    OrgInfo,
    RoleInfo,
    RosterContact,
    RosterCounts,
    count_changes,
)

CATALOG = {
    "management": RoleInfo("management", "Management"),
    "cust_admin": RoleInfo(
        "cust_admin",
        "Customer Administrator",
        required=True,
        incompatible_with=frozenset({"financial"}),
    ),
    "financial": RoleInfo(
        "financial",
        "Financial Contact",
        required=True,
        incompatible_with=frozenset({"cust_admin"}),
    ),
    "agreement": RoleInfo("agreement", "Agreement Contact"),
    "technical": RoleInfo("technical", "Technical Contact"),
    "partner_admin": RoleInfo("partner_admin", "Partner Administrator", audience="purchaser"),
}
ACME = OrgInfo(id=1, slug="acme", kind="customer", seat_limit=None)
BUYCO = OrgInfo(id=2, slug="buyco", kind="purchaser", name="BuyCo Procurement")
VENDOR = OrgInfo(id=3, slug="vendor", kind="vendor")


def person(contact_id: int, email: str, *roles: str, status: str = "active") -> RosterContact:
    first, _, _ = email.partition("@")
    return RosterContact(
        id=contact_id,
        status=status,
        fields={
            "salutation": "Ms",
            "first_name": first.capitalize(),
            "last_name": "Tester",
            "email": email,
            "job_title": None,
            "phone": None,
            "mobile": None,
        },
        roles=set(roles),
    )


def roster() -> dict[int, RosterContact]:
    """Ada is the only financial contact; Bo and Cy are admins; Dee is deactivated."""
    people = [
        person(1, "ada@acme.example", "financial"),
        person(2, "bo@acme.example", "cust_admin", "management"),
        person(3, "cy@acme.example", "cust_admin"),
        person(4, "dee@acme.example", "technical", status="deactivated"),
        person(5, "eve@acme.example", "technical"),
    ]
    return {p.id: p for p in people if p.id is not None}


def ctx(changes: list[dict[str, Any]], **overrides: Any) -> CheckContext:
    """The context the service would gather for `changes` over a whole roster (`roster`, by
    default the one above): the contacts they name, the counts, the holders of their emails."""
    whole = overrides.pop("roster", None)
    values: dict[str, Any] = {
        "organization": ACME,
        "changes": changes,
        "catalog": CATALOG,
        "organizations": {"buyco": BUYCO, "vendor": VENDOR, "acme": ACME},
        "max_batch_size": 10,
        **gathered(roster() if whole is None else whole, changes),
    }
    values.update(overrides)
    return CheckContext(**values)


def gathered(whole: dict[int, RosterContact], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """What `service.requests.context.build_context` reads of a roster, from plain data."""
    named = {item["contact_id"] for item in changes if "contact_id" in item}
    narrowed = {cid: contact for cid, contact in whole.items() if cid in named}
    emails = emails_brought_in(changes, narrowed)
    holders: dict[str, set[int]] = {}
    for cid, contact in whole.items():
        email = (contact.fields.get("email") or "").lower()
        if contact.status == "active" and email in emails:
            holders.setdefault(email, set()).add(cid)
    return {
        "roster": narrowed,
        "counts": recount(whole.values()),
        "email_holders": {email: frozenset(ids) for email, ids in holders.items()},
    }


def recount(contacts: Iterable[RosterContact | None]) -> RosterCounts:
    """The counts of a roster, counted from its contacts."""
    return RosterCounts(dict(count_changes((None, contact) for contact in contacts)))


def new(
    ref: str = "n1",
    email: str = "new@acme.example",
    roles: tuple[str, ...] = ("technical",),
    **details: Any,
) -> dict[str, Any]:
    contact = {"salutation": "Mr", "first_name": "Nico", "last_name": "New", "email": email}
    contact.update(details)
    return {"op": "add_contact", "ref": ref, "contact": contact, "roles": list(roles)}


def found(findings: list[Any]) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in findings]
