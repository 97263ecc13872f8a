"""Probes (`/healthz`, `/livez`, `/readyz`) and the offline Swagger UI assets: no domain here.

- `GET /livez`: the process answers. Nothing else is checked, so an orchestrator restarts a
  process only when the process itself is stuck, never because the database is away.
- `GET /readyz`: the database answers and holds the schema of this code's migrations (Alembic's
  head), and Redis answers (when `REDIS_URL` is set). An orchestrator sends traffic only while
  it is 200; a 503 names what is not ready.
- `GET /healthz`: the contract's v1 check (database and queue), kept as it was.
"""

from __future__ import annotations

from functools import cache

from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify, send_from_directory
from sqlalchemy import text
from swagger_ui_bundle import swagger_ui_path

from service.config import PROJECT_ROOT
from service.errors import RETRY_AFTER_SECONDS
from service.extensions import db, redis_connection

bp = Blueprint("health", __name__)

OK = "ok"
DOWN = "down"
# The database's schema is older (`behind`) or other (`unknown`) than this code's migrations.
BEHIND = "behind"
UNKNOWN = "unknown"


@bp.get("/healthz")
def healthz():
    """200 when the database and the queue answer; 503 naming what is down."""
    status = {"database": _database(), "queue": _queue()}
    return _answer(status, code="service_unavailable", says="Not available")


@bp.get("/livez")
def livez():
    """200 while the process answers: it checks nothing else."""
    return jsonify({"process": OK})


@bp.get("/readyz")
def readyz():
    """200 when the database, Redis and the schema are ready; 503 naming what is not."""
    database = _database()
    status = {
        "database": database,
        "queue": _queue(),
        "migrations": _migrations() if database == OK else UNKNOWN,
    }
    return _answer(status, code="unavailable", says="Not ready", retry_after=RETRY_AFTER_SECONDS)


def _answer(status: dict[str, str], *, code: str, says: str, retry_after: int | None = None):
    """200 with the states when all are ok; else 503 with the error body naming the others."""
    failing = [name for name, state in status.items() if state != OK]
    if not failing:
        return jsonify(status)
    body = {"code": code, "message": f"{says}: {', '.join(failing)}.", "errors": [], **status}
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return jsonify(body), 503, headers


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return DOWN
    return OK


def _queue() -> str:
    try:
        connection = redis_connection()
        if connection is not None:
            connection.ping()
    except Exception:
        return DOWN
    return OK


def _migrations() -> str:
    """`ok` when the database is at this code's migration head(s)."""
    try:
        found = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception:
        db.session.rollback()
        return BEHIND  # no version table: the schema was never migrated
    finally:
        db.session.rollback()
    heads = migration_heads()
    if found == heads:
        return OK
    return BEHIND if found <= _known_revisions() else UNKNOWN


@cache
def migration_heads() -> frozenset[str]:
    """The head revision(s) of the migrations shipped with this code (read once)."""
    return frozenset(_scripts().get_heads())


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(PROJECT_ROOT / "migrations"))


@bp.get("/api/swagger-ui/<path:filename>")
def swagger_ui_asset(filename: str):
    """Swagger UI's JavaScript and CSS from the installed package, so /api/docs works offline."""
    return send_from_directory(swagger_ui_path, filename)
