"""The protective headers of every response: pages, error pages, the API docs, the API and assets.

One `after_request` hook of the app, not of a blueprint, so that answers no blueprint handles
(an unknown URL, an error page, flask-smorest's docs) carry them too:

- `Content-Security-Policy`: for every HTML answer, the pages' and the Swagger UI page alike,
  scripts and styles from this origin only and no inline code (`templates/swagger_ui.html`
  starts Swagger UI from a file); for everything else (JSON, assets) a policy that allows
  nothing. Both forbid framing (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for older
  browsers).
- `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin` everywhere (a page may
  ask for a stricter referrer policy itself: the password pages do).
- `Cache-Control: no-store` on everything that does not set its own caching: pages and API
  answers may hold personal data. Only the static files (never personal) are sent with their
  own revalidation headers.
"""

from __future__ import annotations

from flask import Flask, Response

# Every asset of the pages is ours: no inline script or style, nothing from another origin.
# (Swagger UI sets its styles through the DOM, which `style-src 'self'` allows.)
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# A JSON answer or a file is never a document to run anything in.
NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'"


def register(app: Flask) -> None:
    """Install the hook on the app."""
    app.after_request(protect)


def protect(response: Response) -> Response:
    headers = response.headers
    policy = PAGE_POLICY if response.mimetype == "text/html" else NOTHING_POLICY
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cache-Control", "no-store")
    return response
