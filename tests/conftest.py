"""Fixtures shared by the whole suite: the app on the real database, a clean slate per test.

The database is chosen by TEST_DATABASE_URL (PostgreSQL in `make test`'s second run); unset, the
suite runs on a SQLite file, the embedded default. The schema comes from the Alembic migrations,
so every run also proves that `db upgrade` builds what the models describe.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from service import create_app
from service.config import TestConfig
from service.contacts import counts
from service.contacts.service import load_catalog_file
from service.extensions import db, redis_connection
from tests.factories import Factory
from tests.smtp import smtp, start_smtp  # noqa: F401  (fixtures for every test)

ON_POSTGRES = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives Chromium is marked `browser`: the Makefile's PostgreSQL pass leaves
    those out unless they need that pass (`postgres_only`) or ask for it (`browser_on_postgres`)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    if not ON_POSTGRES:
        os.environ["DATABASE_URL"] = f"sqlite:///{instance / 'test.sqlite'}"
    config = TestConfig(instance)
    if not ON_POSTGRES:
        config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{instance / 'test.sqlite'}"
    config.BASE_URL = "http://rolegate.test"
    application = create_app(config)
    application.instance_path = str(instance)
    with application.app_context():
        if ON_POSTGRES:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


def _table_names() -> list[str]:
    return [table.name for table in reversed(db.metadata.sorted_tables)]


@pytest.fixture(autouse=True)
def _clean_database(app: Flask) -> Iterator[None]:
    """Each test starts from empty tables, the default role catalog, no jobs and no emails."""
    with app.app_context():
        names = _table_names()
        with db.engine.begin() as connection:
            if ON_POSTGRES:
                connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            else:
                # No AUTOINCREMENT tables: ids restart at 1 once a table is empty.
                for name in names:
                    connection.execute(text(f"DELETE FROM {name}"))
        load_catalog_file(session=db.session)
        db.session.commit()
        db.session.remove()
        connection = redis_connection()
        if connection is not None:
            connection.flushdb()
    shutil.rmtree(app.config["OUTBOX_DIR"], ignore_errors=True)
    app.extensions.pop("rolegate_throttle", None)
    yield
    # Whatever the test did to contacts and roles, the roster's counts followed: a writer that
    # forgets them fails here, in the test that exercised it.
    with app.app_context():
        drift = counts.check(session=db.session)
        db.session.remove()
    assert [str(d) for d in drift] == [], "the roster's counts drifted from a recount"


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def factory(app: Flask, client: FlaskClient) -> Factory:
    return Factory(app, client)


@pytest.fixture
def instance_path(app: Flask) -> Path:
    return Path(app.instance_path)
