"""Raising tickets on the demo data, and who is who in the ticket tests."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

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
