"""`/api/orgs/<slug>/change-requests` (submit), `/validate` (dry run), and
`/api/tickets/<reference>/amend` (a new revision of a pending batch)."""

from __future__ import annotations

from service.access import ticket_access
from service.accounts.caller import current_actor, load_actor
from service.extensions import Blueprint, db
from service.requests import service as requests_service
from service.requests.schemas import ChangeRequestIn, DryRunOut, SubmittedOut, ValidateQuery
from service.tickets import read_models
from service.tickets.schemas import TicketOut

blp = Blueprint("change_requests", __name__, description="Change requests")
blp.before_request(load_actor)

FORBIDDEN = (
    "`forbidden`: the caller may not manage this organization's contacts, or the batch grants "
    "or ends delegated access (`grant_delegate`, `revoke_delegate`) without `delegations:edit`."
)


@blp.post("/orgs/<slug>/change-requests")
@blp.arguments(ChangeRequestIn)
@blp.response(201, SubmittedOut)
@blp.alt_response(403, description=FORBIDDEN)
@blp.alt_response(409, description="`request_pending` or `stale_roster`")
@blp.alt_response(
    422,
    description="`validation_failed`, every problem in `errors`, each with its own code: those "
    "of docs/api.md, and `contact_without_role` (a contact the batch leaves active holds no "
    "role; deactivate or delete them, or grant another), `last_manager` (the batch deletes the "
    "last contact whose active account may manage the organization's contacts). Which details "
    "a new contact needs (`missing_field`) is the organization's `required_fields`.",
)
def submit(payload, slug):
    """Submit a batch of changes; when valid it is stored as an open ticket."""
    submitted = requests_service.submit(
        session=db.session(), org_slug=slug, actor=current_actor(), data=payload
    )
    db.session.commit()
    return requests_service.submitted_answer(submitted)


@blp.post("/tickets/<reference>/amend")
@blp.arguments(ChangeRequestIn)
@blp.response(200, TicketOut)
@blp.alt_response(
    409,
    description="`invalid_transition` (the ticket is not open or awaiting_customer), "
    "`stale_roster`",
)
@blp.alt_response(422, description="`validation_failed`, as for a submission")
def amend(payload, reference):
    """Amend an open or awaiting ticket (its requester or another admin of the organization):
    the body is a submission's, validated again in full; the ticket moves to its next revision
    and the approvals already given are reset."""
    ticket = ticket_access(session=db.session(), actor=current_actor(), reference=reference)
    requests_service.amend(session=db.session(), access=ticket, data=payload)
    db.session.commit()
    return read_models.detail(session=db.session(), access=ticket)


@blp.post("/orgs/<slug>/change-requests/validate")
@blp.arguments(ValidateQuery, location="query")
@blp.arguments(ChangeRequestIn)
@blp.response(200, DryRunOut)
@blp.alt_response(403, description=FORBIDDEN)
def validate(query, payload, slug):
    """Dry run: every finding, the projected roster (`?projected=changed`: only the contacts
    the batch touches, and the holders of each role after it) and the batch's lines; stores
    nothing."""
    result = requests_service.dry_run(
        session=db.session(),
        org_slug=slug,
        actor=current_actor(),
        data=payload,
        changed_only=query.get("projected") == "changed",
    )
    db.session.rollback()
    return result
