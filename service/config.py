"""Configuration read once from the environment: `Config` to run, `TestConfig` for the suite."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from service import clock
from service.business_hours import Calendar, CalendarError, calendar_from_settings
from service.logs import FORMATS

Network = IPv4Network | IPv6Network

# The repository's root: templates/, static/ and migrations/ are found from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting the service cannot start without is missing or wrong."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from exc


def parse_networks(raw: str, name: str) -> tuple[Network, ...]:
    """Addresses and networks (CIDR), separated by commas, as the variable `name` gives them."""
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ip_network(part, strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"{name} takes IP addresses and networks such as 10.0.0.0/8; got {part!r}."
            ) from exc
    return tuple(networks)


def _networks(name: str) -> tuple[Network, ...]:
    return parse_networks(os.environ.get(name, ""), name)


@dataclass(frozen=True)
class Targets:
    """A plan's service levels: business hours to the first response and to the resolution."""

    first_response_hours: int
    resolution_hours: int


# The plans an organization can be on, and the plan of one that names none.
DEFAULT_PLANS = {"standard": Targets(8, 40), "premium": Targets(2, 16)}
DEFAULT_PLAN = "standard"
# The most business hours a target may be: about five years of working days.
MAX_TARGET_HOURS = 10_000
_PLAN = re.compile(r"([a-z][a-z0-9_-]{0,39})=([0-9]{1,5})/([0-9]{1,5})")


def parse_plans(raw: str | None) -> dict[str, Targets]:
    """`standard=8/40,premium=2/16`: each plan's first-response and resolution targets."""
    if raw is None or raw.strip() == "":
        return dict(DEFAULT_PLANS)
    plans: dict[str, Targets] = {}
    for part in (p.strip().lower() for p in raw.split(",")):
        if not part:
            continue
        match = _PLAN.fullmatch(part)
        if match is None:
            raise ConfigError(
                "SLA_PLANS lists plans as name=first_response_hours/resolution_hours, "
                f"such as standard=8/40,premium=2/16; got {part!r}."
            )
        first, resolution = int(match.group(2)), int(match.group(3))
        if not 1 <= first <= MAX_TARGET_HOURS or not 1 <= resolution <= MAX_TARGET_HOURS:
            raise ConfigError(
                f"SLA_PLANS targets are 1 to {MAX_TARGET_HOURS} business hours; got {part!r}."
            )
        plans[match.group(1)] = Targets(first, resolution)
    if not plans:
        raise ConfigError("SLA_PLANS must name at least one plan.")
    return plans


def _calendar(env: Any) -> Calendar:
    try:
        return calendar_from_settings(
            days=env.get("BUSINESS_DAYS"),
            hours=env.get("BUSINESS_HOURS"),
            timezone=env.get("BUSINESS_TIMEZONE"),
            holidays=env.get("BUSINESS_HOLIDAYS"),
        )
    except CalendarError as exc:
        raise ConfigError(str(exc)) from exc


def _clock_offset(env: Any) -> timedelta:
    try:
        return clock.parse_offset(env.get(clock.ENV_NAME))
    except clock.ClockOffsetError as exc:
        raise ConfigError(str(exc)) from exc


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
    return value


