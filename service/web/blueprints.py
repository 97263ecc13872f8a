"""The two blueprints of the web front end: HTML pages, and the JSON calls their scripts make."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g

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
        return access.roster_orgs(session=db.session(), actor=actor)

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
        "nav_tickets": sees_tickets,
    }
