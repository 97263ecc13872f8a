"""The web front end: server-rendered pages on the same services as the JSON API.

`init_app` registers the pages, the pages' JSON calls, CSRF protection, the HTML error pages,
the session cookie's settings and the templates' helpers.

- Sign-in is a session recorded server-side (`service.web.session`), named by the signed
  session cookie and looked up on every request, so signing out (here or everywhere), a new
  password, deactivation or a purge ends it, for a copied cookie too. The actor is built as
  `authenticate` builds it for a token. The cookie is HttpOnly, SameSite=Lax, Secure when
  `BASE_URL` is https, and lives as long as a bearer token (`ACCESS_TOKEN_TTL_SECONDS`).
- CSRF: Flask-WTF's token is checked on every unsafe request outside `/api`, forms and JSON
  alike. The bearer-token API never reads the cookie, so it stays CSRF-free, and a session
  cookie does not authenticate it.
- The contacts manager's script dry-runs and submits through `/web/orgs/<slug>/change-requests
  [/validate]` (`service.web.batch_json`): session cookie plus the CSRF token in an
  `X-CSRFToken` header, the API's body and error shapes, the same service functions.
- Pages answer errors in HTML (`service.web.errors`); `/api`, `/web/` and `/healthz` keep JSON.
- Every asset is local (`static/`, served under `/assets`); a strict Content-Security-Policy
  allows no inline script or style (`service.headers` sets it, with the other protective
  headers, on every response of the app, error pages and the API docs included). No personal
  data in URLs: staff are named by id in the queue's filters, and emails travel only in form
  bodies.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

from service.web import (  # noqa: F401  (the page modules add their routes on import)
    account_pages,
    batch_json,
    contact_pages,
    errors,
    job_pages,
    organization_pages,
    role_pages,
    roster_view,
    staff_pages,
    ticket_pages,
    webhook_pages,
)
from service.web import presenters as present
from service.web.blueprints import bp, json_bp

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Install the web front end on the app."""
    config = app.config
    # The check is ours (below) so that it covers every page and skips the bearer-token API.
    config["WTF_CSRF_CHECK_DEFAULT"] = False
    # Assigned, not `setdefault`: Flask defines every one of these keys with its own default.
    # A form stays valid as long as the session that rendered it.
    config["WTF_CSRF_TIME_LIMIT"] = None
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SECURE"] = str(config["BASE_URL"]).startswith("https://")
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=config["ACCESS_TOKEN_TTL_SECONDS"])
    csrf.init_app(app)

    @app.before_request
    def protect_forms() -> None:
        if not config["WTF_CSRF_ENABLED"] or request.url_rule is None:
            return
        if request.path == "/api" or request.path.startswith("/api/"):
            return
        csrf.protect()

    app.register_blueprint(bp)
    app.register_blueprint(json_bp)
    errors.register(app)
    app.jinja_env.filters.update(
        when=present.format_time,
        iso=present.iso_time,
        age=present.age,
        ago=present.ago,
        until=present.until,
        status_label=present.status_label,
    )
    app.jinja_env.globals.update(
        batch_kinds=present.batch_kinds,
        sla_targets=present.targets,
        next_target=present.next_target,
    )
