"""gunicorn's settings for the web app, read when gunicorn starts in the repository's root (or
with `-c gunicorn.conf.py`): `gunicorn "service:create_app()"` (README, "Running in production").

Each setting can be moved by the environment without editing this file: `GUNICORN_BIND`,
`WEB_CONCURRENCY` (processes), `GUNICORN_TIMEOUT`.
"""

import os

# Comma-separated: the proxy's side and the private address Prometheus scrapes, say.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
# Sync workers: every request holds one database connection for its duration, so processes
# times the pool's size must fit PostgreSQL's max_connections.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# A 1,000-item batch is validated and stored in well under a second (bench/submit.py); a
# request still running after this is stuck, and its process is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5

# The app writes one JSON line per request itself (service/telemetry.py): the route template,
# never the path's secrets, the query string or the client's address. gunicorn's own access
# log would repeat it with those, so it is off; turned on (`--access-logfile`), it writes the
# tokens of activation and reset links redacted (service/log_redaction.py).
accesslog = None
logger_class = "service.log_redaction.GunicornLogger"
errorlog = "-"
# gunicorn believes X-Forwarded-Proto (https) only from these; the app reads X-Forwarded-For
# through TRUSTED_PROXIES itself.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES") or "127.0.0.1,::1"

# gunicorn's own lines (start, stop, a worker timed out) in the app's format.
if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "service.logs.SafeJsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        },
    }


def on_starting(server):
    """Every process writes its metrics into PROMETHEUS_MULTIPROC_DIR: make sure it exists."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
