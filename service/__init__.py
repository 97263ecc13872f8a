"""The Rolegate application factory."""

from __future__ import annotations

import gc
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from service import clock, log_redaction, logs, telemetry
from service.config import PROJECT_ROOT, Config
from service.extensions import IdConverter
from service.json_input import JsonProvider

# The offset this process has logged, so that each app it builds does not say it again.
_announced_offset: timedelta | None = None


def _configure_clock(offset: timedelta) -> None:
    """This process's clock, moved by `CLOCK_OFFSET`; said once, at start, when it is moved."""
    global _announced_offset
    clock.configure(offset)
    if offset and offset != _announced_offset:
        _announced_offset = offset
        logging.getLogger("rolegate.clock").warning(
            "The clock is moved by CLOCK_OFFSET (%s): the service's now is %s.",
            clock.describe(offset),
            clock.now().isoformat(),
        )


def create_app(config: type[Config] | Config | None = None, **overrides: Any) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers and CLI commands."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    if config is None:
        config = Config
    settings = config(app.instance_path) if isinstance(config, type) else config
    app.config.from_mapping(settings.as_mapping())
    app.config.update(overrides)
    logs.configure(log_format=app.config["LOG_FORMAT"], level=app.config["LOG_LEVEL"])
    _configure_clock(app.config["CLOCK_OFFSET"])
    app.json = JsonProvider(app)
    # Before any route is added: every `<int:…>` of every blueprint is a bounded id.
    app.url_map.converters["int"] = IdConverter
    # The development server's access log writes paths: not the tokens of emailed links.
    log_redaction.install("werkzeug")

    # Every table registered before migrations run, every job declared before work is sent.
    from service import headers, models, read_only, tasks  # noqa: F401
    from service.errors import register_error_handlers
    from service.extensions import api, close_session, db, migrate
    from service.proxies import TrustedProxies

    db.init_app(app)
    # Runs before Flask-SQLAlchemy's own teardown (teardowns run last registered first), so a
    # connection lost after the answer was made cannot turn it into a bare 500.
    app.teardown_appcontext(close_session)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    api.init_app(
        app,
        spec_kwargs={
            "info": {
                "description": "Approval workflow for changes to an organization's contacts "
                "and roles. Every call but sign-in sends `Authorization: Bearer <token>`."
            }
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]

    register_error_handlers(app)
    _register_blueprints(app)
    headers.register(app)
    read_only.install(app)
    app.wsgi_app = TrustedProxies(app)  # type: ignore[method-assign]
    # Outermost: the request id, the request's log line and its metrics see the final answer.
    telemetry.install(app)

    from service.cli import register_cli

    register_cli(app)
    # The app's own objects (mappers, schemas, the URL map) live as long as the process. Moving
    # them out of the collector's reach spares each large request a full collection pass over
    # them: measured by bench/submit.py as ~100 ms pauses on a 1,000-item batch.
    gc.freeze()
    return app


def _register_blueprints(app: Flask) -> None:
    from service.accounts.routes import blp as accounts_blp
    from service.accounts.routes import public_blp as sign_in_blp
    from service.accounts.staff_routes import blp as staff_blp
    from service.contacts.routes import blp as contacts_blp
    from service.extensions import api
    from service.health import bp as health_bp
    from service.monitoring import bp as monitoring_bp
    from service.notifications.routes import blp as emails_blp
    from service.organizations.routes import blp as organizations_blp
    from service.requests.routes import blp as requests_blp
    from service.tickets.routes import blp as tickets_blp
    from service.webhooks.routes import blp as webhooks_blp

    for blueprint in (
        sign_in_blp,
        accounts_blp,
        staff_blp,
        contacts_blp,
        organizations_blp,
        requests_blp,
        tickets_blp,
        emails_blp,
        webhooks_blp,
    ):
        api.register_blueprint(blueprint, url_prefix="/api")
    app.register_blueprint(health_bp)
    app.register_blueprint(monitoring_bp)
    from service.web import init_app as init_web  # the pages, CSRF and HTML error pages

    init_web(app)
