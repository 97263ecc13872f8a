"""The role catalog in pages: "All roles" for everyone signed in (each role with who it is for,
its permission matrix read-only, its emails, whether it is required), and the staff's forms to
create and edit a role. Making a role required shows the organizations it would leave without
a holder before anything is saved."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from service import access
from service.contacts import service as contacts_service
from service.contacts.models import Role
from service.contacts.schemas import RoleIn, RolePatchIn
from service.errors import AppError, NotFound
from service.extensions import db
from service.vocabulary import ALL_PERMISSIONS, MODULES
from service.web import presenters as present
from service.web.blueprints import bp
from service.web.session import current_actor, page

AUDIENCES = [(code, label) for code, label in present.AUDIENCE_LABELS.items()]


@bp.get("/roles")
@page
def roles():
    """Every role of the catalog, explained; staff also get the links to change it."""
    catalog = contacts_service.list_roles(session=db.session())
    return render_template(
        "web/roles.html",
        roles=[present.role_card(role) for role in catalog],
        may_edit=current_actor().is_staff,
    )


@bp.route("/roles/new", methods=["GET", "POST"])
@page
def new_role():
    """Add a role to the catalog (staff)."""
    access.require_staff(current_actor(), what="change the role catalog")
    return _role_form(None)


@bp.route("/roles/<code>/edit", methods=["GET", "POST"])
@page
def edit_role(code: str):
    """Change a role of the catalog (staff)."""
    access.require_staff(current_actor(), what="change the role catalog")
    role = db.session.get(Role, code)
    if role is None:
        raise NotFound("No such role.", code="role_not_found")
    return _role_form(role)


def _role_form(role: Role | None):
    session = db.session()
    if request.method == "GET":
        return _render(role, _values_of(role), errors=[])
    values = request.form
    data, errors = _load(role, values)
    if data is None:
        return _render(role, values, errors=errors), 422
    newly_required = data.get("required") and not (role and role.required)
    if newly_required and not values.get("confirmed"):
        code = role.code if role else data["code"]
        lacking = contacts_service.organizations_lacking(
            session=session, code=code, audience=data.get("audience", "customer")
        )
        if lacking:
            return _render(role, values, errors=[], lacking=lacking)
    try:
        if role is None:
            role = contacts_service.create_role(session=session, data=data)
        else:
            contacts_service.update_role(session=session, code=role.code, data=data)
    except AppError as exc:
        session.rollback()
        problems = [detail.message for detail in exc.errors] or [exc.message]
        return _render(role, values, errors=problems), exc.status
    code = role.code
    session.commit()
    flash(f"The role {role.name} is saved.", "success")
    return redirect(url_for("web.roles", _anchor=f"role-{code}"))


def _load(
    role: Role | None, values: MultiDict[str, str]
) -> tuple[dict[str, Any] | None, list[str]]:
    """The form's values as the API's schema loads them, or the problems it found."""
    ticked = set(values.getlist("permission")) & ALL_PERMISSIONS
    data: dict[str, Any] = {
        "name": values.get("name", "").strip(),
        "description": values.get("description", "").strip(),
        "audience": values.get("audience", ""),
        "required": values.get("required") == "on",
        "emails": [e.strip() for e in values.get("emails", "").split(",") if e.strip()],
    }
    if values.get("mode") == "all_except":
        data |= {"grants_all": True, "exceptions": sorted(ALL_PERMISSIONS - ticked)}
    else:
        # Permissions outside the matrix (for the products around the service) are kept.
        others = set(role.permissions or ()) - ALL_PERMISSIONS if role else set()
        data |= {"grants_all": False, "exceptions": [], "permissions": sorted(ticked | others)}
    schema: Schema = RolePatchIn()
    if role is None:
        data["code"] = values.get("code", "").strip()
        schema = RoleIn()
    try:
        return schema.load(data), []
    except ValidationError as exc:
        return None, _messages(exc.messages)


def _messages(messages: Any, path: str = "") -> list[str]:
    if isinstance(messages, dict):
        return [m for key, value in messages.items() for m in _messages(value, f"{key}")]
    label = path.replace("_", " ").capitalize()
    return [f"{label}: {text}" if label else str(text) for text in messages]


def _values_of(role: Role | None) -> MultiDict[str, str]:
    """The form's starting values: the role's, or a new customer role's."""
    if role is None:
        return MultiDict({"audience": "customer", "mode": "listed"})
    values = MultiDict(
        {
            "code": role.code,
            "name": role.name,
            "description": role.description,
            "audience": role.audience,
            "emails": ", ".join(role.emails or ()),
            "mode": "all_except" if role.grants_all else "listed",
        }
    )
    if role.required:
        values["required"] = "on"
    for permission in sorted(role.grants & ALL_PERMISSIONS):
        values.add("permission", permission)
    return values


def _render(
    role: Role | None,
    values: MultiDict[str, str],
    *,
    errors: list[str],
    lacking: list[str] | None = None,
):
    return render_template(
        "web/role_form.html",
        role=role,
        values=values,
        ticked=set(values.getlist("permission")),
        modules=MODULES,
        audiences=AUDIENCES,
        errors=errors,
        lacking=lacking,
    )
