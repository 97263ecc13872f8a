"""Flask CLI commands of the service: `seed-demo`, `load-roles`, `counters check|repair` (`db`
comes from Flask-Migrate).

The `worker` command belongs to the worker process (`workers/cli.py`); Flask adds it through the
`flask.commands` entry point.
"""

from __future__ import annotations

import click
from flask import Flask, current_app

from service.contacts import counts
from service.contacts.service import load_catalog_file
from service.demo import seed, seed_large
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
    @click.option(
        "--contacts",
        type=click.IntRange(min=2),
        help="Also build a customer organization with this many contacts (set-wise).",
    )
    @click.option(
        "--org",
        "org_slug",
        default="bigco",
        show_default=True,
        help="The slug of that large organization.",
    )
    def seed_demo(contacts: int | None, org_slug: str) -> None:
        """Load the demo organizations, contacts and accounts; running it twice changes nothing.
        With --contacts N, also an organization of N contacts to try the service at size."""
        password = current_app.config["DEMO_PASSWORD"]
        summary = seed(session=db.session(), password=password)
        if contacts is not None:
            summary += "\n" + seed_large(
                session=db.session(), slug=org_slug, contacts=contacts, password=password
            )
        db.session.commit()
        click.echo(summary)

    @app.cli.group("counters")
    def counters() -> None:
        """The roster's maintained counts: compare them with a recount, or repair them."""

    @counters.command("check")
    def check_counters() -> None:
        """List every count that differs from a recount; exit status 1 when any does."""
        drift = counts.check(session=db.session())
        db.session.rollback()
        for found in drift:
            click.echo(str(found))
        if drift:
            raise SystemExit(1)
        click.echo("Roster counts match a recount.")

    @counters.command("repair")
    def repair_counters() -> None:
        """Rewrite the counts that differ from a recount, and list what was wrong."""
        drift = counts.repair(session=db.session())
        db.session.commit()
        for found in drift:
            click.echo(f"repaired {found}")
        click.echo(f"Roster counts match a recount ({len(drift)} repaired).")
