"""Times on the wire: read models hold `datetime`, the schemas write every one of them as the API
always has, ISO 8601 in UTC with a `Z` (`service.fields.UtcDateTime`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tests.factories import PASSWORD
from tests.jobs import run_jobs
from tests.tickets.support import REQUESTER, STAFF, raise_ticket

ISO_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")


def times(body: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every value under a key that names a moment (`at`, `*_at`, `*_due`), with where it is."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "at" or key.endswith(("_at", "_due")):
                yield f"{path}/{key}", value
            else:
                yield from times(value, f"{path}/{key}")
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from times(value, f"{path}/{index}")


def test_every_time_the_api_writes_is_utc_with_a_z(app, client, factory):
    factory.demo()
    staff, admin = factory.headers(STAFF), factory.headers(REQUESTER)
    token = client.post("/api/auth/token", json={"email": STAFF, "password": PASSWORD}).get_json()
    changes = [{"op": "grant_delegate", "organization": "buyco"}]
    reference = raise_ticket(client, admin, changes)
    client.post(f"/api/tickets/{reference}/comments", headers=staff, json={"body": "Sure?"})
    client.post(f"/api/tickets/{reference}/approve", headers=staff)
    run_jobs(app)
    # A ticket still running, with its service levels' due times.
    pending = raise_ticket(client, admin)

    answers = {
        "token": token,
        "queue": client.get("/api/tickets", headers=staff).get_json(),
        "ticket": client.get(f"/api/tickets/{reference}", headers=admin).get_json(),
        "pending": client.get(f"/api/tickets/{pending}", headers=admin).get_json(),
        "delegations": client.get("/api/orgs/acme/delegations", headers=admin).get_json(),
        "invitations": client.get("/api/orgs/acme/invitations", headers=admin).get_json(),
    }
    found = {
        f"{name}{path}": value for name, body in answers.items() for path, value in times(body)
    }
    assert "token/expires_at" in found
    assert {"ticket/created_at", "ticket/events/0/at", "ticket/approvals/0/at"} <= set(found)
    assert any(path.startswith("delegations/items/") for path in found)
    assert {"pending/sla/first_response_due", "pending/sla/resolution_due"} <= set(found)
    assert any(path.endswith("/sla/resolution_due") for path in found if path.startswith("queue"))
    wrong = {path: value for path, value in found.items() if value is not None}
    wrong = {path: value for path, value in wrong.items() if not ISO_Z.fullmatch(value)}
    assert wrong == {}
