"""The contacts manager: the roster to edit as one batch, or read-only while a request waits;
and the invitations of its new contacts, to send again or revoke."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for

from service import access
from service.accounts import invitations as invitations_service
from service.accounts import tokens
from service.accounts.models import TokenPurpose
from service.contacts import activity
from service.contacts import service as contacts_service
from service.contacts.models import Contact
from service.errors import Conflict, Unprocessable
from service.extensions import db
from service.organizations import service as org_service
from service.requests import service as requests_service
from service.requests.describe import describe
from service.tickets.models import Ticket
from service.tickets.workflow import allowed
from service.web import presenters as present
from service.web.blueprints import bp
from service.web.roster_view import read_query, roster_view, view_json
from service.web.session import current_actor, page


@bp.get("/orgs/<slug>/contacts")
@page
def contacts(slug: str):
    """The roster a page at a time (search, filters and paging in the address, so that it
    works without script too): an editor for admins, read-only for viewers and without
    JavaScript, side by side with what a pending request asks for while one waits. With
    `?amend=<reference>` of the pending request, the editor again, whose batch amends it."""
    session = db.session()
    scope = access.roster_org(session=session, actor=current_actor(), slug=slug)
    org, may_manage = scope.org, access.can_manage(scope)
    query, refused = read_query(request.args)
    pending = requests_service.pending_ticket(session=session, org_id=org.id)
    may_amend = pending is not None and may_manage and _may_amend(pending)
    amending = (
        pending
        if may_amend and request.args.get("amend") == getattr(pending, "reference", None)
        else None
    )
    shown_pending = None if amending is not None else pending
    try:
        view = roster_view(session=session, org=org, query=query, pending=shown_pending)
    except Unprocessable:
        query, refused = {}, True
        view = roster_view(session=session, org=org, query=query, pending=shown_pending)
    common = {
        "org": org,
        "may_manage": may_manage,
        "roles": present.role_columns(session=session, org=org),
        "fields": present.contact_fields(org_service.required_fields(org)),
        "view": view,
        "query": query,
        "refused": refused,
        "active_count": view.active,
        "delegations": org_service.list_delegations(session=session, org=org),
    }
    if shown_pending is not None:
        items = requests_service.pending_items(session=session, ticket=shown_pending)
        return render_template(
            "web/contacts_pending.html",
            delegation_changes=requests_service.delegation_changes(items),
            ticket=shown_pending,
            may_amend=may_amend,
            **common,
        )
    urls = {
        "validate_url": url_for("web_json.validate", slug=org.slug, projected="changed"),
        "submit_url": url_for("web_json.submit", slug=org.slug),
    }
    amend = None
    if amending is not None:
        # The batch prepared here replaces the pending one as its next revision.
        items = requests_service.pending_items(session=session, ticket=amending)
        amend = {
            "reference": amending.reference,
            "revision": amending.revision,
            "lines": describe(session=session, change_request_id=amending.change_request_id),
            "items": items,
            # The contacts the items name, as the page's script knows contacts: it puts the
            # items back into its batch, which needs each contact as it is now.
            "contacts": [
                {**row, "status": str(getattr(row["status"], "value", row["status"]))}
                for row in contacts_service.roster_rows(
                    session=session,
                    org_id=org.id,
                    ids={i["contact_id"] for i in items if isinstance(i.get("contact_id"), int)},
                )
            ],
        }
        urls = {
            "validate_url": url_for(
                "web_json.validate", slug=org.slug, projected="changed", amend=amending.reference
            ),
            "submit_url": url_for("web_json.amend", reference=amending.reference),
        }
    return render_template(
        "web/contacts.html",
        editable=may_manage,
        may_delegate=access.can_change_delegations(scope),
        delegate_candidates=org_service.delegate_candidates(session=session, org=org)
        if access.can_change_delegations(scope)
        else [],
        salutations=present.salutations(),
        first_page=view_json(view) if may_manage else None,
        roster_url=url_for("web_json.roster_json", slug=org.slug),
        amending=amend,
        **urls,
        **common,
    )


def _may_amend(ticket: Ticket) -> bool:
    """Whether the signed-in person may amend the organization's pending ticket."""
    found = access.ticket_access(
        session=db.session(), actor=current_actor(), reference=ticket.reference
    )
    return access.can_amend(found) and allowed("amend", found.ticket.status)


