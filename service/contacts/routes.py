"""`/api/roles` (read by all, changed by staff) and `/api/orgs/<slug>/contacts`."""

from __future__ import annotations

from service import access
from service.accounts.caller import current_actor, load_actor
from service.contacts import service as contacts_service
from service.contacts.schemas import (
    RoleChangedOut,
    RoleIn,
    RoleOut,
    RolePatchIn,
    RolesOut,
    RosterOut,
    RosterQuery,
)
from service.extensions import Blueprint, db
from service.requests import service as requests_service

blp = Blueprint("contacts", __name__, description="Role catalog and rosters")
blp.before_request(load_actor)


@blp.get("/roles")
@blp.response(200, RolesOut)
def roles():
    """The role catalog."""
    return {"roles": contacts_service.list_roles(session=db.session())}


@blp.post("/roles")
@blp.arguments(RoleIn)
@blp.response(201, RoleChangedOut)
def create_role(payload):
    """Add a role to the catalog (staff)."""
    access.require_staff(current_actor(), what="change the role catalog")
    role = contacts_service.create_role(session=db.session(), data=payload)
    violations = contacts_service.required_role_violations(session=db.session(), role=role)
    db.session.commit()
    return {**_role_dict(role), "violations": violations}


@blp.patch("/roles/<code>")
@blp.arguments(RolePatchIn)
@blp.response(200, RoleChangedOut)
def update_role(payload, code):
    """Change a role (staff). Making it required reports the organizations that lack it."""
    access.require_staff(current_actor(), what="change the role catalog")
    role = contacts_service.update_role(session=db.session(), code=code, data=payload)
    violations = contacts_service.required_role_violations(session=db.session(), role=role)
    db.session.commit()
    return {**_role_dict(role), "violations": violations}


def _role_dict(role):
    return {name: getattr(role, name) for name in RoleOut().fields}


@blp.get("/orgs/<slug>/contacts")
@blp.arguments(RosterQuery, location="query")
@blp.response(200, RosterOut)
def roster(query, slug):
    """The organization's roster; `?view=pending` adds what the pending request asks for."""
    org = access.roster_org(session=db.session(), actor=current_actor(), slug=slug).org
    pending = requests_service.pending_ticket(session=db.session(), org_id=org.id)
    contacts = contacts_service.roster_rows(session=db.session(), org_id=org.id)
    if query["view"] == "pending" and pending is not None:
        items = requests_service.pending_items(session=db.session(), ticket=pending)
        projected = requests_service.pending_projection(session=db.session(), org=org, items=items)
        contacts = contacts_service.with_requested(contacts, projected)
    return {
        "organization": org,
        "version": org.roster_version,
        "required_roles": contacts_service.required_role_codes(session=db.session(), org=org),
        "pending_ticket": pending.reference if pending else None,
        "contacts": contacts,
    }
