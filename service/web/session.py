"""Browser sign-in: who the session belongs to, and the decorators that pages and JSON calls use.

Signing in records a web session server-side (`service.accounts.sessions`); the session cookie
(signed, HttpOnly, SameSite=Lax, Secure over https) names it by its random secret. Every request
looks the session up again, so signing out, signing out everywhere, a new password, deactivation
or a purge ends it at once, for a copy of the cookie too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for

from service.accounts import sessions
from service.accounts.models import SessionKind, User
from service.accounts.service import Actor, signed_in
from service.errors import Unauthorized
from service.extensions import db

SESSION_KEY = sessions.WEB_SESSION_KEY

F = TypeVar("F", bound=Callable[..., Any])


def start(user: User) -> None:
    """Sign the user in: a new recorded session, and a fresh cookie (and CSRF token) naming it.

    The caller commits.
    """
    secret, _ = sessions.issue(
        session=db.session(),
        user_id=user.id,
        kind=SessionKind.WEB,
        ttl_seconds=current_app.config["ACCESS_TOKEN_TTL_SECONDS"],
    )
    session.clear()
    session[SESSION_KEY] = secret
    session.permanent = True


def end() -> None:
    """Sign this browser out: its recorded session ends, not only its cookie. The caller commits."""
    secret = session.get(SESSION_KEY)
    if isinstance(secret, str):
        sessions.revoke(session=db.session(), secret=secret, kind=SessionKind.WEB)
    session.clear()


def end_everywhere(actor: Actor) -> None:
    """Sign the account out of every browser and revoke its bearer tokens. The caller commits."""
    sessions.revoke_all(session=db.session(), user_ids=[actor.user.id])
    session.clear()


def load_actor() -> Actor | None:
    """The actor of this request's session, built as `authenticate` builds one; None if none."""
    if "actor" in g:
        return cast(Actor | None, g.actor)
    g.actor = None
    secret = session.get(SESSION_KEY)
    if isinstance(secret, str):
        g.actor = signed_in(session=db.session(), secret=secret, kind=SessionKind.WEB)
    if g.actor is None and SESSION_KEY in session:
        session.clear()
    return cast(Actor | None, g.actor)


def current_actor() -> Actor:
    """The signed-in actor; only inside views guarded by `page` or `json_call`."""
    actor = load_actor()
    if actor is None:
        raise Unauthorized("Sign in first.")
    return actor


def page(view: F) -> F:
    """A page for signed-in users: anyone else is sent to the sign-in page and back."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if load_actor() is None:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, guarded)


def json_call(view: F) -> F:
    """A JSON call of our pages' scripts: without a session, 401 in the API's error shape."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if load_actor() is None:
            raise Unauthorized("Your session has ended. Sign in again.", code="session_expired")
        return view(*args, **kwargs)

    return cast(F, guarded)


def safe_next(target: str | None) -> str | None:
    """A local path to return to after sign-in, or None: never another site, and nothing that
    could not stand in a `Location` header as it is (line breaks, control characters)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if not target.isprintable():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target
