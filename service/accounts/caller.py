"""The caller of an `/api` request: every protected blueprint authenticates it first.

`load_actor` runs before the view (and so before its input is parsed): no or a bad bearer token
answers 401 however malformed the rest of the request is.
"""

from __future__ import annotations

from flask import g, request

from service.accounts.service import Actor, authenticate
from service.extensions import db


def load_actor() -> None:
    """Authenticate the bearer token of this request (a blueprint's `before_request`)."""
    g.actor = authenticate(session=db.session(), authorization=request.headers.get("Authorization"))


def current_actor() -> Actor:
    actor: Actor = g.actor
    return actor
