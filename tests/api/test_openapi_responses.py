"""The OpenAPI document tells the truth: real answers of every documented operation, errors
included, validate against `/api/openapi.json`.

One journey through the API (staff, a customer admin, an outsider, a contact without the
permissions, no token) calls every operation of the document for a success and for its errors.
Schemathesis validates each answer against what the operation documents for its status (an
error against the `Error` schema, through each operation's `default` response); an answer of a
URL or method that no operation documents (404, 405) is checked against the `Error` schema too.

An operation of the document that the journey never answers with a success fails the test,
which names it: add its call to `journey` below. The fuzz (`test_openapi_fuzz.py`) validates the
generated requests' answers the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from schemathesis.core.failures import FailureGroup
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound

from service.accounts import tokens
from service.accounts.models import TokenPurpose, User
from service.contacts.models import Contact
from service.extensions import db
from tests.demo_ids import contact_ids
from tests.factories import PASSWORD
from tests.jobs import run_jobs
from tests.tickets import support
from tests.tickets.support import new_contact, raise_ticket

# Error statuses the journey must have validated at least once.
ERRORS_SEEN = {400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429}
# Operations the journey calls for their errors only; their successes are validated elsewhere.
ERRORS_ONLY = {
    # needs a delivery, so a receiving server (tests/webhooks/)
    "POST /api/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
}
_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class CheckedClient:
    """The test client, with every `/api` answer validated against the OpenAPI document."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self.spec: dict[str, Any] = client.get("/api/openapi.json").get_json()
        self.schema = schemathesis.openapi.from_dict(self.spec)
        # Every operation's `default` answer is the `Error` schema: GET /api/me's checks the
        # errors of URLs and methods that no operation documents.
        self.any_error = self.schema["/api/me"]["GET"]
        self.answered: dict[str, set[int]] = {}
        self.failures: list[str] = []

    def operations(self) -> Iterator[str]:
        for path, item in self.spec["paths"].items():
            for method in item:
                if method in ("get", "post", "put", "patch", "delete"):
                    yield f"{method.upper()} {path}"

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        self._check(method, path.split("?")[0], response)
        return response

    def _check(self, method: str, path: str, response: Any) -> None:
        adapter = self.app.url_map.bind("localhost")
        try:
            rule, _ = adapter.match(path, method, return_rule=True)
        except (NotFound, MethodNotAllowed):
            rule = None
        template = _PARAMETER.sub(r"{\1}", rule.rule) if rule is not None else None
        documented = self.spec["paths"].get(template, {}) if template else {}
        label = f"{method} {template or path}"
        if method.lower() in documented:
            operation = self.schema[template][method]
        elif response.status_code >= 400:
            operation = self.any_error  # no operation answers this: still the error body
        else:
            self.failures.append(f"{label} {response.status_code}: not in the document")
            return
        self.answered.setdefault(label, set()).add(response.status_code)
        try:
            operation.validate_response(response)
        except (AssertionError, FailureGroup) as failure:
            self.failures.append(f"{label} {response.status_code}: {failure}")


@pytest.fixture
def api(app, client, factory, monkeypatch) -> CheckedClient:
    factory.demo()
    monkeypatch.setitem(app.config, "PASSWORD_RESET_ANSWER_SECONDS", 0.0)
    return CheckedClient(app, client)


def test_every_documented_operation_answers_as_the_openapi_document_says(app, factory, api):
    journey(app, factory, api)

    assert api.failures == [], "answers out of the OpenAPI document:\n" + "\n".join(
        api.failures[:30]
    )
    never = sorted(
        label
        for label in api.operations()
        if label not in ERRORS_ONLY
        and not any(200 <= status < 300 for status in api.answered.get(label, ()))
    )
    assert never == [], (
        "documented operations the journey never answered with a success; add a call of each "
        "to journey() in tests/api/test_openapi_responses.py: " + ", ".join(never)
    )
    seen = set().union(*api.answered.values())
    assert seen >= ERRORS_SEEN, f"error statuses never validated: {sorted(ERRORS_SEEN - seen)}"


