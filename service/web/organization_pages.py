"""The staff's organization pages: every customer and purchaser organization with its seats, and
each one's settings (the plan's seat limit, the details a new contact must carry)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from service import access
from service.extensions import db
from service.organizations import service as org_service
from service.organizations.schemas import OrganizationPatchIn
from service.web import presenters as present
from service.web.blueprints import bp
from service.web.session import current_actor, page


@bp.get("/organizations")
@page
def organizations():
    """Every organization staff look after, with its seat limit and the seats in use."""
    access.require_staff(current_actor(), what="see every organization")
    return render_template(
        "web/organizations.html", organizations=org_service.list_for_staff(session=db.session())
    )


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
        raw = request.form.get("seat_limit", "").strip()
        data: dict[str, Any] = {
            "seat_limit": int(raw) if raw.isascii() and raw.isdigit() else (raw or None),
            # The email is always required: the box is shown ticked and cannot be unticked.
            "required_fields": sorted({"email", *request.form.getlist("required_field")}),
        }
        try:
            loaded = OrganizationPatchIn().load(data)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {}
            errors = [
                f"{name.replace('_', ' ').capitalize()}: {' '.join(map(str, texts))}"
                for name, texts in messages.items()
            ]
        else:
            org_service.set_seat_limit(
                session=session, actor=actor, org=org, limit=loaded["seat_limit"]
            )
            org_service.set_required_fields(
                session=session, actor=actor, org=org, names=loaded["required_fields"]
            )
            session.commit()
            flash(f"The settings of {org.name} are saved.", "success")
            return redirect(url_for("web.organization_settings", slug=org.slug))
    summary = org_service.summary(session=session, org=org)
    status = 422 if errors else 200
    return render_template(
        "web/organization_settings.html",
        org=summary,
        fields=present.contact_fields(org_service.required_fields(org)),
        form_seat_limit=request.form.get("seat_limit") if errors else summary["seat_limit"],
        errors=errors,
    ), status
