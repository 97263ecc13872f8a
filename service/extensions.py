"""Shared extension objects: the database, migrations, the OpenAPI registry (with the API's
Blueprint class), the URL converter of ids, and Redis."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import flask_smorest
from flask import current_app
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from service.errors import ErrorSchema, http_error_response
from service.json_input import JsonBodyParser
from service.models_base import MAX_ID

log = logging.getLogger(__name__)

# PostgreSQL: how long to wait for a connection, and for one statement, before giving up. An
# unreachable database then answers 503 in seconds instead of holding requests and workers.
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_SECONDS = 60

# Stable constraint names so Alembic migrations read the same on PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


class RolegateApi(Api):
    """flask-smorest's Api with the service's error body, through its two documented hooks:
    `ERROR_SCHEMA` is what the OpenAPI document shows for every error response, and
    `handle_http_exception` (which the Api registers for every `HTTPException`) answers with
    that body (`service.errors`)."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        return http_error_response(error)


api = RolegateApi()


class IdConverter(IntegerConverter):
    """`<int:…>` in every URL of the app: an id that can exist, 1 to `MAX_ID` in ASCII digits.

    Anything else (0, a number past the column's range, other scripts' digits) matches no route,
    so it answers 404 like a missing id instead of failing in the database. The OpenAPI document
    shows the bounds.
    """

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, reading bodies by the service's rules (`service.json_input`)."""

    ARGUMENTS_PARSER = JsonBodyParser()


def close_session(exc: BaseException | None = None) -> None:
    """End the current session, whatever became of its connection.

    Closing rolls back an open transaction, which raises when the connection died meanwhile (a
    restarted database, a terminated backend). By then the request's answer is made, or the job
    has failed: nothing is left to undo, the pool drops the dead connection, and raising here
    would only replace that answer with a bare 500 (or the job's own error with this one).
    """
    try:
        db.session.remove()
    except SQLAlchemyError as error:
        log.warning("closing a session whose connection was lost: %s", type(error).__name__)


def redis_connection() -> Redis | None:
    """The app's Redis connection, or None when jobs run in-process (REDIS_URL unset)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    cache: dict[str, Any] = current_app.extensions.setdefault("rolegate_redis", {})
    if url not in cache:
        cache[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return cache[url]


@event.listens_for(Engine, "do_connect")
def _postgres_timeouts(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
    """Connect and statement timeouts on every PostgreSQL connection."""
    if dialect.name == "postgresql":
        cparams.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        cparams.setdefault("options", f"-c statement_timeout={STATEMENT_TIMEOUT_SECONDS * 1000}")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite enforces foreign keys only when asked, and WAL lets readers and a writer overlap."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()
        # Let SQLAlchemy, not the driver, say when a transaction begins (see below).
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(connection: Any) -> None:
    """On SQLite, every transaction takes the write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that read first and writes later fails at once with "database is
    locked" when another writer committed in between; with IMMEDIATE, concurrent writers wait
    their turn (busy_timeout) and then see the committed state, so conditional updates such as
    `UPDATE tickets ... WHERE status = 'open'` decide races exactly as on PostgreSQL.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
