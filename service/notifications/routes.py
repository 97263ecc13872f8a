"""`/api/emails`: the emails the service sent or gave up on, for staff. Thin: see read_models.py."""

from __future__ import annotations

from service.accounts.caller import current_actor, load_actor
from service.extensions import Blueprint, db
from service.notifications import read_models
from service.notifications.schemas import EmailQuery, EmailsOut
from service.read_only import reads_only

blp = Blueprint("emails", __name__, description="Emails: what was given up on, for staff")
blp.before_request(load_actor)


@blp.get("/emails")
@reads_only
@blp.arguments(EmailQuery, location="query")
@blp.response(200, EmailsOut)
def emails(query):
    """Emails by status, newest first (default `failed`: given up after their last attempt)."""
    return read_models.list_emails(session=db.session(), actor=current_actor(), **query)
