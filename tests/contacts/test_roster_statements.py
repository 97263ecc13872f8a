"""A page of the roster reads in a few statements whatever the roster's size or the reader, and
the role catalog each process keeps (service/contacts/catalog.py) follows every edit, whichever
session or process made it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from service.contacts import catalog as role_catalog
from service.contacts.models import Role
from service.extensions import db
from service.read_only import READS_ONLY, ReadOnlyRequest
from tests.tickets.support import new_contact

URL = "/api/orgs/{slug}/contacts"
PAGE_STATEMENTS = 4


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # SQLite's transactions begin with a statement of their own here (PostgreSQL's driver
        # sends its BEGIN on the side); neither reads anything.
        if not statement.startswith("BEGIN"):
            sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def roster_of(factory, slug: str, size: int) -> None:
    org = factory.org(slug)
    factory.contact(org, f"admin@{slug}.example", ["cust_admin", "financial"], account="active")
    factory.contact(org, f"viewer@{slug}.example", ["technical"], account="active")
    for i in range(size):
        factory.contact(org, f"c{i}@{slug}.example", ["agreement"] if i % 2 else [])


@pytest.fixture
def readers(factory) -> dict[str, dict[str, str]]:
    roster_of(factory, "small", 2)
    roster_of(factory, "large", 30)
    factory.staff()
    return {
        "admin of small": factory.headers("admin@small.example"),
        "admin of large": factory.headers("admin@large.example"),
        "staff": factory.headers("reviewer@vendor.example"),
    }


def page_statements(app, client, headers, url: str) -> tuple[int, dict[str, Any]]:
    with counting(app) as sent:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    return len(sent), response.get_json()


def test_a_page_of_the_roster_takes_the_same_few_statements_at_any_size_for_any_reader(
    app, client, readers
):
    seen = set()
    for who, headers in readers.items():
        slug = "small" if "small" in who else "large"
        url = URL.format(slug=slug) + "?limit=5&role=agreement"
        client.get(url, headers=headers)  # the process reads the catalog once
        first, body = page_statements(app, client, headers, url)
        assert body["holders"]["agreement"] == (1 if slug == "small" else 15)
        pages = [first]
        if body["next_cursor"]:
            following, _ = page_statements(
                app, client, headers, f"{url}&cursor={body['next_cursor']}"
            )
            pages.append(following)
        seen.update((who, n) for n in pages)
        # A search counts its matches with a statement of its own.
        searched, _ = page_statements(app, client, headers, URL.format(slug=slug) + "?q=c1")
        assert max(*pages, searched) <= PAGE_STATEMENTS, (who, pages, searched)
    assert len({n for _, n in seen}) == 1, seen


def test_a_page_names_the_pending_ticket_read_with_the_organization(app, client, readers):
    headers = readers["admin of small"]
    version = client.get(URL.format(slug="small"), headers=headers).get_json()["version"]
    submitted = client.post(
        "/api/orgs/small/change-requests",
        json={"base_version": version, "changes": [new_contact()]},
        headers=headers,
    )
    assert submitted.status_code == 201, submitted.get_json()
    reference = submitted.get_json()["ticket"]["reference"]
    for query in ("", "?limit=2", "?limit=2&view=pending"):
        body = client.get(URL.format(slug="small") + query, headers=headers).get_json()
        assert body["pending_ticket"] == reference, query
    assert (
        client.get(
            "/api/orgs/large/contacts?limit=2", headers=readers["admin of large"]
        ).get_json()["pending_ticket"]
        is None
    )


def in_another_session(app: Flask, change: Callable[[Session], None]) -> None:
    """A change committed by a session of its own, as another process would make it."""
    with app.app_context(), Session(db.engine) as other:
        change(other)
        other.commit()


def required_roles(client, headers) -> list[str]:
    body = client.get(URL.format(slug="small") + "?limit=1", headers=headers).get_json()
    return body["required_roles"]


def test_the_kept_catalog_follows_role_edits_committed_elsewhere(app, client, factory, readers):
    admin = readers["admin of small"]
    assert "technical" not in required_roles(client, admin)

    def require_technical(other: Session) -> None:
        other.scalars(select(Role).where(Role.code == "technical")).one().required = True

    in_another_session(app, require_technical)
    assert "technical" in required_roles(client, admin)

    # A dry run writes the role in its transaction and rolls it back: nothing of it is kept.
    staff = readers["staff"]
    dry = client.patch("/api/roles/technical?dry_run=true", json={"required": False}, headers=staff)
    assert dry.status_code == 200, dry.get_json()
    assert "technical" in required_roles(client, admin)
    real = client.patch("/api/roles/technical", json={"required": False}, headers=staff)
    assert real.status_code == 200, real.get_json()
    assert "technical" not in required_roles(client, admin)


def test_the_actors_permissions_follow_role_edits_committed_elsewhere(
    app, client, readers, factory
):
    viewer = factory.headers("viewer@small.example")
    url = URL.format(slug="small") + "?limit=1"

    def grants(permissions: list[str]) -> Callable[[Session], None]:
        def change(other: Session) -> None:
            role = other.scalars(select(Role).where(Role.code == "technical")).one()
            role.grants_all = False
            role.permissions = permissions

        return change

    in_another_session(app, grants(["contacts:view"]))
    assert client.get(url, headers=viewer).status_code == 200
    in_another_session(app, grants([]))
    assert client.get(url, headers=viewer).status_code == 403
    in_another_session(app, grants(["contacts:view"]))
    assert client.get(url, headers=viewer).status_code == 200


def test_a_session_reads_the_catalog_afresh_after_its_transaction_ends_however_it_ends(app):
    def technical_name(session: Session) -> str:
        return role_catalog.as_dict(role_catalog.current(session=session))["technical"].name

    def rename(name: str) -> Callable[[Session], None]:
        def change(other: Session) -> None:
            other.scalars(select(Role).where(Role.code == "technical")).one().name = name

        return change

    with app.app_context(), Session(db.engine) as reader:
        technical_name(reader)
        reader.close()
        in_another_session(app, rename("Renamed once"))
        assert technical_name(reader) == "Renamed once"
        reader.rollback()
        in_another_session(app, rename("Renamed twice"))
        assert technical_name(reader) == "Renamed twice"


def test_the_roster_reads_outside_a_transaction_and_other_calls_keep_theirs(app, client, readers):
    """On PostgreSQL the roster (a view marked `@reads_only`) is read on an autocommit
    connection, so no BEGIN and no ROLLBACK go to the database; the connection goes back to
    the pool as it came, and the next call's statements run in a transaction again (here a
    sign-in)."""
    seen: list[tuple[str, bool]] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((statement, bool(getattr(conn.connection.dbapi_connection, "autocommit", 0))))

    with app.app_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
    headers = readers["admin of large"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        for url in (URL.format(slug="large") + "?limit=5&role=agreement", "/api/auth/token"):
            seen.clear()
            if url == "/api/auth/token":
                sign_in = {"email": "nobody@large.example", "password": "not the password"}
                assert client.post(url, json=sign_in).status_code == 401
            else:
                assert client.get(url, headers=headers).status_code == 200
            outside = {autocommit for statement, autocommit in seen if "BEGIN" not in statement}
            assert outside == {postgres and "contacts" in url}, (url, seen)
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_view_that_only_reads_may_not_write(app, factory):
    with app.app_context():
        session = db.session()
        session.info[READS_ONLY] = True
        try:
            with pytest.raises(ReadOnlyRequest):
                session.execute(update(Role).values(name="Renamed"))
            session.rollback()
            with pytest.raises(ReadOnlyRequest):
                session.scalars(select(Role)).first().name = "Renamed"
                session.flush()
        finally:
            session.rollback()
            db.session.remove()
