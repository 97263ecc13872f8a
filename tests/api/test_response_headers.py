"""Every answer of the app carries its protective headers: pages, error pages, the API docs and the
API alike. The walk goes over the URL map, so a new route cannot miss them."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from service.contacts.models import Contact
from service.web import ticket_pages
from tests.routes import fill, routes
from tests.tickets.support import raise_ticket
from tests.web.browser import ADMIN, STAFF
from tests.web.forms import sign_in

# Files that hold no personal data and keep the caching they are served with.
ASSET_ENDPOINTS = {"web.static", "health.swagger_ui_asset", "static"}
ASSET_FILES = {
    "web.static": "css/rolegate.css",
    "health.swagger_ui_asset": "swagger-ui.css",
    "static": "nothing-here.css",
}
# Sources a policy may name: this origin, nothing, or inline images. Never another origin.
LOCAL_SOURCES = {"'self'", "'none'", "data:"}


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def assert_protected(response, what: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    policy = directives(headers.get("Content-Security-Policy", ""))
    assert policy.get("frame-ancestors") == ["'none'"], what
    for name, sources in policy.items():
        if name in ("frame-ancestors",):
            continue
        assert set(sources) - {"'unsafe-inline'"} <= LOCAL_SOURCES, (what, name, sources)
    assert "'unsafe-inline'" not in policy.get("script-src", []), what
    if response.mimetype == "text/html":
        assert "script-src" in policy or policy.get("default-src") == ["'none'"], what
        assert headers.get("Cache-Control") == "no-store", what


def assert_not_cached(response, what: str) -> None:
    assert response.headers.get("Cache-Control") == "no-store", what


def url_for_rule(rule: Rule, samples: dict[str, object]) -> str:
    values = {}
    for name in rule.arguments:
        if name == "filename":
            values[name] = ASSET_FILES[rule.endpoint]
        else:
            assert name in samples, f"add a sample value for <{name}> ({rule.rule})"
            values[name] = samples[name]
    return fill(rule.rule, values)


@pytest.fixture
def samples(factory) -> dict[str, object]:
    factory.demo()
    reference = raise_ticket(factory.client, factory.headers(ADMIN))
    acme_contact = factory.scalar(select(Contact.id).where(Contact.email == ADMIN))
    return {
        "slug": "acme",
        "reference": reference,
        "contact_id": acme_contact,
        "token": "not-a-real-token",
        "code": "technical",
        "endpoint_id": 1,
        "delivery_id": 1,
    }


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


@pytest.mark.parametrize("who", [ADMIN, STAFF])
def test_every_get_route_answers_with_the_protective_headers(app, factory, samples, who):
    client = signed_in(app, who)
    bearer = {"Authorization": f"Bearer {factory.token(who)}"}
    walked = 0
    for rule in sorted(routes(app, "GET"), key=lambda r: r.rule):
        path = url_for_rule(rule, samples)
        response = client.get(path, headers=bearer if path.startswith("/api") else None)
        assert response.status_code < 500, path
        assert_protected(response, path)
        if rule.endpoint not in ASSET_ENDPOINTS:
            assert_not_cached(response, path)
        walked += 1
    assert walked >= 20


def test_error_pages_and_error_bodies_carry_them_too(app, factory, samples, monkeypatch):
    stranger = app.test_client()
    client = signed_in(app, STAFF)
    answers = {
        "page 404": client.get("/no/such/page"),
        "page 405": client.get("/logout/everywhere"),
        "page 400 (form without its token)": stranger.post("/login", data={"email": "x"}),
        "page 410 (used link)": stranger.post("/activate/not-a-token", data={}),
        "api 401": stranger.get("/api/me"),
        "api 404": stranger.get("/api/nothing-here"),
        "api 405": stranger.put("/api/auth/token"),
        "api 422": stranger.post("/api/auth/token", json={}),
    }

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ticket_pages.read_models, "list_tickets", broken)
    answers["page 500"] = client.get("/tickets")
    for what, response in answers.items():
        assert response.status_code >= 400, what
        assert_protected(response, what)
        assert_not_cached(response, what)
    assert answers["page 500"].status_code == 500
    assert answers["page 404"].mimetype == "text/html"


def test_the_api_docs_page_runs_no_inline_script(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert_protected(page, "/api/docs")
    html = page.get_data(as_text=True)
    assert "<script>" not in html
    policy = directives(page.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
