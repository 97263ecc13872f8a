"""A database or Redis that is away answers 503 `unavailable`, never a 500, a bare body or a hang.

Each test builds an app of its own on the test database (or on one that cannot be reached) and
serves it over real HTTP (tests/live_server.py), so that what a client sees is what a WSGI server
sends, errors raised while Flask tears the request down included. Connections are cut on the
PostgreSQL server itself (`pg_terminate_backend`), only the test database's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from sqlalchemy import create_engine, text

from harness.smtp import free_port
from service import create_app
from service.config import TestConfig as SuiteConfig
from service.extensions import db
from tests.conftest import ON_POSTGRES
from tests.live_server import fetch, live_server
from tests.web.forms import sign_in

ADMIN = "admin@acme.example"


def fresh_app(app: Flask, tmp_path: Path, **overrides: Any) -> Flask:
    """Another app on the test's database (or `overrides`), signing with the same key."""
    config = SuiteConfig(tmp_path)
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    config.BASE_URL = app.config["BASE_URL"]
    config.SECRET_KEY = app.config["SECRET_KEY"]
    config.WTF_CSRF_ENABLED = False  # type: ignore[attr-defined]
    return create_app(config, **overrides)


def assert_unavailable_json(status: int, headers: Any, raw: bytes) -> None:
    assert status == 503, raw[:300]
    body = json.loads(raw)
    assert body["code"] == "unavailable"
    assert body["message"] and body["errors"] == []
    assert int(headers["Retry-After"]) > 0


def unreachable_database_url() -> str:
    if ON_POSTGRES:
        return f"postgresql+psycopg://127.0.0.1:{free_port()}/nowhere"
    return "sqlite:////nonexistent-directory/rolegate.sqlite"


def test_with_the_database_unreachable_the_api_answers_503_unavailable(app, factory, tmp_path):
    factory.demo()
    token = factory.token(ADMIN)
    broken = fresh_app(app, tmp_path, SQLALCHEMY_DATABASE_URI=unreachable_database_url())
    with live_server(broken) as base:
        bearer = {"Authorization": f"Bearer {token}"}
        for method, path, body in [
            ("GET", "/api/me", None),
            ("GET", "/api/tickets", None),
            ("GET", "/api/orgs/acme/contacts", None),
            ("POST", "/api/auth/token", {"email": ADMIN, "password": "whatever it is"}),
        ]:
            assert_unavailable_json(*fetch(base + path, method=method, body=body, headers=bearer))
        status, _, raw = fetch(base + "/healthz")
        assert status == 503 and json.loads(raw)["database"] == "down"


def test_with_the_database_unreachable_a_page_answers_503_with_a_page(
    app, client, factory, tmp_path
):
    factory.demo()
    healthy = fresh_app(app, tmp_path / "healthy")
    signed_in = healthy.test_client()
    assert sign_in(signed_in, ADMIN).status_code == 302
    cookie = signed_in.get_cookie("session")
    assert cookie is not None
    broken = fresh_app(app, tmp_path / "broken", SQLALCHEMY_DATABASE_URI=unreachable_database_url())
    with live_server(broken) as base:
        # A page, and a page URL that does not exist (its 404 page shows who is signed in).
        for path in ("/orgs/acme/contacts", "/tickets", "/no-such-page"):
            status, headers, raw = fetch(base + path, headers={"Cookie": f"session={cookie.value}"})
            assert status == 503, (path, raw[:300])
            assert int(headers["Retry-After"]) > 0
            assert headers["Content-Type"].startswith("text/html")
            assert b"briefly unavailable" in raw


def test_with_redis_unreachable_sign_in_answers_503_unavailable(app, factory, tmp_path):
    factory.demo()
    broken = fresh_app(app, tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with live_server(broken) as base:
        reply = fetch(
            base + "/api/auth/token",
            method="POST",
            body={"email": ADMIN, "password": "correct horse battery"},
        )
    assert_unavailable_json(*reply)


# --- connections cut on the server -------------------------------------------------------------


def cut_own_connection() -> None:
    """Terminate, from another connection, the backend this request's session uses."""
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    killer = create_engine(db.engine.url)
    try:
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.commit()
    finally:
        killer.dispose()


def app_cutting_its_connection(
    app: Flask, tmp_path: Path, *, when: str, paths: tuple[str, ...]
) -> Flask:
    """An app whose requests to `paths` lose their database connection `when` ("during": before
    the view runs, after the session began; "closing": after the answer is made)."""
    cutting = fresh_app(app, tmp_path)

    def during() -> None:
        if request.path in paths:
            cut_own_connection()

    def closing(response: Any) -> Any:
        if request.path in paths:
            cut_own_connection()
        return response

    if when == "during":
        cutting.before_request(during)
    else:
        cutting.after_request(closing)
    return cutting


@pytest.mark.postgres_only
@pytest.mark.parametrize("when", ["during", "closing"])
def test_a_connection_cut_mid_request_answers_503_or_the_answer_never_a_bare_500(
    app, factory, tmp_path, when
):
    factory.demo()
    token = factory.token(ADMIN)
    bearer = {"Authorization": f"Bearer {token}"}
    paths = ("/api/me", "/api/orgs/acme/contacts", "/api/tickets")
    cutting = app_cutting_its_connection(app, tmp_path, when=when, paths=paths)
    with live_server(cutting) as base:
        for path in paths:
            status, headers, raw = fetch(base + path, headers=bearer)
            if when == "during":
                assert_unavailable_json(status, headers, raw)
            else:
                # The answer was made before the connection went; closing the session (its
                # rollback fails) must not replace it with a bare 500.
                assert status == 200, raw[:300]
                assert json.loads(raw)
        # The pool drops the dead connections: the next request, left alone, is served.
        status, _, raw = fetch(base + "/api/roles", headers=bearer)
        assert status == 200, raw[:300]
