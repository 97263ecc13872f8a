"""Views that only read answer outside a transaction on PostgreSQL.

A view marked `@reads_only` is served, for GET and HEAD, on a connection in autocommit: the
driver sends no BEGIN before its first statement and has nothing to roll back when the session
closes, two round trips fewer than a transaction that only reads. Nothing is lost: the database
runs at READ COMMITTED, where each statement of a transaction takes its own snapshot anyway, so
the statements see what they would have seen inside one.

It also keeps the connection's plan cache. psycopg prepares a statement on its 5th run on a
connection, and PostgreSQL then keeps a generic plan of it where that plan is as good as a
fresh one; but psycopg forgets every prepared statement of the connection on ROLLBACK. A GET in
a transaction ends with one, so it planned each of its statements afresh on every call. Every
GET of the API is marked (tests/api/test_reads_only.py).

Such a view must not write. The guard below refuses any INSERT, UPDATE or DELETE, and any flush,
in a session serving one (`ReadOnlyRequest`), so that a write added to it later fails in the
tests instead of committing statement by statement. SQLite keeps its transactions: the app
begins them itself (`service.extensions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from service.extensions import db

View = TypeVar("View", bound=Callable[..., Any])
READS_ONLY = "rolegate_reads_only"
_SAFE_METHODS = frozenset({"GET", "HEAD"})


class ReadOnlyRequest(RuntimeError):
    """A view marked `@reads_only` tried to write."""


def reads_only(view: View) -> View:
    """Mark a view that only reads: served outside a transaction (see the module)."""
    setattr(view, READS_ONLY, True)
    return view


def install(app: Flask) -> None:
    """Before every other hook of the request (blueprints' `load_actor` included), put the
    session of a marked view's GET on an autocommit connection."""
    app.before_request_funcs.setdefault(None, []).insert(0, _outside_a_transaction)


def _outside_a_transaction() -> None:
    if request.method not in _SAFE_METHODS or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, READS_ONLY, False):
        return
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[READS_ONLY] = True


@event.listens_for(Session, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and state.session.info.get(
        READS_ONLY
    ):
        raise ReadOnlyRequest("a view marked @reads_only tried to write")


@event.listens_for(Session, "before_flush")
def _refuse_flushes(session: Session, *_: Any) -> None:
    if session.info.get(READS_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlyRequest("a view marked @reads_only tried to write")
