"""Who may call what: every route of the app (the API and the pages) against every kind of actor.

The routes come from `app.url_map`, so a route without an entry in `MATRIX` fails the test, and
the failure prints the line to add, with what each actor got (check that each answer is the one
you mean before pasting it). DEVELOPERS.md, "The route x actor matrix", says more.

One world is seeded once and every call is made against it with `app.test_client()`: no live
server. Calls that change state are made so that they change little: the review actions act on a
cancelled ticket (an allowed actor gets 409 `invalid_transition`, after every access check), a
submission names a stale roster version (409 `stale_roster`), invitations name a contact whose
account is active (409), and calls that end a session get a fresh sign-in of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.contacts.models import Contact
from service.extensions import db
from service.models_base import utcnow
from service.organizations.models import Delegation, Organization
from tests.factories import PASSWORD, Factory
from tests.routes import fill, parameters, route_methods
from tests.tickets.support import NO_MANAGE, OUTSIDER, REQUESTER, STAFF, new_contact, raise_ticket
from tests.web.forms import csrf_token, sign_in

# Who calls, in the order of the answers in each `MATRIX` line.
ACTORS = ("staff", "admin", "viewer", "delegate", "revoked", "outsider", "anonymous")
EMAILS = {
    "staff": STAFF,  # the vendor's staff
    "admin": REQUESTER,  # acme's customer administrator
    "viewer": NO_MANAGE,  # an acme contact whose roles only let it view the roster
    "delegate": OUTSIDER,  # buyco's admin, whom acme delegated to
    "revoked": "admin@exco.example",  # exco's admin, whose delegation by acme was revoked
    "outsider": "admin@otherco.example",  # the admin of another customer organization
}
# How an answer is written: its status, or `login` for a redirect to the sign-in page.
LOGIN = "login"

# "<METHOD> <route as app.url_map writes it>": the answers of ACTORS, in that order.
MATRIX: dict[str, str] = {
    # answers of:                     staff admin viewer delegate revoked outsider anonymous
    "GET /static/<path:filename>": "404 404 404 404 404 404 404",
    "GET /api/openapi.json": "200 200 200 200 200 200 200",
    "GET /api/docs": "200 200 200 200 200 200 200",
    "POST /api/auth/token": "200 200 200 200 200 200 200",
    "POST /api/activate": "410 410 410 410 410 410 410",
    "POST /api/password-reset": "202 202 202 202 202 202 202",
    "POST /api/password-reset/confirm": "410 410 410 410 410 410 410",
    "GET /api/me": "200 200 200 200 200 200 401",
    "GET /api/roles": "200 200 200 200 200 200 401",
    "POST /api/roles": "409 403 403 403 403 403 401",
    "PATCH /api/roles/<code>": "200 403 403 403 403 403 401",
    "GET /api/orgs/<slug>/contacts": "200 200 200 200 404 404 401",
    "GET /api/orgs/<slug>/contacts/<int:contact_id>/export": "200 403 403 403 404 404 401",
    "GET /api/orgs/<slug>": "200 200 200 200 404 404 401",
    "PATCH /api/orgs/<slug>": "200 403 403 403 404 404 401",
    "GET /api/orgs/<slug>/delegations": "200 200 200 200 404 404 401",
    "GET /api/orgs/<slug>/invitations": "403 200 403 200 404 404 401",
    "POST /api/orgs/<slug>/invitations/<int:contact_id>/resend": "403 409 403 409 404 404 401",
    "POST /api/orgs/<slug>/invitations/<int:contact_id>/invite": "403 409 403 409 404 404 401",
    "POST /api/orgs/<slug>/invitations/<int:contact_id>/revoke": "403 409 403 409 404 404 401",
    "POST /api/orgs/<slug>/change-requests": "403 409 403 409 404 404 401",
    "POST /api/orgs/<slug>/change-requests/validate": "403 200 403 200 404 404 401",
    "GET /api/tickets": "200 200 403 200 200 200 401",
    "GET /api/tickets/views": "200 403 403 403 403 403 401",
    "POST /api/tickets/views": "201 403 403 403 403 403 401",
    "DELETE /api/tickets/views/<int:view_id>": "404 403 403 403 403 403 401",
    "GET /api/tickets/<reference>": "200 200 403 200 404 404 401",
    "POST /api/tickets/<reference>/comments": "201 201 403 201 404 404 401",
    "POST /api/tickets/<reference>/assign": "200 403 403 403 404 404 401",
    "POST /api/tickets/<reference>/approve": "409 403 403 403 404 404 401",
    "POST /api/tickets/<reference>/reject": "409 403 403 403 404 404 401",
    "POST /api/tickets/<reference>/cancel": "403 409 403 409 404 404 401",
    "POST /api/tickets/<reference>/retry": "409 403 403 403 404 404 401",
    "GET /api/emails": "200 403 403 403 403 403 401",
    "GET /healthz": "200 200 200 200 200 200 200",
    "GET /livez": "200 200 200 200 200 200 200",
    "GET /readyz": "200 200 200 200 200 200 200",
    "GET /api/swagger-ui/<path:filename>": "200 200 200 200 200 200 200",
    "GET /metrics": "403 403 403 403 403 403 401",
    "GET /assets/<path:filename>": "200 200 200 200 200 200 200",
    "GET /": "302 302 302 302 302 302 login",
    "GET /account": "200 200 200 200 200 200 login",
    "GET /login": "302 302 302 302 302 302 200",
    "POST /login": "401 401 401 401 401 401 401",
    "GET /logout": "200 200 200 200 200 200 login",
    "GET /activate/<token>": "410 410 410 410 410 410 410",
    "POST /activate/<token>": "410 410 410 410 410 410 410",
    "GET /reset/<token>": "410 410 410 410 410 410 410",
    "POST /reset/<token>": "410 410 410 410 410 410 410",
    "GET /password-reset": "200 200 200 200 200 200 200",
    "POST /password-reset": "200 200 200 200 200 200 200",
    "GET /orgs/<slug>/contacts": "200 200 200 200 404 404 login",
    "GET /orgs/<slug>/invitations": "403 200 403 200 404 404 login",
    "POST /orgs/<slug>/invitations/<int:contact_id>/resend": "403 302 403 302 404 404 login",
    "POST /orgs/<slug>/invitations/<int:contact_id>/invite": "403 302 403 302 404 404 login",
    "POST /orgs/<slug>/invitations/<int:contact_id>/revoke": "403 200 403 200 404 404 login",
    "GET /organizations": "200 403 403 403 403 403 login",
    "GET /organizations/<slug>": "200 403 403 403 403 403 login",
    "POST /organizations/<slug>": "302 403 403 403 403 403 login",
    "GET /roles": "200 200 200 200 200 200 login",
    "GET /roles/new": "200 403 403 403 403 403 login",
    "POST /roles/new": "422 403 403 403 403 403 login",
    "GET /roles/<code>/edit": "200 403 403 403 403 403 login",
    "POST /roles/<code>/edit": "422 403 403 403 403 403 login",
    "GET /jobs": "200 403 403 403 403 403 login",
    "POST /jobs/<job_id>/retry": "404 403 403 403 403 403 login",
    "POST /jobs/<job_id>/discard": "404 403 403 403 403 403 login",
    "GET /tickets": "200 200 403 200 200 200 login",
    "POST /tickets/views": "302 403 403 403 403 403 login",
    "POST /tickets/views/<int:view_id>/delete": "404 403 403 403 403 403 login",
    "GET /emails": "200 403 403 403 403 403 login",
    "GET /tickets/<reference>": "200 200 403 200 404 404 login",
    "POST /tickets/<reference>/comments": "302 302 403 302 404 404 login",
    "POST /tickets/<reference>/assign": "302 403 403 403 404 404 login",
    "POST /tickets/<reference>/approve": "302 403 403 403 404 404 login",
    "POST /tickets/<reference>/reject": "302 403 403 403 404 404 login",
    "POST /tickets/<reference>/cancel": "403 302 403 302 404 404 login",
    "POST /tickets/<reference>/retry": "302 403 403 403 404 404 login",
    "GET /web/orgs/<slug>/contacts": "200 200 200 200 404 404 401",
    "POST /web/orgs/<slug>/change-requests/validate": "403 200 403 200 404 404 401",
    "POST /web/orgs/<slug>/change-requests": "403 409 403 409 404 404 401",
    "GET /api/staff": "200 403 403 403 403 403 401",
    "POST /api/staff": "409 403 403 403 403 403 401",
    "POST /api/staff/<int:user_id>/deactivate": "404 403 403 403 403 403 401",
    "GET /api/orgs": "200 403 403 403 403 403 401",
    "POST /api/orgs": "409 403 403 403 403 403 401",
    "POST /api/orgs/<slug>/close": "409 403 403 403 404 404 401",
    "POST /api/orgs/<slug>/invitations/resend-expired": "403 202 403 202 404 404 401",
    "POST /api/tickets/<reference>/amend": "403 409 403 409 404 404 401",
    "POST /orgs/<slug>/invitations/resend-expired": "403 302 403 302 404 404 login",
    "POST /organizations": "422 403 403 403 403 403 login",
    "POST /organizations/<slug>/rename": "422 403 403 403 403 403 login",
    "POST /organizations/<slug>/close": "422 403 403 403 403 403 login",
    "GET /staff": "200 403 403 403 403 403 login",
    "GET /api/orgs/<slug>/contacts/<int:contact_id>": "200 200 200 200 404 404 401",
    "GET /orgs/<slug>/contacts/<int:contact_id>": "200 200 200 200 404 404 login",
    "POST /staff": "422 403 403 403 403 403 login",
    "POST /staff/<int:user_id>/deactivate": "404 403 403 403 403 403 login",
    "POST /web/tickets/<reference>/amend": "403 409 403 409 404 404 401",
    "GET /api/webhooks": "200 403 403 403 403 403 401",
    "POST /api/webhooks": "404 403 403 403 403 403 401",
    "GET /api/webhooks/<int:endpoint_id>": "404 403 403 403 403 403 401",
    "PATCH /api/webhooks/<int:endpoint_id>": "404 403 403 403 403 403 401",
    "DELETE /api/webhooks/<int:endpoint_id>": "404 403 403 403 403 403 401",
    "POST /api/webhooks/<int:endpoint_id>/rotate-secret": "404 403 403 403 403 403 401",
    "GET /api/webhooks/<int:endpoint_id>/deliveries": "404 403 403 403 403 403 401",
    "POST /api/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/replay": "404 403 403 403 403 403 401",  # noqa: E501
    "POST /api/webhooks/<int:endpoint_id>/replay-failed": "404 403 403 403 403 403 401",
    "GET /webhooks": "200 403 403 403 403 403 login",
    "POST /webhooks/<int:endpoint_id>/enable": "404 403 403 403 403 403 login",
    "POST /webhooks/<int:endpoint_id>/replay-failed": "404 403 403 403 403 403 login",
    "DELETE /api/auth/token": "204 204 204 204 204 204 401",
    "POST /api/me/sign-out-everywhere": "204 204 204 204 204 204 401",
    "POST /logout": "login login login login login login login",
    "POST /logout/everywhere": "login login login login login login login",
}


@dataclass(frozen=True)
class Call:
    """How to call a route: path parameters besides the defaults, and a body (JSON for `/api`
    and `/web`, a form for the pages), or a function of the actor's name giving one."""

    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | Callable[[str], dict[str, Any]] | None = None
    ends_session: bool = False


