"""The app context each job runs in: one app per worker process, one session per job."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

_app: Flask | None = None
_pool_pid = os.getpid()


def use_app(app: Flask) -> None:
    """Make `app` the one that jobs of this process run in (the worker command calls this)."""
    global _app
    _app = app


def _app_for_job() -> Flask:
    if has_app_context():
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        return app
    if _app is None:
        from service import create_app

        use_app(create_app())
    assert _app is not None
    return _app


def _own_connections(app: Flask) -> None:
    """A forked work horse must not use the parent's pooled database connections."""
    global _pool_pid
    if _pool_pid != os.getpid():
        from service.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)
        _pool_pid = os.getpid()


@contextmanager
def job_context() -> Iterator[None]:
    """A fresh app context (and so a fresh session) for one job, removed afterwards."""
    from service.extensions import db

    app = _app_for_job()
    _own_connections(app)
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()
