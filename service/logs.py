"""Logs a person can follow: one line per request and per job, each carrying its request id.

- `LOG_FORMAT=json` (the default) writes one JSON object per line through the standard `logging`
  module (python-json-logger's formatter): `time`, `level`, `logger`, `message`, `request_id`
  and the ids the line names. `LOG_FORMAT=text` writes readable lines for development.
- The request id names everything one request caused: `service.telemetry` takes it from
  `X-Request-ID` (when it looks like an id) or makes one, `service.jobs` carries it in the meta
  of every job the request enqueues, and a job enqueues its own follow-up jobs under it. So one
  id finds an approval, its apply and its emails. `bound(request_id)` sets it for the code that
  runs inside; a filter on the handler stamps it on every record.
- Never personal data, in either format: messages and fields are ids and codes. An exception is
  written as its type and the frames of its stack, never its text, which may quote a row (a
  unique violation names the duplicate email; SQLAlchemy's message lists the statement's
  parameters; an SMTP refusal names the recipient).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_HANDLER_NAME = "rolegate"

# A client's id is kept only when it looks like one (nginx's $request_id, a UUID): hex digits
# and dashes. Anything else, a name say, is replaced by an id of ours.
_ACCEPTED_ID = re.compile(r"[0-9A-Fa-f-]{8,64}")

_request_id: ContextVar[str | None] = ContextVar("rolegate_request_id", default=None)
_fields: ContextVar[dict[str, Any] | None] = ContextVar("rolegate_log_fields", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str | None:
    """The client's `X-Request-ID` when it looks like an id, else None."""
    if value and _ACCEPTED_ID.fullmatch(value.strip()):
        return value.strip()
    return None


def current_request_id() -> str | None:
    """The id of the request or job this code runs for, if any."""
    return _request_id.get()


@contextmanager
def bound(request_id: str | None) -> Iterator[dict[str, Any]]:
    """Run the block under `request_id`; yields the ids (`annotate`) its closing line will name."""
    fields: dict[str, Any] = {}
    id_token = _request_id.set(request_id)
    fields_token = _fields.set(fields)
    try:
        yield fields
    finally:
        _fields.reset(fields_token)
        _request_id.reset(id_token)


def annotate(**ids: int | str | None) -> None:
    """Add ids (never personal data) to the closing line of the current request or job."""
    fields = _fields.get()
    if fields is not None:
        fields.update({key: value for key, value in ids.items() if value is not None})


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id (None outside a request or job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


def exception_summary(exc_info: Any) -> str:
    """An exception as its type and stack frames, for every exception in its chain: no text."""
    _, exc, _ = exc_info
    if exc is None:
        return ""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        lines.append(f"{kind.__module__}.{kind.__qualname__}")
        lines.extend(_frames(current.__traceback__))
        current = current.__cause__ or current.__context__
        if current is not None:
            lines.append("raised while handling:")
    return "\n".join(lines)


def _frames(tb: TracebackType | None) -> list[str]:
    return [
        f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
        for frame in traceback.extract_tb(tb)
    ]


class SafeJsonFormatter(JsonFormatter):
    """JSON lines whose exceptions and stacks are written without their text."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )

    def formatException(self, ei: Any) -> str:
        return exception_summary(ei)

    def format(self, record: logging.LogRecord) -> str:
        # logging caches the formatted exception on the record, where another handler (or a
        # text formatter) may have put its full text: this formatter writes its own.
        record.exc_text = None
        return super().format(record)


class SafeTextFormatter(logging.Formatter):
    """Readable lines whose exceptions are written without their text, as in JSON."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatException(self, ei: Any) -> str:
        return exception_summary(ei)

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None
        return super().format(record)


def formatter(log_format: str) -> logging.Formatter:
    return SafeTextFormatter() if log_format == "text" else SafeJsonFormatter()


def handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing `log_format` lines, with the request id, to `stream` (stderr)."""
    written = logging.StreamHandler(stream or sys.stderr)
    written.setFormatter(formatter(log_format))
    written.addFilter(RequestIdFilter())
    return written


def configure(*, log_format: str, level: str) -> None:
    """Send every log record to stderr in `log_format`; a second app replaces the handler."""
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    own = handler(log_format)
    own.set_name(_HANDLER_NAME)
    root.addHandler(own)
    root.setLevel(level)
    # Python's warnings (a library's deprecation) become log records too: every line is JSON.
    logging.captureWarnings(True)
    # Alembic announces every autogenerate plugin it loads; that is noise on each command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # The request line replaces the development server's access log, which writes client
    # addresses and query strings (a search for a name), in either format.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
