"""The two blueprints of the web front end: HTML pages, and the JSON calls their scripts make."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request

from service import access
from service.config import PROJECT_ROOT
from service.extensions import db

# Pages; assets from the repository's static/ folder, all served locally under /assets (the
# app's own /static route points into the service package).
bp = Blueprint(
    "web",
    __name__,
    static_folder=str(PROJECT_ROOT / "static"),
    static_url_path="/assets",
)

# Same-origin JSON for the contacts manager's script: session cookie plus CSRF header. Its
# errors keep the API's JSON shape (no HTML handlers are registered on it).
json_bp = Blueprint("web_json", __name__, url_prefix="/web")


@bp.app_context_processor
def navigation() -> dict[str, Any]:
    """What the layout's header needs; the queries run only when a template asks."""

    def organizations() -> list[Any]:
        actor = g.get("actor")
        if actor is None:
            return []
        if "nav_orgs" not in g:
            g.nav_orgs = access.roster_orgs(session=db.session(), actor=actor)
        return list(g.nav_orgs)

    def current_organization() -> Any:
        """The organization the page is about when it is one of the switcher's, else the
        first of them (the home one)."""
        orgs = organizations()
        slug = (request.view_args or {}).get("slug")
        return next((org for org in orgs if org.slug == slug), orgs[0] if orgs else None)

    def sees_tickets() -> bool:
        actor = g.get("actor")
        return actor is not None and access.can_see_tickets(actor)

    def manages_staff() -> bool:
        actor = g.get("actor")
        return actor is not None and access.can_manage_staff(actor)

    return {
        "signed_in": g.get("actor"),
        "nav_staff": manages_staff,
        "nav_organizations": organizations,
        "nav_current_organization": current_organization,
        "nav_tickets": sees_tickets,
    }
