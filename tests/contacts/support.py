"""The roster tests' pending request, on the demo data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.demo_ids import contact_ids
from tests.factories import Factory
from tests.tickets.support import REQUESTER, new_contact, raise_ticket


def raise_pending(
    client: FlaskClient,
    factory: Factory,
    then: Callable[[dict[str, int]], list[dict[str, Any]]],
) -> tuple[dict[str, int], dict[str, str], str]:
    """The demo data and acme's admin's request that adds Annabelle Greement (agreement), grants
    Devon Tran management and then does `then(ids)`: the contact ids, the admin's headers and
    the ticket's reference."""
    factory.demo()
    ids = contact_ids(factory)
    headers = factory.headers(REQUESTER)
    changes = [
        new_contact(
            "n1", "annabelle@acme.example", name=("Annabelle", "Greement"), roles=("agreement",)
        ),
        {"op": "grant_role", "contact_id": ids["devon.tran"], "role": "management"},
        *then(ids),
    ]
    return ids, headers, raise_ticket(client, headers, changes)