def journey(app: Flask, factory, api: CheckedClient) -> None:
    """Every operation, its success and its usual errors."""
    call = api.call
    staff, staff2, admin = (
        factory.token(support.STAFF),
        factory.token(support.STAFF2),
        factory.token(support.REQUESTER),
    )
    outsider, viewer = factory.token(support.OUTSIDER), factory.token(support.NO_MANAGE)
    ids = contact_ids(factory)

    # Signing in, who am I, the errors of any call.
    call("POST", "/api/auth/token", json={"email": support.STAFF, "password": PASSWORD})
    call("POST", "/api/auth/token", json={"email": support.STAFF, "password": "not it"})
    call("POST", "/api/auth/token", json={"email": support.STAFF})
    call("GET", "/api/me", admin)
    call("GET", "/api/me")
    call("GET", "/api/me", "not-a-token")
    call("PUT", "/api/me", admin)
    call("GET", "/api/no-such-thing", admin)
    call("POST", "/api/auth/token", data="{", content_type="application/json")
    call("POST", "/api/auth/token", data="email=x", content_type="text/plain")
    too_big = "x" * (app.config["MAX_REQUEST_BYTES"] + 1)
    call("POST", "/api/auth/token", data=too_big, content_type="application/json")

    # The role catalog.
    call("GET", "/api/roles", admin)
    role = {"code": "auditor", "name": "Auditor", "audience": "customer", "permissions": []}
    call("POST", "/api/roles", staff, json=role)
    call("POST", "/api/roles", staff, json=role)
    call("POST", "/api/roles", admin, json={**role, "code": "other"})
    call("PATCH", "/api/roles/auditor", staff, json={"name": "Auditors"})
    call("PATCH", "/api/roles/no_such_role", staff, json={"name": "Nobody"})

    # The roster, the organization, its plan.
    call("GET", "/api/orgs/acme/contacts", admin)
    call("GET", "/api/orgs/acme/contacts?limit=2&role=technical", admin)
    call("GET", "/api/orgs/acme/contacts?role=no_such_role", admin)
    call("GET", "/api/orgs/acme/contacts", outsider)
    call("GET", f"/api/orgs/acme/contacts/{ids['carla.conti']}", admin)
    call("GET", f"/api/orgs/acme/contacts/{ids['carla.conti']}/export", staff)
    call("GET", f"/api/orgs/acme/contacts/{ids['carla.conti']}/export", admin)
    call("GET", f"/api/orgs/acme/contacts/{ids['carla.conti']}", outsider)
    call("GET", "/api/orgs/acme", admin)
    call("PATCH", "/api/orgs/acme", staff, json={"seat_limit": 500})
    call("PATCH", "/api/orgs/acme", admin, json={"seat_limit": 600})
    call("PATCH", "/api/orgs/acme", staff, json={"seat_limit": "many"})

    # A batch: dry run, submit, and the ways a submission is refused.
    version = api.client.get("/api/orgs/acme/contacts", headers=_bearer(admin)).get_json()[
        "version"
    ]
    batch = {"base_version": version, "changes": [new_contact()]}
    call("POST", "/api/orgs/acme/change-requests/validate", admin, json=batch)
    call("POST", "/api/orgs/acme/change-requests/validate?projected=changed", admin, json=batch)
    call("POST", "/api/orgs/acme/change-requests", admin, json={**batch, "changes": []})
    call("POST", "/api/orgs/acme/change-requests", viewer, json=batch)
    call("POST", "/api/orgs/acme/change-requests", admin, json={**batch, "base_version": 999})
    added = call("POST", "/api/orgs/acme/change-requests", admin, json=batch).get_json()
    call("POST", "/api/orgs/acme/change-requests", admin, json=batch)
    reference = added["ticket"]["reference"]

    # The ticket: queue, detail, comments, assignment, approval.
    call("GET", "/api/tickets", staff)
    call("GET", "/api/tickets?status=open&sort=-created_at&q=acme", admin)
    call("GET", "/api/tickets?status=nonsense", staff)
    mine = {"name": "Mine", "query": {"assignee": "me", "sort": "-updated_at"}}
    view = call("POST", "/api/tickets/views", staff, json=mine).get_json()
    call("POST", "/api/tickets/views", staff, json=mine)
    call("POST", "/api/tickets/views", admin, json=mine)
    call("GET", "/api/tickets/views", staff)
    call("DELETE", f"/api/tickets/views/{view['id']}", staff)
    call("DELETE", f"/api/tickets/views/{view['id']}", staff)
    call("GET", f"/api/tickets/{reference}", admin)
    call("GET", f"/api/tickets/{reference}", outsider)
    call("POST", f"/api/tickets/{reference}/comments", staff, json={"body": "Why?", "query": True})
    call("POST", f"/api/tickets/{reference}/comments", admin, json={"body": "Because."})
    call("POST", f"/api/tickets/{reference}/comments", staff, json={"body": "ok", "internal": True})
    call("POST", f"/api/tickets/{reference}/comments", admin, json={"body": "x", "internal": True})
    call("POST", f"/api/tickets/{reference}/assign", staff, json={"assignee": support.STAFF})
    call("POST", f"/api/tickets/{reference}/assign", admin, json={"assignee": None})
    call("POST", f"/api/tickets/{reference}/retry", staff)
    call("POST", f"/api/tickets/{reference}/approve", staff)
    call("POST", f"/api/tickets/{reference}/reject", staff, json={"reason": "late"})
    run_jobs(app)
    call("GET", f"/api/tickets/{reference}", staff)

    # The contact just added is invited: the invitations, a resend, a revoke, an activation.
    call("GET", "/api/orgs/acme/invitations", admin)
    nia = factory.scalar(select(User).where(User.email == "nia.new@acme.example"))
    nia_contact = factory.scalar(select(Contact.id).where(Contact.user_id == nia.id))
    call("POST", f"/api/orgs/acme/invitations/{nia_contact}/resend", admin)
    call("POST", f"/api/orgs/acme/invitations/{nia_contact}/resend", outsider)
    # A contact without an account is invited directly; one with an account is refused.
    acme = factory.scalar(select(Contact.organization_id).where(Contact.id == nia_contact))
    quiet = factory.contact(acme, "quiet.contact@acme.example", ["technical"])
    call("POST", f"/api/orgs/acme/invitations/{quiet}/invite", admin)
    call("POST", f"/api/orgs/acme/invitations/{quiet}/invite", admin)
    call("POST", f"/api/orgs/acme/invitations/{quiet}/invite", outsider)
    run_jobs(app)
    call("GET", "/api/orgs/acme/invitations", admin)
    link = _issue(app, nia.id, TokenPurpose.ACTIVATION)
    call("POST", "/api/activate", json={"token": link, "password": "short"})
    call("POST", "/api/activate", json={"token": link, "password": "a long and unusual phrase"})
    call("POST", "/api/activate", json={"token": link, "password": "a long and unusual phrase"})
    carla = ids["carla.conti"]
    call("POST", f"/api/orgs/acme/invitations/{carla}/resend", admin)
    call("POST", f"/api/orgs/acme/invitations/{carla}/revoke", admin)
    call("POST", f"/api/orgs/acme/invitations/{carla}/revoke", admin)

    # Four eyes: the first approval answers 200 and the ticket stays open.
    risky = [
        {"op": "grant_role", "contact_id": ids["frank.fischer"], "role": "technical"},
        {"op": "revoke_role", "contact_id": ids["frank.fischer"], "role": "cust_admin"},
    ]
    reference = raise_ticket(api.client, _bearer(admin), risky)
    call("POST", f"/api/tickets/{reference}/approve", staff)
    call("POST", f"/api/tickets/{reference}/approve", staff)
    call("POST", f"/api/tickets/{reference}/approve", staff2)
    run_jobs(app)

    # Reject, cancel, and a failed apply retried.
    reference = raise_ticket(api.client, _bearer(admin), [new_contact("n2", "ona@acme.example")])
    call("POST", f"/api/tickets/{reference}/reject", staff, json={})
    call("POST", f"/api/tickets/{reference}/reject", staff, json={"reason": "Not now."})
    reference = raise_ticket(api.client, _bearer(admin), [new_contact("n3", "ivo@acme.example")])
    call("POST", f"/api/tickets/{reference}/cancel", outsider, json={})
    call("POST", f"/api/tickets/{reference}/cancel", admin, json={"reason": "Changed my mind."})
    devon = ids["devon.tran"]
    grant = [{"op": "grant_role", "contact_id": devon, "role": "agreement"}]
    reference = raise_ticket(api.client, _bearer(admin), grant)
    factory.change_contact(devon, grant=("agreement",))
    call("POST", f"/api/tickets/{reference}/approve", staff)
    run_jobs(app)
    call("GET", f"/api/tickets/{reference}", staff)
    factory.change_contact(devon, revoke=("agreement",))
    call("POST", f"/api/tickets/{reference}/retry", admin)
    call("POST", f"/api/tickets/{reference}/retry", staff)
    run_jobs(app)

    # Delegation: buyco's admin manages acme once the grant is applied.
    reference = raise_ticket(
        api.client, _bearer(admin), [{"op": "grant_delegate", "organization": "buyco"}]
    )
    call("POST", f"/api/tickets/{reference}/approve", staff)
    run_jobs(app)
    call("GET", "/api/orgs/acme/delegations", admin)
    call("GET", "/api/orgs/acme/delegations", viewer)
    call("GET", "/api/tickets", outsider)

    # The emails staff look at.
    call("GET", "/api/emails?status=sent", staff)
    call("GET", "/api/emails", admin)

    # Amending the open ticket: a stale batch, then the ticket's next revision.
    reference = raise_ticket(api.client, _bearer(admin), [new_contact("n4", "uma@acme.example")])
    version = api.client.get("/api/orgs/acme/contacts", headers=_bearer(admin)).get_json()[
        "version"
    ]
    amended = {"base_version": version, "changes": [new_contact("n4", "uma.u@acme.example")]}
    call("POST", f"/api/tickets/{reference}/amend", admin, json={**amended, "base_version": 999})
    call("POST", f"/api/tickets/{reference}/amend", admin, json=amended)
    call("POST", "/api/orgs/acme/invitations/resend-expired", admin)
    call("POST", "/api/orgs/acme/invitations/resend-expired", viewer)

    # Onboarding: organizations and staff accounts.
    call("GET", "/api/orgs", staff)
    first_admin = new_contact("x", "first@newco.example")["contact"]
    newco = {"name": "Newco", "slug": "newco", "kind": "customer", "first_admin": first_admin}
    call("POST", "/api/orgs", staff, json=newco)
    call("POST", "/api/orgs", staff, json=newco)
    call("POST", "/api/orgs", admin, json=newco)
    call("POST", "/api/orgs/newco/close", staff)
    call("GET", "/api/staff", staff)
    added = call("POST", "/api/staff", staff, json={"email": "third@vendor.example"}).get_json()
    call("POST", "/api/staff", staff, json={"email": "third@vendor.example"})
    call("POST", f"/api/staff/{added['id']}/deactivate", staff)
    call("POST", "/api/staff/999999/deactivate", staff)

    # Webhooks, last (no event follows that would be delivered). Replaying one delivery needs
    # a delivery, which needs a receiving server: tests/webhooks/ does that.
    hook = {"url": "https://hooks.example/rolegate", "events": ["ticket.submitted"]}
    endpoint = call("POST", "/api/webhooks", staff, json=hook).get_json()
    call("POST", "/api/webhooks", admin, json=hook)
    call("GET", "/api/webhooks", staff)
    call("GET", f"/api/webhooks/{endpoint['id']}", staff)
    call("PATCH", f"/api/webhooks/{endpoint['id']}", staff, json={"description": "The CRM"})
    call("POST", f"/api/webhooks/{endpoint['id']}/rotate-secret", staff)
    call("GET", f"/api/webhooks/{endpoint['id']}/deliveries", staff)
    call("POST", f"/api/webhooks/{endpoint['id']}/replay-failed", staff)
    call("POST", f"/api/webhooks/{endpoint['id']}/deliveries/999999/replay", staff)
    call("DELETE", f"/api/webhooks/{endpoint['id']}", staff)
    call("GET", f"/api/webhooks/{endpoint['id']}", staff)

    # Password reset: requested, confirmed, a used link, too many requests.
    call("POST", "/api/password-reset", json={"email": support.REQUESTER})
    admin_id = factory.scalar(select(User.id).where(User.email == support.REQUESTER))
    link = _issue(app, admin_id, TokenPurpose.PASSWORD_RESET)
    new_password = "another long and unusual phrase"
    call("POST", "/api/password-reset/confirm", json={"token": link, "password": new_password})
    call("POST", "/api/password-reset/confirm", json={"token": link, "password": new_password})
    for _ in range(6):
        call("POST", "/api/password-reset", json={"email": support.STAFF2})

    # Signing out: this token, then everywhere.
    call("DELETE", "/api/auth/token", staff)
    call("DELETE", "/api/auth/token", staff)
    call("POST", "/api/me/sign-out-everywhere", staff2)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _issue(app: Flask, user_id: int, purpose: TokenPurpose) -> str:
    with app.app_context():
        link = tokens.issue(session=db.session(), user_id=user_id, purpose=purpose)
        db.session.commit()
        db.session.remove()
    return link