STALE = {"base_version": 1_000_000, "changes": [new_contact()]}
PHRASE = "a long and unusual passphrase"

# Routes that need a body, other path parameters, or a session of their own.
CALLS: dict[str, Call] = {
    "POST /api/auth/token": Call(body={"email": STAFF, "password": PASSWORD}),
    "DELETE /api/auth/token": Call(ends_session=True),
    "POST /api/me/sign-out-everywhere": Call(ends_session=True),
    "POST /api/activate": Call(body={"token": "no-such-token", "password": PHRASE}),
    "POST /api/password-reset": Call(body=lambda actor: {"email": f"{actor}@nobody.example"}),
    "POST /api/password-reset/confirm": Call(body={"token": "no-such-token", "password": PHRASE}),
    "POST /api/roles": Call(body={"code": "technical", "name": "Technical Contact"}),
    "PATCH /api/roles/<code>": Call(body={"name": "Technical Contact"}),
    "PATCH /api/orgs/<slug>": Call(body={"seat_limit": 1000}),
    "POST /api/orgs/<slug>/change-requests": Call(body=STALE),
    "POST /api/orgs/<slug>/change-requests/validate": Call(body=STALE),
    "POST /web/orgs/<slug>/change-requests": Call(body=STALE),
    "POST /web/orgs/<slug>/change-requests/validate": Call(body=STALE),
    "POST /api/tickets/<reference>/comments": Call(body={"body": "Noted."}),
    "POST /api/tickets/<reference>/assign": Call(body={"assignee": None}),
    "POST /api/tickets/<reference>/approve": Call(params={"reference": "cancelled"}),
    "POST /api/tickets/<reference>/reject": Call(
        params={"reference": "cancelled"}, body={"reason": "No."}
    ),
    "POST /api/tickets/<reference>/cancel": Call(params={"reference": "cancelled"}, body={}),
    "POST /api/tickets/<reference>/retry": Call(params={"reference": "cancelled"}),
    "POST /api/staff": Call(body={"email": STAFF}),
    "POST /api/orgs": Call(
        body={
            "name": "Acme again",
            "slug": "acme",
            "kind": "customer",
            "first_admin": new_contact()["contact"],
        }
    ),
    "POST /api/tickets/<reference>/amend": Call(body=STALE),
    "POST /web/tickets/<reference>/amend": Call(body=STALE),
    # An endpoint for an organization that does not exist: refused after the access checks, so
    # that no delivery goes out during the walk.
    "POST /api/webhooks": Call(
        body={
            "url": "https://hooks.example/rolegate",
            "events": ["ticket.submitted"],
            "organization": "no-such-org",
        }
    ),
    "POST /api/tickets/views": Call(body={"name": "Mine", "query": {"assignee": "me"}}),
    "POST /tickets/views": Call(body={"name": "Mine on the page", "assignee": "me"}),
    "POST /tickets/<reference>/comments": Call(body={"comment-body": "Noted.", "kind": "comment"}),
    "POST /tickets/<reference>/assign": Call(body={"assign-assignee": "none"}),
    "POST /tickets/<reference>/approve": Call(params={"reference": "cancelled"}),
    "POST /tickets/<reference>/reject": Call(
        params={"reference": "cancelled"}, body={"reject-reason": "No."}
    ),
    "POST /tickets/<reference>/cancel": Call(params={"reference": "cancelled"}),
    "POST /tickets/<reference>/retry": Call(params={"reference": "cancelled"}),
    "GET /static/<path:filename>": Call(params={"filename": "robots.txt"}),
    "GET /api/swagger-ui/<path:filename>": Call(params={"filename": "swagger-ui.css"}),
    "POST /login": Call(body=lambda actor: {"email": f"{actor}@nobody.example", "password": "x"}),
    "POST /logout": Call(ends_session=True),
    "POST /logout/everywhere": Call(ends_session=True),
    "POST /activate/<token>": Call(body={"password": PHRASE, "confirm": PHRASE}),
    "POST /reset/<token>": Call(body={"password": PHRASE, "confirm": PHRASE}),
    "POST /password-reset": Call(body=lambda actor: {"email": f"{actor}@nobody.example"}),
}


