"""Sign-in, activation and password reset (public), and `/api/me`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request

from service import access
from service.accounts import service as accounts_service
from service.accounts import sessions, throttle
from service.accounts.activation import set_password
from service.accounts.caller import current_actor, load_actor
from service.accounts.models import SessionKind, TokenPurpose
from service.accounts.reset import request_reset
from service.accounts.schemas import (
    AcceptedOut,
    ActivatedOut,
    ActivateIn,
    MeOut,
    PasswordResetIn,
    TokenIn,
    TokenOut,
)
from service.extensions import Blueprint, db
from service.read_only import reads_only

public_blp = Blueprint("auth", __name__, description="Sign-in")
blp = Blueprint("accounts", __name__, description="The signed-in account")


blp.before_request(load_actor)


@public_blp.post("/auth/token")
@public_blp.arguments(TokenIn)
@public_blp.response(200, TokenOut)
@public_blp.doc(security=[])
@public_blp.alt_response(
    429, description="`rate_limited`: wait `Retry-After` seconds after repeated failures"
)
def issue_token(payload):
    """Exchange email and password for a bearer token (401 `invalid_credentials` otherwise)."""
    token, expires_at = throttle.sign_in_attempt(
        payload["email"],
        lambda: accounts_service.sign_in(
            session=db.session(),
            email=payload["email"],
            password=payload["password"],
            ttl_seconds=current_app.config["ACCESS_TOKEN_TTL_SECONDS"],
        ),
    )
    db.session.commit()
    return {"token": token, "expires_at": expires_at}


@blp.delete("/auth/token")
@blp.response(204)
def revoke_token():
    """Sign out: the calling bearer token stops working; the account's other sessions go on."""
    token = accounts_service.bearer_token(request.headers.get("Authorization"))
    assert token is not None  # load_actor authenticated it
    sessions.revoke(session=db.session(), secret=token, kind=SessionKind.BEARER)
    db.session.commit()


@blp.post("/me/sign-out-everywhere")
@blp.response(204)
def sign_out_everywhere():
    """Revoke every bearer token and end every web session of the calling account."""
    sessions.revoke_all(session=db.session(), user_ids=[current_actor().user.id])
    db.session.commit()


def _sets_a_password(view: Callable[..., Any]) -> Callable[..., Any]:
    """What the two calls that set a password with an emailed token take and answer."""
    for decorate in (
        public_blp.doc(security=[]),
        public_blp.alt_response(422, description="`weak_password`, every reason in `errors`"),
        public_blp.alt_response(
            410, description="`token_invalid`: expired, used or superseded link"
        ),
        public_blp.response(200, ActivatedOut),
        public_blp.arguments(ActivateIn),
    ):
        view = decorate(view)
    return view


@public_blp.post("/activate")
@_sets_a_password
def activate(payload):
    """Set the first password of an invited account with the token from its welcome email."""
    return _set_password(payload, TokenPurpose.ACTIVATION)


@public_blp.post("/password-reset")
@public_blp.arguments(PasswordResetIn)
@public_blp.response(202, AcceptedOut)
@public_blp.alt_response(429, description="`rate_limited`: too many reset requests")
@public_blp.doc(security=[])
def password_reset(payload):
    """Email a reset link if the address has an account. The answer is the same either way."""
    started = time.monotonic()
    throttle.refuse_when_exhausted(throttle.PASSWORD_RESET, payload["email"])
    throttle.count(throttle.PASSWORD_RESET, payload["email"])
    request_reset(session=db.session(), email=payload["email"])
    db.session.commit()
    # Answer after the same time whether or not an email was recorded and queued.
    floor = current_app.config["PASSWORD_RESET_ANSWER_SECONDS"]
    time.sleep(max(0.0, floor - (time.monotonic() - started)))
    return {"status": "accepted"}


@public_blp.post("/password-reset/confirm")
@_sets_a_password
def password_reset_confirm(payload):
    """Set a new password with the emailed token; every session of the account ends."""
    return _set_password(payload, TokenPurpose.PASSWORD_RESET)


def _set_password(payload: dict, purpose: TokenPurpose) -> dict:
    user = set_password(
        session=db.session(), token=payload["token"], password=payload["password"], purpose=purpose
    )
    db.session.commit()
    return {"email": user.email, "status": user.status.value}


@blp.get("/me")
@reads_only
@blp.response(200, MeOut)
def me():
    """Who the token belongs to, which organizations it may manage, and its memberships."""
    actor = current_actor()
    manages = sorted(org.slug for org in access.managed_orgs(session=db.session(), actor=actor))
    return {
        "email": actor.user.email,
        "staff": actor.is_staff,
        "organization": actor.organization.slug,
        "manages": manages,
        "memberships": [
            {
                "organization": m.organization.slug,
                "contact_id": m.contact_id,
                "roles": list(m.roles),
            }
            for m in actor.memberships
        ],
    }
