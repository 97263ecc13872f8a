"""Browser sign-in: who the session belongs to, and the decorators that pages and JSON calls use.

The session cookie (signed, HttpOnly, SameSite=Lax) holds the user id and a stamp derived from
the account's password hash. Every request loads the account again, so a deactivated, archived
or purged account is signed out at once, and setting a new password (activation, reset) ends
every other session of that account because the stamp no longer matches.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.models import User, UserStatus
from service.accounts.passwords import verify_password
from service.accounts.service import INVALID_CREDENTIALS, Actor, _permissions
from service.errors import Unauthorized
from service.extensions import db
from service.organizations.models import Organization

USER_KEY = "uid"
STAMP_KEY = "stamp"

F = TypeVar("F", bound=Callable[..., Any])


def check_credentials(*, session: Session, email: str, password: str) -> User:
    """The active account with this email and password; one answer for every kind of failure."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or user.status != UserStatus.ACTIVE:
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    return user


def _stamp(user: User) -> str:
    """A keyed digest of the password hash: the cookie never carries the hash itself."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, (user.password_hash or "").encode(), hashlib.sha256).hexdigest()[:32]


def start(user: User) -> None:
    """Sign the user in: a fresh session (and CSRF token) that names the account."""
    session.clear()
    session[USER_KEY] = user.id
    session[STAMP_KEY] = _stamp(user)
    session.permanent = True


def end() -> None:
    session.clear()


def load_actor() -> Actor | None:
    """The actor of this request's session, built as `authenticate` builds one; None if none."""
    if "actor" in g:
        return cast(Actor | None, g.actor)
    g.actor = None
    user_id = session.get(USER_KEY)
    if isinstance(user_id, int):
        row = db.session.execute(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id == user_id, User.status == UserStatus.ACTIVE)
        ).one_or_none()
        if row is not None and hmac.compare_digest(_stamp(row[0]), str(session.get(STAMP_KEY))):
            user, organization = row
            g.actor = Actor(
                user=user,
                organization=organization,
                permissions=_permissions(db.session(), user),
            )
    if g.actor is None and USER_KEY in session:
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
    """A local path to return to after sign-in, or None: never another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target
