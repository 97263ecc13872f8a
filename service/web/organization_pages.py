"""The staff's organization pages: every customer and purchaser organization with its seats, the
form that onboards a new one with its first administrator, and each one's settings (the plan's
seat limit, the details a new contact must carry), renaming and closing it."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from wtforms import Field

from service import access
from service.errors import AppError, Conflict
from service.extensions import db
from service.organizations import onboarding
from service.organizations import service as org_service
from service.organizations.models import Organization
from service.organizations.schemas import OrganizationCreateIn, OrganizationPatchIn
from service.organizations.service import SERVICE_LEVEL_FIELDS
from service.tickets import sla
from service.web import presenters as present
from service.web.blueprints import bp
from service.web.forms import CloseForm, OrganizationForm, RenameForm, load_into
from service.web.session import current_actor, page

# Where an error about the API's input lands on the onboarding form: its path -> the form field.
ORGANIZATION_FIELDS = {
    "name": "name",
    "slug": "slug",
    "kind": "kind",
    "seat_limit": "seat_limit",
    "first_admin/salutation": "admin_salutation",
    "first_admin/first_name": "admin_first_name",
    "first_admin/last_name": "admin_last_name",
    "first_admin/email": "admin_email",
    "first_admin/job_title": "admin_job_title",
}
CONFLICT_FIELDS = {"slug_taken": "slug", "email_has_account": "admin_email"}


@bp.get("/organizations")
@page
def organizations():
    """Every organization staff look after, with its seat limit and the seats in use."""
    access.require_staff(current_actor(), what="see every organization")
    return _organizations_page(OrganizationForm(formdata=None))


@bp.post("/organizations")
@page
def create_organization():
    """Onboard an organization with its first administrator, who is emailed a link (staff)."""
    access.require_staff(current_actor(), what="onboard organizations")
    form = OrganizationForm()
    if not form.validate_on_submit():
        return _organizations_page(form, status=422)
    data = load_into(
        form,
        OrganizationCreateIn(),
        {
            "name": form.name.data,
            "slug": (form.slug.data or "").strip(),
            "kind": form.kind.data,
            "seat_limit": form.seat_limit.data,
            "first_admin": {
                "salutation": form.admin_salutation.data,
                "first_name": form.admin_first_name.data,
                "last_name": form.admin_last_name.data,
                "email": form.admin_email.data,
                "job_title": form.admin_job_title.data or None,
            },
        },
    )
    if data is None:
        return _organizations_page(form, status=422)
    try:
        onboarded = onboarding.create(session=db.session(), data=data)
        db.session.commit()
    except AppError as exc:
        db.session.rollback()
        _place_errors(form, exc)
        return _organizations_page(form, status=exc.status)
    told = (
        "was told by email and signs in with their account"
        if onboarded.account_status == "active"
        else "was sent an activation link"
    )
    flash(f"{onboarded.organization.name} is onboarded; its first administrator {told}.", "success")
    return redirect(url_for("web.organization_settings", slug=onboarded.organization.slug))


def _place_errors(form: OrganizationForm, exc: AppError) -> None:
    """Each problem beside its field; the rest above the form."""
    for detail in exc.errors:
        target = ORGANIZATION_FIELDS.get(detail.path)
        field: Field | None = getattr(form, target) if target else None
        if field is not None:
            field.errors = [*field.errors, detail.message]
        else:
            form.form_errors.append(detail.message)
    conflict = CONFLICT_FIELDS.get(exc.code)
    if conflict is not None:
        field = getattr(form, conflict)
        field.errors = [*field.errors, exc.message]
    elif not exc.errors:
        form.form_errors.append(exc.message)


def _organizations_page(form: OrganizationForm, status: int = 200):
    listed = org_service.list_for_staff(session=db.session())
    return render_template("web/organizations.html", organizations=listed, form=form), status


# How the settings page names a field in its errors, where the field's name would not do.
SETTING_LABELS = {
    "sla_first_response_hours": "First-response target",
    "sla_resolution_hours": "Resolution target",
}


@bp.route("/organizations/<slug>", methods=["GET", "POST"])
@page
def organization_settings(slug: str):
    """One organization's seat limit and mandatory contact fields (staff)."""
    session = db.session()
    actor = current_actor()
    access.require_staff(actor, what="change an organization's settings")
    org = access.visible_org(session=session, actor=actor, slug=slug).org
    errors: list[str] = []
    if request.method == "POST":
        data: dict[str, Any] = {
            "seat_limit": _number(request.form.get("seat_limit", "")),
            # The email is always required: the box is shown ticked and cannot be unticked.
            "required_fields": sorted({"email", *request.form.getlist("required_field")}),
            "plan": request.form.get("plan", "").strip() or sla.policy().default_plan,
            "sla_first_response_hours": _number(request.form.get("sla_first_response_hours", "")),
            "sla_resolution_hours": _number(request.form.get("sla_resolution_hours", "")),
        }
        try:
            loaded = OrganizationPatchIn().load(data)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {}
            errors = [
                f"{SETTING_LABELS.get(name) or name.replace('_', ' ').capitalize()}: "
                f"{' '.join(map(str, texts))}"
                for name, texts in messages.items()
            ]
        else:
            org_service.set_seat_limit(
                session=session, actor=actor, org=org, limit=loaded["seat_limit"]
            )
            org_service.set_required_fields(
                session=session, actor=actor, org=org, names=loaded["required_fields"]
            )
            try:
                org_service.set_service_level(
                    session=session,
                    actor=actor,
                    org=org,
                    changes={k: loaded[k] for k in SERVICE_LEVEL_FIELDS},
                )
            except AppError as exc:
                session.rollback()
                errors = [f"Plan: {exc.message}"]
            else:
                session.commit()
                flash(f"The settings of {org.name} are saved.", "success")
                return redirect(url_for("web.organization_settings", slug=org.slug))
    return _settings_page(org, errors=errors, status=422 if errors else 200)