class Config:
    """Settings of a running service. Every attribute is read from the environment once."""

    TESTING = False

    def __init__(self, instance_path: str | Path) -> None:
        env = os.environ
        self.instance_path = Path(instance_path)
        self.ENV_NAME = env.get("ROLEGATE_ENV", "development").strip().lower()
        self.PRODUCTION = self.ENV_NAME == "production"

        self.SQLALCHEMY_DATABASE_URI = _normalise_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{self.instance_path / 'rolegate.sqlite'}"
        )
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.SMTP_HOST = env.get("SMTP_HOST") or None
        self.SMTP_PORT = _int("SMTP_PORT", 25)
        self.SMTP_USERNAME = env.get("SMTP_USERNAME") or None
        self.SMTP_PASSWORD = env.get("SMTP_PASSWORD") or None
        self.SMTP_STARTTLS = _bool(env.get("SMTP_STARTTLS"))
        self.MAIL_FROM = env.get("MAIL_FROM") or "no-reply@rolegate.example"
        self.STAFF_NOTIFICATION_ADDRESS = (
            env.get("STAFF_NOTIFICATION_ADDRESS") or "review-queue@vendor.example"
        )
        self.BASE_URL = (env.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        # The reverse proxies in front of the app, whose X-Forwarded-For is believed
        # (service/proxies.py). None by default: the peer's address is the client's.
        self.TRUSTED_PROXIES = _networks("TRUSTED_PROXIES")
        self.SECRET_KEY = env.get("SECRET_KEY") or None
        self.DEMO_PASSWORD = env.get("DEMO_PASSWORD") or "demo-password"
        self.OUTBOX_DIR = str(self.instance_path / "outbox")

        # Limits of the product, in one place.
        self.MAX_BATCH_SIZE = _int("MAX_BATCH_SIZE", 1000)
        # The largest request body, refused with 413 before it is read. A batch item with every
        # field at its longest, written as JSON escapes, stays under 8 KiB: 10 KiB an item keeps
        # a full batch well inside the default.
        self.MAX_REQUEST_BYTES = _int("MAX_REQUEST_BYTES", 10 * 1024 * self.MAX_BATCH_SIZE)
        self.MAX_CONTENT_LENGTH = self.MAX_REQUEST_BYTES
        self.ACCESS_TOKEN_TTL_SECONDS = _int("ACCESS_TOKEN_TTL_SECONDS", 8 * 3600)
        # An invitation's link lasts long enough to be read the next day; a password reset's
        # stays short (its email can be asked for again at any time).
        self.ACTIVATION_TOKEN_TTL_SECONDS = _int("ACTIVATION_TOKEN_TTL_SECONDS", 72 * 3600)
        self.PASSWORD_RESET_TOKEN_TTL_SECONDS = 3600
        # POST /api/password-reset answers after this long whatever it did, so its timing
        # does not tell whether the email has an account.
        self.PASSWORD_RESET_ANSWER_SECONDS = float(env.get("PASSWORD_RESET_ANSWER_SECONDS", 0.4))

        # Seconds a job may run before RQ stops it (and, if its worker dies, before RQ finds
        # the job abandoned and retries it). Per job name; see `@job` in service/jobs.py.
        # Finished tickets keep what people wrote this long, then only what the audit needs
        # (service/tickets/retention.py).
        self.RETENTION_DAYS = _int("RETENTION_DAYS", 365)
        # Service levels (service/tickets/sla.py): the working calendar their business hours
        # count on, the plans and their targets, when a target is "due soon", and whether the
        # clock stops while a ticket waits on the customer.
        self.BUSINESS_CALENDAR = _calendar(env)
        self.SLA_PLANS = parse_plans(env.get("SLA_PLANS"))
        self.SLA_DEFAULT_PLAN = (env.get("SLA_DEFAULT_PLAN") or DEFAULT_PLAN).strip().lower()
        if self.SLA_DEFAULT_PLAN not in self.SLA_PLANS:
            raise ConfigError(
                f"SLA_DEFAULT_PLAN must be one of SLA_PLANS ({', '.join(self.SLA_PLANS)}); "
                f"got {self.SLA_DEFAULT_PLAN!r}."
            )
        self.SLA_DUE_SOON_HOURS = _int("SLA_DUE_SOON_HOURS", 4)
        if not 1 <= self.SLA_DUE_SOON_HOURS <= MAX_TARGET_HOURS:
            raise ConfigError(f"SLA_DUE_SOON_HOURS must be 1 to {MAX_TARGET_HOURS}.")
        self.SLA_PAUSE_WHILE_AWAITING_CUSTOMER = _bool(
            env.get("SLA_PAUSE_WHILE_AWAITING_CUSTOMER"), default=True
        )
        # Testing and demonstrations only: every process's clock moved by this much
        # (service/clock.py). Production refuses it.
        self.CLOCK_OFFSET = _clock_offset(env)
        # Reminders (service/tickets/reminders.py), run on RQ's scheduler this often: staff
        # this many business hours before a target is breached; the requester of a ticket
        # waiting on them after this many days; the ticket cancelled this many days later.
        self.REMINDERS_EVERY_SECONDS = _int("REMINDERS_EVERY_SECONDS", 300)
        self.SLA_REMINDER_HOURS = _int("SLA_REMINDER_HOURS", 1)
        self.REMIND_AWAITING_AFTER_DAYS = _int("REMIND_AWAITING_AFTER_DAYS", 3)
        self.CLOSE_UNANSWERED_AFTER_DAYS = _int("CLOSE_UNANSWERED_AFTER_DAYS", 7)
        for name, least in (
            ("REMINDERS_EVERY_SECONDS", 0),
            ("SLA_REMINDER_HOURS", 0),
            ("REMIND_AWAITING_AFTER_DAYS", 1),
            ("CLOSE_UNANSWERED_AFTER_DAYS", 1),
        ):
            if getattr(self, name) < least:
                raise ConfigError(f"{name} must be {least} or more.")
        self.JOB_TIMEOUTS = {"apply": _int("APPLY_JOB_TIMEOUT", 300)}

        # Logs: one JSON object per line, or readable text for development (service/logs.py).
        self.LOG_FORMAT = _choice("LOG_FORMAT", FORMATS, "json")
        self.LOG_LEVEL = _choice("LOG_LEVEL", ("debug", "info", "warning", "error"), "info").upper()
        # Who may read /metrics (service/monitoring.py): a bearer token, and client addresses.
        self.METRICS_TOKEN = env.get("METRICS_TOKEN") or None
        self.METRICS_ALLOWED_NETWORKS = _networks("METRICS_ALLOWED_NETWORKS")

        # Argon2id cost; the suite lowers it so thousands of sign-ins stay fast.
        self.ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 64 * 1024)

        self.SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True, "pool_timeout": 10}
        self.JSON_SORT_KEYS = False

        # OpenAPI, generated by flask-smorest from the marshmallow schemas.
        self.API_TITLE = "Rolegate"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        # Swagger UI's files are served from the swagger-ui-bundle package: no CDN, works offline.
        self.OPENAPI_SWAGGER_UI_PATH = "/docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/swagger-ui/"

        self._check()

    def _check(self) -> None:
        """Refuse to start in production without the settings production needs."""
        if not self.PRODUCTION:
            if not self.SECRET_KEY:
                # Development only: a fresh key per process is fine for a demo.
                self.SECRET_KEY = secrets.token_hex(32)
            return
        missing = [
            name
            for name, value in (
                ("SECRET_KEY", self.SECRET_KEY),
                ("DATABASE_URL", os.environ.get("DATABASE_URL")),
                ("REDIS_URL", self.REDIS_URL),
                ("BASE_URL", os.environ.get("BASE_URL")),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                "ROLEGATE_ENV=production needs these environment variables: "
                + ", ".join(missing)
                + ". See the configuration table in README.md."
            )
        if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            raise ConfigError("ROLEGATE_ENV=production needs a PostgreSQL DATABASE_URL.")
        if self.CLOCK_OFFSET:
            raise ConfigError(
                "CLOCK_OFFSET moves the clock for tests and demonstrations; "
                "ROLEGATE_ENV=production refuses it."
            )
        if len(self.SECRET_KEY or "") < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production.")

    def as_mapping(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if key.isupper()}


class TestConfig(Config):
    """The suite's settings: the database comes from TEST_DATABASE_URL, hashing is cheap."""

    TESTING = True

    def __init__(self, instance_path: str | Path) -> None:
        os.environ.setdefault("ARGON2_TIME_COST", "1")
        os.environ.setdefault("ARGON2_MEMORY_COST", "64")
        super().__init__(instance_path)
        self.TESTING = True
        url = os.environ.get("TEST_DATABASE_URL")
        if url:
            self.SQLALCHEMY_DATABASE_URI = _normalise_database_url(url)
        self.REDIS_URL = os.environ.get("TEST_REDIS_URL") or None


def _normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
