"""`/api/orgs/<slug>`: the plan, delegations and invitations. Thin: see service.py."""

from __future__ import annotations

from collections.abc import Callable

from service import access
from service.accounts import invitations
from service.accounts.caller import current_actor, load_actor
from service.accounts.schemas import AcceptedOut
from service.extensions import Blueprint, db
from service.organizations import onboarding
from service.organizations import service as org_service
from service.organizations.models import Organization
from service.organizations.schemas import (
    DelegationsOut,
    InvitationsOut,
    OrganizationCreatedOut,
    OrganizationCreateIn,
    OrganizationPatchIn,
    OrganizationPlanOut,
    OrganizationsOut,
    ResentOut,
)
from service.read_only import reads_only

blp = Blueprint(
    "organizations", __name__, description="Organizations: onboarding, plans, delegations"
)
blp.before_request(load_actor)


def _visible(slug: str) -> Organization:
    return access.visible_org(session=db.session(), actor=current_actor(), slug=slug).org


def _roster(slug: str) -> Organization:
    return access.roster_org(session=db.session(), actor=current_actor(), slug=slug).org


def _managed(slug: str) -> Organization:
    return access.managed_org(session=db.session(), actor=current_actor(), slug=slug).org


def _invitation_step(slug: str, contact_id: int, step: Callable[..., None]) -> None:
    """Send, resend or revoke one contact's invitation, as the organization's manager."""
    org = _managed(slug)
    step(session=db.session(), org_id=org.id, contact_id=contact_id)
    db.session.commit()


@blp.get("/orgs")
@reads_only
@blp.response(200, OrganizationsOut)
def list_organizations():
    """Every organization with its plan, seats in use and whether it is closed (staff)."""
    access.require_staff(current_actor(), what="list every organization")
    return {"items": org_service.list_all(session=db.session())}


@blp.post("/orgs")
@blp.arguments(OrganizationCreateIn)
@blp.response(201, OrganizationCreatedOut)
@blp.alt_response(
    409, description="`slug_taken`, or `email_has_account`: the administrator's email is staff's"
)
def create_organization(payload):
    """Onboard a customer or purchaser organization with its first administrator (staff): the
    administrator is a contact holding a role that manages contacts, invited by email."""
    access.require_staff(current_actor(), what="onboard organizations")
    onboarded = onboarding.create(session=db.session(), data=payload)
    db.session.commit()
    org = onboarded.organization
    return {
        **org_service.summary(session=db.session(), org=org),
        "first_admin": {
            "contact_id": onboarded.admin_contact_id,
            "email": payload["first_admin"]["email"],
            "account_status": onboarded.account_status,
        },
    }


@blp.get("/orgs/<slug>")
@reads_only
@blp.response(200, OrganizationPlanOut)
def get_organization(slug):
    """The organization, its plan's seat limit and the seats in use."""
    org = _roster(slug)
    return org_service.summary(session=db.session(), org=org)


@blp.patch("/orgs/<slug>")
@blp.arguments(OrganizationPatchIn)
@blp.response(200, OrganizationPlanOut)
@blp.alt_response(409, description="`organization_closed`: a closed organization is not renamed")
def patch_organization(payload, slug):
    """Rename the organization, change the plan's seat limit (`null` for no limit), the
    details a new contact must carry, or the service-level plan and its overrides (staff)."""
    org = _visible(slug)
    if "seat_limit" in payload:
        org_service.set_seat_limit(
            session=db.session(), actor=current_actor(), org=org, limit=payload["seat_limit"]
        )
    if "required_fields" in payload:
        org_service.set_required_fields(
            session=db.session(), actor=current_actor(), org=org, names=payload["required_fields"]
        )
    levels = {k: payload[k] for k in org_service.SERVICE_LEVEL_FIELDS if k in payload}
    if levels:
        org_service.set_service_level(
            session=db.session(), actor=current_actor(), org=org, changes=levels
        )
    if "name" in payload:
        access.require_staff(current_actor(), what="rename an organization")
        onboarding.rename(session=db.session(), org=org, name=payload["name"])
    db.session.commit()
    return org_service.summary(session=db.session(), org=org)


@blp.post("/orgs/<slug>/close")
@blp.response(202, OrganizationPlanOut)
@blp.alt_response(
    409,
    description="`organization_closed` (already), `request_pending` (a change request is "
    "unfinished) or `cannot_close` (the vendor)",
)
def close_organization(slug):
    """Close the organization (staff): it takes no new requests, delegations to and from it
    end, and a job purges its contacts as deletions do; its tickets stay readable."""
    org = _visible(slug)
    access.require_staff(current_actor(), what="close an organization")
    onboarding.close(session=db.session(), org=org)
    db.session.commit()
    return org_service.summary(session=db.session(), org=org)


@blp.get("/orgs/<slug>/delegations")
@reads_only
@blp.response(200, DelegationsOut)
def delegations(slug):
    """Organizations whose admins currently manage this organization's contacts."""
    org = _roster(slug)
    return {"items": org_service.list_delegations(session=db.session(), org=org)}


@blp.get("/orgs/<slug>/invitations")
@reads_only
@blp.response(200, InvitationsOut)
def list_invitations(slug):
    """Invitations with their newest link: pending, expired, revoked, never sent, or accepted
    (in the last 7 days)."""
    org = _managed(slug)
    return {"items": invitations.list_invitations(session=db.session(), org_id=org.id)}


@blp.post("/orgs/<slug>/invitations/<int:contact_id>/resend")
@blp.response(202, AcceptedOut)
@blp.alt_response(429, description="`rate_limited`: this contact's links were sent too often")
def resend_invitation(slug, contact_id):
    """Send a new activation link; every older link of the contact stops working."""
    _invitation_step(slug, contact_id, invitations.resend)
    return {"status": "accepted"}


@blp.post("/orgs/<slug>/invitations/resend-expired")
@blp.response(202, ResentOut)
def resend_expired_invitations(slug):
    """Send a new link to every invitation that expired unused (one whose contact was sent
    links too often lately is left out)."""
    org = _managed(slug)
    resent = invitations.resend_expired(session=db.session(), org_id=org.id)
    db.session.commit()
    return {"resent": resent}


@blp.post("/orgs/<slug>/invitations/<int:contact_id>/invite")
@blp.response(202, AcceptedOut)
@blp.alt_response(404, description="`not_found`: no such contact in this organization")
@blp.alt_response(
    409,
    description="`not_invitable`: the contact is not active; `account_exists`: it has an "
    "account already (resend its invitation instead)",
)
@blp.alt_response(429, description="`rate_limited`: this contact's links were sent too often")
def invite_contact(slug, contact_id):
    """Give an active contact without an account one: it gets the welcome email with an
    activation link, or, when its address already signs in elsewhere, joins that account and is
    told so. The same as a batch's `invite_contact`, without a ticket, as a resend is."""
    _invitation_step(slug, contact_id, invitations.invite)
    return {"status": "accepted"}


@blp.post("/orgs/<slug>/invitations/<int:contact_id>/revoke")
@blp.response(200, AcceptedOut)
def revoke_invitation(slug, contact_id):
    """Void every activation link of the contact."""
    _invitation_step(slug, contact_id, invitations.revoke)
    return {"status": "revoked"}
