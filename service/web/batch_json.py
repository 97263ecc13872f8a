"""JSON calls of the contacts manager's script: dry-run and submit a batch, as the signed-in user.

They take the API's body (`ChangeRequestIn`) and call the same service functions as
`/api/orgs/<slug>/change-requests[/validate]`. They authenticate with the session cookie and,
like every unsafe request outside `/api`, need the CSRF token, which the script sends in the
`X-CSRFToken` header. The bearer-token API itself stays cookie-free and CSRF-free.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from marshmallow import ValidationError

from service.access import ticket_access
from service.errors import BadRequest, Unprocessable, flatten_messages
from service.extensions import db
from service.json_input import request_body
from service.requests import service as requests_service
from service.requests.schemas import ChangeRequestIn, DryRunOut, SubmittedOut
from service.web.blueprints import json_bp
from service.web.session import current_actor, json_call


def _load_batch() -> dict[str, Any]:
    body = request_body()
    if not isinstance(body, dict):
        raise BadRequest("The request body is not a JSON object.", code="malformed_json")
    try:
        loaded: dict[str, Any] = ChangeRequestIn().load(body)
    except ValidationError as exc:
        raise Unprocessable(
            "The request does not have the expected shape.",
            errors=flatten_messages(exc.messages),
        ) from exc
    return loaded


@json_bp.post("/orgs/<slug>/change-requests/validate")
@json_call
def validate(slug: str):
    """Dry run: the API's answer (findings, projected roster, the batch's lines); stores nothing.
    `?projected=changed`, as the page asks: only the contacts the batch touches, and the counts
    after it, without reading the rest of the roster. `?amend=<reference>`: the batch would
    amend that pending ticket, which does not block it."""
    result = requests_service.dry_run(
        session=db.session(),
        org_slug=slug,
        actor=current_actor(),
        data=_load_batch(),
        changed_only=request.args.get("projected") == "changed",
        amending=request.args.get("amend") or None,
    )
    db.session.rollback()
    return jsonify(DryRunOut().dump(result))


@json_bp.post("/orgs/<slug>/change-requests")
@json_call
def submit(slug: str):
    """Submit the batch; 201 with the ticket's page, or the API's 409/422 bodies."""
    submitted = requests_service.submit(
        session=db.session(), org_slug=slug, actor=current_actor(), data=_load_batch()
    )
    db.session.commit()
    answer = requests_service.submitted_answer(submitted, same_site=True)
    return jsonify(SubmittedOut().dump(answer)), 201


@json_bp.post("/tickets/<reference>/amend")
@json_call
def amend(reference: str):
    """Amend the pending ticket with the batch. It answers as a submission does (201: a new
    revision is stored), so the contacts manager's script follows it to the ticket alike."""
    session = db.session()
    access = ticket_access(session=session, actor=current_actor(), reference=reference)
    ticket = requests_service.amend(session=session, access=access, data=_load_batch())
    db.session.commit()
    amended = requests_service.Submitted(ticket=ticket, warnings=[])
    answer = requests_service.submitted_answer(amended, same_site=True)
    return jsonify(SubmittedOut().dump(answer)), 201
