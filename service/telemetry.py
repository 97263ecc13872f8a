"""Every HTTP request: its request id, its one log line and its metrics (WSGI middleware).

The outermost layer of the app, so it sees the status that really left, whatever produced it
(a view, an error handler, an error raised while the request closed):

- the request id is the client's `X-Request-ID` when it looks like an id, otherwise a new one;
  the app and every job the request enqueues run under it (`service.logs.bound`), and the
  answer echoes it in `X-Request-ID`;
- one log line (`rolegate.request`): method, route template, status, duration, the URL's ids
  (only on a successful answer, where they name something that exists: a reference, a slug,
  a contact id; never a link's token) and the ids `service.logs.annotate` added (`user_id`).
  Never the query string (a search may hold a name) nor the client's address;
- `rolegate_http_requests_total` and `rolegate_http_request_duration_seconds`, labelled by route
  template (not path, so a scan of random URLs adds one series, not thousands), and
  `rolegate_rate_limit_refusals_total` for every 429.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request

from service import logs
from service.metrics import HTTP_DURATION, HTTP_REQUESTS, RATE_LIMITED

log = logging.getLogger("rolegate.request")

UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# URL parts that are secrets, never written: the token of an activation or reset link.
SECRET_ARGS = frozenset({"token"})

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Where the app leaves, for the middleware, the route it matched and the URL's values.
_MATCHED = "rolegate.matched"


def install(app: Flask) -> None:
    """Wrap the app in `RequestTelemetry` (outermost) and note each request's matched route."""

    @app.teardown_request
    def note_route(_exc: BaseException | None) -> None:
        rule = request.url_rule
        if rule is not None:
            request.environ[_MATCHED] = (rule.rule, dict(request.view_args or {}))

    app.wsgi_app = RequestTelemetry(app.wsgi_app)  # type: ignore[method-assign]


class RequestTelemetry:
    """WSGI middleware around the app: request id, one log line and metrics per request."""

    def __init__(self, wsgi_app: WSGIApp) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request_id = logs.accepted_request_id(environ.get("HTTP_X_REQUEST_ID"))
        request_id = request_id or logs.new_request_id()
        environ["HTTP_X_REQUEST_ID"] = request_id
        started = time.perf_counter()
        answered: list[int] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append(int(status.split(" ", 1)[0]))
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        with logs.bound(request_id) as fields:
            try:
                body = self.wsgi_app(environ, start)
            except BaseException:
                _finish(environ, request_id, fields, 500, started)
                raise
        # Flask has built the whole answer by now (nothing here streams), so the line is written
        # at once rather than when the server closes the body.
        _finish(environ, request_id, fields, answered[-1] if answered else 500, started)
        return body


def _finish(
    environ: dict[str, Any], request_id: str, fields: dict[str, Any], status: int, started: float
) -> None:
    elapsed = time.perf_counter() - started
    method = environ.get("REQUEST_METHOD", "GET")
    method = method if method in METHODS else "OTHER"
    route, view_args = environ.get(_MATCHED, (UNMATCHED, {}))
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_DURATION.labels(route, method).observe(elapsed)
    if status == 429:  # only rate limits answer 429 (service.accounts.throttle)
        RATE_LIMITED.labels(route).inc()
    line: dict[str, Any] = {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(elapsed * 1000, 1),
        **fields,
    }
    if status < 400 and view_args:
        line["url_ids"] = {k: v for k, v in view_args.items() if k not in SECRET_ARGS}
    with logs.bound(request_id):
        log.info("%s %s %s", method, route, status, extra=line)
