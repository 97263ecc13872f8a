"""Error pages for browsers: 400 (expired form), 403, 404, 410 (used link), 500, 503.

The JSON API keeps its own error bodies: these handlers answer HTML only for page URLs and hand
everything under `/api`, `/web/` (the pages' JSON calls) and the probes and metrics to the JSON
handler.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from service.errors import (
    DEPENDENCY_UNAVAILABLE,
    AppError,
    Unavailable,
    unavailable_response,
)
from service.extensions import db
from service.web.blueprints import bp
from service.web.session import load_actor

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/web/", "/healthz", "/livez", "/readyz", "/metrics")

TITLES = {
    400: "That did not work",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That did not work",
    409: "That cannot be done right now",
    410: "This link is not valid any more",
    422: "That did not work",
    429: "Too many attempts",
    500: "Something went wrong on our side",
    503: "Rolegate is briefly unavailable",
}
HINTS = {
    403: "Your roles in your organization do not include this. "
    "An administrator of your organization can change your roles.",
    404: "The page does not exist, or it belongs to an organization you do not work for.",
    500: "The problem has been logged. Try again in a moment; if it keeps happening, "
    "contact the vendor's support team.",
    503: "Nothing you did caused this. Reload the page in a few seconds.",
}


def wants_json() -> bool:
    path = request.path
    return path == "/api" or path.startswith(JSON_PREFIXES)


def error_page(status: int, message: str | None = None, *, template: str = "web/error.html"):
    """An HTML error page with the status as its HTTP status."""
    body = render_template(
        template,
        status=status,
        title=TITLES.get(status, "That did not work"),
        message=message,
        hint=HINTS.get(status),
        actor=g.get("actor"),
        # A server error may come from the database: the header then makes no queries.
        minimal_header=status >= 500,
    )
    return body, status


@bp.errorhandler(CSRFError)
def csrf_failed(exc: CSRFError):
    return error_page(
        400,
        "The form was not accepted because its security token is missing or expired. "
        "Go back, reload the page and try again.",
    )


@bp.errorhandler(AppError)
def app_error(exc: AppError):
    if exc.status == 401:
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    if exc.status == 410:
        return error_page(410, exc.message, template="web/link_invalid.html")
    body, status = error_page(exc.status, exc.message)
    if "retry_after" in exc.extra:
        return body, status, {"Retry-After": str(exc.extra["retry_after"])}
    return body, status


def dependency_unavailable(exc: Exception):
    # Pages answer 503 with a page, their JSON calls with the API's error body; either way the
    # browser is asked to come back in a few seconds.
    if wants_json():
        return unavailable_response(exc)
    log.warning("a dependency is unavailable on a page: %s", type(exc).__name__)
    return app_error(Unavailable())


for _unavailable in DEPENDENCY_UNAVAILABLE:
    bp.register_error_handler(_unavailable, dependency_unavailable)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    status = exc.code or 500
    return error_page(status, None if status in (404, 500) else exc.description)


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    # The traceback goes to the log; the page shows no internals.
    log.exception("unhandled error on a page: %s", type(exc).__name__)
    db.session.rollback()
    return error_page(500)


def register(app: Flask) -> None:
    """HTML for unknown page URLs (404, 405); the app's JSON handler keeps everything else."""
    json_handler = app.error_handler_spec[None][None][HTTPException]

    def unknown_url(exc: HTTPException) -> Any:
        if wants_json():
            return json_handler(exc)
        try:
            load_actor()  # the header shows who is signed in, as on every page
        except DEPENDENCY_UNAVAILABLE as unavailable:
            return dependency_unavailable(unavailable)
        return error_page(exc.code or 404)

    app.register_error_handler(404, unknown_url)
    app.register_error_handler(405, unknown_url)
