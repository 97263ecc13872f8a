"""`/livez` and `/readyz` for orchestrators: what they say while a dependency is away, and after.

Redis is a private redis-server the test stops; the database is one the app cannot reach (a wrong
URL), or the test's own with its migration stamp moved back. The shared servers are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import text

from service import create_app
from service.config import PROJECT_ROOT
from service.config import TestConfig as SuiteConfig
from service.extensions import db
from service.health import migration_heads
from tests.ops.support import private_redis

READY = {"database": "ok", "queue": "ok", "migrations": "ok"}


def test_liveness_and_readiness_answer_200_when_everything_is_up(client):
    live = client.get("/livez")
    assert live.status_code == 200
    assert live.get_json() == {"process": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == READY


@pytest.fixture
def unreachable_database(app: Flask) -> Iterator[Flask]:
    """An app whose database cannot be reached (nothing listens on port 1, no such folder)."""
    url = (
        "postgresql+psycopg://127.0.0.1:1/nothing?connect_timeout=2"
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        else "sqlite:////nonexistent-folder/rolegate.sqlite"
    )
    broken = create_app(SuiteConfig(app.instance_path), SQLALCHEMY_DATABASE_URI=url)
    yield broken
    with broken.app_context():
        db.engine.dispose()


def test_readiness_names_the_database_when_it_cannot_be_reached(unreachable_database):
    client = unreachable_database.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["code"] == "unavailable"
    assert set(body) >= {"code", "message", "errors"}
    assert body["database"] == "down"
    assert body["migrations"] == "unknown"  # cannot be read without the database
    assert "database" in body["message"]
    assert int(ready.headers["Retry-After"]) > 0
    # The process itself lives: an orchestrator must not restart it for the database's sake.
    assert client.get("/livez").status_code == 200
    # The contract's v1 check says the same, in its own words.
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "down"


def test_readiness_follows_redis_going_away_and_coming_back(app, client, monkeypatch):
    with private_redis() as redis:
        monkeypatch.setitem(app.config, "REDIS_URL", redis.url)
        assert client.get("/readyz").get_json() == READY
        redis.stop()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        body = ready.get_json()
        assert (body["queue"], body["database"], body["migrations"]) == ("down", "ok", "ok")
        assert body["message"] == "Not ready: queue."
        assert client.get("/livez").status_code == 200
        redis.start()
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.get_json()


def test_readiness_waits_for_the_migrations(app, client):
    """A database not yet upgraded to this code's schema is not ready, and says so."""
    (head,) = migration_heads()
    with app.app_context():
        previous = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        assert previous == head
        older = _parent_of(head)
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": older})
        db.session.commit()
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json()["migrations"] == "behind"
        assert ready.get_json()["message"] == "Not ready: migrations."
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
            db.session.commit()
        assert client.get("/readyz").get_json()["migrations"] == "unknown"
    finally:
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
            db.session.commit()
    assert client.get("/readyz").status_code == 200


def _parent_of(revision: str) -> str:
    script = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_revision(revision)
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision
