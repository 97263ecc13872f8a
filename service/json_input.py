"""How the service reads a JSON request body, in one place for the API and the pages' calls.

- A body must be JSON: any other content type answers 415 `unsupported_media_type` (a call
  without a body is fine where the body is optional).
- A body larger than `MAX_REQUEST_BYTES` answers 413 `payload_too_large` before it is read:
  Flask's `MAX_CONTENT_LENGTH` is set from it (`service.config`).
- JSON that does not parse answers 400 `malformed_json`, and so does JSON nested too deep for
  the parser (10,000 brackets raise `RecursionError`, not a decoding error).

flask-smorest reads bodies through webargs: `JsonBodyParser` is the parser of the service's
`Blueprint` (`service.extensions`). `request.get_json` goes through `JsonProvider`, so that
too turns a too-deep body into a decoding error instead of a crash.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from service.errors import AppError, BadRequest


class UnsupportedMediaType(
    AppError,
    status=415,
    message="Send the body as JSON, with the header Content-Type: application/json.",
):
    """A JSON endpoint called with another content type."""


def _malformed() -> BadRequest:
    return BadRequest("The request body is not valid JSON.", code="malformed_json")


def has_body(req: Request) -> bool:
    return bool(req.content_length) or "chunked" in req.headers.get("Transfer-Encoding", "")


def parse(data: bytes) -> Any:
    """The JSON value of a body; 400 `malformed_json` for anything else."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise _malformed() from exc


def request_body() -> Any:
    """The JSON body of this request (the pages' own JSON calls): 415, 400 or 413 as above."""
    if not is_json_request(request):
        raise UnsupportedMediaType() if has_body(request) else _malformed()
    return parse(request.get_data(cache=True))


class JsonBodyParser(FlaskParser):
    """webargs' parser with the body rules above; every other location is webargs' own."""

    def load_json(self, req: Request, schema: Schema) -> Any:
        if not is_json_request(req):
            if has_body(req):
                raise UnsupportedMediaType()
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        return parse(data)


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, where a body nested too deep to parse is a decoding error like any other."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deep") from exc
