"""`/api/staff`: staff accounts, for staff holding `staff:manage`. Thin: see staff.py."""

from __future__ import annotations

from service import access
from service.accounts import staff
from service.accounts.caller import current_actor, load_actor
from service.accounts.schemas import StaffAccountIn, StaffAccountOut, StaffAccountsOut
from service.extensions import Blueprint, db
from service.read_only import reads_only

blp = Blueprint("staff", __name__, description="Staff accounts")
blp.before_request(load_actor)


@blp.get("/staff")
@reads_only
@blp.response(200, StaffAccountsOut)
def list_staff():
    """Every staff account with its status and staff permissions."""
    access.require_manage_staff(current_actor())
    return {"items": [staff.describe(u) for u in staff.list_staff(session=db.session())]}


@blp.post("/staff")
@blp.arguments(StaffAccountIn)
@blp.response(201, StaffAccountOut)
@blp.alt_response(409, description="`email_has_account`: an account already has this email")
def add_staff(payload):
    """Add a staff account; an activation link goes to its email."""
    access.require_manage_staff(current_actor())
    user = staff.add(
        session=db.session(), email=payload["email"], permissions=payload["permissions"]
    )
    db.session.commit()
    return staff.describe(user)


@blp.post("/staff/<int:user_id>/deactivate")
@blp.response(200, StaffAccountOut)
@blp.alt_response(409, description="`cannot_deactivate_self`")
def deactivate_staff(user_id):
    """Deactivate a staff account: it cannot sign in, its sessions and links stop working."""
    actor = current_actor()
    access.require_manage_staff(actor)
    user = staff.get(session=db.session(), user_id=user_id)
    staff.deactivate(session=db.session(), user=user, by=actor.user)
    db.session.commit()
    return staff.describe(user)