@bp.get("/orgs/<slug>/contacts/<int:contact_id>")
@page
def contact(slug: str, contact_id: int):
    """One contact: their details with the alternate email, their assistant (a link to that
    contact), those they assist, their roles, and every ticket and event that touched them,
    newest first."""
    session = db.session()
    org = access.roster_org(session=session, actor=current_actor(), slug=slug).org
    shown = activity.details(session=session, org=org, contact_id=contact_id)
    return render_template(
        "web/contact.html",
        org=org,
        contact=shown,
        fields=present.contact_fields(org_service.required_fields(org)),
        roles=present.role_columns(session=session, org=org),
    )


@bp.get("/orgs/<slug>/invitations")
@page
def invitations(slug: str):
    """Contacts whose accounts wait for activation: when their link went out, whether it still
    works, and buttons to send a new one or to revoke it (the organization's admins)."""
    session = db.session()
    org = access.managed_org(session=session, actor=current_actor(), slug=slug).org
    names = {
        contact_id: present.full_name(contact.fields)
        for contact_id, contact in contacts_service.roster_snapshot(
            session=session, org_id=org.id
        ).items()
    }
    items = [
        {**item, "name": names.get(item["contact_id"], "Unnamed contact")}
        for item in invitations_service.list_invitations(session=session, org_id=org.id)
    ]
    uninvited = [
        {**item, "name": present.full_name(item)}
        for item in invitations_service.without_account(session=session, org_id=org.id)
    ]
    return render_template(
        "web/invitations.html",
        org=org,
        invitations=items,
        uninvited=uninvited,
        invitation_labels=present.INVITATION_LABELS,
        link_lifetime=present.duration(tokens.lifetime(TokenPurpose.ACTIVATION)),
    )


@bp.post("/orgs/<slug>/invitations/resend-expired")
@page
def resend_expired_invitations(slug: str):
    """A new link to every invitation that expired unused."""
    session = db.session()
    org = access.managed_org(session=session, actor=current_actor(), slug=slug).org
    sent = invitations_service.resend_expired(session=session, org_id=org.id)
    session.commit()
    flash(
        f"{sent} new link{'' if sent == 1 else 's'} on {'its' if sent == 1 else 'their'} way. "
        "Older links no longer work.",
        "success",
    )
    return redirect(url_for("web.invitations", slug=org.slug))


@bp.post("/orgs/<slug>/invitations/<int:contact_id>/invite")
@page
def invite_contact(slug: str, contact_id: int):
    """Give a contact without an account one: the welcome email goes out now."""
    return _invitation_action(
        slug,
        contact_id,
        invitations_service.invite,
        "The invitation is on its way.",
    )


@bp.post("/orgs/<slug>/invitations/<int:contact_id>/resend")
@page
def resend_invitation(slug: str, contact_id: int):
    """A new activation link by email; every older link of the contact stops working."""
    return _invitation_action(
        slug,
        contact_id,
        invitations_service.resend,
        "A new activation link is on its way. Older links no longer work.",
    )


@bp.post("/orgs/<slug>/invitations/<int:contact_id>/revoke")
@page
def revoke_invitation(slug: str, contact_id: int):
    """Void every activation link of the contact; nothing new is sent. The first post shows a
    confirmation step that says what revoking does; its form posts again with `confirm`."""
    if request.form.get("confirm") != "revoke":
        session = db.session()
        org = access.managed_org(session=session, actor=current_actor(), slug=slug).org
        contact = session.get(Contact, contact_id)
        if contact is not None and contact.organization_id == org.id:
            name = present.full_name(
                {"first_name": contact.first_name, "last_name": contact.last_name}
            )
            return render_template(
                "web/confirm_revoke.html", org=org, contact_id=contact_id, name=name
            )
    return _invitation_action(
        slug,
        contact_id,
        invitations_service.revoke,
        "The invitation is revoked: its links no longer work. Send a new one at any time.",
    )


def _invitation_action(slug: str, contact_id: int, act: Callable[..., None], done: str):
    """Run a resend or a revoke and commit; one that does not apply says why on the page."""
    session = db.session()
    org = access.managed_org(session=session, actor=current_actor(), slug=slug).org
    try:
        act(session=session, org_id=org.id, contact_id=contact_id)
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        session.commit()
        flash(done, "success")
    return redirect(url_for("web.invitations", slug=org.slug))
