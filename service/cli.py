"""Flask CLI commands of the service: `seed-demo`, `load-roles` (`db` comes from Flask-Migrate).

The `worker` command belongs to the worker process (`workers/cli.py`); Flask adds it through the
`flask.commands` entry point.
"""

from __future__ import annotations

import click
from flask import Flask, current_app

from service.contacts.service import load_catalog_file
from service.demo import seed
from service.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("load-roles")
    @click.option("--replace", is_flag=True, help="Overwrite roles that already exist.")
    def load_roles(replace: bool) -> None:
        """Load the role catalog from service/contacts/roles.json (missing roles only)."""
        written = load_catalog_file(session=db.session(), replace=replace)
        db.session.commit()
        click.echo(f"Role catalog: {written} role(s) written.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo organizations, contacts and accounts; running it twice changes nothing."""
        summary = seed(session=db.session(), password=current_app.config["DEMO_PASSWORD"])
        db.session.commit()
        click.echo(summary)
