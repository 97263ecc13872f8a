"""The AppError family and the single handler that turns every error into the API's error body.

Every 4xx/5xx answer is `{"code", "message", "errors": [{"path", "code", "message"}]}`, as the
HTTP contract says (docs/api.md, "Errors"). `ErrorSchema` describes it in the OpenAPI document:
flask-smorest publishes it for every error response (`RolegateApi.ERROR_SCHEMA` in
`service.extensions`, whose `handle_http_exception` answers with `http_error_response`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify
from marshmallow import Schema, fields
from redis.exceptions import RedisError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorDetail:
    """One problem inside an error body."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


class ErrorDetailSchema(Schema):
    path = fields.String(metadata={"description": "Where the problem is: `changes/2/roles`."})
    code = fields.String(metadata={"description": "Stable snake_case code of the problem."})
    message = fields.String(metadata={"description": "A plain sentence."})


class ErrorSchema(Schema):
    """The body of every 4xx and 5xx answer."""

    code = fields.String(
        required=True, metadata={"description": "Stable snake_case code: `validation_failed`."}
    )
    message = fields.String(required=True, metadata={"description": "A plain sentence."})
    errors = fields.List(
        fields.Nested(ErrorDetailSchema),
        required=True,
        metadata={"description": "Every problem found; may be empty."},
    )
    warnings = fields.List(
        fields.Nested(ErrorDetailSchema),
        metadata={"description": "A refused batch's warnings (`validation_failed` of a submit)."},
    )
    retry_after = fields.Integer(
        metadata={"description": "Seconds to wait (429, 503), as in the `Retry-After` header."}
    )


# The stable code of each HTTP status, for the service's own errors and those Flask and webargs
# raise.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


class AppError(Exception):
    """An error the client can act on; `code` is stable, `message` is a plain sentence.

    A kind of error names its status, and its code only when it is not the status's own:
    `class NotFound(AppError, status=404, message="Not found.")` answers 404 `not_found`.
    """

    status = 400
    code = "bad_request"
    message = "The request could not be understood."

    def __init_subclass__(
        cls,
        *,
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
            cls.code = code or _HTTP_CODES[status]
        elif code is not None:
            cls.code = code
        if message is not None:
            cls.message = message

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: Iterable[ErrorDetail] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.errors = list(errors)
        self.extra = dict(extra or {})
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "errors": [e.as_dict() for e in self.errors],
            **self.extra,
        }


# The database cannot be used right now: unreachable or restarting, a connection cut, no free
# connection in the pool, a deadlock, a lock or statement timeout. Trying again later may work, so
# a request answers 503 `unavailable` and a job leaves its work pending for the sweep.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
)
# A dependency of a request is down: the database, or Redis (rate limits live there).
DEPENDENCY_UNAVAILABLE: tuple[type[Exception], ...] = (*DATABASE_UNAVAILABLE, RedisError)
# Seconds a client is asked to wait (`Retry-After`) when a dependency is down.
RETRY_AFTER_SECONDS = 5


class BadRequest(AppError, status=400):
    """The request cannot be read: a malformed body or parameter."""


class Unauthorized(AppError, status=401, message="Sign in first: send a valid bearer token."):
    """No valid token or session."""


class Forbidden(AppError, status=403, message="You are not allowed to do this."):
    """The actor sees the organization or ticket, but none of its permissions allows this
    (service/access.py decides)."""


class NotFound(AppError, status=404, message="Not found."):
    """No such thing, or not the actor's to see: the two answer alike, so that an answer never
    tells an outsider what exists."""


class Conflict(AppError, status=409, message="The request conflicts with the current state."):
    """Valid, but the current state refuses it: a stale roster, a pending request, a taken
    name, a transition the ticket cannot make."""


class Gone(AppError, status=410, code="gone"):
    """It was there and is no more: a used, voided or expired link."""


class Unprocessable(AppError, status=422, message="The request is not valid."):
    """Well formed, but it breaks a rule; `errors` says where (`validation_failed`)."""


class Unavailable(
    AppError,
    status=503,
    code="unavailable",
    message="The service is briefly unavailable. Try again in a few seconds.",
):
    """A dependency is down; the client is told when to try again (`Retry-After`)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, extra={"retry_after": RETRY_AFTER_SECONDS})


# webargs/marshmallow messages mapped to the stable codes of docs/api.md.
_MESSAGE_CODES = {
    "Missing data for required field.": "missing_field",
    "Field may not be null.": "missing_field",
    "Unknown field.": "unknown_field",
}


def flatten_messages(messages: Any, prefix: str = "") -> list[ErrorDetail]:
    """Turn marshmallow's nested error dict into a flat list with `a/0/b` paths."""
    found: list[ErrorDetail] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            part = "" if key == "_schema" else str(key)
            path = f"{prefix}/{part}".strip("/") if part else prefix
            found.extend(flatten_messages(value, path))
    elif isinstance(messages, list | tuple):
        for value in messages:
            found.extend(flatten_messages(value, prefix))
    else:
        text = str(messages)
        code = getattr(messages, "code", None) or _MESSAGE_CODES.get(text, "invalid_field")
        found.append(ErrorDetail(path=prefix, code=code, message=text))
    return found


def _webargs_errors(exc: HTTPException) -> list[ErrorDetail]:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or {}
    # webargs nests errors under the location ("json", "query"); the path starts below it.
    if isinstance(messages, Mapping) and len(messages) == 1:
        (location,) = messages
        if location in {"json", "query", "form", "headers", "view_args"}:
            messages = messages[location]
    return flatten_messages(messages)


def _response(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None):
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def app_error_response(exc: AppError):
    """The JSON answer to an AppError, with the headers its status calls for."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.status in (429, 503) and "retry_after" in exc.extra:
        headers = {"Retry-After": str(exc.extra["retry_after"])}
    return _response(exc.status, exc.body(), headers)


def unavailable_response(exc: Exception):
    """503 `unavailable` with `Retry-After`, for an error that says a dependency is away."""
    log.warning("a dependency is unavailable: %s", type(exc).__name__)
    return app_error_response(Unavailable())


def http_error_response(exc: HTTPException):
    """The error body for an HTTP error raised by Flask, werkzeug or webargs (404, 405, 422...).

    flask-smorest's Api calls it for every `HTTPException` (`RolegateApi.handle_http_exception`).
    """
    status = exc.code or 500
    if status == 400 and getattr(exc, "data", None):
        return _response(
            400,
            {
                "code": "malformed_json",
                "message": "The request body is not valid JSON.",
                "errors": [],
            },
        )
    if status == 422:
        return _response(
            422,
            {
                "code": "validation_failed",
                "message": "The request does not have the expected shape.",
                "errors": [e.as_dict() for e in _webargs_errors(exc)],
            },
        )
    code = _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
    message = exc.description or exc.name
    headers = dict(exc.get_headers()) if status == 405 else None
    if headers:
        headers.pop("Content-Type", None)
    return _response(status, {"code": code, "message": message, "errors": []}, headers)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers that shape every other error the app returns: an AppError, a
    dependency that is away, and anything unexpected. HTTP errors reach `http_error_response`
    through flask-smorest's Api, registered before these."""
    app.register_error_handler(AppError, app_error_response)
    for unavailable in DEPENDENCY_UNAVAILABLE:
        app.register_error_handler(unavailable, unavailable_response)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        # The traceback goes to the log; the client gets a body with no internals in it.
        log.exception("unhandled error: %s", type(exc).__name__)
        return _response(
            500,
            {
                "code": "internal_error",
                "message": "Something went wrong on our side. It has been logged.",
                "errors": [],
            },
        )