@dataclass
class World:
    app: Flask
    factory: Factory
    params: dict[str, str]
    version: int
    tokens: dict[str, str] = field(default_factory=dict)
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)

    def signed_in(self, actor: str) -> tuple[FlaskClient, str, str | None]:
        """The actor's browser (a test client with its session), its CSRF token and bearer."""
        if actor not in self.clients:
            client = self.app.test_client()
            if actor != "anonymous":
                sign_in(client, EMAILS[actor])
                self.tokens[actor] = self.factory.token(EMAILS[actor])
            self.clients[actor] = client
            self.csrf[actor] = csrf_token(client, "/login" if actor == "anonymous" else "/account")
        return self.clients[actor], self.csrf[actor], self.tokens.get(actor)

    def fresh(self, actor: str, *, api: bool) -> tuple[FlaskClient, str, str | None]:
        """A sign-in of its own, for a call that ends it: a bearer token, or a web session."""
        client = self.app.test_client()
        if actor == "anonymous":
            return client, csrf_token(client, "/login"), None
        if api:
            return client, "", self.factory.token(EMAILS[actor])
        sign_in(client, EMAILS[actor])
        return client, csrf_token(client, "/account"), None


@pytest.fixture
def world(app, factory, monkeypatch) -> World:
    # The reset pages' constant answer time would only slow the walk down.
    monkeypatch.setitem(app.config, "PASSWORD_RESET_ANSWER_SECONDS", 0.0)
    factory.demo()
    acme = factory.scalar(select(Organization.id).where(Organization.slug == "acme"))
    buyco = factory.scalar(select(Organization.id).where(Organization.slug == "buyco"))
    exco = factory.org("exco", kind="purchaser")
    factory.contact(exco, EMAILS["revoked"], ["partner_admin"], account="active")
    otherco = factory.org("otherco")
    factory.contact(otherco, EMAILS["outsider"], ["cust_admin", "financial"], account="active")
    with app.app_context():
        db.session.add(Delegation(organization_id=acme, delegate_organization_id=buyco))
        db.session.add(
            Delegation(organization_id=acme, delegate_organization_id=exco, revoked_at=utcnow())
        )
        db.session.commit()
    admin = {"Authorization": f"Bearer {factory.token(REQUESTER)}"}
    cancelled = raise_ticket(factory.client, admin)
    factory.client.post(f"/api/tickets/{cancelled}/cancel", headers=admin, json={})
    reference = raise_ticket(factory.client, admin)
    roster = factory.client.get("/api/orgs/acme/contacts", headers=admin).get_json()
    active = factory.scalar(select(Contact.id).where(Contact.email == REQUESTER))
    params = {
        "slug": "acme",
        "reference": reference,
        "cancelled": cancelled,
        "contact_id": str(active),
        "code": "technical",
        "token": "no-such-token-0123456789-0123456789-0123456789",
        "job_id": "no-such-job",
        "view_id": "999999",
        "user_id": "999999",
        "endpoint_id": "999999",
        "delivery_id": "999999",
        "filename": "css/rolegate.css",
    }
    return World(app=app, factory=factory, params=params, version=roster["version"])


