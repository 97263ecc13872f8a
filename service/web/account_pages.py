"""Signing in and out, the start page, and setting a password from an emailed link."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, url_for

from service.accounts import service as accounts_service
from service.accounts import throttle, tokens
from service.accounts.activation import WeakPassword, set_password
from service.accounts.models import TokenPurpose
from service.accounts.reset import request_reset
from service.errors import Gone, Unauthorized
from service.extensions import db
from service.web import presenters as present
from service.web import session as web_session
from service.web.blueprints import bp
from service.web.errors import error_page
from service.web.forms import ForgotPasswordForm, SetPasswordForm, SignInForm

# The emailed links: which token each page consumes, and how the page reads.
LINK_PAGES = {
    "activate": (
        TokenPurpose.ACTIVATION,
        "Activate your account",
        "Set your password",
        "Your password is set. Welcome to Rolegate.",
    ),
    "reset": (
        TokenPurpose.PASSWORD_RESET,
        "Choose a new password",
        "Save the new password",
        "Your new password is saved. Other sessions of your account have been signed out.",
    ),
}


@bp.get("/")
@web_session.page
def home():
    """Send each user to their start page: staff to the queue, customers to their roster."""
    endpoint, values = present.start_endpoint(
        session=db.session(), actor=web_session.current_actor()
    )
    return redirect(url_for(endpoint, **values))


@bp.get("/account")
@web_session.page
def account():
    """The start page of an account whose roles open neither the roster nor tickets."""
    return render_template("web/account.html")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password; back to the page that asked for it."""
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if web_session.load_actor() is not None:
            return redirect(web_session.safe_next(form.next.data) or url_for("web.home"))
    status, headers = 200, {}
    if form.validate_on_submit():
        email = form.email.data or ""
        try:
            user = throttle.sign_in_attempt(
                email,
                lambda: accounts_service.check_credentials(
                    session=db.session(), email=email, password=form.password.data or ""
                ),
            )
        except throttle.TooManyRequests as exc:
            form.form_errors.append(exc.message)
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        except Unauthorized as exc:
            form.form_errors.append(exc.message)
            status = 401
        else:
            web_session.start(user)
            db.session.commit()
            return redirect(web_session.safe_next(form.next.data) or url_for("web.home"))
    elif request.method == "POST":
        status = 422
    form.password.data = ""
    return render_template("web/login.html", form=form), status, headers


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """POST signs out (a link cannot sign anyone out); GET asks to confirm."""
    if request.method == "POST":
        web_session.end()
        db.session.commit()
        flash("You are signed out.", "success")
        return redirect(url_for("web.login"))
    if web_session.load_actor() is None:
        return redirect(url_for("web.login"))
    return render_template("web/logout.html")


@bp.post("/logout/everywhere")
@web_session.page
def logout_everywhere():
    """End every session of the account: other browsers, and its API tokens."""
    web_session.end_everywhere(web_session.current_actor())
    db.session.commit()
    flash("You are signed out everywhere: in every browser, and every API token.", "success")
    return redirect(url_for("web.login"))


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activate(token: str):
    """Set the first password of an invited account; only the POST uses the token."""
    return _set_password_page("activate", token)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Choose a new password from a reset link; only the POST uses the token."""
    return _set_password_page("reset", token)


def _set_password_page(kind: str, token: str):
    purpose, title, button, done = LINK_PAGES[kind]
    # A dead link's page says so at once, whatever the method: one answer for every reason.
    if not tokens.is_usable(session=db.session(), token=token, purpose=purpose):
        db.session.rollback()
        page, status = error_page(410, tokens.INVALID_TOKEN, template="web/link_invalid.html")
        return page, status, {"Referrer-Policy": "no-referrer"}
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = set_password(
                session=db.session(),
                token=token,
                password=form.password.data or "",
                purpose=purpose,
            )
        except WeakPassword as exc:
            # The use of the token rolls back with the refusal: the link still works.
            db.session.rollback()
            form.password.errors = [error.message for error in exc.errors]
            status = 422
        except Gone as exc:
            db.session.rollback()
            return error_page(410, exc.message, template="web/link_invalid.html")
        else:
            # The new password ended every session of the account; this browser starts anew.
            web_session.start(user)
            db.session.commit()
            flash(done, "success")
            return redirect(url_for("web.home"))
    elif request.method == "POST":
        status = 422
    form.password.data = form.confirm.data = ""
    page = render_template("web/set_password.html", form=form, title=title, button=button)
    return page, status, {"Referrer-Policy": "no-referrer"}


@bp.route("/password-reset", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the email has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        started = time.monotonic()
        email = form.email.data or ""
        try:
            throttle.refuse_when_exhausted(throttle.PASSWORD_RESET, email)
        except throttle.TooManyRequests as exc:
            form.form_errors.append(exc.message)
            page = render_template("web/forgot_password.html", form=form)
            return page, 429, {"Retry-After": str(exc.retry_after)}
        throttle.count(throttle.PASSWORD_RESET, email)
        request_reset(session=db.session(), email=email)
        db.session.commit()
        # As the API does: the same answer time whether or not an email was queued.
        floor = current_app.config.get("PASSWORD_RESET_ANSWER_SECONDS", 0.0)
        time.sleep(max(0.0, floor - (time.monotonic() - started)))
        minutes = tokens.lifetime(TokenPurpose.PASSWORD_RESET) // 60
        return render_template("web/reset_requested.html", minutes=minutes)
    status = 422 if request.method == "POST" else 200
    return render_template("web/forgot_password.html", form=form), status
