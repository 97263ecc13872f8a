"""Staff's page of staff accounts: add one (invited by email), deactivate one. Staff holding
`staff:manage` only (`service.access`); the API's schema loads what reaches the service."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from service import access
from service.accounts import staff
from service.accounts.schemas import StaffAccountIn
from service.errors import Conflict
from service.extensions import db
from service.web.blueprints import bp
from service.web.forms import StaffForm, load_into
from service.web.session import current_actor, page


@bp.get("/staff")
@page
def staff_accounts():
    """Every staff account; add one, deactivate one (staff holding staff:manage)."""
    access.require_manage_staff(current_actor())
    return _staff_page(StaffForm(formdata=None))


@bp.post("/staff")
@page
def add_staff():
    access.require_manage_staff(current_actor())
    form = StaffForm()
    data = (
        load_into(
            form,
            StaffAccountIn(),
            {
                "email": (form.email.data or "").strip(),
                "permissions": ["staff:manage"] if form.manage_staff.data else [],
            },
        )
        if form.validate_on_submit()
        else None
    )
    if data is None:
        return _staff_page(form, status=422)
    try:
        staff.add(session=db.session(), email=data["email"], permissions=data["permissions"])
        db.session.commit()
    except Conflict as exc:
        db.session.rollback()
        form.email.errors = [*form.email.errors, exc.message]
        return _staff_page(form, status=409)
    flash("The staff account is added; an activation link was sent.", "success")
    return redirect(url_for("web.staff_accounts"))


@bp.post("/staff/<int:user_id>/deactivate")
@page
def deactivate_staff(user_id: int):
    actor = current_actor()
    access.require_manage_staff(actor)
    user = staff.get(session=db.session(), user_id=user_id)
    try:
        staff.deactivate(session=db.session(), user=user, by=actor.user)
        db.session.commit()
        flash("The staff account is deactivated.", "success")
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("web.staff_accounts"))


def _staff_page(form: StaffForm, status: int = 200):
    accounts = [staff.describe(u) for u in staff.list_staff(session=db.session())]
    me = current_actor().user.id
    return render_template("web/staff.html", accounts=accounts, form=form, me=me), status
