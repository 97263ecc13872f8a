"""Keeps the secrets of emailed links out of access logs.

An activation or reset link carries its token in the path (`/activate/<token>`,
`/reset/<token>`), and an access log writes every path it serves. Until the link is used, the
token is as good as a password for that account, so both servers write the path with the token
replaced by `[redacted]`:

- werkzeug (`flask run`, the demo): `RedactSecrets` is a filter on the `werkzeug` logger,
  installed by `create_app`;
- gunicorn (production): `GunicornLogger`, named by `gunicorn.conf.py` at the repository's root,
  which gunicorn reads when started there (or with `-c gunicorn.conf.py`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

SECRET_IN_PATH = re.compile(r"(/(?:activate|reset)/)[^/?#\s\"']+")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    """The text with the token of every activation or reset link in it replaced."""
    return SECRET_IN_PATH.sub(REDACTED, text)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts link tokens from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(logger_name: str = "werkzeug") -> None:
    """Add the filter to a logger once, however many apps are created in the process."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())


class GunicornLogger(Logger):
    """gunicorn's logger, with every value of the access log line redacted (the request line,
    the path, the query, the Referer and any other header the format may name)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: redact(v) if isinstance(v, str) else v for key, v in found.items()}
