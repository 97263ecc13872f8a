"""Flask CLI commands of the service: `seed-demo`, `load-roles`, `counters check|repair`,
`orgs list|create|rename|close`, `staff list|add|deactivate`, `retention [--dry-run]`, `clock`
(the service's time, `CLOCK_OFFSET` and the business calendar) and `reminders` (`db` comes from
Flask-Migrate).

The onboarding commands are the operator's, who holds the shell: they run the same services as
staff's API calls and pages, with the same checks of the input, and print what they did.

The `worker` command belongs to the worker process (`workers/cli.py`); Flask adds it through the
`flask.commands` entry point.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click
from flask import Flask, current_app
from marshmallow import ValidationError
from sqlalchemy import select

from service import business_hours, clock
from service.accounts import staff
from service.accounts.schemas import StaffAccountIn
from service.contacts import counts
from service.contacts.service import load_catalog_file
from service.demo import seed, seed_large
from service.errors import AppError, flatten_messages
from service.extensions import db
from service.models_base import isoformat, utcnow
from service.organizations import onboarding
from service.organizations import service as org_service
from service.organizations.models import Organization
from service.organizations.schemas import OrganizationCreateIn, OrganizationPatchIn
from service.tickets import retention
from service.tickets import tasks as ticket_tasks


def _load(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The input checked as the API checks it; a clear error (and exit status 1) otherwise."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        lines = [f"{e.path}: {e.message}" for e in flatten_messages(exc.messages)]
        raise click.ClickException("; ".join(lines)) from None
    return loaded


def _run(action: Any) -> Any:
    """Run a service call and commit; its refusal is printed with its code, nothing is kept."""
    try:
        done = action()
        db.session.commit()
    except AppError as exc:
        db.session.rollback()
        details = "".join(f"\n  {e.path}: {e.code}: {e.message}" for e in exc.errors)
        raise click.ClickException(f"{exc.code}: {exc.message}{details}") from None
    return done


def _organization(slug: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise click.ClickException(f"organization_not_found: no organization {slug!r}.")
    return org


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

    @app.cli.command("clock")
    def clock_command() -> None:
        """Show the service's clock: the real time, CLOCK_OFFSET, the time the service uses,
        and the business calendar and plans its service levels count on."""
        real = datetime.now(UTC)
        moved = clock.offset()
        now = real + moved
        calendar = app.config["BUSINESS_CALENDAR"]
        local = now.astimezone(calendar.zone)
        window = calendar.window(local.date())
        working = window is not None and window[0] <= now < window[1]
        next_open = business_hours.add(calendar, now, timedelta(microseconds=1))
        plans = ", ".join(
            f"{name} {t.first_response_hours}h/{t.resolution_hours}h"
            for name, t in app.config["SLA_PLANS"].items()
        )
        click.echo(f"Real time:      {isoformat(real)}")
        click.echo(f"CLOCK_OFFSET:   {clock.describe(moved)}")
        click.echo(f"Service time:   {isoformat(now)}")
        click.echo(f"Calendar:       {calendar.describe()}")
        click.echo(
            f"Local time:     {local:%Y-%m-%d %H:%M %A} "
            + ("(working hours)" if working else "(outside working hours)")
        )
        if not working:
            click.echo(f"Next opening:   {isoformat(next_open - timedelta(microseconds=1))}")
        click.echo(
            f"Plans:          {plans} (first response/resolution, business hours); "
            f"default {app.config['SLA_DEFAULT_PLAN']}"
        )

    @app.cli.command("retention")
    @click.option("--dry-run", is_flag=True, help="Report what would be reduced; change nothing.")
    def retention_command(dry_run: bool) -> None:
        """Reduce finished tickets older than RETENTION_DAYS to what the audit needs."""
        now = utcnow()
        days = app.config["RETENTION_DAYS"]
        if dry_run:
            figures = retention.survey(session=db.session(), now=now)
            db.session.rollback()
            verb = "Would reduce"
        else:
            figures = retention.Figures()
            while True:
                batch = retention.reduce(session=db.session(), now=now)
                db.session.commit()
                if not batch.tickets:
                    break
                ticket_tasks.count(batch)
                figures += batch
            verb = "Reduced"
        click.echo(
            f"{verb} {figures.tickets} finished ticket(s) older than {days} days: "
            f"{figures.items} item(s), {figures.texts} text(s), {figures.emails} email address(es)."
        )

    @app.cli.command("reminders")
    def reminders_command() -> None:
        """Send the due reminders and close unanswered tickets now (the workers do it every
        REMINDERS_EVERY_SECONDS; without Redis, this is how)."""
        figures = ticket_tasks.run_reminders()
        sent = ", ".join(f"{n} {kind.value}" for kind, n in sorted(figures.sent.items()))
        click.echo(f"Reminders: {sent or 'none due'}.")

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

    @app.cli.group("orgs")
    def orgs() -> None:
        """Onboard, rename and close customer and purchaser organizations."""

    @orgs.command("list")
    def list_orgs() -> None:
        """Every organization: short name, kind, status, seats in use / limit, name."""
        for org in org_service.list_all(session=db.session()):
            limit = org["seat_limit"] if org["seat_limit"] is not None else "-"
            click.echo(
                f"{org['slug']}\t{org['kind']}\t{org['status']}\t"
                f"{org['active_contacts']}/{limit}\t{org['name']}"
            )

    @orgs.command("create")
    @click.option("--slug", required=True, help="Short name, used in URLs (a-z, 0-9, dashes).")
    @click.option("--name", required=True, help="Full name.")
    @click.option("--kind", type=click.Choice(["customer", "purchaser"]), default="customer")
    @click.option(
        "--seat-limit", type=int, default=None, help="Most active contacts (none: no limit)."
    )
    @click.option("--admin-email", required=True)
    @click.option("--admin-salutation", required=True, help="Mr, Ms, Mrs, Mx, Dr or Prof.")
    @click.option("--admin-first-name", required=True)
    @click.option("--admin-last-name", required=True)
    @click.option("--admin-job-title", default=None)
    @click.option("--admin-phone", default=None)
    @click.option(
        "--admin-role",
        "admin_roles",
        multiple=True,
        help="A role of the first administrator (repeat it); by default every required role "
        "and one that manages contacts.",
    )
    def create_org(**options: Any) -> None:
        """Create an organization and invite its first administrator by email."""
        admin = {
            "email": options["admin_email"],
            "salutation": options["admin_salutation"],
            "first_name": options["admin_first_name"],
            "last_name": options["admin_last_name"],
            "job_title": options["admin_job_title"],
            "phone": options["admin_phone"],
        }
        if options["admin_roles"]:
            admin["roles"] = list(options["admin_roles"])
        data = _load(
            OrganizationCreateIn(),
            {
                "slug": options["slug"],
                "name": options["name"],
                "kind": options["kind"],
                "seat_limit": options["seat_limit"],
                "first_admin": admin,
            },
        )
        onboarded = _run(lambda: onboarding.create(session=db.session(), data=data))
        click.echo(
            f"Created {onboarded.organization.slug}; its first administrator "
            f"(contact {onboarded.admin_contact_id}) was sent an activation link."
        )

    @orgs.command("rename")
    @click.argument("slug")
    @click.argument("name")
    def rename_org(slug: str, name: str) -> None:
        """Give an organization a new full name (its short name stays)."""
        data = _load(OrganizationPatchIn(), {"name": name})
        _run(
            lambda: onboarding.rename(
                session=db.session(), org=_organization(slug), name=data["name"]
            )
        )
        click.echo(f"Renamed {slug}.")

    @orgs.command("close")
    @click.argument("slug")
    @click.confirmation_option(prompt="Closing purges every contact of the organization. Go on?")
    def close_org(slug: str) -> None:
        """Close an organization: no new requests, delegations end, its contacts are purged."""
        _run(lambda: onboarding.close(session=db.session(), org=_organization(slug)))
        click.echo(f"Closed {slug}; its contacts are being purged.")

    @app.cli.group("staff")
    def staff_group() -> None:
        """Add and deactivate the vendor's staff accounts."""

    @staff_group.command("list")
    def list_staff() -> None:
        """Every staff account: email, status, staff permissions."""
        for user in staff.list_staff(session=db.session()):
            shown = staff.describe(user)
            click.echo(f"{shown['email']}\t{shown['status']}\t{','.join(shown['permissions'])}")

    @staff_group.command("add")
    @click.argument("email")
    @click.option("--manage-staff", is_flag=True, help="May add and deactivate staff accounts.")
    def add_staff(email: str, manage_staff: bool) -> None:
        """Add a staff account; an activation link goes to its email."""
        data = _load(
            StaffAccountIn(),
            {"email": email, "permissions": ["staff:manage"] if manage_staff else []},
        )
        _run(
            lambda: staff.add(
                session=db.session(), email=data["email"], permissions=data["permissions"]
            )
        )
        click.echo("Added the staff account; an activation link was sent.")

    @staff_group.command("deactivate")
    @click.argument("email")
    def deactivate_staff(email: str) -> None:
        """Deactivate a staff account: no sign-in, every session and link ended."""
        _run(
            lambda: staff.deactivate(
                session=db.session(), user=staff.find(session=db.session(), email=email), by=None
            )
        )
        click.echo("Deactivated the staff account.")
