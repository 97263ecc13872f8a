"""Raising tickets on the demo data, and who is who in the ticket tests."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import Factory
from tests.jobs import run_jobs

STAFF = "staff@vendor.example"
STAFF2 = "staff2@vendor.example"
REQUESTER = "admin@acme.example"
OTHER_ADMIN = "frank.fischer@acme.example"  # cust_admin of acme, not the requester
NO_MANAGE = "boris.banks@acme.example"  # acme's financial contact: no ticket permissions
OUTSIDER = "admin@buyco.example"  # admin of another organization


def new_contact(
    ref: str = "n1",
    email: str = "nia.new@acme.example",
    *,
    name: tuple[str, str] = ("Nia", "New"),
    roles: tuple[str, ...] = ("technical",),
) -> dict[str, Any]:
    """An `add_contact` item: a new contact with the mandatory fields and its roles."""
    first_name, last_name = name
    return {
        "op": "add_contact",
        "ref": ref,
        "contact": {
            "salutation": "Ms",
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
        },
        "roles": list(roles),
    }


def update_contact(contact_id: int, **fields: Any) -> dict[str, Any]:
    """An `update_contact` item: these fields of the contact, changed."""
    return {"op": "update_contact", "contact_id": contact_id, "fields": fields}


def raise_ticket(
    client: FlaskClient,
    headers: dict[str, str],
    changes: list[dict[str, Any]] | None = None,
    org: str = "acme",
    comment: str | None = None,
) -> str:
    """Submit a valid batch at the roster's current version; the new ticket's reference."""
    version = client.get(f"/api/orgs/{org}/contacts", headers=headers).get_json()["version"]
    body: dict[str, Any] = {"base_version": version, "changes": changes or [new_contact()]}
    if comment is not None:
        body["comment"] = comment
    response = client.post(f"/api/orgs/{org}/change-requests", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    reference: str = response.get_json()["ticket"]["reference"]
    return reference


def implement(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    changes: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    comment: str | None = None,
) -> str:
    """Raise a batch (as the requester unless `headers` say who), approve it (twice where it
    needs four eyes), run the jobs, and check it is implemented; the ticket's reference."""
    reference = raise_ticket(
        client, headers or factory.headers(REQUESTER), changes, comment=comment
    )
    for staff in (STAFF, STAFF2):
        answer = client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(staff))
        if answer.status_code == 202:
            break
    run_jobs(app)
    detail = client.get(f"/api/tickets/{reference}", headers=factory.headers(STAFF)).get_json()
    assert detail["status"] == "implemented", detail
    return reference


def listing(client: FlaskClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    """The queue (`GET /api/tickets` with this query string) as `headers` see it, answered 200."""
    response = client.get(f"/api/tickets{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


def refs_of(page: dict[str, Any]) -> list[str]:
    """The references on a page of the queue, in its order."""
    return [item["reference"] for item in page["items"]]


def delegate_acme_to_buyco(app: Flask, client: FlaskClient, factory: Factory) -> str:
    """Acme lets BuyCo manage its contacts: the grant submitted, approved and applied (its
    emails sent). The grant's ticket."""
    grant = [{"op": "grant_delegate", "organization": "buyco"}]
    reference = raise_ticket(client, factory.headers(REQUESTER), grant)
    approved = client.post(f"/api/tickets/{reference}/approve", headers=factory.headers(STAFF))
    assert approved.status_code == 202, approved.get_json()
    run_jobs(app)
    return reference


def amend_ticket(
    client: FlaskClient,
    reference: str,
    headers: dict[str, str],
    changes: list[dict[str, Any]] | None = None,
    org: str = "acme",
) -> dict[str, Any]:
    """Amend the ticket with `changes` (one new contact by default) at the roster's current
    version; the ticket as the amendment answers it."""
    version = client.get(f"/api/orgs/{org}/contacts", headers=headers).get_json()["version"]
    body = {"base_version": version, "changes": changes or [new_contact()]}
    answer = client.post(f"/api/tickets/{reference}/amend", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    ticket: dict[str, Any] = answer.get_json()
    return ticket
