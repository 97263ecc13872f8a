"""Data and assertions shared by the worker tests: organizations, batches, what a ticket shows."""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from sqlalchemy import func, select

from service.contacts.models import Contact, ContactRole
from service.tickets.models import TicketEvent
from tests.tickets.support import STAFF, raise_ticket


def make_org(factory, slug: str) -> dict[str, str]:
    """A customer organization with its admin (who can raise tickets) and a financial contact."""
    org_id = factory.org(slug)
    factory.contact(org_id, f"admin@{slug}.example", ["cust_admin"], account="active")
    factory.contact(org_id, f"money@{slug}.example", ["financial"])
    return factory.headers(f"admin@{slug}.example")


class Raised(NamedTuple):
    """Who raised what: the staff's headers, the admin's, the batch and its ticket's reference."""

    staff: dict[str, str]
    admin: dict[str, str]
    changes: list[dict[str, Any]]
    reference: str


def big_batch(client, factory, slug: str, size: int) -> Raised:
    """A staff account, and a new organization whose admin raised a batch of `size` additions."""
    factory.staff(STAFF)
    staff = factory.headers(STAFF)
    admin = make_org(factory, slug)
    changes = additions(slug, size)
    return Raised(staff, admin, changes, raise_ticket(client, admin, changes, org=slug))


def additions(slug: str, count: int) -> list[dict[str, Any]]:
    """`count` new contacts; every third one holds two roles."""
    return [
        {
            "op": "add_contact",
            "ref": f"n{i}",
            "contact": {
                "salutation": "Mx",
                "first_name": f"New{i}",
                "last_name": "Person",
                "email": f"new{i:04d}@{slug}.example",
            },
            "roles": ["technical", "agreement"] if i % 3 == 0 else ["technical"],
        }
        for i in range(count)
    ]


def role_count(changes: list[dict[str, Any]]) -> int:
    return sum(len(change["roles"]) for change in changes)


def ticket_id(reference: str) -> int:
    return int(reference.split("-")[1])


def detail(client, headers, reference: str) -> dict[str, Any]:
    response = client.get(f"/api/tickets/{reference}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def actions(client, headers, reference: str) -> Counter[str]:
    return Counter(event["action"] for event in detail(client, headers, reference)["events"])


def roster_version(client, headers, slug: str) -> int:
    version: int = client.get(f"/api/orgs/{slug}/contacts", headers=headers).get_json()["version"]
    return version


def assert_applied_once(factory, client, headers, reference: str, slug: str, changes) -> None:
    """One `implemented` event, every new contact once, every role of theirs once."""
    body = detail(client, headers, reference)
    assert body["status"] == "implemented", body.get("failure")
    events = Counter(event["action"] for event in body["events"])
    assert events["implemented"] == 1, events
    assert events["apply_started"] == 1, events
    emails = [change["contact"]["email"] for change in changes]
    rows = factory.all(select(Contact.id, Contact.email).where(Contact.email.in_(emails)))
    assert len(rows) == len(changes), "a contact was created twice (or not at all)"
    assert sorted(email for _, email in rows) == sorted(emails)
    ids = [contact_id for contact_id, _ in rows]
    roles = factory.all(
        select(ContactRole.contact_id, ContactRole.role_code).where(ContactRole.contact_id.in_(ids))
    )
    assert len(roles) == len(set(roles)) == role_count(changes)
    db_events = factory.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id(reference), TicketEvent.action == "implemented")
    )
    assert db_events == 1


def count(factory, model: Any, *where: Any) -> int:
    total: int = factory.scalar(select(func.count()).select_from(model).where(*where))
    return total