def route_keys(app: Flask) -> list[str]:
    """Every route of the app as `<METHOD> <rule>`, in the URL map's order; those that end a
    session last (signing out everywhere ends the actor's other sessions too)."""
    keys = [f"{method} {rule}" for method, rule in route_methods(app)]
    return sorted(keys, key=lambda key: CALLS.get(key, Call()).ends_session)


def answer(world: World, key: str, actor: str) -> str:
    method, rule = key.split(" ", 1)
    how = CALLS.get(key, Call())
    values = {**world.params, **{k: world.params.get(v, v) for k, v in how.params.items()}}
    unknown = parameters(rule) - set(values)
    assert not unknown, (
        f"{key}: no value for the path parameter(s) {sorted(unknown)}; give one in the world "
        "fixture's params (tests/test_route_matrix.py) or in the route's entry in CALLS"
    )
    path = fill(rule, values)
    if how.ends_session:
        client, csrf, token = world.fresh(actor, api=path.startswith("/api"))
    else:
        client, csrf, token = world.signed_in(actor)
    body = how.body(actor) if callable(how.body) else how.body
    headers: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    if path.startswith("/api"):
        client = world.app.test_client()  # the API is cookie-free: the bearer token only
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            kwargs["json"] = body
    elif path.startswith("/web/"):
        headers["X-CSRFToken"] = csrf
        kwargs["json"] = body if body is not None else {}
    elif method != "GET":
        kwargs["data"] = {"csrf_token": csrf, **(body or {})}
    response = client.open(path, method=method, headers=headers, **kwargs)
    location = response.headers.get("Location", "")
    if response.status_code in (302, 303) and location.split("?")[0].endswith("/login"):
        return LOGIN
    return str(response.status_code)


def test_every_route_answers_each_actor_as_the_matrix_says(app, world):
    keys = route_keys(app)
    missing, wrong = [], []
    for key in keys:
        got = " ".join(answer(world, key, actor) for actor in ACTORS)
        if key not in MATRIX:
            missing.append(f'    "{key}": "{got}",')
        elif MATRIX[key] != got:
            wrong.append(f"{key}: expected {MATRIX[key]!r}, got {got!r}")
    stale = sorted(set(MATRIX) - set(keys))
    message = []
    if missing:
        message.append(
            "Routes without an entry in MATRIX (tests/test_route_matrix.py). Add these lines, "
            f"after checking that each answer is the one you mean (answers in the order "
            f"{', '.join(ACTORS)}; a route that takes a body or other path parameters also "
            "needs an entry in CALLS):\n" + "\n".join(missing)
        )
    if wrong:
        message.append("Routes that answered otherwise than MATRIX says:\n" + "\n".join(wrong))
    if stale:
        message.append("MATRIX entries for routes that no longer exist: " + ", ".join(stale))
    assert not message, "\n\n".join(message)
