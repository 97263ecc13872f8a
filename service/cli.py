"""Flask CLI commands: `seed-demo` and `load-roles` (the `db` group comes from Flask-Migrate)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from service.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("load-roles")
    @click.option("--replace", is_flag=True, help="Overwrite roles that already exist.")
    def load_roles(replace: bool) -> None:
        """Load the role catalog from service/contacts/roles.json (missing roles only)."""
        from service.contacts.service import load_catalog_file

        written = load_catalog_file(session=db.session(), replace=replace)
        db.session.commit()
        click.echo(f"Role catalog: {written} role(s) written.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo organizations, contacts and accounts; running it twice changes nothing."""
        from service.demo import seed

        summary = seed(session=db.session(), password=current_app.config["DEMO_PASSWORD"])
        db.session.commit()
        click.echo(summary)
