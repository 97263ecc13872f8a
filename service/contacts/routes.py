"""`/api/roles` (read by all, changed by staff) and `/api/orgs/<slug>/contacts`."""

from __future__ import annotations

from typing import Any

from service import access, personal_data
from service.accounts.caller import current_actor, load_actor
from service.contacts import activity, counts
from service.contacts import catalog as role_catalog
from service.contacts import service as contacts_service
from service.contacts.paging import DEFAULT_LIMIT, RosterFilters
from service.contacts.schemas import (
    ContactDetailOut,
    RoleChangedOut,
    RoleIn,
    RoleOut,
    RolePatchIn,
    RolesOut,
    RoleWriteQuery,
    RosterOut,
    RosterQuery,
    SubjectAccessOut,
)
from service.extensions import Blueprint, db
from service.read_only import reads_only
from service.requests import service as requests_service
from service.tickets.models import format_reference
from service.vocabulary import ContactStatus

blp = Blueprint("contacts", __name__, description="Role catalog and rosters")
blp.before_request(load_actor)


@blp.get("/roles")
@reads_only
@blp.response(200, RolesOut)
def roles():
    """The role catalog."""
    return {"roles": contacts_service.list_roles(session=db.session())}


@blp.post("/roles")
@blp.arguments(RoleWriteQuery, location="query")
@blp.arguments(RoleIn)
@blp.response(201, RoleChangedOut)
def create_role(query, payload):
    """Add a role to the catalog (staff); `?dry_run=true` answers the same and stores nothing."""
    access.require_staff(current_actor(), what="change the role catalog")
    role = contacts_service.create_role(session=db.session(), data=payload)
    return _answer(role, dry_run=query["dry_run"])


@blp.patch("/roles/<code>")
@blp.arguments(RoleWriteQuery, location="query")
@blp.arguments(RolePatchIn)
@blp.response(200, RoleChangedOut)
def update_role(query, payload, code):
    """Change a role (staff). Making it required reports the organizations that lack it; with
    `?dry_run=true` before anything is stored."""
    access.require_staff(current_actor(), what="change the role catalog")
    role = contacts_service.update_role(session=db.session(), code=code, data=payload)
    return _answer(role, dry_run=query["dry_run"])


def _answer(role, *, dry_run: bool) -> dict[str, Any]:
    """The role as written, with the organizations it leaves in breach; committed unless this
    is a dry run."""
    answer = {
        **_role_dict(role),
        "violations": contacts_service.required_role_violations(session=db.session(), role=role),
    }
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return answer


def _role_dict(role):
    return {
        field.attribute or name: getattr(role, field.attribute or name)
        for name, field in RoleOut().fields.items()
    }


# Any of these asks for one page of the roster instead of the whole of it.
PAGING = ("limit", "cursor", "q", "role", "status", "account_status")


@blp.get("/orgs/<slug>/contacts")
@reads_only
@blp.arguments(RosterQuery, location="query")
@blp.response(200, RosterOut)
@blp.alt_response(422, description="A parameter is not valid; `unknown_role` for `role`.")
def roster(query, slug):
    """The organization's roster, whole or a page at a time (`limit`, `cursor`, filters), in the
    order last name, first name, id; `?view=pending` adds what the pending request asks for."""
    session = db.session()
    paged = any(name in query for name in PAGING)
    # One statement reads the organization, its pending ticket and (for a page) its counts.
    read_with = [requests_service.with_pending_ticket()]
    if paged:
        read_with.append(counts.with_counts(session=session))
    org = access.roster_org(
        session=session, actor=current_actor(), slug=slug, options=read_with
    ).org
    roles = role_catalog.current(session=session)
    body: dict[str, Any] = {
        "organization": org,
        "version": org.roster_version,
        "required_roles": contacts_service.required_role_codes(roles=roles, org=org),
        "pending_ticket": (
            format_reference("change_request", org.pending_ticket_id)
            if org.pending_ticket_id is not None
            else None
        ),
    }
    if paged:
        body |= contacts_service.roster_page(
            session=session,
            org=org,
            roles=roles,
            filters=RosterFilters(
                q=query.get("q") or None,
                role=query.get("role"),
                status=ContactStatus(query["status"]) if "status" in query else None,
                account_status=query.get("account_status"),
            ),
            limit=query.get("limit", DEFAULT_LIMIT),
            after=query.get("cursor"),
            stored=counts.of(org),
        )
    else:
        body["contacts"] = contacts_service.roster_rows(session=session, org_id=org.id)
    pending = (
        requests_service.pending_ticket(session=session, org_id=org.id)
        if query["view"] == "pending" and org.pending_ticket_id is not None
        else None
    )
    if pending is not None:
        items = requests_service.pending_items(session=session, ticket=pending)
        projected = requests_service.pending_projection(session=session, org=org, items=items)
        body["contacts"] = contacts_service.with_requested(
            body["contacts"], projected, with_new=not paged or "cursor" not in query
        )
    return body


@blp.get("/orgs/<slug>/contacts/<int:contact_id>/export")
@reads_only
@blp.response(200, SubjectAccessOut)
def export(slug, contact_id):
    """Everything held about one contact (staff): the counterpart of its erasure, read from the
    same registry of personal data (`service/personal_data.py`)."""
    scope = access.subject_access_org(session=db.session(), actor=current_actor(), slug=slug)
    return personal_data.export_organization_contact(
        session=db.session(), organization_id=scope.org.id, contact_id=contact_id
    )


@blp.get("/orgs/<slug>/contacts/<int:contact_id>")
@reads_only
@blp.response(200, ContactDetailOut)
@blp.alt_response(404, description="`contact_not_found`: not a contact of this roster")
def contact_details(slug, contact_id):
    """One contact of the roster: their details, assistant, and recent activity (every ticket
    and event that touched them, newest first)."""
    org = access.roster_org(session=db.session(), actor=current_actor(), slug=slug).org
    return activity.details(session=db.session(), org=org, contact_id=contact_id)
