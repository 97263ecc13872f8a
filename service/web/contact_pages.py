"""The contacts manager: the roster to edit as one batch, or read-only while a request waits."""

from __future__ import annotations

from flask import render_template, url_for

from service.contacts import service as contacts_service
from service.extensions import db
from service.organizations import service as org_service
from service.requests import service as requests_service
from service.web import presenters as present
from service.web.blueprints import bp
from service.web.session import current_actor, page


@bp.get("/orgs/<slug>/contacts")
@page
def contacts(slug: str):
    """The roster: an editor for admins, read-only for viewers, side by side while pending."""
    actor = current_actor()
    session = db.session()
    org = org_service.get_visible(session=session, slug=slug, actor=actor)
    org_service.require_view(actor=actor, org=org)
    rows = contacts_service.roster_rows(session=session, org_id=org.id)
    common = {
        "org": org,
        "roles": present.role_columns(session=session, org=org),
        "fields": present.contact_fields(),
        "active_count": sum(1 for row in rows if row["status"] == "active"),
    }
    pending = requests_service.pending_ticket(session=session, org_id=org.id)
    if pending is not None:
        projected = requests_service.pending_projection(session=session, org=org, ticket=pending)
        return render_template(
            "web/contacts_pending.html",
            contacts=contacts_service.with_requested(rows, projected),
            ticket=pending,
            **common,
        )
    return render_template(
        "web/contacts.html",
        contacts=rows,
        editable=not actor.is_staff and actor.can(org_service.MANAGE),
        salutations=present.salutations(),
        validate_url=url_for("web_json.validate", slug=org.slug),
        submit_url=url_for("web_json.submit", slug=org.slug),
        **common,
    )