def _number(raw: str) -> int | str | None:
    """A whole number typed in a box; other text as typed, for the schema to refuse; empty: None."""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() else (raw or None)


def _settings_page(org: Organization, *, errors: list[str], status: int = 200, **forms: Any):
    summary = org_service.summary(session=db.session(), org=org)
    typed = {
        name: (request.form.get(name) if errors else summary[name])
        for name in ("seat_limit", *SERVICE_LEVEL_FIELDS)
    }
    return render_template(
        "web/organization_settings.html",
        org=summary,
        fields=present.contact_fields(org_service.required_fields(org)),
        plans=sla.policy().plans,
        typed=typed,
        form_seat_limit=typed["seat_limit"],
        errors=errors,
        rename_form=forms.get("rename_form")
        or RenameForm(prefix="rename", formdata=None, data={"name": org.name}),
        close_form=forms.get("close_form") or CloseForm(prefix="close", formdata=None),
        closable=org.kind in onboarding.ONBOARDED_KINDS and not org.closed,
    ), status


@bp.post("/organizations/<slug>/rename")
@page
def rename_organization(slug: str):
    """Give the organization a new full name (staff); its short name stays."""
    org = _staff_org(slug)
    form = RenameForm(prefix="rename")
    data = (
        load_into(form, OrganizationPatchIn(), {"name": form.name.data or ""})
        if form.validate_on_submit()
        else None
    )
    if data is None:
        return _settings_page(org, errors=[], rename_form=form, status=422)
    try:
        onboarding.rename(session=db.session(), org=org, name=data["name"])
        db.session.commit()
        flash("The organization is renamed.", "success")
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("web.organization_settings", slug=slug))


@bp.post("/organizations/<slug>/close")
@page
def close_organization(slug: str):
    """Close the organization (staff): no new requests, its contacts purged by a job."""
    org = _staff_org(slug)
    form = CloseForm(prefix="close")
    if not form.validate_on_submit():
        return _settings_page(org, errors=[], close_form=form, status=422)
    try:
        onboarding.close(session=db.session(), org=org)
        db.session.commit()
        flash(f"{org.name} is closed; its contacts are being purged.", "success")
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("web.organization_settings", slug=slug))


def _staff_org(slug: str) -> Organization:
    actor = current_actor()
    access.require_staff(actor, what="manage organizations")
    return access.visible_org(session=db.session(), actor=actor, slug=slug).org
